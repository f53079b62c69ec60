import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RipError } from '../../../../agent/tools/rip-error.js';
import { probeMedia, type MediaInfo } from '../../../../agent/tools/ffprobe.js';
import { FfmpegTranscoder, ffmpegArgs, verifyTranscode } from '../../../../agent/transcoders/ffmpeg/ffmpeg-transcoder.js';
import { BUILTIN_PROFILES, type TranscodeProfile, type TranscodeProgress, type TranscodeRequest } from '../../../../agent/transcoders/transcoder.js';
import { missingTools, ripTestTitle, type RippedTitle } from '../ripped-title.js';

const h264 = BUILTIN_PROFILES.h264 as TranscodeProfile;
const h265 = BUILTIN_PROFILES.h265 as TranscodeProfile;
const h264Aac = BUILTIN_PROFILES['h264-aac'] as TranscodeProfile;

describe('BUILTIN_PROFILES', () => {
  it('holds h264, h265 and h264-aac as specified', () => {
    expect(BUILTIN_PROFILES).toEqual({
      h264: { name: 'h264', videoCodec: 'libx264', crf: 20, preset: 'medium', audio: 'copy', subtitles: 'copy' },
      h265: { name: 'h265', videoCodec: 'libx265', crf: 24, preset: 'medium', audio: 'copy', subtitles: 'copy' },
      'h264-aac': { name: 'h264-aac', videoCodec: 'libx264', crf: 20, preset: 'medium', audio: 'aac', audioBitrate: '192k', subtitles: 'copy' },
    });
  });
});

describe('ffmpegArgs', () => {
  it('maps video, audio and subtitles (never -map 0) and writes progress to stdout', () => {
    expect(ffmpegArgs('/r/in.mkv', '/t/out.mkv', h264)).toEqual([
      '-hide_banner', '-nostdin', '-nostats', '-y', '-i', '/r/in.mkv',
      '-map', '0:v?', '-map', '0:a?', '-map', '0:s?',
      '-c:v', 'libx264', '-crf', '20', '-preset', 'medium', '-c:a', 'copy', '-c:s', 'copy',
      '-progress', 'pipe:1', '-f', 'matroska', '/t/out.mkv',
    ]);
  });

  it('re-encodes audio to AAC at the profile bitrate, drops subtitles, copies video', () => {
    const args = ffmpegArgs('/r/in.mkv', '/t/out.mkv', { ...h264Aac, videoCodec: 'copy', subtitles: 'drop' });
    expect(args).not.toContain('0:s?');
    expect(args.join(' ')).toContain('-map 0:v? -map 0:a? -c:v copy -c:a aac -b:a 192k -sn -progress pipe:1');
    expect(args).not.toContain('-crf');
  });

  it('makes paths absolute, so a name starting with "-" or holding ":" stays a file name', () => {
    const args = ffmpegArgs('-in.mkv', 'concat:out.mkv', h264);
    expect(args[args.indexOf('-i') + 1]).toBe(join(process.cwd(), '-in.mkv'));
    expect(args.at(-1)).toBe(join(process.cwd(), 'concat:out.mkv'));
  });
});

