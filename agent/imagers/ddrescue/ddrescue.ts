// Backs up a damaged data disc with GNU ddrescue: a copy pass that skips bad areas, then a pass that scrapes and
// retries them. Its map file lets a cancelled rescue, or a copy discbridge began itself, go on where it stopped.
import { readFile, writeFile } from 'node:fs/promises';
import { missingTool, notFound } from '../../tools/find-executable.js';
import { RipError } from '../../tools/rip-error.js';
import { runTool, ToolMissingError, type ToolRun } from '../../tools/run-tool.js';
import { bytesByStatus, continuationMap, parseMapFile, type MapFile } from './map-file.js';
import { parseStatusLine } from './status.js';

export interface RescueRequest {
  /** Block device, e.g. /dev/sr0 or /dev/loop5. */
  device: string;
  /** Image file to write into (exists or not). */
  image: string;
  /** ddrescue's map file. */
  mapFile: string;
  /** Bytes to copy (from the volume descriptor, a multiple of 2048). */
  sizeBytes: number;
  /** Only used when mapFile does not exist yet: bytes [0, copiedBytes) of `image` already hold good data read by us; ddrescue must not read them again. */
  copiedBytes?: number;
  signal: AbortSignal;
  /** Bytes known good so far, never going back. */
  onProgress: (rescuedBytes: number) => void;
  /** Other tool output, for the job log. */
  onLog?: (line: string) => void;
}

export interface RescueResult {
  /** Bytes still bad after all passes (from the final map file). */
  unreadableBytes: number;
}

const INSTALL_HINT = 'install the Debian package gddrescue (apt-get install gddrescue), or set DISCBRIDGE_DDRESCUE to its path';
// -d (O_DIRECT): through the page cache the kernel reads 4 KiB pages with readahead, so bad areas grow to whole pages
// and every failed page is retried; the copy pass of a test disc took 31.6 s that way instead of 1 s.
const COMMON_ARGS = ['-b', '2048', '-d'];
// First everything that reads easily, skipping past bad areas and only trimming their edges (-n: no scraping).
const COPY_PASS = ['-n'];
// Then the bad areas sector by sector, and each still-bad sector once more: on a real drive every try of a bad sector
// costs seconds, so a single retry pass (the manual's advice for CD-ROMs) keeps the time bounded.
const RETRY_PASS = ['-r', '1'];

export class Ddrescue {
  readonly toolName = 'ddrescue';

  constructor(private readonly options: { binary: string }) {}

  checkInstalled(): Promise<string | undefined> {
    return missingTool(this.toolName, this.options.binary, INSTALL_HINT);
  }

  async rescue(request: RescueRequest): Promise<RescueResult> {
    request.signal.throwIfAborted();
    if (request.copiedBytes !== undefined) await startMapFile(request.mapFile, request.copiedBytes, request.sizeBytes);
    const report = risingProgress(request.sizeBytes, request.onProgress);
    for (const pass of [COPY_PASS, RETRY_PASS]) await this.runPass(pass, request, report);
    const rescuedBytes = bytesByStatus(await readFinalMap(request.mapFile))['+'];
    report(rescuedBytes);
    // Measured against the size asked for: if the disc ends early, the missing tail is unreadable too.
    return { unreadableBytes: Math.max(0, request.sizeBytes - rescuedBytes) };
  }

  private async runPass(pass: readonly string[], request: RescueRequest, report: (bytes: number) => void): Promise<void> {
    const { device, image, mapFile, sizeBytes, signal, onLog } = request;
    const args = [...COMMON_ARGS, '-s', String(sizeBytes), ...pass, device, image, mapFile];
    const logMessage = withoutRepeats((line) => onLog?.(line));
    let run: ToolRun;
    try {
      run = await runTool(this.options.binary, args, {
        signal,
        onStdoutLine: (line) => {
          const parsed = parseStatusLine(line);
          if (parsed.kind === 'rescued') report(parsed.rescuedBytes);
          else if (parsed.kind === 'message') logMessage(parsed.text);
        },
        onStderrLine: logMessage,
      });
    } catch (error) {
      if (error instanceof ToolMissingError) throw new RipError(notFound(this.toolName, this.options.binary, INSTALL_HINT));
      throw error;
    }
    if (run.cancelled) throw signal.reason;
    if (run.exitCode !== 0) {
      throw new RipError(`ddrescue could not copy the disc (exit code ${run.exitCode ?? run.signal})`, run.stderrTail.join('\n'));
    }
  }
}

/** Writes the continuation map unless a map exists already: then ddrescue's own record of the rescue wins. */
async function startMapFile(mapFile: string, copiedBytes: number, sizeBytes: number): Promise<void> {
  try {
    await writeFile(mapFile, continuationMap(copiedBytes, sizeBytes), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

async function readFinalMap(mapFile: string): Promise<MapFile> {
  const text = await readFile(mapFile, 'utf8');
  try {
    return parseMapFile(text);
  } catch (error) {
    throw new RipError('ddrescue finished but left a map file discbridge cannot read', `${mapFile}: ${String(error)}`);
  }
}

/**
 * Passes only growth on, never past the size asked for: ddrescue's counts are truncated to its unit and start again
 * from the map in each pass, and the exact count from the final map comes last.
 */
function risingProgress(limit: number, onProgress: (bytes: number) => void): (bytes: number) => void {
  let reported = 0;
  return (bytes) => {
    const value = Math.min(bytes, limit);
    if (value <= reported) return;
    reported = value;
    onProgress(value);
  };
}

/** ddrescue repeats a phase line when it redraws the screen at the end of the phase. */
function withoutRepeats(log: (line: string) => void): (line: string) => void {
  let last: string | undefined;
  return (line) => {
    if (line === last) return;
    last = line;
    log(line);
  };
}
