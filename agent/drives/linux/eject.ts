// Ejects a disc. For a loop device standing in for a drive, detaching the image is the eject.
import { runTool } from '../../tools/run-tool.js';
import type { BlockDevice } from './block-device.js';

export async function ejectDisc(device: BlockDevice): Promise<void> {
  const [tool, args] = device.isLoop ? ['losetup', ['-d', device.path]] as const : ['eject', [device.path]] as const;
  const run = await runTool(tool, args, { installHint: 'install util-linux and eject' });
  if (run.exitCode !== 0) {
    throw new Error(`${tool} failed (exit code ${run.exitCode ?? run.signal}): ${run.stderrTail.at(-1) ?? 'no output'}`);
  }
}
