// Dialogs and messages: the confirmation asked before anything that destroys work (a native <dialog>: focus moves
// into it, Escape keeps the work), the job panel (a job's facts, titles, files and live log), and toasts announcing
// action results to screen readers as well as eyes.
import { elapsedSeconds, formatBytes, formatDateTime, formatDuration, formatPercent, jobStateName } from '../format.js';
import { discTypeName, isFinished, type JobView } from '../state.js';
import type { LogLine } from '../../../../shared/index.js';
import type { ViewContext } from './context.js';
import { button, h, setAttr, setText, show } from './dom.js';
import { icon, setIcon } from './icons.js';
import { jobAverageSpeed, outputFiles } from './history.js';
import { jobIcon, jobProgress, titleList } from './job.js';

export interface ConfirmOptions {
  title: string;
  message: string;
  confirm: string;
  keep: string;
}

/** Asks before destroying work. Resolves true only on the explicit destructive button. */
export function confirmDialog(): { el: HTMLDialogElement; ask(options: ConfirmOptions): Promise<boolean> } {
  const title = h('h2', { class: 'dialog-title', attrs: { id: 'confirm-title' } });
  const message = h('p', { class: 'dialog-message', attrs: { id: 'confirm-message' } });
  const yes = h('button', { class: 'btn danger', attrs: { type: 'submit', value: 'yes' } });
  const no = h('button', { class: 'btn', attrs: { type: 'submit', value: 'no', autofocus: '' } });
  const form = h('form', { attrs: { method: 'dialog' } }, h('div', 'dialog-icon', icon('warn')), title, message, h('div', 'dialog-actions', no, yes));
  const el = h('dialog', { class: 'confirm', attrs: { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' } }, form);
  let settle: ((value: boolean) => void) | undefined;
  el.addEventListener('close', () => {
    settle?.(el.returnValue === 'yes');
    settle = undefined;
  });
  return {
    el,
    ask(options) {
      settle?.(false);
      setText(title, options.title);
      setText(message, options.message);
      setText(yes, options.confirm);
      setText(no, options.keep);
      el.returnValue = '';
      return new Promise((resolve) => {
        settle = resolve;
        el.showModal();
        no.focus();
      });
    },
  };
}

/** Short-lived messages in a live region; errors stay longer and are announced assertively. */
export function toasts(): { el: HTMLElement; show(kind: 'ok' | 'error', text: string): void } {
  const el = h('div', { class: 'toasts', attrs: { 'aria-live': 'polite' } });
  return {
    el,
    show(kind, text) {
      const close = button('', 'toast-close', () => toast.remove(), { 'aria-label': 'Dismiss' });
      close.append(icon('close'));
      const toast = h('div', { class: `toast ${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } },
        icon(kind === 'error' ? 'warn' : 'check'), h('span', { text }), close);
      el.append(toast);
      while (el.childElementCount > 4) el.firstElementChild?.remove();
      setTimeout(() => toast.remove(), kind === 'error' ? 12_000 : 5000);
    },
  };
}

export interface JobPanel {
  el: HTMLDialogElement;
  /** The job shown, if the panel is open. */
  jobId: number | undefined;
  open(jobId: number): void;
  render(): void;
  renderLog(): void;
  onClose(listener: (jobId: number) => void): void;
}

const LEVEL_ICON = { info: 'log', warn: 'warn', error: 'cross' } as const;

export function jobPanel(ctx: ViewContext): JobPanel {
  const stateIcon = h('span', 'panel-state-icon');
  const stateText = h('span', 'panel-state');
  const title = h('h2', { class: 'dialog-title', attrs: { id: 'job-title' } });
  const close = button('', 'btn ghost icon-only', () => el.close(), { 'aria-label': 'Close' });
  close.append(icon('close'));
  const facts = h('dl', 'panel-facts');
  const progress = jobProgress(ctx);
  const error = h('p', 'job-error');
  const titles = titleList(ctx);
  const logList = h('ol', { class: 'log', attrs: { 'aria-label': 'Log', tabindex: '0' } });
  const logEmpty = h('p', 'muted', 'No log lines yet.');
  const cancel = button('Cancel rip', 'btn danger', () => {
    const job = panel.jobId === undefined ? undefined : ctx.state.jobs.get(panel.jobId);
    if (job) ctx.actions.cancel(job);
  });
  cancel.prepend(icon('stop'));
  const el = h('dialog', { class: 'panel', attrs: { 'aria-labelledby': 'job-title' } },
    h('header', 'panel-head', h('div', 'panel-heading', h('span', 'outcome', stateIcon, stateText), title), close),
    h('div', 'panel-body',
      progress.el, error, facts,
      h('h3', { text: 'Titles' }), titles.el,
      h('h3', { text: 'Log' }), logList, logEmpty,
    ),
    h('footer', 'panel-foot', cancel),
  );
  const listeners: ((jobId: number) => void)[] = [];
  el.addEventListener('close', () => {
    const id = panel.jobId;
    panel.jobId = undefined;
    if (id !== undefined) for (const listener of listeners) listener(id);
  });
  // A click on the backdrop closes it, like Escape.
  el.addEventListener('click', (event) => {
    if (event.target === el) el.close();
  });

  const fact = (term: string, value: string | undefined): HTMLElement[] => (value ? [h('dt', { text: term }), h('dd', { text: value })] : []);
  let renderedLines = 0;
  let renderedFor: number | undefined;

  const panel: JobPanel = {
    el,
    jobId: undefined,
    open(jobId) {
      panel.jobId = jobId;
      renderedLines = 0;
      renderedFor = undefined;
      logList.replaceChildren();
      panel.render();
      panel.renderLog();
      if (!el.open) el.showModal();
    },
    render() {
      const job: JobView | undefined = panel.jobId === undefined ? undefined : ctx.state.jobs.get(panel.jobId);
      if (!job) {
        setText(title, 'Loading…');
        return;
      }
      const now = ctx.now();
      setIcon(stateIcon, jobIcon(job));
      setText(stateText, jobStateName(job.state));
      setAttr(el, 'data-state', job.state);
      setText(title, job.volume_label || `Job ${job.job_id}`);
      const running = !isFinished(job.state);
      show(progress.el, running);
      if (running) progress.update(job);
      setText(error, job.error_message ?? '');
      show(error, job.error_message !== undefined);
      const seconds = elapsedSeconds(job.started_at, job.finished_at, now);
      const files = outputFiles(job);
      facts.replaceChildren(
        ...fact('Station', ctx.state.agents.get(job.agent_id)?.name ?? job.agent_id),
        ...fact('Drive', job.drive_id),
        ...fact('Disc', `${discTypeName(job.disc_type)} · job #${job.job_id}`),
        ...fact('Started', job.started_at ? formatDateTime(Date.parse(job.started_at), now) : undefined),
        ...fact('Finished', job.finished_at ? formatDateTime(Date.parse(job.finished_at), now) : undefined),
        ...fact(running ? 'Running for' : 'Duration', seconds === undefined ? undefined : formatDuration(seconds)),
        ...fact('Progress', running ? undefined : job.progress_percent === undefined ? undefined : formatPercent(job.progress_percent)),
        ...fact('Average speed', running ? undefined : jobAverageSpeed(job, now)),
        ...fact('Folder', job.output_dir),
        ...fact('Files', files.length ? files.join('\n') : undefined),
        ...fact('SHA-256', job.sha256),
        ...fact('Disc ids', job.musicbrainz_disc_id ? `MusicBrainz ${job.musicbrainz_disc_id}\nfreedb ${job.freedb_disc_id ?? '—'}` : undefined),
        ...fact('Unreadable', job.unreadable_bytes === undefined ? undefined : formatBytes(job.unreadable_bytes)),
        ...fact('Reachable', job.reachable ? undefined : 'No: the station is offline; this may be stale'),
      );
      show(titles.el, (job.titles?.length ?? 0) > 0);
      titles.update(job);
      show(cancel, running && job.reachable && job.state !== 'ready');
      cancel.disabled = ctx.pending.has(`cancel:${job.job_id}`);
    },
    renderLog() {
      const id = panel.jobId;
      const lines: LogLine[] = id === undefined ? [] : ctx.state.logs.get(id) ?? [];
      if (renderedFor !== id || lines.length < renderedLines) {
        logList.replaceChildren();
        renderedLines = 0;
        renderedFor = id;
      }
      const stick = logList.scrollTop + logList.clientHeight >= logList.scrollHeight - 8;
      const fragment = document.createDocumentFragment();
      for (const line of lines.slice(renderedLines)) {
        const time = new Date(line.at).toLocaleTimeString(undefined, { hour12: false });
        fragment.append(h('li', { class: `log-line ${line.level}` }, icon(LEVEL_ICON[line.level]), h('time', { text: time }), h('span', { text: line.text })));
      }
      logList.append(fragment);
      renderedLines = lines.length;
      while (logList.childElementCount > 5000) logList.firstElementChild?.remove();
      show(logEmpty, lines.length === 0);
      show(logList, lines.length > 0);
      if (stick) logList.scrollTop = logList.scrollHeight;
    },
    onClose(listener) {
      listeners.push(listener);
    },
  };
  return panel;
}
