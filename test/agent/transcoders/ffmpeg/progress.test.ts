import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FfmpegProgressParser, type FfmpegProgressBlock } from '../../../../agent/transcoders/ffmpeg/progress.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/ffmpeg');

function parseLines(lines: string[]): FfmpegProgressBlock[] {
  const parser = new FfmpegProgressParser();
  const blocks: FfmpegProgressBlock[] = [];
  for (const line of lines) {
    const block = parser.push(line);
    if (block) blocks.push(block);
  }
  return blocks;
}

function parseFixture(name: string): FfmpegProgressBlock[] {
  return parseLines(readFileSync(`${FIXTURES}/${name}`, 'utf8').split(/\r\n|\r|\n/));
}

describe('FfmpegProgressParser on slhck/ffmpeg-progress-yield#13 (a fragment of a real run)', () => {
  const blocks = parseFixture('progress_pipe_fragment_slhck-ffmpeg-progress-yield-issue13.txt');

  it('returns one block per progress= line, the first one partial because the paste starts mid-block', () => {
    expect(blocks).toHaveLength(7);
    expect(blocks[0]).toEqual({ speed: 13.7, end: false });
  });

  it('reads out_time_us, frame, total_size and speed of the complete blocks', () => {
    expect(blocks[1]).toEqual({ outTimeSeconds: 200.213333, speed: 13.8, totalSizeBytes: 4718640, frame: 4979, end: false });
    expect(blocks[2]).toEqual({ outTimeSeconds: 207.168, speed: 13.8, totalSizeBytes: 4980784, frame: 5153, end: false });
    expect(blocks[6]).toEqual({ outTimeSeconds: 235.477333, speed: 13.8, totalSizeBytes: 5767216, frame: 5862, end: false });
    expect(blocks.slice(1).map((b) => b.outTimeSeconds)).toEqual([200.213333, 207.168, 214.549333, 221.632, 228.757333, 235.477333]);
  });
});

describe('FfmpegProgressParser on the StevenZack/transcoder end block', () => {
  it('reads the padded "speed=   0x" as 0, skips bitrate=N/A, and marks the block as the end', () => {
    const blocks = parseFixture('progress_end_block_comment_StevenZack-transcoder.txt');
    expect(blocks).toEqual([{ outTimeSeconds: 0, speed: 0, totalSizeBytes: 762, frame: 7233, end: true }]);
  });
});

describe('FfmpegProgressParser on our own capture (Debian ffmpeg 5.1.9, libx265, 20 s ripped title)', () => {
  const blocks = parseFixture('progress_pipe_debian-ffmpeg5.1.9_generated.txt');

  it('gives 13 blocks, only the last one an end block', () => {
    expect(blocks).toHaveLength(13);
    expect(blocks.map((b) => b.end)).toEqual([...Array<boolean>(12).fill(false), true]);
  });

  it('reads the first and the last block as written', () => {
    expect(blocks[0]).toEqual({ outTimeSeconds: 0.107, speed: 45.3, totalSizeBytes: 3244, frame: 1, end: false });
    expect(blocks[1]).toEqual({ outTimeSeconds: 2.581, speed: 5.05, totalSizeBytes: 3244, frame: 75, end: false });
    expect(blocks.at(-1)).toEqual({ outTimeSeconds: 19.954, speed: 3.26, totalSizeBytes: 1573642, frame: 600, end: true });
  });

  it('has out_time rising monotonically to the title duration (20.041 s by ffprobe)', () => {
    const times = blocks.map((b) => b.outTimeSeconds ?? Number.NaN);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number);
    expect(Math.abs((times.at(-1) as number) - 20.041)).toBeLessThan(0.1);
    expect(blocks.every((b) => b.speed !== undefined && b.speed > 0)).toBe(true);
  });
});

describe('FfmpegProgressParser on edge cases from the format', () => {
  it('falls back to out_time_ms (microseconds, despite the name) on builds without out_time_us', () => {
    expect(parseLines(['out_time_ms=1500000', 'out_time=00:00:01.500000', 'progress=continue'])).toEqual([{ outTimeSeconds: 1.5, end: false }]);
  });

  it('prefers out_time_us over out_time_ms and out_time', () => {
    expect(parseLines(['out_time_us=2000000', 'out_time_ms=9', 'out_time=00:09:00.000000', 'progress=continue'])[0]?.outTimeSeconds).toBe(2);
  });

  it('falls back to out_time, and counts a negative one as 0', () => {
    expect(parseLines(['out_time=01:02:03.250000', 'progress=continue'])[0]?.outTimeSeconds).toBe(3723.25);
    expect(parseLines(['out_time_us=N/A', 'out_time=-00:00:00.000000', 'progress=continue'])[0]?.outTimeSeconds).toBe(0);
    expect(parseLines(['out_time_us=-33000', 'progress=continue'])[0]?.outTimeSeconds).toBe(0);
  });

  it('leaves out N/A values, as in the first block of a run', () => {
    const lines = ['frame=0', 'bitrate=N/A', 'total_size=N/A', 'out_time_us=N/A', 'out_time_ms=N/A', 'out_time=N/A', 'speed=N/A', 'progress=continue'];
    expect(parseLines(lines)).toEqual([{ frame: 0, end: false }]);
  });

  it('trims padding and reads printf %g speeds', () => {
    expect(parseLines(['speed= 1.9x', 'progress=continue'])[0]?.speed).toBe(1.9);
    expect(parseLines(['speed=1.2e+03x', 'progress=continue'])[0]?.speed).toBe(1200);
    expect(parseLines(['  frame=  42  ', 'progress=end  '])).toEqual([{ frame: 42, end: true }]);
  });

  it('ignores garbage lines and unreadable values without losing the block', () => {
    const lines = ['', 'hello', '=5', 'frame=abc', 'speed=fastx', 'out_time=12:xx', 'total_size=1e3', 'out_time_us=4000000', '[mp4 @ 0x1] warning', 'progress=continue'];
    expect(parseLines(lines)).toEqual([{ outTimeSeconds: 4, end: false }]);
  });

  it('starts each block afresh: values do not leak into the next block', () => {
    const blocks = parseLines(['out_time_us=1000000', 'speed=2x', 'progress=continue', 'frame=3', 'progress=end']);
    expect(blocks).toEqual([{ outTimeSeconds: 1, speed: 2, end: false }, { frame: 3, end: true }]);
  });
});
