import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractJsonObject, parseHandBrakeScan } from '../../../../agent/rippers/handbrake/scan.js';

const FIXTURES = new URL('../../../fixtures/handbrake/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

const ALL_TITLES = 'scan_json_generated-3titles_min-duration-0_hb1.6.1.txt';
const DEFAULT_SCAN = 'scan_json_generated-3titles_hb1.6.1.txt';
const BROKEN = 'scan_json_generated-broken_hb1.6.1.txt';

/** 1 MB per second: easy to check. */
const estimate = (seconds: number) => seconds * 1_000_000;
const NTSC = 27_000_000 / 900_900;

describe('parseHandBrakeScan on our HandBrakeCLI 1.6.1 captures', () => {
  // From the capture: "VideoCodec": "mpeg2video", one AudioList entry with "LanguageCode": "eng", "CodecName": "ac3".
  const DISC_STREAMS = [{ kind: 'video', codec: 'mpeg2video' }, { kind: 'audio', language: 'eng', codec: 'ac3' }];

  it('reads all 3 titles of the --min-duration 0 scan: 30 s/3 ch, 12 s/2 ch, 3 s/1 ch', () => {
    const scan = parseHandBrakeScan(read(ALL_TITLES), estimate);
    expect(scan).toEqual({
      discName: 'DISCBRIDGE_TEST',
      titles: [
        { titleId: 1, durationSeconds: 30, chapters: 3, expectedSizeBytes: 30_000_000, frameRate: NTSC, streams: DISC_STREAMS },
        { titleId: 2, durationSeconds: 12, chapters: 2, expectedSizeBytes: 12_000_000, frameRate: NTSC, streams: DISC_STREAMS },
        { titleId: 3, durationSeconds: 3, chapters: 1, expectedSizeBytes: 3_000_000, frameRate: NTSC, streams: DISC_STREAMS },
      ],
    });
    expect(scan.titles[0]?.frameRate).toBeCloseTo(29.97, 2);
  });

  it('reads the 2 titles of the default scan (HandBrake drops the 3 s title)', () => {
    const scan = parseHandBrakeScan(read(DEFAULT_SCAN), estimate);
    expect(scan.discName).toBe('DISCBRIDGE_TEST');
    expect(scan.titles.map((t) => [t.titleId, t.durationSeconds, t.chapters])).toEqual([
      [1, 30, 3],
      [2, 12, 2],
    ]);
  });

  it('passes each duration to the size estimate', () => {
    const seen: number[] = [];
    parseHandBrakeScan(read(ALL_TITLES), (seconds) => {
      seen.push(seconds);
      return 0;
    });
    expect(seen).toEqual([30, 12, 3]);
  });

  it('throws on the broken disc capture, which has no title set', () => {
    const text = read(BROKEN);
    expect(text).not.toContain('JSON Title Set:');
    expect(() => parseHandBrakeScan(text, estimate)).toThrow(/no title set/);
  });

  it('skips the Version and Progress blocks that come before the title set', () => {
    const text = read(ALL_TITLES);
    expect(text.indexOf('Version: {')).toBeLessThan(text.indexOf('JSON Title Set:'));
    expect(text.indexOf('Progress: {')).toBeLessThan(text.indexOf('JSON Title Set:'));
    const version = extractJsonObject(text, 'Version:') as { VersionString: string };
    expect(version.VersionString).toBe('1.6.1');
    const progress = extractJsonObject(text, 'Progress:') as { State: string };
    expect(progress.State).toBe('SCANNING');
  });
});

describe('parseHandBrakeScan on hand-made title sets', () => {
  it('uses Hours/Minutes/Seconds when Ticks is missing, and 0 without a Duration', () => {
    const scan = parseHandBrakeScan(
      'JSON Title Set: {"TitleList":[{"Index":4,"Duration":{"Hours":1,"Minutes":2,"Seconds":3}},{"Index":5}]}',
      estimate,
    );
    expect(scan.titles).toEqual([
      { titleId: 4, durationSeconds: 3723, chapters: 0, expectedSizeBytes: 3_723_000_000 },
      { titleId: 5, durationSeconds: 0, chapters: 0, expectedSizeBytes: 0 },
    ]);
    expect(scan).not.toHaveProperty('discName');
  });

  it('rounds a Ticks duration to whole seconds', () => {
    const scan = parseHandBrakeScan('JSON Title Set: {"TitleList":[{"Index":1,"Duration":{"Ticks":135000}}]}', estimate);
    expect(scan.titles[0]?.durationSeconds).toBe(2); // 1.5 s
  });

  it('leaves frameRate out when the denominator is 0', () => {
    const scan = parseHandBrakeScan('JSON Title Set: {"TitleList":[{"Index":1,"FrameRate":{"Num":25,"Den":0}}]}', estimate);
    expect(scan.titles[0]).not.toHaveProperty('frameRate');
  });

  it('gives no titles for an empty title set', () => {
    expect(parseHandBrakeScan('JSON Title Set: {"MainFeature":-1}', estimate)).toEqual({ titles: [] });
  });

  it('throws when the title set is cut off', () => {
    expect(() => parseHandBrakeScan('JSON Title Set: {"TitleList":[{"Index":1', estimate)).toThrow(/no title set/);
  });

  it('keeps braces and quotes in a disc name', () => {
    const scan = parseHandBrakeScan(
      'JSON Title Set: {"TitleList":[{"Index":1,"Name":"A {weird} \\"disc\\" }}","Duration":{"Ticks":90000}}]}\nProgress: {}',
      estimate,
    );
    expect(scan.discName).toBe('A {weird} "disc" }}');
    expect(scan.titles).toHaveLength(1);
  });
});

describe('extractJsonObject', () => {
  it('returns undefined when the header is missing', () => {
    expect(extractJsonObject('Version: {"a":1}', 'JSON Title Set:')).toBeUndefined();
  });

  it('returns undefined when no { follows the header', () => {
    expect(extractJsonObject('JSON Title Set:', 'JSON Title Set:')).toBeUndefined();
  });

  it('returns undefined for an unbalanced object', () => {
    expect(extractJsonObject('H: {"a":{"b":1}', 'H:')).toBeUndefined();
  });

  it('stops at the matching brace, ignoring text after it', () => {
    expect(extractJsonObject('H: {"a":{"b":[1,{"c":2}]}} trailing } { junk', 'H:')).toEqual({ a: { b: [1, { c: 2 }] } });
  });

  it('ignores braces inside strings', () => {
    expect(extractJsonObject('H: {"s":"}"} tail', 'H:')).toEqual({ s: '}' });
    expect(extractJsonObject('H: {"s":"{{{","t":"}}}"}', 'H:')).toEqual({ s: '{{{', t: '}}}' });
    expect(extractJsonObject('H: {"}":"{"}', 'H:')).toEqual({ '}': '{' });
  });

  it('handles escaped quotes and backslashes inside strings', () => {
    expect(extractJsonObject('H: {"s":"a\\"}b"}', 'H:')).toEqual({ s: 'a"}b' });
    expect(extractJsonObject('H: {"s":"C:\\\\"} rest}', 'H:')).toEqual({ s: 'C:\\' });
    expect(extractJsonObject('H: {"s":"\\\\\\"}"}', 'H:')).toEqual({ s: '\\"}' });
  });

  it('handles multi-line pretty-printed JSON with noise before the header', () => {
    const text = 'libdvdread: { not json\nH: {\n    "a": {\n        "b": "}"\n    }\n}\nlibdvdnav: }\n';
    expect(extractJsonObject(text, 'H:')).toEqual({ a: { b: '}' } });
  });

  it('uses the first occurrence of the header', () => {
    expect(extractJsonObject('H: {"n":1}\nH: {"n":2}', 'H:')).toEqual({ n: 1 });
  });

  it('throws on malformed JSON inside balanced braces', () => {
    expect(() => extractJsonObject('H: {a:1}', 'H:')).toThrow(SyntaxError);
  });
});
