// Rips one audio track to a WAV file with cd-paranoia (libcdio's cdparanoia), from a drive or an image: its progress
// lines, the failures it reports, and a WAV that must hold audio before the rip counts as done.
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { missingTool, notFound } from '../tools/find-executable.js';
import { RipError } from '../tools/rip-error.js';
import { runTool, ToolMissingError, type ToolRun } from '../tools/run-tool.js';
import { discName, locateDisc } from './disc-source.js';
import type { CdTrack } from './toc.js';
import { findPcm } from './wav.js';

const INSTALL_HINT = 'install the Debian package cd-paranoia (apt-get install cd-paranoia), or set DISCBRIDGE_CD_PARANOIA to its path';

export interface ParanoiaProgress {
  /** paranoia's callback code: 0 read, 1 verify, 14 wrote, 15 finished; the others are repairs and errors. */
  code: number;
  /** Its name for the code: "read", "wrote", "skip", "read error"… */
  stage: string;
  /**
   * The sector the event is about, counted from the start of the disc (LSN), not of the track: a rip of a track that
   * starts at LSN 150 and ends at LSN 262 reports "read @ 189336" (sector 161) first and "finished @ 309287" (sector
   * 262, its last word) last (test/fixtures/cd-paranoia/, cd-paranoia 10.2 on an image).
   */
  sector: number;
}

// With -e, cd-paranoia reports each callback as "##: CODE [NAME] @ POSITION", POSITION in 16-bit words.
const PROGRESS = /^##: (-?\d+) \[([^\]]*)\] @ (\d+)\s*$/;
const WORDS_PER_SECTOR = 1176;
const WROTE = 14;
const FINISHED = 15;
// Reading ahead into paranoia's cache (1200 sectors by default) runs past the end of the track, and verifying goes
// back over what was read: only what was written moves the track's progress.
const ROUTINE_CODES = new Set([0, 1, WROTE, FINISHED]);
// Setting the read speed fails on images and on some drives; the rip goes on at the drive's own speed.
const SPEED_NOT_SUPPORTED = /^\s*405: Option not supported by drive\s*$/;
const DETAIL_LINES = 20;
// The banner every run starts with.
const BANNER = /^(Sending all callback output to stderr|cdparanoia III release|\(C\) |Report bugs to)/;

const FAILURES: [RegExp, (track: number, source: string) => string][] = [
  [/Track #\d+ does not exist/, (track) => `The disc has no track ${track}`],
  [/non audio track/, (track) => `Track ${track} is a data track, not audio`],
  [/Unable to open (cdrom drive|disc)/, (_track, source) => `cd-paranoia could not open the disc in ${discName(source)}`],
];

export function parseParanoiaProgress(line: string): ParanoiaProgress | undefined {
  const match = PROGRESS.exec(line);
  if (!match) return undefined;
  return { code: Number(match[1]), stage: match[2]!, sector: Math.floor(Number(match[3]) / WORDS_PER_SECTOR) };
}

export interface RipTrackRequest {
  /** A drive (/dev/sr0) or an image (.cue, .toc). */
  source: string;
  track: CdTrack;
  /** The .wav file to write. Removed when the rip fails or is cancelled: paranoia cannot go on from a partial one. */
  output: string;
  signal: AbortSignal;
  /** 0..1 over the track, never going back. */
  onProgress: (progress: { fraction: number }) => void;
  /** Other tool output, for the job log. */
  onLog?: (line: string) => void;
}

export class CdParanoia {
  readonly toolName = 'cd-paranoia';

  constructor(private readonly options: { binary: string }) {}

  checkInstalled(): Promise<string | undefined> {
    return missingTool(this.toolName, this.options.binary, INSTALL_HINT);
  }

  async ripTrack(request: RipTrackRequest): Promise<void> {
    const { source, track, signal } = request;
    signal.throwIfAborted();
    const disc = await locateDisc(source);
    const output = resolve(request.output);
    const log = logLines(request.onLog);
    const report = trackProgress(track, request.onProgress);
    let run: ToolRun;
    try {
      run = await runTool(this.options.binary, ['-e', '-d', disc.path, '-w', '--', String(track.number), output], {
        signal,
        installHint: INSTALL_HINT,
        ...(disc.kind === 'drive' ? {} : { cwd: disc.cwd }),
        onStderrLine: (line) => {
          const progress = parseParanoiaProgress(line);
          if (!progress) log.line(line);
          else if (!ROUTINE_CODES.has(progress.code)) log.event(progress.stage);
          else if (progress.code === WROTE || progress.code === FINISHED) report(progress.sector);
        },
      });
    } catch (error) {
      await rm(output, { force: true });
      if (error instanceof ToolMissingError) throw new RipError(notFound(this.toolName, this.options.binary, INSTALL_HINT));
      throw error;
    } finally {
      log.summary();
    }
    if (run.cancelled) {
      await rm(output, { force: true });
      throw signal.reason;
    }
    try {
      if (run.exitCode !== 0) throw failure(run, log.recent(), track.number, source);
      const pcm = await findPcm(output).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      });
      if (!pcm || pcm.length === 0) throw new RipError(`cd-paranoia finished track ${track.number} but wrote no audio`, log.recent());
    } catch (error) {
      await rm(output, { force: true });
      throw error;
    }
    // A drive stops an enhanced CD's last audio track at the end of its session, before the TOC's end of the track.
    report(track.startLsn + track.lengthSectors - 1);
  }
}

function failure(run: ToolRun, detail: string, track: number, source: string): RipError {
  for (const [pattern, sentence] of FAILURES) {
    if (pattern.test(detail)) return new RipError(sentence(track, source), detail);
  }
  return new RipError(`cd-paranoia could not rip track ${track} (exit code ${run.exitCode ?? run.signal})`, detail);
}

/** Turns the last sector written into the fraction of the track done, passing on only growth. */
function trackProgress(track: CdTrack, onProgress: (progress: { fraction: number }) => void): (sector: number) => void {
  let reported = 0;
  return (sector) => {
    const fraction = Math.min(1, (sector + 1 - track.startLsn) / track.lengthSectors);
    if (fraction <= reported) return;
    reported = fraction;
    onProgress({ fraction });
  };
}

/**
 * The job log gets cd-paranoia's messages without its banner, the 405 speed notice once at most (it comes twice a
 * run), and at the end how often it had to repair or skip, rather than one line per sector on a scratched disc.
 */
function logLines(onLog: ((line: string) => void) | undefined) {
  let speedNoticeLogged = false;
  const events = new Map<string, number>();
  const lastLines: string[] = [];
  return {
    line(line: string) {
      if (BANNER.test(line)) return;
      if (SPEED_NOT_SUPPORTED.test(line)) {
        if (speedNoticeLogged) return;
        speedNoticeLogged = true;
      }
      const text = line.trim();
      lastLines.push(text);
      if (lastLines.length > DETAIL_LINES) lastLines.shift();
      onLog?.(text);
    },
    /** The last messages, for an error's detail. */
    recent: () => lastLines.join('\n'),
    event(stage: string) {
      events.set(stage, (events.get(stage) ?? 0) + 1);
    },
    summary() {
      if (events.size === 0) return;
      onLog?.(`cd-paranoia: ${[...events].map(([stage, count]) => `${stage} ×${count}`).join(', ')}`);
    },
  };
}
