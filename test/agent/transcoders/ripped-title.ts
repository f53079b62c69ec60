// Test input for the ffmpeg tests: a real title ripped with HandBrakeCLI from a DVD image that
// scripts/make-test-disc authors (20 s, 2 chapters, 352x240, English audio). Each test file builds its own copy in
// its own temp folder, so files running in parallel never share (or race on) an input.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onPath } from '../../tools/on-path.js';

const ROOT = resolve(import.meta.dirname, '../../..');
/** Everything the input and the tests need: make-test-disc's own tools, the ripper, and the transcoder's. */
const TOOLS = ['ffmpeg', 'ffprobe', 'HandBrakeCLI', 'dvdauthor', 'genisoimage'];

/** Why these tests cannot run here, or undefined when they can. */
export function missingTools(): string | undefined {
  const missing = TOOLS.filter((tool) => !onPath(tool));
  return missing.length > 0 ? `needs ${missing.join(', ')} on PATH (apt-get install ffmpeg handbrake-cli dvdauthor genisoimage)` : undefined;
}


export interface RippedTitle {
  /** The temp folder holding everything; tests write their outputs here too. */
  dir: string;
  /** The ripped title: h264 + aac (eng) in Matroska, about 20 s. */
  file: string;
}

export function ripTestTitle(prefix: string): RippedTitle {
  const dir = mkdtempSync(join(tmpdir(), `discbridge-${prefix}-`));
  const iso = join(dir, 'disc.iso');
  const file = join(dir, 'title1.mkv');
  execFileSync(join(ROOT, 'scripts/make-test-disc'), [iso, '--size', '352x240', '--title', '20:2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('HandBrakeCLI', ['-i', iso, '-t', '1', '-o', file, '--preset', 'Very Fast 480p30'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { dir, file };
}
