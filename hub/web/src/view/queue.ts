// The transcode queue: every task with its disc and title, its state, the station transcoding it (or that did), its
// progress, attempts and last error, and what a person may do with it (retry, cancel, move up). Rows are keyed.
import type { TranscodeTaskRecord } from '../../../../shared/index.js';
import type { QueueModel } from '../queue.js';
import type { ViewContext } from './context.js';
import { button, h, keyedList, progressBar, setAttr, setText, show, type Component } from './dom.js';

export type TaskAction = 'retry' | 'cancel' | 'prioritize';

const STATE_NAMES: Record<TranscodeTaskRecord['state'], string> = {
  queued: 'Queued', transcoding: 'Transcoding', done: 'Done', failed: 'Failed', cancelled: 'Cancelled',
};

interface Row extends Component {
  update(task: TranscodeTaskRecord): void;
}

function taskRow(ctx: ViewContext, taskId: number, act: (task: number, action: TaskAction) => void): Row {
  const disc = h('span', 'h-label');
  const title = h('span', 'h-sub');
  const state = h('span', 'task-state');
  const station = h('span', 'task-station');
  const via = h('span', 'h-sub');
  const bar = progressBar('task-bar', `Task ${taskId} progress`);
  const percent = h('span', 'h-sub num');
  const attempts = h('span', 'num');
  const error = h('span', 'h-error');
  const retry = button('Retry', 'btn small', () => act(taskId, 'retry'));
  const cancel = button('Cancel', 'btn small ghost', () => act(taskId, 'cancel'));
  const up = button('Move up', 'btn small ghost', () => act(taskId, 'prioritize'));
  const el = h('tr', { class: 'task-row', attrs: { 'data-task': String(taskId) } },
    h('td', { attrs: { 'data-label': 'Disc' } }, disc, title),
    h('td', { attrs: { 'data-label': 'State' } }, state),
    h('td', { attrs: { 'data-label': 'Station' } }, station, via),
    h('td', { attrs: { 'data-label': 'Progress' } }, bar.el, percent),
    h('td', { attrs: { 'data-label': 'Attempts' } }, attempts),
    h('td', { attrs: { 'data-label': 'Error' } }, error),
    h('td', 'c-actions', up, retry, cancel),
  );
  return {
    el,
    update(task) {
      const job = ctx.state.jobs.get(task.job_id);
      setText(disc, job?.volume_label || `Job ${task.job_id}`);
      setText(title, `Title ${task.title_id} · ${task.profile} · from ${ctx.state.agents.get(task.agent_id)?.name ?? task.agent_id}`);
      setText(state, STATE_NAMES[task.state]);
      setAttr(el, 'data-state', task.state);
      setText(station, task.state === 'transcoding' ? task.leased_to ?? '' : task.transcoded_by ?? '');
      // A station without the files gets them through the hub: slower to start, and worth knowing when one is slow.
      setText(via, task.streamed ? 'files sent through the hub' : '');
      const progress = task.state === 'done' ? 100 : task.progress_percent;
      bar.set(task.state === 'transcoding' || task.state === 'done' ? progress ?? 0 : 0);
      setText(percent, progress === undefined || task.state === 'queued' ? '' : `${Math.floor(progress)} %`);
      setText(attempts, task.attempts > 0 ? `${task.attempts} of 3 failed` : '');
      setText(error, task.state === 'done' ? '' : task.last_error ?? '');
      const busy = ctx.pending.has(`task:${taskId}`);
      show(retry, task.state === 'failed' || task.state === 'cancelled');
      show(cancel, task.state === 'queued' || task.state === 'transcoding');
      show(up, task.state === 'queued');
      for (const control of [retry, cancel, up]) control.disabled = busy;
    },
  };
}

export interface QueueView {
  el: HTMLElement;
  render(): void;
}

export function queueView(ctx: ViewContext, queue: QueueModel, act: (task: number, action: TaskAction) => void): QueueView {
  const body = h('tbody');
  const head = h('thead', {}, h('tr', {},
    ...['Disc', 'State', 'Station', 'Progress', 'Attempts', 'Error'].map((t) => h('th', { text: t, attrs: { scope: 'col' } })),
    h('th', { attrs: { scope: 'col' } }, h('span', { class: 'visually-hidden', text: 'Actions' })),
  ));
  const summary = h('span', 'muted queue-summary');
  const el = h('section', { class: 'history queue', attrs: { 'aria-labelledby': 'queue-title' } },
    h('header', 'section-head', h('h2', { text: 'Transcode queue', attrs: { id: 'queue-title' } }), summary),
    h('div', 'table-wrap', h('table', 'history-table queue-table', head, body)),
  );
  el.hidden = true;
  const rows = new Map<string, Row>();
  return {
    el,
    render() {
      const tasks = queue.list();
      keyedList(body, rows, tasks, (t) => String(t.task_id), (t) => taskRow(ctx, t.task_id, act), (row, t) => row.update(t));
      const running = tasks.filter((t) => t.state === 'transcoding').length;
      const waiting = tasks.filter((t) => t.state === 'queued').length;
      setText(summary, `${running} transcoding · ${waiting} queued`);
      show(el, tasks.length > 0);
    },
  };
}
