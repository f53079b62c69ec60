// The stations: one card per station (online, or offline and saying so), and in it one card per drive: empty, disc
// inserted (label, disc type), ready to rip, working (the job's progress and titles), done or ended (the disc still in
// after its job: how the job ended, so a finished disc never looks like a new one), or unreachable. Every status is
// a word and a shape, not a colour alone. Cards are keyed and updated in place, so a progress update rewrites a few
// text nodes and a bar's transform, nothing more.
import { formatRelative } from '../format.js';
import { discTypeName, driveKey, isFinished, type AgentView, type DriveView, type JobView } from '../state.js';
import type { ViewContext } from './context.js';
import { button, h, keyedList, setAttr, setClass, setText, show, type Component } from './dom.js';
import { icon, setIcon, type IconName } from './icons.js';
import { jobProgress, titleList } from './job.js';

/** `done`, `ended` (failed, cancelled, interrupted): the disc is still in and its last job ended so. */
export type DriveStatus = 'unreachable' | 'working' | 'ready' | 'done' | 'ended' | 'disc' | 'empty';

export function driveStatus(drive: DriveView, job: JobView | undefined): DriveStatus {
  if (!drive.reachable) return 'unreachable';
  if (job && !isFinished(job.state)) return job.state === 'ready' ? 'ready' : 'working';
  if (job && drive.has_disc && drive.last_job_id === job.job_id) return job.state === 'completed' ? 'done' : 'ended';
  return drive.has_disc ? 'disc' : 'empty';
}

const STATUS_ICON: Record<DriveStatus, IconName> = {
  unreachable: 'offline', working: 'spin', ready: 'pause', done: 'check', ended: 'cross', disc: 'disc', empty: 'empty',
};

const ENDED: Record<string, string> = { failed: 'Rip failed', cancelled: 'Cancelled', interrupted: 'Interrupted' };

function statusText(status: DriveStatus, job: JobView | undefined): string {
  switch (status) {
    case 'unreachable': return 'Unreachable';
    case 'working': return job?.state === 'identifying' ? 'Identifying' : job?.state === 'transcoding' ? 'Transcoding' : 'Ripping';
    case 'ready': return 'Ready to rip';
    case 'done': return 'Done: take the disc out';
    case 'ended': return ENDED[job?.state ?? ''] ?? 'Ended';
    case 'disc': return 'Disc inserted';
    case 'empty': return 'Empty';
  }
}

