// Follows the progress records of a `makemkvcon -r --progress=-same mkv …` run. Every PRGT starts a new stage
// whose progress restarts at 0, and a stage may end well short of 100 % (opening a Blu-ray stops near 34 %),
// so only the saving stage (PRGT 5024) measures the rip; the other stages are reported by name only.
import { MsgCode, ProgressCode } from './codes.js';
import type { MsgLine, RobotLine } from './robot-line.js';

export interface ProgressStage {
  code: number;
  id: number;
  name: string;
}

/** What MSG 5014 announced: "Saving %1 titles into directory %2". */
export interface SaveJob {
  titleCount: number;
  /** A file:// URL, as MakeMKV prints it. */
  directory: string;
}

export interface SaveResult {
  titlesSaved: number;
  titlesFailed: number;
}

export class MkvProgressTracker {
  #stage: ProgressStage | undefined;
  #step: ProgressStage | undefined;
  #saveFraction: number | undefined;
  #saveStarted = false;
  #saveJob: SaveJob | undefined;
  #result: SaveResult | undefined;

  /** The current PRGT: the whole operation ("Saving all titles to MKV files"). */
  get stage(): ProgressStage | undefined {
    return this.#stage;
  }

  /** The current PRGC: the step within the stage ("Analyzing seamless segments"). */
  get step(): ProgressStage | undefined {
    return this.#step;
  }

  /** 0..1 of the saving stage, never lower than already reported; undefined outside that stage. */
  get saveFraction(): number | undefined {
    return this.#saveFraction;
  }

  get saveStarted(): boolean {
    return this.#saveStarted;
  }

  get saveJob(): SaveJob | undefined {
    return this.#saveJob;
  }

  /**
   * Which output file is being saved, 0-based in save order, while saving. Third-party code reads it from the
   * PRGC id; the only real capture saves a single file, so treat it as a hint.
   */
  get savingFileIndex(): number | undefined {
    return this.#saveFraction === undefined ? undefined : this.#step?.id;
  }

  /** How many titles were saved and failed, once MakeMKV has said so. */
  get result(): SaveResult | undefined {
    return this.#result;
  }

  /**
   * True once MakeMKV reported the outcome. A run that fails before saving (no disc, expired key) never gets
   * here: its end is the process exit.
   */
  get done(): boolean {
    return this.#result !== undefined;
  }

  feed(line: RobotLine): void {
    switch (line.kind) {
      case 'prgt': {
        const saving = line.code === ProgressCode.SavingTitles;
        this.#stage = { code: line.code, id: line.id, name: line.name };
        this.#step = undefined;
        this.#saveFraction = saving ? 0 : undefined;
        this.#saveStarted ||= saving;
        break;
      }
      case 'prgc':
        this.#step = { code: line.code, id: line.id, name: line.name };
        break;
      case 'prgv':
        // `total` follows the PRGT stage; `current` restarts with every PRGC step.
        if (this.#saveFraction !== undefined && line.max > 0) {
          this.#saveFraction = Math.max(this.#saveFraction, Math.min(1, line.total / line.max));
        }
        break;
      case 'msg':
        this.#onMessage(line);
        break;
      default:
        break;
    }
  }

  #onMessage(line: MsgLine): void {
    switch (line.code) {
      case MsgCode.SavingTitles:
        // Without --progress there are no PRG lines, and this message is the only sign that saving began.
        this.#saveStarted = true;
        this.#saveJob = { titleCount: countAt(line, 0), directory: line.params[1] ?? '' };
        break;
      case MsgCode.TitlesSaved:
      case MsgCode.CopyComplete:
        this.#result = { titlesSaved: countAt(line, 0), titlesFailed: 0 };
        break;
      case MsgCode.TitlesSavedPartial:
      case MsgCode.CopyCompleteWithFailures:
        this.#result = { titlesSaved: countAt(line, 0), titlesFailed: countAt(line, 1) };
        break;
      default:
        break;
    }
  }
}

/** A count parameter of a MSG ("1" in "1 titles saved"); 0 when it is missing or not a number. */
function countAt(line: MsgLine, at: number): number {
  const param = line.params[at];
  return param !== undefined && /^\d+$/.test(param) ? Number(param) : 0;
}
