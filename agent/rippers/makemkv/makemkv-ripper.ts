// The MakeMKV backend: `makemkvcon -r` in robot mode. Scans with `info dev:<device>` and rips one title at a time
// with `mkv dev:<device> <title> <folder>` (`iso:<file>` for a disc image). makemkvcon prints no speed or ETA, so both come from bytes: the saving
// stage's fraction × the title's size, measured over a sliding window; speed is a multiple of the disc's 1× read
// rate (DVD 1.385 MB/s, Blu-ray 4.5 MB/s), as drive speeds are quoted.
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DiscType } from '../../../shared/index.js';
import { ONE_X_BYTES_PER_SECOND } from '../../measure/disc-speeds.js';
import { RateMeter } from '../../measure/progress-math.js';
import { inContainer } from '../../tools/container.js';
import { missingTool } from '../../tools/find-executable.js';
import { runTool } from '../../tools/run-tool.js';
import { RipError } from '../../tools/rip-error.js';
import type { DiscScan, DiscTitle, Ripper, RipRequest, ScanRequest, TitleStream } from '../ripper.js';
import { FailureClassifier } from './failure.js';
import { interpretInfo, type MakeMkvDiscType } from './info.js';
import { MkvProgressTracker } from './progress.js';
import { parseRobotLine, type RobotLine } from './robot-line.js';
import type { MakeMkvTitle } from './titles.js';

export interface MakeMkvOptions {
  /** Path or name of makemkvcon. */
  binary: string;
}

const INSTALL_HINT = 'install MakeMKV from makemkv.com (makemkvcon is part of it), or set DISCBRIDGE_MAKEMKVCON to its path';
/** MakeMKV may not be redistributed, so no image carries it: the user mounts their own (README, "MakeMKV in the agent image"). */
const CONTAINER_HINT = 'the image cannot carry MakeMKV (it is not redistributable): mount your MakeMKV folder into the container and set DISCBRIDGE_MAKEMKVCON to makemkvcon in it (README: "MakeMKV in the agent image")';
// --minlength=0: discbridge selects titles by length itself, and `info` and `mkv` must number titles alike.
const COMMON_ARGS = ['-r', '--progress=-same', '--minlength=0'];

export class MakeMkvRipper implements Ripper {
  readonly name = 'makemkv';
  readonly toolName = 'makemkvcon';
  readonly knowsOutputSize = true;

  constructor(private readonly options: MakeMkvOptions) {}

  checkInstalled(): Promise<string | undefined> {
    return missingTool(this.toolName, this.options.binary, inContainer() ? CONTAINER_HINT : INSTALL_HINT);
  }

  async scan({ device, signal, onLog }: ScanRequest): Promise<DiscScan> {
    const lines: RobotLine[] = [];
    const run = await runTool(this.options.binary, [...COMMON_ARGS, '--cache=1', 'info', await sourceOf(device)], {
      signal, installHint: INSTALL_HINT,
      onStdoutLine: (text) => {
        lines.push(parseRobotLine(text));
        onLog?.(text);
      },
      onStderrLine: (text) => onLog?.(text),
    });
    if (run.cancelled) throw signal.reason;
    const info = interpretInfo(lines);
    if (info.failure) throw new RipError(info.failure.message, `makemkvcon exit code ${run.exitCode ?? run.signal}`);
    if (run.exitCode !== 0) throw new RipError(`makemkvcon could not read the disc (exit code ${run.exitCode ?? run.signal})`, run.stderrTail.join('\n'));
    if (info.titles.length === 0) throw new RipError('MakeMKV found no titles on the disc');
    const discType = toDiscType(info.disc?.type);
    return {
      ...(info.disc?.name ? { discName: info.disc.name } : {}),
      ...(discType ? { discType } : {}),
      titles: info.titles.map(toDiscTitle),
    };
  }

