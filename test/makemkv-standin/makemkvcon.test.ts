// Tests for the makemkvcon stand-in (./makemkvcon): it must replay real captures verbatim, pace the saving stage,
// grow a sparse output file in step with PRGV, stall on demand, and fail like the real tool on bad command lines.
// The stand-in is spawned directly, without a shell, exactly as the agent runs the real binary.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const STANDIN = fileURLToPath(new URL('./makemkvcon.mjs', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/makemkv/', import.meta.url));

const DEMONSLAYER_INFO = 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt';
const HOWLS_RIP = 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt';
const DVD_INFO_WITH_PROGRESS = 'fragment_dvd_info_progress_arm-issue626_v1.17.2.txt';
const DVD_INFO_8_TITLES = 'dvd_info_automakemkv_mrpoppers_v1.16.5.txt';
const MACOS_NO_DRIVE = 'nodrive_info_macos_makemkv-headless_v1.18.1.txt';
const MEDIUM_ERROR = 'fragment_error_read_medium-error_arm-issue810.txt';
const USAGE = 'error_bad_cmdline_usage_text_arm-issue622.txt';

function fixtureLines(name: string): string[] {
  const lines = fs.readFileSync(path.join(FIXTURES, name), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

const isPrg = (line: string): boolean => /^PRG[TCV]:/.test(line);

/** total/max of a PRGV line. */
function prgvFraction(line: string): number {
  const [, total, max] = line.slice('PRGV:'.length).split(',').map(Number);
  return (total ?? 0) / (max ?? 1);
}

/** TINFO attribute `id` of `title`, read from a fixture (11 = DiskSizeBytes, 27 = OutputFileName). */
function tinfo(name: string, title: number, id: number): string {
  const prefix = `TINFO:${title},${id},0,"`;
  const line = fixtureLines(name).find((candidate) => candidate.startsWith(prefix));
  if (!line) throw new Error(`${name} has no TINFO ${title},${id}`);
  return line.slice(prefix.length, -1);
}

/** The usage text the stand-in must print: the capture's lines from "Use: makemkvcon" on, without its PRG lines. */
function usageLines(): string[] {
  const lines = fixtureLines(USAGE);
  return lines.slice(lines.findIndex((line) => line.startsWith('Use: makemkvcon')));
}

interface TimedLine {
  text: string;
  /** performance.now() when the chunk holding the line arrived. */
  at: number;
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string[];
  stderr: string;
}

interface Run {
  child: ChildProcessWithoutNullStreams;
  /** stdout lines so far. */
  lines: TimedLine[];
  done: Promise<Outcome>;
}

let tmp: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'makemkv-standin-'));
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function writeScenario(scenario: unknown): string {
  const file = path.join(tmp, `scenario-${children.length}.json`);
  fs.writeFileSync(file, typeof scenario === 'string' ? scenario : JSON.stringify(scenario));
  return file;
}

function outputFolder(): string {
  const folder = path.join(tmp, 'out');
  fs.mkdirSync(folder, { recursive: true });
  return folder;
}

/** Spawns the stand-in; `scenario` undefined leaves MAKEMKVCON_STANDIN_SCENARIO unset. */
function start(args: string[], scenario?: unknown, onLine?: (line: TimedLine) => void): Run {
  const env = { ...process.env };
  delete env.MAKEMKVCON_STANDIN_SCENARIO;
  if (scenario !== undefined) env.MAKEMKVCON_STANDIN_SCENARIO = writeScenario(scenario);
  const child = spawn(STANDIN, args, { env });
  children.push(child);
  const lines: TimedLine[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const at = performance.now();
    const pieces = (partial + chunk).split('\n');
    partial = pieces.pop() ?? '';
    for (const text of pieces) {
      const line = { text, at };
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (partial !== '') lines.push({ text: partial, at: performance.now() });
      resolve({ code, signal, stdout: lines.map((line) => line.text), stderr });
    });
  });
  return { child, lines, done };
}

