import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RipError } from '../../../agent/tools/rip-error.js';
import { MediaProbeError, probeMedia } from '../../../agent/tools/ffprobe.js';
import { ToolMissingError } from '../../../agent/tools/run-tool.js';
import { missingTools, ripTestTitle, type RippedTitle } from '../transcoders/ripped-title.js';

const skipReason = missingTools();

describe.skipIf(skipReason !== undefined)(`probeMedia on real files${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let title: RippedTitle;

  beforeAll(() => {
    title = ripTestTitle('ffprobe');
  });
  afterAll(() => {
    if (title) rmSync(title.dir, { recursive: true, force: true });
  });

  it('reads duration and streams of a title ripped from a test disc', async () => {
    const info = await probeMedia(title.file);
    expect(info.durationSeconds).toBeGreaterThan(19.5);
    expect(info.durationSeconds).toBeLessThan(20.5);
    expect(info.streams).toEqual([
      { index: 0, type: 'video', codec: 'h264' },
      { index: 1, type: 'audio', codec: 'aac', language: 'eng' },
    ]);
  });

  it('rejects a file of random bytes with a short RipError that names the file but not its folder', async () => {
    const file = join(title.dir, 'noise.mkv');
    writeFileSync(file, randomBytes(64 * 1024));
    const error = await probeMedia(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RipError);
    expect(error).toBeInstanceOf(MediaProbeError);
    expect((error as RipError).message).toBe('ffprobe could not read "noise.mkv": it is damaged or not a media file');
    expect((error as RipError).detail).toMatch(/Invalid data found|EBML/);
  });

  it('rejects a text file and an empty file', async () => {
    const text = join(title.dir, 'notes.txt');
    writeFileSync(text, 'not a video\n');
    const empty = join(title.dir, 'empty.mkv');
    writeFileSync(empty, '');
    await expect(probeMedia(text)).rejects.toThrow('ffprobe could not read "notes.txt": it is damaged or not a media file');
    await expect(probeMedia(empty)).rejects.toBeInstanceOf(RipError);
  });

  it('says plainly when the file does not exist', async () => {
    await expect(probeMedia(join(title.dir, 'gone.mkv'))).rejects.toThrow('ffprobe could not read "gone.mkv": the file does not exist');
  });

  it('rejects a still image: it has a stream but no duration', async () => {
    const png = join(title.dir, 'frame.png');
    execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-f', 'lavfi', '-i', 'testsrc2=size=64x48', '-frames:v', '1', png]);
    await expect(probeMedia(png)).rejects.toThrow('"frame.png": it is not a video or audio file (no duration or no streams)');
  });

  it('throws ToolMissingError for a missing ffprobe binary', async () => {
    await expect(probeMedia(title.file, '/nonexistent/ffprobe')).rejects.toBeInstanceOf(ToolMissingError);
  });

  it('rejects with the abort reason when already cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(probeMedia(title.file, 'ffprobe', controller.signal)).rejects.toThrow('stop');
  });
});
