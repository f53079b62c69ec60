// Which of a disc's titles a job rips: the rule for the first choice (long enough, or what a person chose), and the
// choice as it changes while the job runs. `discbridge scan` uses the same rule.
import type { DiscTitle } from '../rippers/ripper.js';

/** Titles at least `minTitleSeconds` long; or, when a person chose, those of their choice the disc has. */
export function initialSelection(titles: readonly DiscTitle[], minTitleSeconds: number, chosen?: readonly number[]): number[] {
  if (chosen) {
    const known = new Set(titles.map((title) => title.titleId));
    return chosen.filter((id) => known.has(id));
  }
  return titles.filter((title) => title.durationSeconds >= minTitleSeconds).map((title) => title.titleId);
}

export interface SelectionChange {
  title: DiscTitle;
  selected: boolean;
}

export class TitleChoice {
  private titles: DiscTitle[] = [];
  private readonly selection = new Set<number>();
  /** Titles whose work has begun (or ended): their selection can no longer change. */
  private readonly started = new Set<number>();
  /** What to tell people when nothing is selected, in the words of the disc kind. */
  noneSelectedMessage = 'No title was left selected to rip';

  load(titles: readonly DiscTitle[], selected: readonly number[], noneSelectedMessage: string): void {
    this.titles = [...titles];
    this.selection.clear();
    for (const id of selected) this.selection.add(id);
    this.noneSelectedMessage = noneSelectedMessage;
  }

  get all(): readonly DiscTitle[] {
    return this.titles;
  }

  isSelected(titleId: number): boolean {
    return this.selection.has(titleId);
  }

  /** The selected titles in disc order. */
  selected(): DiscTitle[] {
    return this.titles.filter((title) => this.selection.has(title.titleId));
  }

  /** The next selected title whose work has not begun. */
  next(): DiscTitle | undefined {
    return this.selected().find((title) => !this.started.has(title.titleId));
  }

  hasStarted(titleId: number): boolean {
    return this.started.has(titleId);
  }

  markStarted(titleId: number): void {
    this.started.add(titleId);
  }

  /** Makes `titleIds` the selection, leaving titles already begun as they are; returns why not, or what changed. */
  change(titleIds: readonly number[]): { refusal: string } | { changes: SelectionChange[] } {
    if (this.titles.length === 0) return { refusal: 'The disc has not been scanned yet' };
    const known = new Set(this.titles.map((title) => title.titleId));
    const unknown = titleIds.filter((id) => !known.has(id));
    if (unknown.length > 0) return { refusal: `The disc has no title ${unknown.join(', ')}` };
    const wanted = new Set(titleIds);
    const changes: SelectionChange[] = [];
    for (const title of this.titles) {
      const selected = wanted.has(title.titleId);
      if (this.started.has(title.titleId) || selected === this.selection.has(title.titleId)) continue;
      if (selected) this.selection.add(title.titleId);
      else this.selection.delete(title.titleId);
      changes.push({ title, selected });
    }
    return { changes };
  }
}
