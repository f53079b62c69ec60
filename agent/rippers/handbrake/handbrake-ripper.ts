// The HandBrakeCLI backend: scans with `--scan --json`, rips (encodes) one title at a time to MKV with a preset,
// and reads its \r-separated progress. Speed is frames encoded per second ÷ the title's frame rate, i.e. seconds of
// video per second of wall time, so "2.0x" rips a 60 s title in 30 s.
import { stat } from 'node:fs/promises';
import { missingTool } from '../../tools/find-executable.js';
import { runTool } from '../../tools/run-tool.js';
import { RipError } from '../../tools/rip-error.js';
import type { DiscScan, Ripper, RipRequest, ScanRequest } from '../ripper.js';
import { parseHandBrakeProgress } from './progress.js';
import { parseHandBrakeScan } from './scan.js';

export interface HandBrakeOptions {
  /** Path or name of HandBrakeCLI. */
  binary: string;
  /** A built-in or user preset name, e.g. "Fast 1080p30". */
  preset: string;
  /** Used to guess output sizes before encoding: the preset's typical bitrate, in bytes per second of video. */
  estimatedBytesPerSecond: number;
}

const INSTALL_HINT = 'install it with "sudo apt-get install handbrake-cli" on Debian or Ubuntu, or set DISCBRIDGE_HANDBRAKECLI to its path';

export class HandBrakeRipper implements Ripper {
  readonly name = 'handbrake';
  readonly toolName = 'HandBrakeCLI';
  readonly knowsOutputSize = false;

  constructor(private readonly options: HandBrakeOptions) {}

  checkInstalled(): Promise<string | undefined> {
    return missingTool(this.toolName, this.options.binary, INSTALL_HINT);
  }

  async scan({ device, signal, onLog }: ScanRequest): Promise<DiscScan> {
    // --min-duration 0: HandBrake hides titles under 10 s by default; discbridge selects by length itself.
    const run = await runTool(this.options.binary, ['-i', device, '-t', '0', '--scan', '--json', '--min-duration', '0'], {
      collectStdout: true, signal, installHint: INSTALL_HINT,
      onStdoutLine: (line) => onLog?.(line),
      onStderrLine: (line) => onLog?.(line),
    });
    if (run.cancelled) throw signal.reason;
    let scan: DiscScan;
    try {
      scan = parseHandBrakeScan(run.stdout, (seconds) => Math.round(seconds * this.options.estimatedBytesPerSecond));
    } catch {
      throw new RipError(`HandBrakeCLI could not read the disc (exit code ${run.exitCode ?? run.signal})`, lastError(run.stderrTail));
    }
    if (scan.titles.length === 0) throw new RipError('HandBrakeCLI found no titles on the disc: it may be damaged or not a video disc');
    return { ...scan, discType: 'dvd' };
  }

  async ripTitle(request: RipRequest): Promise<void> {
    const { title } = request;
    const args = [
      '-i', request.device, '-t', String(title.titleId), '-o', request.outputFile,
      '--format', 'av_mkv', '--preset', this.options.preset, '--markers', '--min-duration', '0',
    ];
    const run = await runTool(this.options.binary, args, {
      signal: request.signal,
      installHint: INSTALL_HINT,
      onStdoutLine: (line) => {
        const progress = parseHandBrakeProgress(line);
        if (!progress) return request.onLog?.(line);
        const fps = progress.fps ?? progress.avgFps;
        request.onProgress({
          fraction: progress.fraction,
          ...(fps !== undefined && title.frameRate ? { speed: fps / title.frameRate } : {}),
          ...(progress.etaSeconds !== undefined ? { etaSeconds: progress.etaSeconds } : {}),
        });
      },
      onStderrLine: (line) => request.onLog?.(line),
    });
    if (run.cancelled) throw request.signal.reason;
    if (run.exitCode !== 0) {
      throw new RipError(`HandBrakeCLI failed on title ${title.titleId} (exit code ${run.exitCode ?? run.signal})`, lastError(run.stderrTail));
    }
    const size = await stat(request.outputFile).then((s) => s.size, () => 0);
    if (size === 0) throw new RipError(`HandBrakeCLI finished title ${title.titleId} but wrote nothing`);
  }
}

/** The most telling line of HandBrake's log tail: an explicit error if there is one, else the last line. */
function lastError(tail: string[]): string {
  const line = [...tail].reverse().find((l) => /error|fail|no title/i.test(l)) ?? tail.at(-1) ?? 'no output';
  return line.replace(/^\[\d\d:\d\d:\d\d\]\s*/, '').slice(0, 200);
}
