// Audio CD images for the cd-audio tests, made by scripts/make-test-cd in a temporary folder, with the MD5 of each
// track's PCM the script expects cd-paranoia to return; which of the tools these tests run are missing; and the
// processes still running on a file after a cancel.
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findExecutable } from '../../../agent/tools/find-executable.js';

const SCRIPT = new URL('../../../scripts/make-test-cd', import.meta.url).pathname;

export interface TestCd {
  folder: string;
  cue: string;
  toc: string;
  /** Track number → MD5 of its PCM, from tracks.md5. */
  md5: Map<number, string>;
}

export async function makeTestCd(folder: string, args: string[] = []): Promise<TestCd> {
  await execa(SCRIPT, [folder, ...args]);
  const md5 = new Map<number, string>();
  for (const line of (await readFile(join(folder, 'tracks.md5'), 'utf8')).trim().split('\n')) {
    const [sum, track] = line.split(/\s+/);
    md5.set(Number(track), sum!);
  }
  return { folder, cue: join(folder, 'disc.cue'), toc: join(folder, 'disc.toc'), md5 };
}

/** Why tests that run `tools` cannot run here, or undefined when they can. */
export async function missingTools(...tools: string[]): Promise<string | undefined> {
  const missing: string[] = [];
  for (const tool of ['sox', ...tools]) if (!(await findExecutable(tool))) missing.push(tool);
  return missing.length > 0 ? `not installed: ${missing.join(', ')} (scripts/install-deps)` : undefined;
}

/** Processes whose command line names `file` (a tool still writing it), from /proc. */
export function processesNaming(file: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(file);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}
