#!/usr/bin/env node
// A stand-in for `makemkvcon`, for tests on machines where MakeMKV cannot be installed. It owns this folder only.
// It parses a makemkvcon command line like the real tool, then REPLAYS a real captured robot transcript from
// test/fixtures/makemkv/ line by line. It never writes a robot line of its own: every line on stdout comes verbatim
// from a fixture file. What it adds is what the captures cannot hold: time (the saving stage is spread over a few
// seconds), output files (sparse, grown in step with PRGV), a stall on demand, and exit codes.
// The scenario format is described in README.md next to this file.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

// Fixture names are resolved from this file's location, not the cwd, so the agent can run us from anywhere.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/makemkv');
const USAGE_FIXTURE = 'error_bad_cmdline_usage_text_arm-issue622.txt';
const SAVING_STAGE = 'PRGT:5024,'; // "Saving all titles to MKV files"
const SAVE_DONE = ['MSG:5005,', 'MSG:5036,']; // "N titles saved", "Copy complete. N titles saved."
const SCENARIO_KEYS = [
  'info', 'drives', 'mkv', 'titles', 'saveSeconds', 'lineDelayMs', 'exitCode', 'exitCodes', 'stallAtFraction',
  'maxFileBytes',
];

async function main(argv) {
  const cmd = parseCommandLine(argv);
  if (!cmd) return usageError();
  if (!cmd.robot) return fail(1, 'only robot mode (-r / --robot) is supported by this stand-in');
  if (cmd.command === 'backup' || cmd.command === 'f' || cmd.command === 'reg') {
    return fail(1, `the "${cmd.command}" command is not supported by this stand-in (only info and mkv)`);
  }
  const scenario = loadScenario();
  const sinks = openSinks(cmd.messages, cmd.progress);

  if (cmd.command === 'info') {
    // `info disc:9999` is how MakeMKV is asked for the drive list: any index past the 16 slots opens no disc.
    const drives = cmd.source.startsWith('disc:') && Number(cmd.source.slice(5)) >= 16;
    const kind = drives ? 'drives' : 'info';
    const transcript = drives ? (scenario.drives ?? scenario.info) : scenario.info;
    await replay(readLines(requireFixture(transcript, kind)), sinks, scenario, undefined);
    process.exitCode = exitCodeFor(scenario, kind);
    return;
  }

  // mkv <source> <title|all> <folder>
  const folder = cmd.params[2];
  if (!isDirectory(folder)) return fail(1, `output folder ${folder} does not exist`);
  const titlesFile = requireFixture(scenario.titles ?? scenario.info, 'titles (or info)');
  const titles = titlesToSave(readLines(titlesFile), cmd.params[1]);
  const saver = new Saver(folder, titles, scenario.maxFileBytes);
  await replay(readLines(requireFixture(scenario.mkv, 'mkv')), sinks, scenario, saver);
  process.exitCode = exitCodeFor(scenario, 'mkv');
}

// ---------------------------------------------------------------------------------------------------------------
// Command line: `makemkvcon [switches] Command [Parameters]`, switches first, as in the usage text.

/** The parsed command line, or undefined for anything the real tool would answer with its usage text. */
function parseCommandLine(argv) {
  const cmd = { robot: false, messages: '-stdout', progress: undefined, command: undefined, params: [] };
  let at = 0;
  for (; at < argv.length && argv[at].startsWith('-'); at += 1) {
    const arg = argv[at];
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? undefined : arg.slice(eq + 1);
    if ((name === '-r' || name === '--robot' || name === '--noscan' || name === '--decrypt') && value === undefined) {
      cmd.robot ||= name === '-r' || name === '--robot';
    } else if ((name === '--progress' || name === '--messages') && value) {
      if (name === '--messages' && value === '-same') return undefined; // -same exists for --progress only
      cmd[name.slice(2)] = value;
    } else if ((name === '--cache' || name === '--minlength') && value !== undefined && /^\d+$/.test(value)) {
      // accepted and ignored: nothing is read from a disc
    } else if (name === '--directio' && (value === 'true' || value === 'false')) {
      // accepted and ignored
    } else if (name === '--debug' && value !== '') {
      // `--debug[=file]`: accepted and ignored; debug lines (MSG 1003) appear only if the transcript has them
    } else {
      return undefined;
    }
  }
  const [command, ...params] = argv.slice(at);
  const arity = { info: 1, mkv: 3, backup: 2, f: 1, reg: 1 }[command];
  if (arity === undefined || params.length !== arity) return undefined;
  if ((command === 'info' || command === 'mkv' || command === 'backup') && !isSource(params[0])) return undefined;
  if (command === 'mkv' && !/^(\d+|all)$/.test(params[1])) return undefined;
  return { ...cmd, command, params, source: params[0] };
}

function isSource(source) {
  return /^disc:\d+$/.test(source) || /^(dev|file|iso):.+$/.test(source);
}

