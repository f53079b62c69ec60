// Decides when a drive's disc presence has really changed. A disc whose medium already reads counts at once: that
// is what makes an insert show within a poll. A medium that does not read yet (a drive spinning up) and a removal
// count only once they have held for the debounce time, so a bouncing tray gives one insert, not two, and a disc
// that flaps out and back in gives none, unless another disc came back: a disc of another size in place of the one
// reported is a swap (removed, then inserted), however short the empty moment was (a disc robot, or a hand quicker
// than the poll and the debounce).
import type { Logger } from 'pino';
import type { DriveSourceEvents } from './drive-source.js';

export type PresenceChange = 'initial' | 'inserted' | 'removed' | 'swapped';

/** What a drive source emits. */
interface PresenceEmitter {
  emit<E extends keyof DriveSourceEvents>(event: E, ...args: DriveSourceEvents[E]): boolean;
}

/**
 * Tells a settled change as every drive source does: an initial disc as inserted (initial), a swap as the old disc
 * removed and the new one inserted.
 */
export function emitPresenceChange(source: PresenceEmitter, drive: string, change: PresenceChange | undefined, present: boolean, logger: Logger): void {
  if (change === 'initial') {
    if (present) source.emit('inserted', drive, true);
  } else if (change === 'inserted') {
    source.emit('inserted', drive, false);
  } else if (change === 'removed') {
    source.emit('removed', drive);
  } else if (change === 'swapped') {
    logger.info({ drive }, 'Another disc is in the drive: the old one counts as removed');
    source.emit('removed', drive);
    source.emit('inserted', drive, false);
  }
}

export class PresenceDebouncer {
  private reported: boolean | undefined;
  /** What tells one disc from another without reading it (its size, or its volume's serial and label), as last reported. */
  private medium: number | string | undefined;
  private candidate: boolean | undefined;
  private candidateSince = 0;

  constructor(private readonly debounceMs: number) {}

  /** The presence reported so far, or undefined before the first reading. */
  get present(): boolean | undefined {
    return this.reported;
  }

  /** Whether a reading of `present` would start an insert: only then is it worth asking if the medium reads. */
  wouldInsert(present: boolean): boolean {
    return present && this.reported === false;
  }

  /**
   * Feeds one reading taken at `now` (ms); `readable` says the medium's data could be read. Returns the change this
   * reading settles, if any. The first reading is the baseline, returned as 'initial': a disc already in the drive
   * was not just inserted. `medium` tells discs apart where the source knows it (a size); leave it out where it does not.
   */
  observe(present: boolean, now: number, readable = false, medium?: number | string): PresenceChange | undefined {
    if (this.reported === undefined) {
      this.reported = present;
      this.medium = present ? medium : undefined;
      return 'initial';
    }
    if (present === this.reported) {
      this.candidate = undefined;
      if (!present || medium === undefined || this.medium === undefined || medium === this.medium) return undefined;
      this.medium = medium;
      return 'swapped';
    }
    if (present && readable) return this.settle(true, medium);
    if (present !== this.candidate) {
      this.candidate = present;
      this.candidateSince = now;
    }
    if (now - this.candidateSince < this.debounceMs) return undefined;
    return this.settle(present, medium);
  }

  private settle(present: boolean, medium: number | string | undefined): PresenceChange {
    this.reported = present;
    this.medium = present ? medium : undefined;
    this.candidate = undefined;
    return present ? 'inserted' : 'removed';
  }
}