/** "3 images waiting: a.iso, b.cue, c.toc" (an import folder), or undefined when none wait. */
export function waitingText(drive: DriveView): string | undefined {
  const count = drive.waiting_count ?? drive.waiting?.length ?? 0;
  if (count === 0) return undefined;
  const names = (drive.waiting ?? []).slice(0, 3);
  const more = count - names.length;
  return `${count} image${count === 1 ? '' : 's'} waiting: ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

interface DriveCard extends Component {
  update(drive: DriveView): void;
}

function driveCard(ctx: ViewContext, key: string): DriveCard {
  const statusIcon = h('span', 'drive-icon');
  const status = h('span', 'drive-status');
  const driveName = h('span', 'drive-id');
  const label = h('span', 'disc-label');
  const discType = h('span', 'disc-type');
  const disc = h('div', 'drive-disc', label, discType);
  const stale = h('p', 'stale-note', icon('warn'), h('span', { text: 'Station offline: this is the last known state' }));
  const waiting = h('p', 'waiting-note');
  const progress = jobProgress(ctx);
  const titles = titleList(ctx);
  const jobError = h('p', 'job-error');
  let current: { drive: DriveView; job: JobView | undefined } | undefined;
  const act = (fn: (drive: DriveView, job: JobView | undefined) => void) => () => current && fn(current.drive, current.job);
  const rip = button('Rip now', 'btn primary', act((d, j) => ctx.actions.ripNow(d, j)));
  const cancel = button('Cancel rip', 'btn danger', act((_d, j) => j && ctx.actions.cancel(j)));
  const rescan = button('Rescan', 'btn', act((d) => ctx.actions.rescan(d)));
  const eject = button('Eject', 'btn', act((d, j) => ctx.actions.eject(d, j)));
  const log = button('Details & log', 'btn ghost', act((_d, j) => j && ctx.actions.openJob(j.job_id)));
  rip.prepend(icon('play'));
  cancel.prepend(icon('stop'));
  rescan.prepend(icon('rescan'));
  eject.prepend(icon('eject'));
  log.prepend(icon('log'));
  const actions = h('div', 'drive-actions', rip, cancel, rescan, eject, log);
  const notice = h('p', { class: 'notice', attrs: { role: 'status' } });
  const [agentId, driveId] = key.split('\u0000');
  const el = h('article', { class: 'drive', attrs: { 'data-agent': agentId ?? '', 'data-drive': driveId ?? '' } },
    h('header', 'drive-head', statusIcon, h('div', 'drive-title', status, driveName)),
    disc, waiting, stale, progress.el, jobError, titles.el, actions, notice,
  );

  const setButton = (b: HTMLButtonElement, visible: boolean, pendingKey: string, busyLabel: string, idleLabel: string) => {
    show(b, visible);
    const busy = ctx.pending.has(pendingKey);
    if (b.disabled !== busy) b.disabled = busy;
    const text = b.lastChild as Text | null;
    const wanted = busy ? busyLabel : idleLabel;
    if (text && text.nodeType === Node.TEXT_NODE && text.data !== wanted) text.data = wanted;
  };

  return {
    el,
    update(drive) {
      const job = ctx.state.jobOnDrive(drive);
      current = { drive, job };
      const st = driveStatus(drive, job);
      setAttr(el, 'data-status', st);
      setAttr(el, 'data-job', job ? String(job.job_id) : undefined);
      setAttr(el, 'aria-label', `Drive ${drive.drive_id}: ${statusText(st, job)}`);
      setIcon(statusIcon, STATUS_ICON[st]);
      setText(status, statusText(st, job));
      setText(driveName, drive.drive_id);
      const running = job !== undefined && !isFinished(job.state);
      const discLabel = job?.volume_label ?? drive.volume_label;
      show(disc, drive.has_disc || running);
      setText(label, discLabel ? discLabel : drive.has_disc ? 'No label' : '');
      setClass(label, 'muted', !discLabel);
      setText(discType, discTypeName(job?.disc_type ?? drive.disc_type));
      show(stale, !drive.reachable);
      const queued = waitingText(drive);
      setText(waiting, queued ?? '');
      setAttr(waiting, 'title', drive.waiting?.join('\n'));
      show(waiting, queued !== undefined);

      show(progress.el, running);
      if (running && job) progress.update(job);
      const showTitles = running && job !== undefined && (job.titles?.length ?? 0) > 0;
      show(titles.el, showTitles);
      if (showTitles && job) titles.update(job);
      setText(jobError, job?.error_message ?? '');
      show(jobError, (running || st === 'ended') && job?.error_message !== undefined);

      const reachable = drive.reachable;
      const k = driveKey(drive.agent_id, drive.drive_id);
      const draft = job ? ctx.draftSelection(job.job_id) : undefined;
      const count = job?.state === 'ready' ? (draft ? draft.size : (job.titles ?? []).filter((t) => t.selected).length) : undefined;
      setButton(rip, reachable && drive.has_disc && (!running || job?.state === 'ready'), `rip:${k}`, 'Starting…',
        count !== undefined ? `Rip ${count} title${count === 1 ? '' : 's'} now` : st === 'done' || st === 'ended' ? 'Rip again' : 'Rip now');
      if (count === 0 && !rip.disabled) rip.disabled = true;
      setButton(cancel, reachable && running && job?.state !== 'ready', `cancel:${job?.job_id}`, 'Cancelling…', 'Cancel rip');
      setButton(rescan, reachable && drive.has_disc && (!running || job?.state === 'ready'), `rescan:${k}`, 'Rescanning…', 'Rescan');
      setButton(eject, reachable && (drive.has_disc || running), `eject:${k}`, 'Ejecting…', 'Eject');
      setButton(log, job !== undefined && (running || st === 'done' || st === 'ended'), '', '', 'Details & log');
      show(actions, reachable && (drive.has_disc || running));

      const note = ctx.notice(k);
      setText(notice, note?.text ?? '');
      setAttr(notice, 'data-kind', note?.kind);
      setAttr(notice, 'role', note?.kind === 'error' ? 'alert' : 'status');
      show(notice, note !== undefined);
    },
  };
}

interface StationCard extends Component {
  update(agent: AgentView, drives: DriveView[], onlyDrives?: ReadonlySet<string>): void;
}

function stationCard(ctx: ViewContext): StationCard {
  const stateIcon = h('span', 'station-icon');
  const name = h('h2', 'station-name');
  const state = h('span', 'station-state');
  const detail = h('span', 'station-detail');
  const error = h('p', 'station-error');
  const drivesEl = h('div', 'drives');
  const none = h('p', { class: 'muted empty-note', text: 'This station reports no drives.' });
  const cards = new Map<string, DriveCard>();
  const el = h('section', 'station',
    h('header', 'station-head', name, h('span', 'station-badge', stateIcon, state), detail),
    error, drivesEl, none,
  );
  return {
    el,
    update(agent, drives, onlyDrives) {
      const online = agent.state === 'online';
      setAttr(el, 'data-state', agent.state);
      setAttr(el, 'data-agent', agent.agent_id);
      setAttr(el, 'aria-label', `Station ${agent.name}: ${online ? 'online' : 'offline'}`);
      setText(name, agent.name);
      setIcon(stateIcon, online ? 'online' : 'offline');
      setText(state, online ? 'Online' : 'Offline');
      const working = drives.filter((d) => driveStatus(d, ctx.state.jobOnDrive(d)) === 'working').length;
      setText(detail, online
        ? `${drives.length} drive${drives.length === 1 ? '' : 's'}${working ? ` · ${working} working` : ''}`
        : `last seen ${formatRelative(Date.parse(agent.last_seen), ctx.now())}`);
      setText(error, agent.error ?? '');
      show(error, agent.error !== undefined);
      show(none, drives.length === 0);
      if (onlyDrives) {
        for (const drive of drives) {
          const k = driveKey(drive.agent_id, drive.drive_id);
          if (onlyDrives.has(k)) cards.get(k)?.update(drive);
        }
      } else {
        keyedList(drivesEl, cards, drives, (d) => driveKey(d.agent_id, d.drive_id), (d) => driveCard(ctx, driveKey(d.agent_id, d.drive_id)), (card, d) => card.update(d));
      }
    },
  };
}

export interface StationsView extends Component {
  /** Everything (after a structural change), or only the given drives. */
  render(dirtyDrives?: ReadonlySet<string>): void;
}

export function stationsView(ctx: ViewContext): StationsView {
  const list = h('div', 'stations');
  const empty = h('div', 'empty-state',
    h('p', 'empty-title', 'No stations yet'),
    h('p', 'muted', 'Start an agent on a machine with drives (discbridge agent), or run npm start here: its drives appear on this page.'),
  );
  const el = h('div', 'stations-view', list, empty);
  const cards = new Map<string, StationCard>();
  return {
    el,
    render(dirtyDrives) {
      const stations = ctx.state.stations();
      show(empty, stations.length === 0 && ctx.state.hasSnapshot);
      if (dirtyDrives) {
        const agents = new Set([...dirtyDrives].map((k) => k.split('\u0000')[0]));
        for (const { agent, drives } of stations) if (agents.has(agent.agent_id)) cards.get(agent.agent_id)?.update(agent, drives, dirtyDrives);
        return;
      }
      keyedList(list, cards, stations, (s) => s.agent.agent_id, () => stationCard(ctx), (card, s) => card.update(s.agent, s.drives));
    },
  };
}
