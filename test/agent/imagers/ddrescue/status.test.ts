// parseStatusLine on ddrescue 1.27's real screen output, captured through pipes (test/fixtures/ddrescue/).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStatusLine, type DdrescueLine } from '../../../../agent/imagers/ddrescue/status.js';
import { splitLines } from '../../../../agent/tools/run-tool.js';

const FIXTURES = new URL('../../../fixtures/ddrescue/', import.meta.url);
/** Exact rescued bytes in the map files saved after each captured run. */
const RESCUED_AFTER_COPY_PASS = 52_164_608;

/** Splits like runTool does (on \r and \n), in chunks of `chunkSize` bytes, and parses every line. */
function parseCapture(name: string, chunkSize = Infinity): DdrescueLine[] {
  const text = readFileSync(new URL(name, FIXTURES), 'latin1');
  const parsed: DdrescueLine[] = [];
  const splitter = splitLines((line) => parsed.push(parseStatusLine(line)));
  for (let at = 0; at < text.length; at += Math.min(chunkSize, text.length)) splitter.push(text.slice(at, at + chunkSize));
  splitter.flush();
  return parsed;
}

const rescuedCounts = (lines: DdrescueLine[]): number[] =>
  lines.flatMap((line) => (line.kind === 'rescued' ? [line.rescuedBytes] : []));
const messages = (lines: DdrescueLine[]): string[] => lines.flatMap((line) => (line.kind === 'message' ? [line.text] : []));

describe('parseStatusLine on the copy pass (ddrescue 1.27 -b 2048 -d -n, stdout to a pipe)', () => {
  const lines = parseCapture('copy-pass_stdout_ddrescue-1.27.txt');

  it('reads every rescued count of the redrawn status block, truncated to kB as ddrescue prints them', () => {
    expect(rescuedCounts(lines)).toEqual([0, 49_086_000, 52_035_000, 52_035_000, 52_101_000, 52_101_000, 52_164_000, 52_164_000]);
  });

  it('never reports more than the map file says was rescued', () => {
    for (const count of rescuedCounts(lines)) expect(count).toBeLessThanOrEqual(RESCUED_AFTER_COPY_PASS);
    expect(Math.floor(RESCUED_AFTER_COPY_PASS / 1000) * 1000).toBe(rescuedCounts(lines).at(-1));
  });

  it('keeps the header, the phases and "Finished" as messages, without escape codes or counters', () => {
    expect(new Set(messages(lines))).toEqual(new Set([
      'GNU ddrescue 1.27',
      'Press Ctrl-C to interrupt',
      'Copying non-tried blocks... Pass 1 (forwards)',
      'Copying non-tried blocks... Pass 2 (backwards)',
      'Trimming failed blocks... (forwards)',
      'Finished',
    ]));
  });

  it('gives the same lines however the output is chunked', () => {
    for (const size of [1, 7, 64, 1000]) expect(parseCapture('copy-pass_stdout_ddrescue-1.27.txt', size)).toEqual(lines);
  });
});

describe('parseStatusLine on the retry pass (-b 2048 -d -r 1, continuing the copy pass map)', () => {
  const lines = parseCapture('retry-pass_stdout_ddrescue-1.27.txt');

  it('reads the count of "Initial status (read from mapfile)" as a rescued count too', () => {
    expect(messages(lines).slice(0, 4)).toEqual([
      'GNU ddrescue 1.27',
      'Press Ctrl-C to interrupt',
      'Initial status (read from mapfile)',
      'Current status',
    ]);
    expect(rescuedCounts(lines)[0]).toBe(52_164_000);
  });

  it('sees scraping and retrying', () => {
    expect(messages(lines)).toContain('Scraping failed blocks... (forwards)');
    expect(messages(lines)).toContain('Retrying bad sectors... Retry 1 (forwards)');
    expect(messages(lines).at(-1)).toBe('Finished');
  });
});

describe('parseStatusLine on other captures', () => {
  it('ends an interrupted run with "Interrupted by user"', () => {
    const lines = parseCapture('interrupted_stdout_ddrescue-1.27.txt');
    expect(messages(lines).at(-1)).toBe('Interrupted by user');
    expect(Math.max(...rescuedCounts(lines))).toBe(52_101_000);
  });

  it("passes ddrescue's error on stderr through as a message", () => {
    expect(parseCapture('open-failed_stderr_ddrescue-1.27.txt')).toEqual([{
      kind: 'message',
      text: "ddrescue: /dev/discbridge-no-such-disc: Can't open input file: No such file or directory",
    }]);
  });
});

describe('parseStatusLine units', () => {
  it('reads plain bytes and every prefix, SI and binary (-B)', () => {
    expect(parseStatusLine('  rescued:   196608 B,   bad areas:        0,        run time:          0s')).toEqual({ kind: 'rescued', rescuedBytes: 196_608 });
    expect(parseStatusLine('  rescued:    2401 MB,   bad areas:        0,        run time:         35s')).toEqual({ kind: 'rescued', rescuedBytes: 2_401_000_000 });
    expect(parseStatusLine('rescued: 1665 GB, tried: 0 B, bad-sector: 0 B, bad areas: 0')).toEqual({ kind: 'rescued', rescuedBytes: 1_665_000_000_000 });
    expect(parseStatusLine('  rescued:   12 MiB,   bad areas:        0,')).toEqual({ kind: 'rescued', rescuedBytes: 12 * 1024 * 1024 });
  });

  it('does not take "pct rescued" for a count', () => {
    expect(parseStatusLine('pct rescued:   99.49%, read errors:       11,  remaining time:         n/a')).toEqual({ kind: 'counters' });
  });
});