describe('verifyTranscode', () => {
  const source: MediaInfo = {
    durationSeconds: 20.04,
    streams: [
      { index: 0, type: 'video', codec: 'mpeg2video' },
      { index: 1, type: 'audio', codec: 'ac3', language: 'eng' },
      { index: 2, type: 'audio', codec: 'ac3', language: 'fra' },
      { index: 3, type: 'subtitle', codec: 'dvd_subtitle', language: 'eng' },
    ],
  };
  const good: MediaInfo = {
    durationSeconds: 19.95,
    streams: [
      { index: 0, type: 'video', codec: 'h264' },
      { index: 1, type: 'audio', codec: 'ac3', language: 'eng' },
      { index: 2, type: 'audio', codec: 'ac3', language: 'fra' },
      { index: 3, type: 'subtitle', codec: 'dvd_subtitle', language: 'eng' },
    ],
  };

  it('accepts a result that matches its source within 1 s', () => {
    expect(verifyTranscode(source, good, h264)).toBeUndefined();
    expect(verifyTranscode(source, { ...good, durationSeconds: 21.0 }, h264)).toBeUndefined();
  });

  it('rejects a duration off by 2 s', () => {
    expect(verifyTranscode(source, { ...good, durationSeconds: 18.04 }, h264)).toBe('it lasts 18.0 s instead of 20.0 s');
  });

  it('rejects a missing audio stream', () => {
    const result = { ...good, streams: good.streams.filter((s) => s.index !== 2) };
    expect(verifyTranscode(source, result, h264)).toBe('it has 1 audio stream instead of 2');
  });

  it('rejects a result without video', () => {
    const result = { ...good, streams: good.streams.filter((s) => s.type !== 'video') };
    expect(verifyTranscode(source, result, h264)).toBe('it has no video stream');
  });

  it('counts subtitles only when the profile copies them', () => {
    const result = { ...good, streams: good.streams.filter((s) => s.type !== 'subtitle') };
    expect(verifyTranscode(source, result, h264)).toBe('it has 0 subtitle streams instead of 1');
    expect(verifyTranscode(source, result, { ...h264, subtitles: 'drop' })).toBeUndefined();
  });

  it('checks the profile was applied: video codec, AAC audio', () => {
    expect(verifyTranscode(source, good, h265)).toBe('its video is h264, not hevc');
    expect(verifyTranscode(source, good, { ...h264, videoCodec: 'copy' })).toBe('its video is h264, not mpeg2video');
    expect(verifyTranscode(source, good, h264Aac)).toBe('not all of its audio is AAC');
  });

  it('lists every problem at once', () => {
    expect(verifyTranscode(source, { durationSeconds: 3, streams: [] }, h264)).toBe(
      'it has no video stream; it lasts 3.0 s instead of 20.0 s; it has 0 audio streams instead of 2; it has 0 subtitle streams instead of 1',
    );
  });
});

// ---- Real ffmpeg on a title ripped from a generated DVD

const skipReason = missingTools();

interface Run {
  progress: TranscodeProgress[];
  log: string[];
  ms: number;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Live processes whose command line mentions `text` (zombies count as gone). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (cmdline.includes(text) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // Ended while we looked.
    }
  }
  return pids;
}