describe('makemkvcon stand-in: info', () => {
  it.each([DEMONSLAYER_INFO, DVD_INFO_WITH_PROGRESS])('prints every line of %s with --progress=-same', async (name) => {
    const result = await start(['-r', '--progress=-same', 'info', 'disc:0'], { info: name }).done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toEqual(fixtureLines(name));
  });

  it.each([DEMONSLAYER_INFO, DVD_INFO_WITH_PROGRESS])('prints %s minus PRG lines without --progress', async (name) => {
    const result = await start(['-r', '--cache=1', 'info', 'dev:/dev/sr0'], { info: name }).done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toEqual(fixtureLines(name).filter((line) => !isPrg(line)));
  });

  it('really drops lines: the DVD capture has PRG lines', () => {
    expect(fixtureLines(DVD_INFO_WITH_PROGRESS).filter(isPrg).length).toBeGreaterThan(10);
  });

  it('with --messages=-null and --progress=-stdout prints only the PRG lines', async () => {
    const args = ['-r', '--messages=-null', '--progress=-stdout', 'info', 'disc:0'];
    const result = await start(args, { info: DVD_INFO_WITH_PROGRESS }).done;
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual(fixtureLines(DVD_INFO_WITH_PROGRESS).filter(isPrg));
  });

  it('answers `info disc:9999` (the drive list) from `drives`, with its own exit code', async () => {
    const scenario = { info: DEMONSLAYER_INFO, drives: MACOS_NO_DRIVE, exitCodes: { drives: 0, info: 7 } };
    const drives = await start(['-r', '--cache=1', 'info', 'disc:9999'], scenario).done;
    expect(drives.code).toBe(0);
    expect(drives.stdout).toEqual(fixtureLines(MACOS_NO_DRIVE));
    const info = await start(['-r', 'info', 'disc:0'], scenario).done;
    expect(info.code).toBe(7);
    expect(info.stdout).toEqual(fixtureLines(DEMONSLAYER_INFO));
  });
});

