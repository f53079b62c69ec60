// The Linux drive source on a real loop device: an insert, a removal, and a swap quicker than the poll and the
// debounce (the old image detached and another attached at once) told as the old disc removed and the new inserted.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { BlockDeviceSource } from '../../../../agent/drives/linux/block-device-source.js';
import { VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable, waitFor } from '../../../e2e/harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('genisoimage', 'blkid');

describe.skipIf(skipReason !== undefined)('BlockDeviceSource on a loop device', () => {
  let drive: VirtualDrive | undefined;
  let source: BlockDeviceSource | undefined;
  let small: string;
  let large: string;

  beforeAll(() => {
    small = makeDisc('swap-small', ['--data', '--label', 'SWAP_SMALL', '--size-mb', '2']);
    large = makeDisc('swap-large', ['--data', '--label', 'SWAP_LARGE', '--size-mb', '3']);
  }, 60_000);

  afterEach(async () => {
    await source?.stop();
    drive?.release();
    source = drive = undefined;
  });

  it('tells a disc swapped for another within one poll as removed, then inserted', async () => {
    drive = VirtualDrive.reserve();
    source = new BlockDeviceSource({ patterns: [drive.device], pollMs: 100, debounceMs: 1000, logger: pino({ level: 'silent' }) });
    const events: string[] = [];
    source.on('inserted', (_drive, initial) => events.push(initial ? 'initial' : 'inserted'));
    source.on('removed', () => events.push('removed'));
    await source.start();
    drive.insert(small);
    await waitFor(() => events.length === 1, 5000, 'the insert');
    expect((await source.identify(drive.device)).volumeLabel).toBe('SWAP_SMALL');

    drive.eject();
    drive.insert(large); // empty for a few milliseconds: far less than the 1000 ms debounce
    await waitFor(() => events.length === 3, 5000, 'the swap');
    expect(events).toEqual(['inserted', 'removed', 'inserted']);
    expect((await source.identify(drive.device)).volumeLabel).toBe('SWAP_LARGE');

    drive.eject();
    await waitFor(() => events.length === 4, 5000, 'the removal');
    expect(events.at(-1)).toBe('removed');
  });
});
