// Properties every real capture must have: nothing throws, every robot record is recognised, nothing else is
// taken for one, and no fixture in the folder goes untested.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { interpretInfo } from '../../../../agent/rippers/makemkv/info.js';
import { MkvProgressTracker } from '../../../../agent/rippers/makemkv/progress.js';
import { allFixtureNames, fixtureLines, readFixture } from './fixtures.js';

const ROBOT_RECORD = /^(MSG|PRGT|PRGC|PRGV|DRV|TCOUNT|CINFO|TINFO|SINFO):/;

describe('every makemkv fixture', () => {
  for (const name of allFixtureNames()) {
    it(`${name}: parses and interprets without throwing, and recognises exactly its robot records`, () => {
      const rawLines = readFixture(name).split('\n').slice(0, -1);
      const parsed = fixtureLines(name);
      expect(parsed).toHaveLength(rawLines.length);
      for (const [at, line] of parsed.entries()) {
        const raw = rawLines[at]!;
        if (raw.trim() === '') expect(line.kind).toBe('blank');
        else if (ROBOT_RECORD.test(raw)) expect(line.kind, raw).not.toBe('text');
        else expect(line).toEqual({ kind: 'text', text: raw.trimEnd() });
      }
      expect(() => interpretInfo(parsed)).not.toThrow();
      const tracker = new MkvProgressTracker();
      expect(() => parsed.forEach((line) => tracker.feed(line))).not.toThrow();
    });
  }

  it('has a dedicated test for each fixture in the folder', () => {
    const testFiles = readdirSync(new URL('./', import.meta.url)).filter((file) => file.endsWith('.test.ts'));
    const testSources = testFiles.map((file) => readFileSync(new URL(file, import.meta.url), 'utf8')).join('\n');
    const untested = allFixtureNames().filter((name) => !testSources.includes(`describe('${name}'`));
    expect(untested).toEqual([]);
  });
});

describe('raw/makemkv-headless_api.log', () => {
  const lines = fixtureLines('raw/makemkv-headless_api.log');

  it('takes none of the robot records quoted inside the log lines for a record', () => {
    expect(lines).toHaveLength(367);
    expect(lines.every((line) => line.kind === 'text')).toBe(true);
    const info = interpretInfo(lines);
    expect(info.drives).toEqual([]);
    expect(info.messages).toEqual([]);
    expect(info.version).toBeUndefined();
    expect(info.failure).toBeUndefined();
    expect(info.unknownText).toHaveLength(367);
  });
});