  async ripTitle(request: RipRequest): Promise<void> {
    const { title, signal } = request;
    // makemkvcon names its own files; it writes into a folder of this title's own, from which the file is moved.
    const staging = join(dirname(request.outputFile), `.${basename(request.outputFile)}.makemkv`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging);
    try {
      const tracker = new MkvProgressTracker();
      const failures = new FailureClassifier();
      const bytesRate = new RateMeter(15_000, 2_000);
      const oneX = request.discType === 'dvd' || request.discType === 'bluray' ? ONE_X_BYTES_PER_SECOND[request.discType] : undefined;
      const run = await runTool(this.options.binary, [...COMMON_ARGS, 'mkv', await sourceOf(request.device), String(title.titleId), staging], {
        signal, installHint: INSTALL_HINT,
        onStdoutLine: (text) => {
          const line = parseRobotLine(text);
          tracker.feed(line);
          failures.observe(line);
          if (line.kind === 'prgv') {
            const fraction = tracker.saveFraction;
            if (fraction === undefined) return;
            const bytesDone = fraction * title.expectedSizeBytes;
            bytesRate.add(performance.now(), bytesDone);
            const rate = bytesRate.rate();
            request.onProgress({
              fraction,
              ...(rate && oneX ? { speed: rate / oneX } : {}),
              ...(rate ? { etaSeconds: Math.round((title.expectedSizeBytes - bytesDone) / rate) } : {}),
            });
          } else if (line.kind !== 'prgc' && line.kind !== 'prgt') {
            request.onLog?.(text);
          }
        },
        onStderrLine: (text) => request.onLog?.(text),
      });
      if (run.cancelled) throw signal.reason;
      const failure = failures.failure;
      if (failure) throw new RipError(failure.message, `makemkvcon exit code ${run.exitCode ?? run.signal}`);
      const result = tracker.result;
      if (result && result.titlesFailed > 0) throw new RipError(`MakeMKV could not save title ${title.titleId}`);
      if (run.exitCode !== 0) throw new RipError(`makemkvcon failed on title ${title.titleId} (exit code ${run.exitCode ?? run.signal})`, run.stderrTail.join('\n'));
      // A run can exit 0 without saving anything: only a saved, non-empty file counts.
      if (!result || result.titlesSaved < 1) throw new RipError(`MakeMKV finished title ${title.titleId} but saved nothing`);
      const produced = await producedFile(staging, title.toolFileName);
      if (!produced) throw new RipError(`MakeMKV reported title ${title.titleId} saved but wrote no file`);
      await rename(produced, request.outputFile);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
}

/**
 * How makemkvcon is told what to read: a drive by its device (on Windows by its letter, `dev:D:`), a disc image
 * (from the import folder) as `iso:`.
 */
async function sourceOf(device: string): Promise<string> {
  const letter = /^\\\\\.\\([A-Za-z]:)$/.exec(device)?.[1];
  if (letter) return `dev:${letter}`;
  return (await stat(device).then((s) => s.isFile(), () => false)) ? `iso:${device}` : `dev:${device}`;
}

/** The file makemkvcon wrote: the name it announced in the scan, else the only non-empty .mkv it left. */
async function producedFile(folder: string, announced: string | undefined): Promise<string | undefined> {
  const sizeOf = (file: string) => stat(file).then((s) => s.size, () => 0);
  if (announced && (await sizeOf(join(folder, announced))) > 0) return join(folder, announced);
  const candidates: string[] = [];
  for (const name of await readdir(folder)) {
    if (name.endsWith('.mkv') && (await sizeOf(join(folder, name))) > 0) candidates.push(join(folder, name));
  }
  return candidates.length === 1 ? candidates[0] : undefined;
}

function toDiscType(type: MakeMkvDiscType | undefined): DiscType | undefined {
  if (type === 'dvd' || type === 'bluray') return type;
  return type === undefined ? undefined : 'unknown';
}

function toDiscTitle(title: MakeMkvTitle): DiscTitle {
  const streams: TitleStream[] = title.streams.map((stream) => ({
    kind: stream.kind,
    ...(stream.languageCode ? { language: stream.languageCode } : {}),
    ...(stream.codecShort ?? stream.codecId ? { codec: (stream.codecShort ?? stream.codecId) as string } : {}),
  }));
  return {
    titleId: title.index,
    ...(title.name ? { name: title.name } : {}),
    durationSeconds: title.durationSeconds,
    chapters: title.chapters,
    expectedSizeBytes: title.sizeBytes,
    streams,
    ...(title.sourceFile ? { sourceFile: title.sourceFile } : {}),
    ...(title.segmentsMap ? { segmentsMap: title.segmentsMap } : {}),
    ...(title.outputFileName ? { toolFileName: title.outputFileName } : {}),
  };
}
