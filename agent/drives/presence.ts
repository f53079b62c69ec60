// Decides when a drive's disc presence has really changed. Drives flap while a disc spins up and
// trays bounce; a change counts only once it has held for the debounce time, so one insert is one event.
export type PresenceChange = 'initial' | 'inserted' | 'removed';

export class PresenceDebouncer {
  private reported: boolean | undefined;
  private candidate: boolean | undefined;
  private candidateSince = 0;

  constructor(private readonly debounceMs: number) {}

  /** The presence reported so far, or undefined before the first reading. */
  get present(): boolean | undefined {
    return this.reported;
  }

  /**
   * Feeds one reading taken at `now` (ms). Returns the change this reading settles, if any.
   * The first reading is the baseline, returned as 'initial': a disc already in the drive was not just inserted.
   */
  observe(present: boolean, now: number): PresenceChange | undefined {
    if (this.reported === undefined) {
      this.reported = present;
      return 'initial';
    }
    if (present === this.reported) {
      this.candidate = undefined;
      return undefined;
    }
    if (present !== this.candidate) {
      this.candidate = present;
      this.candidateSince = now;
    }
    if (now - this.candidateSince < this.debounceMs) return undefined;
    this.reported = present;
    this.candidate = undefined;
    return present ? 'inserted' : 'removed';
  }
}
