// The history: jobs newest first, one page at a time (cursor paging with `before`, so the 10,000th job costs what
// the first does), with outcome, disc, station and drive, start, duration, average speed, output files and error;
// filters by station, drive and outcome. Rows are keyed; only the page on screen exists in the DOM.
import type { JobState } from '../../../../shared/index.js';
import { averageSpeed, elapsedSeconds, formatDateTime, formatDuration, formatRelative, jobStateName } from '../format.js';
import { discTypeName, isFinished, type HistoryQuery, type JobView } from '../state.js';
import type { ViewContext } from './context.js';
import { button, h, keyedList, setAttr, setText, show, type Component } from './dom.js';
import { setIcon } from './icons.js';
import { jobIcon } from './job.js';

export const OUTCOMES: JobState[] = ['completed', 'failed', 'cancelled', 'interrupted', 'ripping', 'transcoding', 'identifying', 'ready'];

export interface HistoryControls {
  /** Show another page or filter. */
  query(query: HistoryQuery): void;
  older(): void;
  newer(): void;
  /** Page number shown (1 = newest). */
  page(): number;
  loading(): boolean;
}

/** Seconds of video that ended up in files, for the average speed. */
export function rippedSeconds(job: JobView): number | undefined {
  if (!job.titles) return undefined;
  return job.titles.filter((t) => t.state === 'completed').reduce((sum, t) => sum + (t.duration_seconds ?? 0), 0);
}

export function jobAverageSpeed(job: JobView, now: number): string | undefined {
  const video = rippedSeconds(job);
  const wall = elapsedSeconds(job.started_at, job.finished_at, now);
  return video === undefined || wall === undefined ? undefined : averageSpeed(video, wall);
}

export function outputFiles(job: JobView): string[] {
  return (job.titles ?? []).flatMap((t) => (t.output_filename ? [t.output_filename] : []));
}

interface Row extends Component {
  update(job: JobView): void;
}

function historyRow(ctx: ViewContext, jobId: number): Row {
  const outcomeIcon = h('span', 'outcome-icon');
  const outcome = h('span', 'outcome-name');
  const label = h('span', 'h-label');
  const discType = h('span', 'h-sub');
  const where = h('span', 'h-where');
  const whereSub = h('span', 'h-sub');
  const started = h('span', 'h-started');
  const startedSub = h('span', 'h-sub');
  const duration = h('span', 'h-duration');
  const speed = h('span', 'h-speed');
  const files = h('span', 'h-files');
  const error = h('span', 'h-error');
  const details = button('Details', 'btn small ghost', () => ctx.actions.openJob(jobId), { 'aria-label': `Details of job ${jobId}` });
  const el = h('tr', { class: 'hrow', attrs: { 'data-job': String(jobId) } },
    h('td', { class: 'c-outcome', attrs: { 'data-label': 'Outcome' } }, h('span', 'outcome', outcomeIcon, outcome)),
    h('td', { class: 'c-disc', attrs: { 'data-label': 'Disc' } }, label, discType),
    h('td', { class: 'c-where', attrs: { 'data-label': 'Station' } }, where, whereSub),
    h('td', { class: 'c-started', attrs: { 'data-label': 'Started' } }, started, startedSub),
    h('td', { class: 'c-duration num', attrs: { 'data-label': 'Duration' } }, duration),
    h('td', { class: 'c-speed num', attrs: { 'data-label': 'Avg speed' } }, speed),
    h('td', { class: 'c-files', attrs: { 'data-label': 'Output' } }, files, error),
    h('td', 'c-actions', details),
  );
  let shown = '';
  return {
    el,
    update(job) {
      const now = ctx.now();
      // Progress updates of a running job change nothing a row shows: skip them (its duration ages every 30 s).
      const signature = [job.state, job.volume_label, job.disc_type, job.agent_id, ctx.state.agents.get(job.agent_id)?.name, job.drive_id,
        job.started_at, job.finished_at, job.output_dir, job.error_message, job.titles?.length, outputFiles(job).length,
        isFinished(job.state) ? '' : Math.floor(now / 30_000), Math.floor(now / 60_000)].join('\u0000');
      if (signature === shown) return;
      shown = signature;
      setAttr(el, 'data-state', job.state);
      setIcon(outcomeIcon, jobIcon(job));
      setText(outcome, jobStateName(job.state));
      setText(label, job.volume_label || `Job ${job.job_id}`);
      setText(discType, `${discTypeName(job.disc_type)} · #${job.job_id}`);
      setText(where, ctx.state.agents.get(job.agent_id)?.name ?? job.agent_id);
      setText(whereSub, job.drive_id ?? '');
      const start = job.started_at ? Date.parse(job.started_at) : undefined;
      setText(started, start === undefined ? '—' : formatDateTime(start, now));
      setText(startedSub, start === undefined ? '' : formatRelative(start, now));
      const seconds = elapsedSeconds(job.started_at, job.finished_at, now);
      // A running job's row is redrawn every 30 s, so it says whole minutes.
      setText(duration, seconds === undefined ? '—' : isFinished(job.state) ? formatDuration(seconds)
        : seconds < 60 ? 'under 1 min' : `${Math.floor(seconds / 60)} min so far`);
      setText(speed, isFinished(job.state) ? jobAverageSpeed(job, now) ?? (job.titles ? '—' : '…') : '—');
      const list = outputFiles(job);
      const folder = job.output_dir ? `${job.output_dir}/` : '';
      setText(files, list.length === 0 ? (job.titles || !isFinished(job.state) ? (folder || '—') : '…')
        : list.length === 1 ? `${folder}${list[0]}` : `${folder ? `${folder} · ` : ''}${list.length} files`);
      setAttr(files, 'title', list.length > 0 ? list.map((f) => folder + f).join('\n') : undefined);
      setText(error, job.error_message ?? '');
      show(error, job.error_message !== undefined && job.state !== 'completed');
    },
  };
}

