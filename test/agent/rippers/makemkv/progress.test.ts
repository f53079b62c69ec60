// MkvProgressTracker on the real captures that carry progress records.
import { describe, it, expect } from 'vitest';
import { MkvProgressTracker } from '../../../../agent/rippers/makemkv/progress.js';
import { MsgCode, ProgressCode } from '../../../../agent/rippers/makemkv/codes.js';
import { parseRobotLine, type RobotLine } from '../../../../agent/rippers/makemkv/robot-line.js';
import { fixtureLines } from './fixtures.js';

interface Observation {
  line: RobotLine;
  stageCode: number | undefined;
  fraction: number | undefined;
}

function follow(lines: RobotLine[]): { tracker: MkvProgressTracker; seen: Observation[] } {
  const tracker = new MkvProgressTracker();
  const seen = lines.map((line) => {
    tracker.feed(line);
    return { line, stageCode: tracker.stage?.code, fraction: tracker.saveFraction };
  });
  return { tracker, seen };
}

describe('bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt', () => {
  const lines = fixtureLines('bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt');
  const { tracker, seen } = follow(lines);
  const savingFrom = seen.findIndex((s) => s.stageCode === ProgressCode.SavingTitles);

  it('goes through scanning, opening the Blu-ray, then saving', () => {
    const stages = lines.filter((line) => line.kind === 'prgt').map((line) => line.code);
    expect(stages).toEqual([ProgressCode.ScanningDrives, ProgressCode.OpeningBluray, ProgressCode.SavingTitles]);
    // PRGT:5024 is line 128 of the file.
    expect(savingFrom).toBe(127);
  });

  it('reports no save fraction before saving, though opening the disc reached 22279/65536', () => {
    expect(seen.slice(0, savingFrom).every((s) => s.fraction === undefined)).toBe(true);
    expect(lines[125]).toEqual({ kind: 'prgv', current: 0, total: 22279, max: 65536 });
  });

  it('rises monotonically from 0 to 1 while saving', () => {
    const fractions = seen.slice(savingFrom).map((s) => s.fraction);
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)).toBe(1);
    for (const [at, fraction] of fractions.entries()) {
      expect(fraction).toBeGreaterThanOrEqual(at === 0 ? 0 : fractions[at - 1]!);
      expect(fraction).toBeLessThanOrEqual(1);
    }
    // The saving stage's first PRGV that moves the total is PRGV:381,381,65536 (line 138).
    expect(lines[137]).toEqual({ kind: 'prgv', current: 381, total: 381, max: 65536 });
    expect(fractions[137 - savingFrom]).toBe(381 / 65536);
    // It really moves: more than 800 distinct values over the saving stage.
    expect(new Set(fractions).size).toBeGreaterThan(800);
  });

  it('stays at 0 while seamless segments are analysed (only PRGV current moves then)', () => {
    const analysing = seen.filter((_, at) => at > savingFrom && at < 134);
    expect(lines[129]).toEqual({
      kind: 'prgc',
      code: ProgressCode.AnalyzingSeamlessSegments,
      id: 0,
      name: 'Analyzing seamless segments',
    });
    expect(lines[133]).toEqual({ kind: 'prgv', current: 49152, total: 0, max: 65536 });
    expect(analysing.every((s) => s.fraction === 0)).toBe(true);
  });

  it('knows the save job, the file being saved, and the final result: 1 title saved', () => {
    expect(tracker.saveStarted).toBe(true);
    expect(tracker.saveJob).toEqual({ titleCount: 1, directory: 'file://./' });
    expect(tracker.step).toEqual({ code: ProgressCode.SavingToMkvFile, id: 0, name: 'Saving to MKV file' });
    expect(tracker.savingFileIndex).toBe(0);
    expect(tracker.result).toEqual({ titlesSaved: 1, titlesFailed: 0 });
    expect(tracker.done).toBe(true);
  });

  it('is not done before MSG 5005, the second-to-last line', () => {
    const beforeEnd = follow(lines.slice(0, -2)).tracker;
    expect(beforeEnd.done).toBe(false);
    expect(beforeEnd.saveFraction).toBe(1);
    const lastTwo = lines.slice(-2);
    expect(lastTwo.map((line) => (line.kind === 'msg' ? line.code : undefined))).toEqual([
      MsgCode.TitlesSaved,
      MsgCode.CopyComplete,
    ]);
  });

  it('says saving started from MSG 5014 alone, as in a run without --progress', () => {
    const withoutProgress = follow(lines.filter((line) => !['prgt', 'prgc', 'prgv'].includes(line.kind))).tracker;
    expect(withoutProgress.saveStarted).toBe(true);
    expect(withoutProgress.saveFraction).toBeUndefined();
    expect(withoutProgress.result).toEqual({ titlesSaved: 1, titlesFailed: 0 });
  });
});

describe('fragment_dvd_info_progress_arm-issue626_v1.17.2.txt', () => {
  it('follows the DVD opening stage and its steps without reporting a save fraction', () => {
    const { tracker, seen } = follow(fixtureLines('fragment_dvd_info_progress_arm-issue626_v1.17.2.txt'));
    expect(seen.every((s) => s.fraction === undefined)).toBe(true);
    expect(tracker.stage).toEqual({ code: ProgressCode.OpeningDvd, id: 0, name: 'Opening DVD disc' });
    expect(tracker.step).toEqual({ code: 3103, id: 0, name: 'Processing titles' });
    expect(tracker.saveStarted).toBe(false);
    expect(tracker.done).toBe(false);
  });

  it('keeps the step id MakeMKV gives (PRGC:3120,1)', () => {
    const tracker = new MkvProgressTracker();
    tracker.feed(parseRobotLine('PRGC:3120,1,"Scanning contents"'));
    expect(tracker.step).toEqual({ code: 3120, id: 1, name: 'Scanning contents' });
    expect(tracker.savingFileIndex).toBeUndefined();
  });
});

describe('error_bad_cmdline_usage_text_arm-issue622.txt', () => {
  it('follows the drive scan, then nothing more', () => {
    const { tracker } = follow(fixtureLines('error_bad_cmdline_usage_text_arm-issue622.txt'));
    expect(tracker.stage).toEqual({ code: ProgressCode.ScanningDrives, id: 0, name: 'Scanning CD-ROM devices' });
    expect(tracker.saveFraction).toBeUndefined();
    expect(tracker.saveStarted).toBe(false);
    expect(tracker.done).toBe(false);
  });
});
