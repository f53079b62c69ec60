import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHandBrakeProgress, type HandBrakeProgress } from '../../../../agent/rippers/handbrake/progress.js';
import { splitLines } from '../../../../agent/tools/run-tool.js';

const FIXTURES = new URL('../../../fixtures/handbrake/', import.meta.url);
const readBytes = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const readLines = (name: string): string[] =>
  readBytes(name)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');

const ISSUE_1120 = 'progress_lines_HandBrake-issue1120_hb1.0.7.txt';
const ARM_377 = 'progress_lines_task2of2_arm-issue377.txt';
const OWN_CAPTURE = 'encode_stdout_generated_hb1.6.1.txt';

/** Splits like runTool does, feeding the text in chunks of `chunkSize` bytes (whole buffer when undefined). */
function splitBytes(bytes: Buffer, chunkSize?: number): string[] {
  const lines: string[] = [];
  const splitter = splitLines((line) => lines.push(line));
  const size = chunkSize ?? bytes.length;
  // The capture is ASCII, so any byte offset is a character boundary.
  for (let at = 0; at < bytes.length; at += size) splitter.push(bytes.subarray(at, at + size).toString('utf8'));
  splitter.flush();
  return lines;
}

function parseAll(lines: string[]): HandBrakeProgress[] {
  return lines.map(parseHandBrakeProgress).filter((p): p is HandBrakeProgress => p !== undefined);
}

function expectNonDecreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
}

describe('parseHandBrakeProgress on HandBrake issue #1120 (HandBrakeCLI 1.0.7)', () => {
  const lines = readLines(ISSUE_1120);
  const parsed = parseAll(lines);

  it('parses every one of the 18 lines', () => {
    expect(lines).toHaveLength(18);
    expect(parsed).toHaveLength(18);
  });

  it('reads the first line: 44.65 %, 55.48 fps, avg 58.69 fps, ETA 43 s', () => {
    expect(parsed[0]).toEqual({
      pass: 1,
      passCount: 1,
      passPercent: 44.65,
      fraction: expect.closeTo(0.4465, 10),
      fps: 55.48,
      avgFps: 58.69,
      etaSeconds: 43,
    });
  });

  it('reads the last line: 48.89 %, 55.48 fps, avg 58.38 fps, ETA 39 s', () => {
    const last = parsed.at(-1);
    expect(last?.passPercent).toBe(48.89);
    expect(last?.fraction).toBeCloseTo(0.4889, 10);
    expect(last?.fps).toBe(55.48);
    expect(last?.avgFps).toBe(58.38);
    expect(last?.etaSeconds).toBe(39);
  });

  it('reads a middle line (line 7: 46.23 %, 57.36 fps, avg 58.61, ETA 41 s)', () => {
    expect(parsed[6]).toMatchObject({ passPercent: 46.23, fps: 57.36, avgFps: 58.61, etaSeconds: 41 });
  });

  it('never goes backwards and ETA never grows', () => {
    expectNonDecreasing(parsed.map((p) => p.fraction));
    expectNonDecreasing(parsed.map((p) => -(p.etaSeconds ?? 0)));
  });
});

describe('parseHandBrakeProgress on ARM issue #377 (second of two passes)', () => {
  const lines = readLines(ARM_377);
  const parsed = parseAll(lines);

  it('parses every one of the 18 lines as pass 2 of 2', () => {
    expect(lines).toHaveLength(18);
    expect(parsed).toHaveLength(18);
    for (const p of parsed) expect(p).toMatchObject({ pass: 2, passCount: 2 });
  });

  it('weights the second pass: 82.50 % of pass 2 is 0.9125 overall', () => {
    expect(parsed[0]).toEqual({
      pass: 2,
      passCount: 2,
      passPercent: 82.5,
      fraction: expect.closeTo(0.9125, 10),
      fps: 60.39,
      avgFps: 53.14,
      etaSeconds: 9 * 60 + 6,
    });
  });

  it('reads the last line: 82.61 % → 0.91305, ETA 9 min 2 s', () => {
    const last = parsed.at(-1);
    expect(last?.passPercent).toBe(82.61);
    expect(last?.fraction).toBeCloseTo(0.91305, 10);
    expect(last?.fps).toBe(56.12);
    expect(last?.etaSeconds).toBe(542);
  });

  it('repeated identical lines give identical results and the fraction never decreases', () => {
    expect(parsed[1]).toEqual(parsed[0]);
    expect(parsed[2]).toEqual(parsed[0]);
    expectNonDecreasing(parsed.map((p) => p.fraction));
  });
});

