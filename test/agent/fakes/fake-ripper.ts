// A video ripper that runs no tool: it "rips" each title by writing a file in steps, reporting progress, and can be
// told per title to fail, stall, write nothing or wait for a go-ahead. Tests of the job core use it in place of
// HandBrakeCLI or makemkvcon, so they run anywhere, without root.
import { appendFile, writeFile } from 'node:fs/promises';
import type { DiscScan, DiscTitle, Ripper, RipRequest, ScanRequest } from '../../../agent/rippers/ripper.js';
import { RipError } from '../../../agent/tools/rip-error.js';

export type TitleBehaviour =
  | { kind: 'ok' }
  /** Fails with this message after half its progress. */
  | { kind: 'fail'; message: string }
  /** Reports 10 % once, then nothing, until aborted. */
  | { kind: 'stall' }
  /** Finishes at once, having written nothing. */
  | { kind: 'empty' }
  /** Holds at 50 % until `release` is called (or it is aborted). */
  | { kind: 'hold' };

export interface FakeRipperOptions {
  titles: DiscTitle[];
  /** Per title id; the default is ok. */
  behaviour?: Record<number, TitleBehaviour>;
  /** Progress steps per title. */
  steps?: number;
  stepMs?: number;
  /** Bytes each progress step writes (1000 by default). */
  bytesPerStep?: number;
  /** Makes the scan fail with this message. */
  scanError?: string;
  /** Makes the scan wait for `release` (so a test can act while the job identifies). */
  holdScan?: boolean;
  missing?: string;
}

export class FakeRipper implements Ripper {
  readonly name = 'fake';
  readonly toolName = 'FakeRipper';
  readonly knowsOutputSize = true;
  readonly ripped: number[] = [];
  readonly started: number[] = [];
  private releases: (() => void)[] = [];

  constructor(private readonly options: FakeRipperOptions) {}

  /** How many scans or titles wait for `release`. */
  get holding(): number {
    return this.releases.length;
  }

  /** Lets a held scan or title go on. */
  release(): void {
    for (const go of this.releases.splice(0)) go();
  }

  async checkInstalled(): Promise<string | undefined> {
    return this.options.missing;
  }

  async scan({ signal, onLog }: ScanRequest): Promise<DiscScan> {
    onLog?.('scanning');
    if (this.options.holdScan) await this.hold(signal);
    if (this.options.scanError) throw new RipError(this.options.scanError);
    return { discType: 'dvd', titles: this.options.titles };
  }

  async ripTitle(request: RipRequest): Promise<void> {
    const { title, signal } = request;
    this.started.push(title.titleId);
    const behaviour = this.options.behaviour?.[title.titleId] ?? { kind: 'ok' };
    if (behaviour.kind === 'empty') return;
    await writeFile(request.outputFile, '');
    const steps = this.options.steps ?? 4;
    for (let step = 1; step <= steps; step++) {
      signal.throwIfAborted();
      const fraction = step / steps;
      if (behaviour.kind === 'stall' && fraction > 0.25) {
        request.onProgress({ fraction: 0.1 });
        await this.hold(signal);
      }
      if (behaviour.kind === 'hold' && step === Math.ceil(steps / 2) + 1) await this.hold(signal);
      if (behaviour.kind === 'fail' && fraction > 0.5) throw new RipError(behaviour.message);
      await appendFile(request.outputFile, Buffer.alloc(this.options.bytesPerStep ?? 1000, title.titleId));
      request.onProgress({ fraction, speed: 2 });
      await delay(this.options.stepMs ?? 5, signal);
    }
    this.ripped.push(title.titleId);
  }

  private hold(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      this.releases.push(resolve);
    });
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

export function title(titleId: number, durationSeconds: number): DiscTitle {
  return { titleId, durationSeconds, chapters: 1, expectedSizeBytes: 4000 };
}