describe.skipIf(skipReason !== undefined)(`FfmpegTranscoder on a ripped test disc${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let title: RippedTitle;
  let source: MediaInfo;
  let sourceHash: string;
  let sourceMtime: number;
  const transcoder = new FfmpegTranscoder({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' });

  beforeAll(async () => {
    title = ripTestTitle('transcode');
    source = await probeMedia(title.file);
    sourceHash = sha256(title.file);
    sourceMtime = statSync(title.file).mtimeMs;
  });
  afterAll(() => {
    if (title) rmSync(title.dir, { recursive: true, force: true });
  });

  async function transcode(output: string, profile: TranscodeProfile, extra: Partial<TranscodeRequest> = {}): Promise<Run> {
    const run: Run = { progress: [], log: [], ms: 0 };
    const started = performance.now();
    try {
      await transcoder.transcode({
        input: title.file,
        output,
        durationSeconds: source.durationSeconds,
        profile,
        signal: new AbortController().signal,
        onProgress: (p) => run.progress.push(p),
        onLog: (line) => run.log.push(line),
        ...extra,
      });
    } finally {
      run.ms = performance.now() - started;
    }
    return run;
  }

  it('finds ffmpeg and ffprobe, and names a missing one', async () => {
    expect(await transcoder.checkInstalled()).toBeUndefined();
    const broken = new FfmpegTranscoder({ ffmpeg: 'ffmpeg', ffprobe: '/nonexistent/ffprobe' });
    expect(await broken.checkInstalled()).toMatch(/^\/nonexistent\/ffprobe was not found: install it with .* or set DISCBRIDGE_FFPROBE to its path$/);
  });

  it('transcodes with h264: progress rises to 1 with a speed, the result lasts as long, the input is untouched', async () => {
    const output = join(title.dir, 'h264.mkv');
    const run = await transcode(output, h264);

    const fractions = run.progress.map((p) => p.fraction);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1] as number);
    expect(fractions.filter((f) => f > 0 && f < 1).length).toBeGreaterThanOrEqual(1);
    expect(fractions.at(-1)).toBe(1);
    // Before the final "done", ffmpeg's own last position already reached the end of the title.
    expect(fractions.at(-2)).toBeGreaterThan(0.98);
    const speeds = run.progress.flatMap((p) => (p.speed === undefined ? [] : [p.speed]));
    expect(speeds.length).toBeGreaterThan(0);
    expect(Math.max(...speeds)).toBeGreaterThan(0);
    for (const p of run.progress) if (p.etaSeconds !== undefined) expect(p.etaSeconds).toBeGreaterThanOrEqual(0);

    const result = await probeMedia(output);
    expect(Math.abs(result.durationSeconds - source.durationSeconds)).toBeLessThan(1);
    expect(result.streams.map((s) => [s.type, s.codec])).toEqual([['video', 'h264'], ['audio', 'aac']]);
    expect(run.log.join('\n')).toMatch(/Stream #0:1 -> #0:1 \(copy\)/);

    expect(sha256(title.file)).toBe(sourceHash);
    expect(statSync(title.file).mtimeMs).toBe(sourceMtime);
    console.info(`h264 (medium) transcode of the ${source.durationSeconds.toFixed(1)} s title: ${(run.ms / 1000).toFixed(2)} s, ffmpeg speed ${speeds.at(-1)}x`);
  }, 30_000);

  it('gives an AAC audio stream with h264-aac (re-encoded, not copied)', async () => {
    const output = join(title.dir, 'h264-aac.mkv');
    const run = await transcode(output, { ...h264Aac, preset: 'ultrafast' });
    const result = await probeMedia(output);
    expect(result.streams.filter((s) => s.type === 'audio')).toEqual([{ index: 1, type: 'audio', codec: 'aac', language: 'eng' }]);
    // The ripped title's audio is already AAC: the stream mapping shows ffmpeg encoded it again rather than copying.
    expect(run.log.join('\n')).toMatch(/Stream #0:1 -> #0:1 \(aac \(native\) -> aac \(native\)\)/);
    expect(sha256(title.file)).toBe(sourceHash);
  }, 30_000);

  it('stops when cancelled mid-way: rejects, leaves no output and no ffmpeg process', async () => {
    const output = join(title.dir, 'cancelled.mkv');
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    let sawFfmpeg = false;
    let sawOutput = false;
    const progress: TranscodeProgress[] = [];
    const outcome = transcoder.transcode({
      input: title.file,
      output,
      durationSeconds: source.durationSeconds,
      // libx265 at "slow" takes far longer than the first progress report: the cancel lands mid-encode.
      profile: { ...h265, preset: 'slow' },
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.fraction > 0 && !controller.signal.aborted) {
          sawFfmpeg = processesMentioning(output).length > 0;
          sawOutput = existsSync(output);
          controller.abort(reason);
        }
      },
    });
    await expect(outcome).rejects.toBe(reason);
    expect(sawFfmpeg).toBe(true);
    expect(sawOutput).toBe(true);
    expect(progress.at(-1)?.fraction).toBeLessThan(0.5);
    expect(existsSync(output)).toBe(false);
    expect(processesMentioning(output)).toEqual([]);
    expect(sha256(title.file)).toBe(sourceHash);
  }, 30_000);

  it('turns a corrupt input into a short RipError without machine paths, and writes nothing', async () => {
    const input = join(title.dir, 'corrupt.mkv');
    // Fixed noise: truly random bytes now and then look like some raw audio format to ffprobe.
    writeFileSync(input, noise(256 * 1024));
    const output = join(title.dir, 'corrupt-out.mkv');
    const error = await transcoder
      .transcode({ input, output, durationSeconds: 20, profile: h264, signal: new AbortController().signal, onProgress: () => {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RipError);
    const message = (error as RipError).message;
    expect(message).toBe('ffmpeg could not transcode "corrupt.mkv": it is damaged or not a media file');
    expect(message).not.toContain(title.dir);
    expect(message).not.toContain('/');
    expect((error as RipError).detail).toMatch(/Invalid data|EBML/);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(input)).toBe(true);
  });

  it('reports an ffmpeg failure with a short message, its stderr as detail, and removes the partial output', async () => {
    const output = join(title.dir, 'bad-preset.mkv');
    let partialSeen = false;
    const error = await transcode(output, { ...h264, preset: 'warp9' }, {
      // ffmpeg creates the (empty) output before the encoder refuses the preset.
      onLog: (line) => { if (/Conversion failed/.test(line)) partialSeen = existsSync(output); },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe('ffmpeg could not transcode "title1.mkv": the encoder refused the profile\'s settings (codec, crf or preset)');
    expect((error as RipError).detail).toMatch(/invalid preset 'warp9'/);
    expect(partialSeen).toBe(true);
    expect(existsSync(output)).toBe(false);
    expect(sha256(title.file)).toBe(sourceHash);
  });

  it('refuses to write over its own input', async () => {
    await expect(transcode(title.file, h264)).rejects.toThrow('Cannot transcode "title1.mkv" onto itself: the output must be another file');
    expect(sha256(title.file)).toBe(sourceHash);
  });
});

/** Bytes that look random but are the same on every run (a linear congruential generator). */
function noise(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 0x2545f491;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}