/** The plain usage text, taken from the real capture; its leading PRG lines belong to that run, not to usage. */
function usageError() {
  const lines = readLines(path.join(FIXTURES, USAGE_FIXTURE));
  const start = lines.findIndex((line) => line.startsWith('Use: makemkvcon'));
  process.stdout.write(lines.slice(start).map((line) => `${line}\n`).join(''));
  process.exitCode = 1;
}

function fail(code, message) {
  process.stderr.write(`makemkvcon stand-in: ${message}\n`);
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario

function loadScenario() {
  const file = process.env.MAKEMKVCON_STANDIN_SCENARIO;
  if (!file) fail(2, 'MAKEMKVCON_STANDIN_SCENARIO is not set (it must name a scenario JSON file)');
  let scenario;
  try {
    scenario = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    fail(2, `cannot read scenario ${file}: ${error.message}`);
  }
  if (typeof scenario !== 'object' || scenario === null || Array.isArray(scenario)) {
    fail(2, `scenario ${file} is not a JSON object`);
  }
  // Unknown keys are refused so that a typo ("saveSecond") does not silently fall back to a default.
  const unknown = Object.keys(scenario).filter((key) => !SCENARIO_KEYS.includes(key));
  if (unknown.length > 0) fail(2, `scenario ${file}: unknown field(s) ${unknown.join(', ')}`);
  for (const key of ['info', 'drives', 'mkv', 'titles']) {
    if (scenario[key] !== undefined) requireFixture(scenario[key], key);
  }
  const number = (key, ok) => {
    if (scenario[key] !== undefined && !(typeof scenario[key] === 'number' && ok(scenario[key]))) {
      fail(2, `scenario ${file}: bad ${key}: ${JSON.stringify(scenario[key])}`);
    }
  };
  const exitCode = (value) => Number.isInteger(value) && value >= 0 && value <= 255;
  number('saveSeconds', (value) => value >= 0);
  number('lineDelayMs', (value) => value >= 0);
  number('exitCode', exitCode);
  number('stallAtFraction', (value) => value >= 0 && value <= 1);
  number('maxFileBytes', (value) => Number.isSafeInteger(value) && value >= 0);
  const codes = scenario.exitCodes;
  if (
    codes !== undefined &&
    (typeof codes !== 'object' || codes === null ||
      Object.entries(codes).some(([kind, code]) => !['info', 'mkv', 'drives'].includes(kind) || !exitCode(code)))
  ) {
    fail(2, `scenario ${file}: exitCodes must be { info?, mkv?, drives? } with codes 0..255`);
  }
  return scenario;
}

/**
 * The path of a fixture named in the scenario. Only files inside test/fixtures/makemkv/ are accepted: that folder
 * holds real captures only, and it is what guarantees that this stand-in replays nothing made up.
 */
function requireFixture(name, field) {
  if (typeof name !== 'string' || name === '') fail(2, `scenario field "${field}" must name a fixture file`);
  const file = path.resolve(FIXTURES, name);
  if (!file.startsWith(FIXTURES + path.sep) || !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
    fail(2, `scenario field "${field}": ${name} is not a file in test/fixtures/makemkv/`);
  }
  return file;
}

function exitCodeFor(scenario, kind) {
  return scenario.exitCodes?.[kind] ?? scenario.exitCode ?? 0;
}

/** The file's lines exactly as stored (trailing spaces kept); the empty piece after the last newline is no line. */
function readLines(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function isDirectory(folder) {
  return fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

// ---------------------------------------------------------------------------------------------------------------
// Output: `--messages` gets every non-progress line (usage.txt: "Output all messages to file"); `--progress`
// gets PRGT/PRGC/PRGV and defaults to no output, which is why a real run without it has no PRG lines.

function openSinks(messages, progress) {
  const open = (spec) => {
    if (spec === '-stdout') return (text) => process.stdout.write(text);
    if (spec === '-stderr') return (text) => process.stderr.write(text);
    if (spec === '-null' || spec === undefined) return () => {};
    const fd = fs.openSync(spec, 'w');
    return (text) => fs.writeSync(fd, text);
  };
  const message = open(messages);
  // "-same" is resolved against the final --messages even when it came first; the real tool wants it to follow.
  return { message, progress: progress === '-same' ? message : open(progress) };
}

const isProgress = (line) => line.startsWith('PRGT:') || line.startsWith('PRGC:') || line.startsWith('PRGV:');

// ---------------------------------------------------------------------------------------------------------------
// Replay

/**
 * Prints the transcript. Lines come `lineDelayMs` apart, except the PRGV lines of the saving stage, which are
 * spread evenly over `saveSeconds`: a real rip spends nearly all its time there. The pacing is the same whether or
 * not PRG lines are printed, because a real rip takes as long without --progress.
 */
async function replay(lines, sinks, scenario, saver) {
  const lineDelayMs = scenario.lineDelayMs ?? 1;
  const stageStart = lines.findIndex((line) => line.startsWith(SAVING_STAGE));
  const stageEnd = stageStart === -1 ? -1 : nextStage(lines, stageStart);
  const savingPrgv = stageStart === -1 ? 0 : lines.slice(stageStart, stageEnd).filter(isPrgv).length;
  const interval = savingPrgv === 0 ? 0 : ((scenario.saveSeconds ?? 3) * 1000) / savingPrgv;
  let stageStartedAt = 0;
  let prgvSeen = 0;

  for (const [at, line] of lines.entries()) {
    const saving = stageStart !== -1 && at > stageStart && at < stageEnd;
    if (saving && isPrgv(line)) {
      // Absolute deadlines, so timer granularity (interval < 1 ms for the Howl's rip) does not add up to drift.
      prgvSeen += 1;
      const wait = stageStartedAt + prgvSeen * interval - performance.now();
      if (wait >= 1) await sleep(wait);
    } else if (lineDelayMs > 0) {
      await sleep(lineDelayMs);
    }

    if (at === stageStart) {
      stageStartedAt = performance.now();
      saver?.grow(0); // the first output file appears when saving starts
    }
    if (SAVE_DONE.some((prefix) => line.startsWith(prefix))) saver?.grow(1); // complete before the success lines
    const fraction = saving && isPrgv(line) ? prgvFraction(line) : undefined;
    // The file grows before the line is printed, so a reader who sees a PRGV finds the file at least that big.
    if (fraction !== undefined) saver?.grow(fraction);

    (isProgress(line) ? sinks.progress : sinks.message)(`${line}\n`);

    if (fraction !== undefined && scenario.stallAtFraction !== undefined && fraction >= scenario.stallAtFraction) {
      // Hang like a drive stuck on a bad sector: no more output, no exit, until a signal ends us.
      setInterval(() => {}, 1 << 30);
      await new Promise(() => {});
    }
  }
}

function nextStage(lines, stageStart) {
  const next = lines.findIndex((line, at) => at > stageStart && line.startsWith('PRGT:'));
  return next === -1 ? lines.length : next;
}

function isPrgv(line) {
  return line.startsWith('PRGV:');
}

/** total/max of `PRGV:current,total,max`: `total` follows the PRGT stage, `current` only the PRGC step. */
function prgvFraction(line) {
  const match = /^PRGV:(\d+),(\d+),(\d+)\s*$/.exec(line);
  if (!match || Number(match[3]) === 0) return undefined;
  return Math.min(1, Number(match[2]) / Number(match[3]));
}

// ---------------------------------------------------------------------------------------------------------------
// Output files

/** The titles `mkv` writes, from the TINFO lines of a transcript: 27 = OutputFileName, 11 = DiskSizeBytes. */
function titlesToSave(lines, which) {
  const titles = new Map();
  for (const line of lines) {
    const match = /^TINFO:(\d+),(11|27),\d+,"((?:[^"\\]|\\.)*)"\s*$/.exec(line);
    if (!match) continue;
    const title = titles.get(Number(match[1])) ?? {};
    title[match[2] === '27' ? 'name' : 'size'] = match[3].replace(/\\(["\\])/g, '$1');
    titles.set(Number(match[1]), title);
  }
  const complete = (title) => title?.name !== undefined && /^\d+$/.test(title.size ?? '');
  const chosen = which === 'all'
    ? [...titles.keys()].sort((a, b) => a - b).map((index) => titles.get(index))
    : [titles.get(Number(which))]; // a title that does not exist: nothing is saved
  return chosen.filter(complete).map((title) => ({ name: title.name, size: Number(title.size) }));
}

/**
 * Grows the output files with ftruncate, so they are sparse: a 31 GB Blu-ray title costs no disk. The saving
 * fraction covers all titles of the run, so files fill one after another, each created when its turn comes.
 */
class Saver {
  #files;
  #total;

  constructor(folder, titles, maxFileBytes) {
    let offset = 0;
    this.#files = titles.map((title) => {
      const size = Math.min(title.size, maxFileBytes ?? title.size);
      const file = { path: path.join(folder, title.name), size, offset, fd: undefined, length: 0 };
      offset += size;
      return file;
    });
    this.#total = offset;
  }

  grow(fraction) {
    const done = Math.floor(fraction * this.#total);
    for (const file of this.#files) {
      if (done < file.offset) break; // not this file's turn yet
      file.fd ??= fs.openSync(file.path, 'w');
      const length = Math.min(file.size, done - file.offset);
      if (length > file.length) {
        fs.ftruncateSync(file.fd, length);
        file.length = length;
      }
    }
  }
}

// Last, so that every declaration above is initialised. SIGTERM and SIGINT deliberately have no handler: Node then
// dies by the signal at once, even mid-sleep, and the partially grown output file stays as it is, which is what a
// killed makemkvcon leaves behind.
await main(process.argv.slice(2));