export interface HistoryView extends Component {
  render(): void;
  /** The stations and drives to filter by changed. */
  renderFilters(): void;
}

function option(value: string, text: string): HTMLOptionElement {
  const element = h('option', { text });
  element.value = value;
  return element;
}

function fillSelect(select: HTMLSelectElement, options: [string, string][], value: string): void {
  const signature = JSON.stringify(options);
  if (select.dataset.options !== signature) {
    select.dataset.options = signature;
    select.replaceChildren(...options.map(([v, t]) => option(v, t)));
  }
  if (select.value !== value) select.value = value;
}

export function historyView(ctx: ViewContext, controls: HistoryControls): HistoryView {
  const station = h('select', { attrs: { name: 'station' } });
  const drive = h('select', { attrs: { name: 'drive' } });
  const outcome = h('select', { attrs: { name: 'outcome' } });
  const filters = h('form', { class: 'filters', attrs: { 'aria-label': 'Filter the history' } },
    h('label', 'filter', h('span', 'filter-label', 'Station'), station),
    h('label', 'filter', h('span', 'filter-label', 'Drive'), drive),
    h('label', 'filter', h('span', 'filter-label', 'Outcome'), outcome),
  );
  filters.addEventListener('submit', (event) => event.preventDefault());
  const readQuery = (): HistoryQuery => ({
    ...(station.value ? { agent_id: station.value } : {}),
    ...(drive.value ? { drive_id: drive.value } : {}),
    ...(outcome.value ? { state: outcome.value as JobState } : {}),
  });
  station.addEventListener('change', () => {
    drive.value = '';
    controls.query(readQuery());
  });
  drive.addEventListener('change', () => controls.query(readQuery()));
  outcome.addEventListener('change', () => controls.query(readQuery()));

  const body = h('tbody');
  const head = h('thead', {}, h('tr', {},
    ...['Outcome', 'Disc', 'Station', 'Started', 'Duration', 'Avg speed', 'Output'].map((t) => h('th', { text: t, attrs: { scope: 'col' } })),
    h('th', { attrs: { scope: 'col' } }, h('span', { class: 'visually-hidden', text: 'Actions' })),
  ));
  const table = h('table', 'history-table', head, body);
  const empty = h('p', 'muted empty-note');
  const newer = button('← Newer', 'btn', () => controls.newer());
  const older = button('Older →', 'btn', () => controls.older());
  const pageText = h('span', 'page-number');
  const pager = h('nav', { class: 'pager', attrs: { 'aria-label': 'History pages' } }, newer, pageText, older);
  const el = h('section', { class: 'history', attrs: { 'aria-labelledby': 'history-title' } },
    h('header', 'section-head', h('h2', { text: 'History', attrs: { id: 'history-title' } }), filters),
    h('div', 'table-wrap', table), empty, pager,
  );
  const rows = new Map<string, Row>();

  const view: HistoryView = {
    el,
    renderFilters() {
      const query = ctx.state.history.query;
      const agents = [...ctx.state.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
      fillSelect(station, [['', 'All stations'], ...agents.map((a): [string, string] => [a.agent_id, a.name])], query.agent_id ?? '');
      const drives = [...new Set([...ctx.state.drives.values()].filter((d) => !query.agent_id || d.agent_id === query.agent_id).map((d) => d.drive_id))].sort();
      if (query.drive_id && !drives.includes(query.drive_id)) drives.push(query.drive_id);
      fillSelect(drive, [['', 'All drives'], ...drives.map((d): [string, string] => [d, d])], query.drive_id ?? '');
      fillSelect(outcome, [['', 'Any outcome'], ...OUTCOMES.map((s): [string, string] => [s, jobStateName(s)])], query.state ?? '');
    },
    render() {
      view.renderFilters();
      const jobs = ctx.state.historyJobs();
      keyedList(body, rows, jobs, (j) => String(j.job_id), (j) => historyRow(ctx, j.job_id), (row, j) => row.update(j));
      const filtered = Object.keys(ctx.state.history.query).some((k) => k !== 'before');
      show(table, jobs.length > 0);
      setText(empty, controls.loading() ? 'Loading…' : filtered ? 'No jobs match these filters.' : 'No jobs yet: insert a disc.');
      show(empty, jobs.length === 0);
      const page = controls.page();
      setText(pageText, `Page ${page}`);
      newer.disabled = page <= 1 || controls.loading();
      older.disabled = ctx.state.history.next_before === undefined || controls.loading();
      show(pager, page > 1 || ctx.state.history.next_before !== undefined);
      setAttr(el, 'aria-busy', controls.loading() ? 'true' : undefined);
    },
  };
  return view;
}
