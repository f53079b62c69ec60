// Decides whether a makemkvcon run failed and why, from MSG codes (never their localised text), and words the
// reason for the person at the drive. Fed line by line, so the same classifier serves `info` and `mkv` runs.
import { MsgCode } from './codes.js';
import type { RobotLine } from './robot-line.js';

export type MakeMkvFailureKind =
  | 'expired'
  | 'key_invalid'
  | 'usage'
  | 'no_drive'
  | 'region'
  | 'read_error'
  | 'scsi_error'
  | 'open_failed';

export interface MakeMkvFailure {
  kind: MakeMkvFailureKind;
  /** Short, plain, and says what to do. */
  message: string;
}

export interface FailureOptions {
  /**
   * The run only lists drives (`info disc:9999`, or bare `info`). Such a run ends with "Failed to open disc" and
   * TCOUNT:0, or with the usage text, by design; neither is a failure then.
   */
  driveListing?: boolean;
}

const KIND_BY_CODE: ReadonlyMap<number, MakeMkvFailureKind> = new Map([
  [MsgCode.VersionTooOld, 'expired'],
  [MsgCode.EvaluationExpired, 'expired'],
  [MsgCode.TemporaryKeyExpired, 'expired'],
  [MsgCode.KeyInvalid, 'key_invalid'],
  [MsgCode.NoUsableDrives, 'no_drive'],
  [MsgCode.RpcProtection, 'region'],
  [MsgCode.ScsiError, 'scsi_error'],
  [MsgCode.FailedToOpenDisc, 'open_failed'],
]);

/**
 * When several causes show, the first in this list is reported: the one the user must fix first, and the most
 * specific. "Failed to open disc" is last because it follows nearly every other failure.
 */
const PRIORITY: readonly MakeMkvFailureKind[] = [
  'expired',
  'key_invalid',
  'usage',
  'no_drive',
  'region',
  'read_error',
  'scsi_error',
  'open_failed',
];

/**
 * A CSS DVD normally gives one "READ OF SCRAMBLED SECTOR WITHOUT AUTHENTICATION" before authenticating, and the
 * code cannot tell it from a medium error, so one read error is allowed.
 */
const HARMLESS_READ_ERRORS = 1;

/** makemkvcon prints its usage text, not a MSG, when it rejects its arguments (no space: makemkvcon64 too). */
const USAGE_TEXT_START = 'Use: makemkvcon';

const MESSAGES: Record<Exclude<MakeMkvFailureKind, 'read_error'>, string> = {
  expired: "MakeMKV's key has expired or this version is too old: update MakeMKV or enter a registration key",
  key_invalid: "MakeMKV's registration key is invalid: enter a valid key",
  usage: 'makemkvcon did not accept its command line and printed its usage text: please report this discbridge bug',
  no_drive:
    "MakeMKV can't find any usable optical drive: check that the drive is connected and that discbridge may use it",
  region: "The disc's region does not match the drive's region (RPC): use a drive set to the disc's region",
  scsi_error:
    'The drive reported a SCSI error: check its cable or USB bridge, or pass the drive through if this is a VM',
  open_failed: 'MakeMKV could not open the disc: check that a readable DVD or Blu-ray is in the drive',
};

export class FailureClassifier {
  readonly #driveListing: boolean;
  readonly #seen = new Set<MakeMkvFailureKind>();
  #readErrors = 0;

  constructor(options: FailureOptions = {}) {
    this.#driveListing = options.driveListing ?? false;
  }

  observe(line: RobotLine): void {
    if (line.kind === 'text' && line.text.startsWith(USAGE_TEXT_START)) {
      this.#note('usage');
    } else if (line.kind === 'msg' && line.code === MsgCode.ReadError) {
      this.#readErrors += 1;
      if (this.#readErrors > HARMLESS_READ_ERRORS) this.#note('read_error');
    } else if (line.kind === 'msg') {
      const kind = KIND_BY_CODE.get(line.code);
      if (kind) this.#note(kind);
    }
  }

  /** The main reason the run failed, or undefined when nothing seen so far says it did. */
  get failure(): MakeMkvFailure | undefined {
    const kind = PRIORITY.find((candidate) => this.#seen.has(candidate));
    if (kind === undefined) return undefined;
    const message =
      kind === 'read_error'
        ? `Read errors on the disc (${this.#readErrors} read errors): clean the disc or try another drive`
        : MESSAGES[kind];
    return { kind, message };
  }

  #note(kind: MakeMkvFailureKind): void {
    const expectedWhenListing = kind === 'open_failed' || kind === 'usage';
    if (!(this.#driveListing && expectedWhenListing)) this.#seen.add(kind);
  }
}