describe('makemkvcon stand-in: mkv', () => {
  // The Howl's capture ripped title 4 of another disc; the file written comes from the demonslayer info instead.
  const fileName = tinfo(DEMONSLAYER_INFO, 0, 27);
  const fileSize = Number(tinfo(DEMONSLAYER_INFO, 0, 11));

  it('reads the expected title from the demonslayer capture', () => {
    expect(fileName).toBe(
      'Demon Slayer- Kimetsu no Yaiba Swordsmith Village Arc Complete Blu-ray Set Standard Edition Disc 1_t00.mkv',
    );
    expect(fileSize).toBe(31843694592);
  });

  it('replays the Howl rip, spreads saving over saveSeconds and grows a sparse file to the declared size', async () => {
    const folder = outputFolder();
    const file = path.join(folder, fileName);
    let savingStarted = false;
    let sizeAtStageStart: number | undefined;
    let sizeMidway: number | undefined;
    const run = start(
      ['-r', '--progress=-same', 'mkv', 'disc:0', '0', folder],
      { info: DEMONSLAYER_INFO, mkv: HOWLS_RIP, saveSeconds: 1 },
      (line) => {
        if (line.text.startsWith('PRGT:5024,')) {
          savingStarted = true;
          sizeAtStageStart = fs.statSync(file).size;
        } else if (savingStarted && sizeMidway === undefined && line.text.startsWith('PRGV:')) {
          if (prgvFraction(line.text) >= 0.5) sizeMidway = fs.statSync(file).size;
        }
      },
    );
    const result = await run.done;

    expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(result.stdout).toEqual(fixtureLines(HOWLS_RIP));

    const stageStart = result.stdout.indexOf('PRGT:5024,0,"Saving all titles to MKV files"');
    const savingPrgv = run.lines.slice(stageStart).filter((line) => line.text.startsWith('PRGV:'));
    expect(savingPrgv.length).toBe(1723);
    const spread = (savingPrgv.at(-1)?.at ?? 0) - (savingPrgv[0]?.at ?? 0);
    expect(spread).toBeGreaterThanOrEqual(600);
    expect(spread).toBeLessThan(5000);

    expect(sizeAtStageStart).toBe(0);
    expect(sizeMidway).toBeGreaterThan(0);
    expect(sizeMidway).toBeLessThan(fileSize);

    expect(fs.readdirSync(folder)).toEqual([fileName]);
    const stat = fs.statSync(file);
    expect(stat.size).toBe(fileSize);
    expect(stat.blocks * 512).toBeLessThan(1024 * 1024);
  });

  it('writes every title for `all`, one after another, capped by maxFileBytes', async () => {
    const folder = outputFolder();
    const cap = 100_000_000;
    const scenario = {
      info: DEMONSLAYER_INFO,
      titles: DVD_INFO_8_TITLES,
      mkv: HOWLS_RIP,
      saveSeconds: 0.3,
      maxFileBytes: cap,
    };
    const result = await start(['-r', 'mkv', 'disc:0', 'all', folder], scenario).done;
    expect(result.code).toBe(0);
    const expected = Array.from({ length: 8 }, (_, title) => [
      tinfo(DVD_INFO_8_TITLES, title, 27),
      Math.min(cap, Number(tinfo(DVD_INFO_8_TITLES, title, 11))),
    ]);
    expect(expected[0]).toEqual(['title_t00.mkv', 100_000_000]);
    expect(expected[1]).toEqual(['title_t01.mkv', 87085056]);
    const written = fs.readdirSync(folder).sort().map((name) => [name, fs.statSync(path.join(folder, name)).size]);
    expect(written).toEqual(expected);
  });

  it('saves nothing for a title the titles transcript lacks (the Howl capture ripped title 4)', async () => {
    const folder = outputFolder();
    const scenario = { info: DEMONSLAYER_INFO, mkv: HOWLS_RIP, saveSeconds: 0.2, exitCode: 0 };
    const result = await start(['-r', '--progress=-same', 'mkv', 'disc:0', '4', folder], scenario).done;
    expect(result.code).toBe(0);
    expect(result.stdout).toEqual(fixtureLines(HOWLS_RIP));
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it('replays an error fragment, writes no file and exits with the scenario code', async () => {
    const folder = outputFolder();
    const scenario = { info: DEMONSLAYER_INFO, mkv: MEDIUM_ERROR, exitCode: 3, exitCodes: { mkv: 12 } };
    const result = await start(['-r', '--progress=-same', 'mkv', 'disc:0', '0', folder], scenario).done;
    expect(result.code).toBe(12);
    expect(result.stdout).toEqual(fixtureLines(MEDIUM_ERROR));
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it('fails with exit 1 and prints nothing when the output folder does not exist', async () => {
    const missing = path.join(tmp, 'no-such-folder');
    const result = await start(['-r', 'mkv', 'disc:0', '0', missing], { info: DEMONSLAYER_INFO, mkv: HOWLS_RIP }).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toContain(missing);
  });

  it('stalls at stallAtFraction, printing nothing more, and dies promptly on SIGTERM', async () => {
    const folder = outputFolder();
    let savingStarted = false;
    let stalledAt: { line: TimedLine; count: number } | undefined;
    let reached: () => void = () => {};
    const reachedStall = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const run = start(
      ['-r', '--progress=-same', 'mkv', 'disc:0', '0', folder],
      { info: DEMONSLAYER_INFO, mkv: HOWLS_RIP, saveSeconds: 2, stallAtFraction: 0.3 },
      (line) => {
        savingStarted ||= line.text.startsWith('PRGT:5024,');
        if (savingStarted && !stalledAt && line.text.startsWith('PRGV:') && prgvFraction(line.text) >= 0.3) {
          stalledAt = { line, count: run.lines.length };
          reached();
        }
      },
    );
    await reachedStall;
    await sleep(1000);
    const { line, count } = stalledAt ?? { line: { text: '', at: 0 }, count: 0 };

    expect(run.lines.length).toBe(count);
    expect(run.child.exitCode).toBeNull();
    expect(run.lines.map((printed) => printed.text)).toEqual(fixtureLines(HOWLS_RIP).slice(0, count));
    const partial = fs.statSync(path.join(folder, fileName)).size;
    expect(partial).toBe(Math.floor(prgvFraction(line.text) * fileSize));
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(fileSize);

    const killedAt = performance.now();
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(performance.now() - killedAt).toBeLessThan(1000);
    expect(result.signal === 'SIGTERM' || result.code === 143).toBe(true);
    expect(fs.statSync(path.join(folder, fileName)).size).toBe(partial);
  });
});

describe('makemkvcon stand-in: command line and scenario errors', () => {
  const scenario = { info: DEMONSLAYER_INFO, mkv: HOWLS_RIP };

  it.each([
    ['an unknown option', ['-r', '--bogus', 'info', 'disc:0']],
    ['a missing argument', ['-r', 'mkv', 'disc:0', '0']],
    ['a malformed source', ['-r', 'info', '/dev/sr0']],
    ['a bad title', ['-r', 'mkv', 'disc:0', 'first', '/tmp']],
    ['no command', ['-r', '--progress=-same']],
  ])('prints the real usage text and exits 1 for %s', async (_, args) => {
    const result = await start(args, scenario).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual(usageLines());
    expect(result.stdout.some(isPrg)).toBe(false);
  });

  it('refuses to run without -r, with one line on stderr', async () => {
    const result = await start(['info', 'disc:0'], scenario).done;
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/robot/);
  });

  it('exits 2 with a clear message when MAKEMKVCON_STANDIN_SCENARIO is not set', async () => {
    const result = await start(['-r', 'info', 'disc:0']).done;
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toMatch(/MAKEMKVCON_STANDIN_SCENARIO/);
  });

  it.each([
    ['not JSON', '{ info: '],
    ['a missing fixture', { info: 'no-such-capture.txt' }],
    ['a file outside the fixtures', { info: '../../../package.json' }],
    ['an unknown field', { info: DEMONSLAYER_INFO, saveSecond: 1 }],
    ['a bad number', { info: DEMONSLAYER_INFO, stallAtFraction: 2 }],
  ])('exits 2 for a scenario with %s', async (_, bad) => {
    const result = await start(['-r', 'info', 'disc:0'], bad).done;
    expect(result.code).toBe(2);
    expect(result.stdout).toEqual([]);
    expect(result.stderr).toMatch(/^makemkvcon stand-in: /);
  });
});
