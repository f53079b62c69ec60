// The interface every video ripping backend implements (HandBrakeCLI, MakeMKV): read a disc's titles, rip one
// title to a file while reporting progress, stop when told. A new backend is one folder behind this.
import type { DiscType, StreamKind } from '../../shared/index.js';

export interface TitleStream {
  kind: StreamKind;
  /** ISO 639-2 code, "eng". */
  language?: string;
  codec?: string;
}

export interface DiscTitle {
  /** The number the backend rips this title by. */
  titleId: number;
  name?: string;
  durationSeconds: number;
  chapters: number;
  /** Best guess of the output size before ripping (exact for MakeMKV, which copies without re-encoding). */
  expectedSizeBytes: number;
  /** Frames per second of the source video, when known: HandBrake's speed multiple needs it. */
  frameRate?: number;
  streams?: TitleStream[];
  /** Blu-ray playlist or clip ("00800.mpls"). */
  sourceFile?: string;
  /** MakeMKV's segment map ("0,1,2,3"). */
  segmentsMap?: string;
  /** The file name the tool itself gives this title ("title_t00.mkv"). */
  toolFileName?: string;
}

export interface DiscScan {
  discName?: string;
  discType?: DiscType;
  titles: DiscTitle[];
}

export interface ScanRequest {
  device: string;
  signal: AbortSignal;
  /** Every line the tool writes: for the job's log, and as a sign of life for the stall watchdog. */
  onLog?: (line: string) => void;
}

export interface RipProgress {
  /** 0..1 over this title. */
  fraction: number;
  /** Seconds of the title's media processed per second of wall time (1 = real time). */
  speed?: number;
  /** Seconds to the end of this title, as the tool estimates them. */
  etaSeconds?: number;
}

export interface RipRequest {
  device: string;
  discType: DiscType;
  title: DiscTitle;
  /** Path of the file to write; the backend writes nothing else. */
  outputFile: string;
  signal: AbortSignal;
  onProgress: (progress: RipProgress) => void;
  /** Tool output that is not progress, for the job's log. */
  onLog?: (line: string) => void;
}

export interface Ripper {
  /** The backend's name in settings: 'handbrake', 'makemkv'. */
  readonly name: string;
  /** The program it runs, for messages ("HandBrakeCLI"). */
  readonly toolName: string;
  /** Whether a scan's sizes are the sizes of the files ripping writes (a copy), or only a guess (an encode). */
  readonly knowsOutputSize: boolean;
  /** Resolves to a message saying what is missing and how to install it, or undefined when ready. */
  checkInstalled(): Promise<string | undefined>;
  scan(request: ScanRequest): Promise<DiscScan>;
  /** Rips one title. Rejects with RipError on failure; with the signal's reason when cancelled. */
  ripTitle(request: RipRequest): Promise<void>;
}
