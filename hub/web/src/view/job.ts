// A job's live progress (big percentage, job bar, phase, "title N of M", speed, ETA as a time of day and a
// countdown) and its title list (per-title bars, duration, size, selection checkboxes, files, errors). Used on the
// drive cards and in the job panel.
import { formatBytes, formatDuration, formatEta, formatPercent, formatSpeed, partName, titleStateName } from '../format.js';
import { isFinished, titlePosition, type JobView } from '../state.js';
import type { TitleRecord, TitleState } from '../../../../shared/index.js';
import type { ViewContext } from './context.js';
import { h, keyedList, progressBar, setAttr, setClass, setText, show, type Component } from './dom.js';
import { setIcon, type IconName } from './icons.js';

export function jobIcon(job: JobView): IconName {
  switch (job.state) {
    case 'completed': return 'check';
    case 'failed': return 'cross';
    case 'cancelled': return 'stop';
    case 'interrupted': return 'warn';
    case 'ready': return 'pause';
    default: return 'spin';
  }
}

export interface JobProgress extends Component {
  update(job: JobView): void;
}

/** The big numbers of a running job (its phase is said by the card or panel heading above it). */
export function jobProgress(ctx: ViewContext): JobProgress {
  const percent = h('span', 'big-number');
  const percentSign = h('span', 'big-unit', '%');
  const position = h('span', 'phase-position');
  const speed = h('span', 'fact-value');
  const etaClock = h('span', 'fact-value');
  const etaLeft = h('span', 'fact-sub');
  const bar = progressBar('job-bar', 'Job progress');
  const speedFact = h('div', 'fact', h('span', 'fact-label', 'Speed'), speed);
  const etaFact = h('div', 'fact', h('span', 'fact-label', 'Done at'), etaClock, etaLeft);
  const el = h('div', 'job-progress',
    h('div', 'job-top',
      h('div', 'big', percent, percentSign),
      h('div', 'job-phase', position),
    ),
    bar.el,
    h('div', 'facts', speedFact, etaFact),
  );
  return {
    el,
    update(job) {
      const working = !isFinished(job.state) && job.state !== 'ready' && job.state !== 'identifying';
      const value = job.progress_percent ?? (job.state === 'completed' ? 100 : undefined);
      setText(percent, value === undefined ? '–' : formatPercent(value).replace('%', ''));
      show(percentSign, value !== undefined);
      bar.set(job.state === 'identifying' && value === undefined ? undefined : value ?? 0);
      const at = titlePosition(job);
      setText(position, job.state === 'identifying' ? 'Reading the disc…' : at ? `${partName(job.disc_type)} ${at.index} of ${at.total}` : '');
      show(speedFact, working);
      setText(speed, formatSpeed(job.current_speed, job.bytes_per_second));
      const eta = formatEta(job.eta_at, ctx.now());
      show(etaFact, working);
      setText(etaClock, eta?.clock ?? '—');
      setText(etaLeft, eta?.countdown ?? 'estimating…');
    },
  };
}

const TITLE_ICONS: Record<TitleState, IconName> = {
  pending: 'hourglass', ripping: 'spin', transcoding: 'spin', completed: 'check', failed: 'cross', skipped: 'empty', cancelled: 'stop', interrupted: 'warn',
};

/** Whether a person may change this title's selection now (the backend allows it before and during the rip). */
export function titleEditable(job: JobView, title: TitleRecord): boolean {
  if (!job.reachable) return false;
  if (job.state === 'ready') return true;
  // While it rips, titles not started yet can still change; once it transcodes the rip is over and the station refuses.
  return job.state === 'ripping' && (title.state === 'pending' || title.state === 'skipped');
}

interface TitleRow extends Component {
  update(job: JobView, title: TitleRecord): void;
}

function titleRow(ctx: ViewContext, titleId: number): TitleRow {
  const box = h('input', { attrs: { type: 'checkbox', 'aria-label': `Rip title ${titleId}` } });
  const stateIcon = h('span', 'title-icon');
  const name = h('span', 'title-name');
  const meta = h('span', 'title-meta');
  const stateText = h('span', 'title-state');
  const percent = h('span', 'title-percent');
  const bar = progressBar('title-bar', `Title ${titleId} progress`);
  const file = h('span', 'title-file');
  const error = h('span', 'title-error');
  let current: { job: JobView; title: TitleRecord } | undefined;
  box.addEventListener('change', () => {
    if (current) ctx.actions.toggleTitle(current.job, titleId, box.checked);
  });
  const number = h('span', 'title-number', `Title ${titleId}`);
  const label = h('label', 'title-select', box, number);
  const el = h('li', { class: 'title', attrs: { 'data-title': String(titleId) } },
    h('div', 'title-line', label, name, meta, h('span', 'title-status', stateIcon, stateText, percent)),
    bar.el,
    h('div', 'title-notes', file, error),
  );
  return {
    el,
    update(job, title) {
      current = { job, title };
      setAttr(el, 'data-job', String(job.job_id));
      setText(number, `${partName(job.disc_type)} ${titleId}`);
      const draft = ctx.draftSelection(job.job_id);
      const selected = draft ? draft.has(title.title_id) : title.selected;
      if (box.checked !== selected) box.checked = selected;
      const editable = titleEditable(job, title) && !ctx.pending.has(`titles:${job.job_id}`);
      if (box.disabled === editable) box.disabled = !editable;
      setAttr(el, 'data-state', title.state);
      setClass(el, 'unselected', !selected);
      setText(name, title.name ?? '');
      // Sizes before the end are estimates; the file's own size only once it has one.
      const written = title.actual_size_bytes ?? 0;
      const size = title.state === 'completed' && title.actual_size_bytes !== undefined ? formatBytes(title.actual_size_bytes)
        : written > 0 ? `${formatBytes(written)} of ≈${formatBytes(title.expected_size_bytes)}`
        : `≈${formatBytes(title.expected_size_bytes)}`;
      setText(meta, `${formatDuration(title.duration_seconds)} · ${size}${title.chapters ? ` · ${title.chapters} ch` : ''}`);
      setIcon(stateIcon, TITLE_ICONS[title.state]);
      setText(stateText, titleStateName(title.state));
      const active = title.state === 'ripping' || title.state === 'transcoding';
      setText(percent, active && title.match_progress !== undefined ? formatPercent(title.match_progress) : '');
      show(bar.el, active || title.state === 'completed' || ((title.match_progress ?? 0) > 0 && title.state !== 'skipped'));
      bar.set(title.state === 'completed' ? 100 : title.match_progress ?? 0);
      // Which station of the farm made the file, when it was not the one that ripped it.
      const by = title.transcoded_by !== undefined && title.transcoded_by !== job.agent_id ? ` · transcoded by ${title.transcoded_by}` : '';
      setText(file, title.output_filename ? `${title.output_filename}${by}` : '');
      show(file, title.output_filename !== undefined);
      setText(error, title.error ?? '');
      show(error, title.error !== undefined);
    },
  };
}

export interface TitleList extends Component {
  update(job: JobView): void;
}

export function titleList(ctx: ViewContext): TitleList {
  const el = h('ol', { class: 'titles', attrs: { 'aria-label': 'Titles' } });
  const rows = new Map<string, TitleRow>();
  return {
    el,
    update(job) {
      keyedList(el, rows, job.titles ?? [], (t) => String(t.title_id), (t) => titleRow(ctx, t.title_id), (row, t) => row.update(job, t));
    },
  };
}