describe('parseHandBrakeProgress on our HandBrakeCLI 1.6.1 encode stdout (CR-separated)', () => {
  const bytes = readBytes(OWN_CAPTURE);
  const whole = splitBytes(bytes);

  it('uses \\r between progress updates (the capture is byte-exact)', () => {
    const text = bytes.toString('utf8');
    expect(text).toContain('\rEncoding: task 1 of 1, 0.00 %\rEncoding: task 1 of 1, 3.23 %');
    expect(text.endsWith('ETA 00h00m00s)\n')).toBe(true);
  });

  it.each([1, 2, 3, 7, 13, 64, 1000])('splitting in %i-byte chunks gives the same lines as the whole buffer', (size) => {
    expect(splitBytes(bytes, size)).toEqual(whole);
  });

  it('finds the 29 progress updates among the libdvdread/libdvdnav lines', () => {
    const parsed = parseAll(whole);
    expect(parsed).toHaveLength(29);
    expect(whole.length).toBeGreaterThan(29);
    expect(whole.filter((line) => line.startsWith('Encoding: '))).toHaveLength(29);
    // Everything else is the libraries' chatter and must not look like progress.
    for (const line of whole.filter((l) => !l.startsWith('Encoding: '))) expect(parseHandBrakeProgress(line)).toBeUndefined();
  });

  it('reads the first updates without fps or ETA', () => {
    const parsed = parseAll(whole);
    expect(parsed[0]).toEqual({ pass: 1, passCount: 1, passPercent: 0, fraction: 0 });
    expect(parsed[1]).toEqual({ pass: 1, passCount: 1, passPercent: 3.23, fraction: expect.closeTo(0.0323, 10) });
    // Lines 1..20 carry only the percentage.
    for (const p of parsed.slice(0, 20)) {
      expect(p.fps).toBeUndefined();
      expect(p.avgFps).toBeUndefined();
      expect(p.etaSeconds).toBeUndefined();
      expect('fps' in p).toBe(false);
      expect('etaSeconds' in p).toBe(false);
    }
  });

  it('reads the first update with fps: 80.87 %, 171.34 fps, ETA 2 s', () => {
    const parsed = parseAll(whole);
    expect(parsed[20]).toEqual({
      pass: 1,
      passCount: 1,
      passPercent: 80.87,
      fraction: expect.closeTo(0.8087, 10),
      fps: 171.34,
      avgFps: 171.34,
      etaSeconds: 2,
    });
    expect(parsed[21]).toMatchObject({ passPercent: 83.31, fps: 178.79, avgFps: 176.53, etaSeconds: 0 });
  });

  it('ends with 100.00 % three times and never goes backwards', () => {
    const parsed = parseAll(whole);
    expect(parsed.slice(-3).map((p) => p.fraction)).toEqual([1, 1, 1]);
    expect(parsed.at(-1)).toMatchObject({ fps: 158.87, avgFps: 168.03, etaSeconds: 0 });
    expectNonDecreasing(parsed.map((p) => p.fraction));
  });
});

describe('parseHandBrakeProgress on other lines', () => {
  it.each([
    'Muxing: this may take awhile...',
    '[12:00:01] libhb: work result = 0',
    '[02:14:13] sync: got 900 frames, 900 expected',
    'Encode done!',
    'HandBrake has exited.',
    'libdvdnav: DVD Title: DISCBRIDGE_TEST',
    'Scanning title 1 of 3, preview 5, 50.00 %',
    'Encoding: task 1 of 1, ',
    'Encoding: task x of 1, 5.00 %',
    '',
  ])('returns undefined for %j', (line) => {
    expect(parseHandBrakeProgress(line)).toBeUndefined();
  });

  it('parses a progress line glued after a log line', () => {
    expect(parseHandBrakeProgress('[12:00:01] foo Encoding: task 1 of 1, 5.00 %')).toEqual({
      pass: 1,
      passCount: 1,
      passPercent: 5,
      fraction: 0.05,
    });
    expect(parseHandBrakeProgress('[12:00:01] muxing Encoding: task 1 of 2, 50.00 % (10.00 fps, avg 9.50 fps, ETA 01h02m03s)')).toEqual({
      pass: 1,
      passCount: 2,
      passPercent: 50,
      fraction: 0.25,
      fps: 10,
      avgFps: 9.5,
      etaSeconds: 3723,
    });
  });

  it('computes an ETA with hours', () => {
    expect(parseHandBrakeProgress('Encoding: task 1 of 1, 1.00 % (1.00 fps, avg 1.00 fps, ETA 12h34m56s)')?.etaSeconds).toBe(12 * 3600 + 34 * 60 + 56);
  });

  it('gives no fps/eta when the parenthesis is incomplete', () => {
    const p = parseHandBrakeProgress('Encoding: task 1 of 1, 12.00 % (171.34 fps');
    expect(p).toEqual({ pass: 1, passCount: 1, passPercent: 12, fraction: 0.12 });
  });

  it('is monotonic across passes of a two-pass encode', () => {
    const fractions = [
      'Encoding: task 1 of 2, 0.00 %',
      'Encoding: task 1 of 2, 50.00 %',
      'Encoding: task 1 of 2, 100.00 %',
      'Encoding: task 2 of 2, 0.00 %',
      'Encoding: task 2 of 2, 50.00 %',
      'Encoding: task 2 of 2, 100.00 %',
    ].map((line) => parseHandBrakeProgress(line)?.fraction);
    expect(fractions).toEqual([0, 0.25, 0.5, 0.5, 0.75, 1]);
  });

  it('clamps out-of-range percentages and fractions', () => {
    expect(parseHandBrakeProgress('Encoding: task 1 of 1, 150.00 %')).toMatchObject({ passPercent: 100, fraction: 1 });
    expect(parseHandBrakeProgress('Encoding: task 3 of 2, 50.00 %')?.fraction).toBe(1);
    expect(parseHandBrakeProgress('Encoding: task 1 of 0, 50.00 %')).toMatchObject({ passCount: 1, fraction: 0.5 });
  });
});
