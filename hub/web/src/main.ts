// The dashboard page's wiring: builds the views, connects the socket (protocol 3: it subscribes to every station, or
// to the one of `?station=<id>` for a wall display beside it), loads snapshots over the socket in one request (on
// every connect and on a revision gap, keeping the old view on screen until the new one is complete), feeds live
// messages to the model, renders what changed once per animation frame, and carries out people's actions over the
// socket with confirmation, progress and their result (or the hub's refusal, word for word), and signs people in
// when the hub asks for it. History pages, job details and logs come through REST.
import './zod-config.js'; // first: before any schema is made
import { AgentId, type DashboardCommand } from '../../../shared/index.js';
import { api, RequestError } from './api.js';
import { Connection, socketUrl, type ConnectionStatus } from './connection.js';
import { SocketRequests } from './requests.js';
import {
  DashboardState, driveKey, isFinished, type DriveView, type HistoryQuery, type JobView, type Revisions, type Snapshot,
} from './state.js';
import type { Actions, Notice, ViewContext } from './view/context.js';
import { confirmDialog, jobPanel, toasts } from './view/dialogs.js';
import { h } from './view/dom.js';
import { headerView } from './view/header.js';
import { historyView, type HistoryControls } from './view/history.js';
import { QueueModel } from './queue.js';
import { queueView, type TaskAction } from './view/queue.js';
import { signIn } from './view/sign-in.js';
import { stationsView } from './view/stations.js';

const PAGE_SIZE = 50;
/** Set once the station list first shows real content: the benchmark's "time to first render". */
export const FIRST_RENDER_MARK = 'discbridge:stations-rendered';
/** Set when the first snapshot has been fetched (its REST answers are in), before it is rendered. */
export const SNAPSHOT_MARK = 'discbridge:snapshot-loaded';

/** The one station a wall display shows (`?station=<id>`), or undefined for all. */
const station = ((id) => (id !== null && AgentId.safeParse(id).success ? id : undefined))(new URLSearchParams(location.search).get('station'));
if (station) document.title = `${station} · ${document.title}`;
const defaultHistory: HistoryQuery = station ? { agent_id: station } : {};

const state = new DashboardState(PAGE_SIZE, station);
const pending = new Set<string>();
const notices = new Map<string, Notice>();
/** Selections being edited (jobs waiting for "rip now"), or being sent (running jobs), by job id. */
const drafts = new Map<number, Set<number>>();

/** Runs `task` over `items` with at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- Views

const actions: Actions = {
  ripNow: (drive, job) => void ripNow(drive, job),
  cancel: (job) => void cancel(job),
  eject: (drive, job) => void eject(drive, job),
  rescan: (drive) => void rescan(drive),
  toggleTitle: (job, titleId, selected) => void toggleTitle(job, titleId, selected),
  openJob: (jobId) => openJob(jobId),
};

const ctx: ViewContext = {
  state,
  now: () => Date.now(),
  actions,
  draftSelection: (jobId) => drafts.get(jobId),
  pending,
  notice: (key) => notices.get(key),
};

/** The history page wanted: filters, and the cursors of the newer pages (for "Newer"). */
let historyQuery: HistoryQuery = defaultHistory;
let newerCursors: (number | undefined)[] = [];
let historyLoading = false;

const historyControls: HistoryControls = {
  query: (query) => {
    newerCursors = [];
    void loadHistory({ ...defaultHistory, ...query });
  },
  older: () => {
    const before = state.history.next_before;
    if (before === undefined) return;
    newerCursors.push(historyQuery.before);
    void loadHistory({ ...historyQuery, before });
  },
  newer: () => {
    const before = newerCursors.pop();
    const { before: _old, ...filters } = historyQuery;
    void loadHistory(before === undefined ? filters : { ...filters, before });
  },
  page: () => newerCursors.length + 1,
  loading: () => historyLoading,
};

const signInView = signIn({
  async login(password) {
    await api.login(password);
    await refreshSession();
    toast.show('ok', 'Signed in');
    // A hub that shows nothing to strangers refused the socket until now; it reloads once connected.
    connection.reconnect();
  },
  async logout() {
    await api.logout().catch(() => undefined);
    await refreshSession();
    toast.show('ok', 'Signed out');
  },
});

async function refreshSession(): Promise<void> {
  const session = await api.session().catch(() => undefined);
  signInView.setSession(session);
  // A hub that shows nothing to strangers refuses the socket too: say so rather than wait for it.
  if (session && !session.can_view) signInView.ask('Sign in to view this hub');
}

const header = headerView(ctx, [signInView.button]);
const stations = stationsView(ctx);
const history = historyView(ctx, historyControls);
const queue = new QueueModel();
const queueSection = queueView(ctx, queue, (taskId, action) => void taskAction(taskId, action));
const panel = jobPanel(ctx);
const confirm = confirmDialog();
const toast = toasts();

const banner = h('div', { class: 'banner', attrs: { role: 'alert' } });
banner.hidden = true;
const app = document.getElementById('app') ?? document.body;
app.replaceChildren(
  header.el,
  banner,
  h('main', { attrs: { id: 'main' } },
    h('section', { class: 'stations-section', attrs: { 'aria-label': 'Stations and drives' } }, stations.el),
    queueSection.el,
    history.el,
  ),
  confirm.el, panel.el, signInView.dialog, toast.el,
);

// ---- Rendering: what changed, once per frame

let frame = 0;
let firstRender = true;

function schedule(): void {
  if (frame === 0) frame = requestAnimationFrame(render);
}

function render(): void {
  frame = 0;
  const dirty = state.takeDirty();
  if (dirty.structure) stations.render();
  else if (dirty.drives.size > 0) stations.render(dirty.drives);
  if (dirty.structure || dirty.drives.size > 0) header.render();
  if (dirty.history || dirty.structure || state.historyIds.some((id) => dirty.jobs.has(id))) history.render();
  // Its rows name their discs from the jobs the page knows.
  if (queue.dirty || dirty.structure || dirty.jobs.size > 0) {
    queue.dirty = false;
    queueSection.render();
  }
  if (panel.jobId !== undefined) {
    if (dirty.structure || dirty.jobs.has(panel.jobId)) panel.render();
    if (dirty.logs.has(panel.jobId)) panel.renderLog();
  }
  if (firstRender && state.hasSnapshot) {
    firstRender = false;
    performance.mark(FIRST_RENDER_MARK);
    document.body.dataset.ready = 'true';
  }
}

// ---- Snapshots through REST

let resyncing = false;
let resyncAgain = false;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let socketOpen = false;

/** Per station, the lowest of the revisions several answers reflect: the snapshot is only as new as its oldest part. */
function lowest(first: Revisions, ...others: Revisions[]): Revisions {
  return Object.fromEntries(Object.entries(first).map(([agentId, rev]) => [agentId, Math.min(rev, ...others.map((o) => o[agentId] ?? rev))]));
}

/** One request for stations, drives and running jobs; REST only for what it does not hold (another history page, old jobs on drives). */
async function loadSnapshot(): Promise<Snapshot> {
  const query = historyQuery;
  const snapshot = await requests.snapshot();
  const answers: Revisions[] = [];
  let history = { query, ...snapshot.history };
  if (JSON.stringify(query) !== JSON.stringify(defaultHistory)) {
    const page = await api.jobs({ ...query, limit: PAGE_SIZE });
    answers.push(page.revisions);
    history = { query, ...page.data };
  }
  const jobs = [...snapshot.running];
  const held = new Set([...jobs, ...history.jobs].map((job) => job.job_id));
  const wanted = new Set(snapshot.drives.flatMap((d) => [d.job_id, d.last_job_id].filter((id): id is number => id !== undefined && !held.has(id))));
  if (panel.jobId !== undefined && !jobs.some((job) => job.job_id === panel.jobId)) wanted.add(panel.jobId);
  await eachLimited([...wanted], 6, async (id) => {
    try {
      const detail = await api.job(id);
      answers.push(detail.revisions);
      jobs.push(detail.data);
    } catch (error) {
      if (!(error instanceof RequestError && error.status === 404)) throw error;
    }
  });
  return { revisions: lowest(snapshot.revisions, ...answers), agents: snapshot.agents, drives: snapshot.drives, jobs, history };
}

async function resync(): Promise<void> {
  if (resyncing) {
    resyncAgain = true;
    return;
  }
  resyncing = true;
  clearTimeout(retryTimer);
  try {
    do {
      resyncAgain = false;
      state.beginResync();
      showConnection();
      const snapshot = await loadSnapshot();
      if (!state.hasSnapshot) performance.mark(SNAPSHOT_MARK);
      if (state.applySnapshot(snapshot, Date.now()).resync) resyncAgain = true;
      loadHistoryDetails();
      void loadQueue();
    } while (resyncAgain);
  } catch (error) {
    // The hub is unreachable or answered nonsense: the old view stays; try again while the socket is up
    // (a reconnect starts a new reload anyway).
    console.warn('Reload failed:', error);
    if (socketOpen) retryTimer = setTimeout(() => void resync(), 2000);
    if (error instanceof RequestError && error.status === 401) signInView.ask(error.message);
  } finally {
    resyncing = false;
    showConnection();
    schedule();
  }
}

/** The transcode queue as it is now; its changes come as task_update messages from then on. */
async function loadQueue(): Promise<void> {
  try {
    queue.load((await api.transcodes()).tasks);
    schedule();
  } catch (error) {
    console.warn('Could not load the transcode queue:', error);
  }
}

async function loadHistory(query: HistoryQuery): Promise<void> {
  historyQuery = query;
  historyLoading = true;
  state.redrawHistory();
  schedule();
  try {
    const page = await api.jobs({ ...query, limit: PAGE_SIZE });
    if (historyQuery !== query) return; // a newer choice overtook this one
    state.applyHistory({ query, ...page.data }, page.revisions, Date.now());
    loadHistoryDetails();
  } catch (error) {
    toast.show('error', `Could not load the history: ${(error as Error).message}`);
  } finally {
    if (historyQuery === query) historyLoading = false;
    state.redrawHistory();
    schedule();
  }
}

/** Titles of the finished jobs on the history page (for files and average speed): the fetches under way. */
const historyDetails = new Set<number>();

function loadHistoryDetails(): void {
  const wanted = state.historyJobs().filter((job) => isFinished(job.state) && !job.titles && !historyDetails.has(job.job_id)).map((job) => job.job_id);
  for (const id of wanted) historyDetails.add(id);
  void eachLimited(wanted, 3, async (id) => loadDetail(id).catch(() => undefined).finally(() => historyDetails.delete(id)));
}

async function loadDetail(jobId: number): Promise<void> {
  const detail = await api.job(jobId);
  state.applyJobDetail(detail.data, detail.revisions, Date.now());
  schedule();
}

// ---- The live socket

let connectionStatus: ConnectionStatus = { state: 'connecting', attempt: 1, since: Date.now() };
let warnedInvalid = false;

function showConnection(): void {
  header.setConnection(connectionStatus, state.syncing || resyncing);
  const down = connectionStatus.state === 'closed' && state.hasSnapshot;
  banner.hidden = !down;
  if (down) banner.textContent = `${connectionStatus.state === 'closed' ? connectionStatus.reason : ''}. Showing what was known then; reconnecting…`;
}

/** When the socket last said anything: a hub that vanished without closing it (power cut, cable) says nothing. */
let lastMessageAt = Date.now();
/**
 * Whether the hub has taken this connection's subscription: until then it sends protocol 2 (the hub's revision), and
 * the snapshot asked for after the subscription covers whatever came before it.
 */
let subscribed = false;

/** What the page follows: every station, or the one of `?station=`, and the log of the job whose panel is open. */
function topics(): string[] {
  return [station ? `station:${station}` : 'all', ...(panel.jobId !== undefined ? [`logs:${panel.jobId}`] : [])];
}

const connection = new Connection(socketUrl(location), {
  message(message) {
    lastMessageAt = Date.now();
    if (message.type === 'subscribed') subscribed = true;
    if (requests.take(message) || !subscribed) return;
    if (message.type === 'task_update') {
      queue.apply(message);
      schedule();
      return;
    }
    const result = state.apply(message, Date.now());
    if (result.resync) void resync();
    if (message.type === 'job_update' && isFinished(message.state)) {
      // Its final record: the real finish time and the files.
      void loadDetail(message.job_id).catch(() => undefined);
    }
    if (message.type === 'error') console.warn('Hub:', message.message);
    schedule();
  },
  status(next) {
    connectionStatus = next;
    socketOpen = next.state === 'open';
    subscribed = false;
    if (socketOpen) {
      lastMessageAt = Date.now();
      connection.send({ type: 'subscribe', topics: topics() });
      void resync();
    } else {
      requests.disconnected();
    }
    showConnection();
  },
  invalid(error) {
    console.warn('Ignored a frame that does not match the protocol:', error);
    if (!warnedInvalid) toast.show('error', `The hub sent a message this page does not understand (${error}); it was ignored.`);
    warnedInvalid = true;
  },
});

const requests = new SocketRequests(connection);

// ---- Actions

/** A command over the socket; a refusal is thrown as the hub's sentence. */
function send(fields: Omit<DashboardCommand, 'type' | 'id'>): Promise<void> {
  return requests.command(fields);
}

function jobLabel(job: JobView | undefined, drive?: DriveView): string {
  return job?.volume_label || drive?.volume_label || (job ? `job ${job.job_id}` : 'the disc');
}

function setNotice(key: string | undefined, notice: Notice): void {
  toast.show(notice.kind, notice.text);
  if (key === undefined) return;
  notices.set(key, notice);
  state.redrawDrive(key);
  schedule();
  setTimeout(() => {
    if (notices.get(key) !== notice) return;
    notices.delete(key);
    state.redrawDrive(key);
    schedule();
  }, notice.kind === 'error' ? 15_000 : 6000);
}

/** Runs one command: its button shows it in flight; the result or the refusal is shown on the drive and in a toast. */
async function command(pendingKey: string, noticeKey: string | undefined, run: () => Promise<void>, done: string, failed: string): Promise<boolean> {
  if (pending.has(pendingKey)) return false;
  pending.add(pendingKey);
  if (noticeKey) state.redrawDrive(noticeKey);
  if (panel.jobId !== undefined) state.redrawJob(panel.jobId);
  schedule();
  try {
    await run();
    setNotice(noticeKey, { kind: 'ok', text: done });
    return true;
  } catch (error) {
    setNotice(noticeKey, { kind: 'error', text: `${failed}: ${error instanceof Error ? error.message : String(error)}` });
    if (error instanceof RequestError && error.status === 401) signInView.ask(error.message);
    return false;
  } finally {
    pending.delete(pendingKey);
    if (noticeKey) state.redrawDrive(noticeKey);
    if (panel.jobId !== undefined) state.redrawJob(panel.jobId);
    schedule();
  }
}

function keyOfJobDrive(job: JobView): string | undefined {
  return job.drive_id === undefined ? undefined : driveKey(job.agent_id, job.drive_id);
}

async function ripNow(drive: DriveView, job: JobView | undefined): Promise<void> {
  const key = driveKey(drive.agent_id, drive.drive_id);
  const titles = job?.state === 'ready' ? [...(drafts.get(job.job_id) ?? (job.titles ?? []).filter((t) => t.selected).map((t) => t.title_id))].sort((a, b) => a - b) : undefined;
  const ok = await command(`rip:${key}`, key, () => send({ command: 'rip', agent_id: drive.agent_id, drive_id: drive.drive_id, ...(titles ? { titles } : {}) }),
    `Ripping ${jobLabel(job, drive)}${titles ? ` (${titles.length} title${titles.length === 1 ? '' : 's'})` : ''}`, 'Could not start the rip');
  if (ok && job) drafts.delete(job.job_id);
}

const TASK_ACTION_WORDS: Record<TaskAction, [done: string, failed: string]> = {
  retry: ['queued again', 'Could not retry'], cancel: ['cancelled', 'Could not cancel'], prioritize: ['moved to the head of the queue', 'Could not move up'],
};

/** A person's action on a transcode task, through REST; the task's new state comes back as a task_update. */
async function taskAction(taskId: number, action: TaskAction): Promise<void> {
  if (action === 'cancel') {
    const sure = await confirm.ask({
      title: `Cancel transcode task ${taskId}?`,
      message: 'Its station stops the transcode and deletes the unfinished file; the rip is kept.',
      confirm: 'Cancel transcode',
      keep: 'Keep transcoding',
    });
    if (!sure) return;
  }
  const key = `task:${taskId}`;
  pending.add(key);
  queue.dirty = true;
  schedule();
  const [done, failed] = TASK_ACTION_WORDS[action];
  try {
    await api.taskAction(taskId, action);
    toast.show('ok', `Transcode task ${taskId} ${done}`);
  } catch (error) {
    toast.show('error', `${failed}: ${(error as Error).message}`);
  } finally {
    pending.delete(key);
    queue.dirty = true;
    schedule();
  }
}

async function cancel(job: JobView): Promise<void> {
  const sure = await confirm.ask({
    title: `Cancel the rip of ${jobLabel(job)}?`,
    message: `The station stops ${job.drive_id ? `${job.drive_id} ` : ''}now and deletes the unfinished file. Titles already ripped are kept.`,
    confirm: 'Cancel rip',
    keep: 'Keep ripping',
  });
  if (!sure) return;
  await command(`cancel:${job.job_id}`, keyOfJobDrive(job), () => send({ command: 'cancel', job_id: job.job_id }), `Cancelled ${jobLabel(job)}`, 'Could not cancel');
}

async function eject(drive: DriveView, job: JobView | undefined): Promise<void> {
  const busy = job !== undefined && !isFinished(job.state) && job.state !== 'ready';
  if (busy) {
    const sure = await confirm.ask({
      title: `Eject ${drive.drive_id} while it works?`,
      message: `${drive.drive_id} is ${job.state === 'identifying' ? 'reading' : 'ripping'} ${jobLabel(job, drive)}. Ejecting now would lose that work; the station may refuse while the drive is busy.`,
      confirm: 'Eject anyway',
      keep: 'Keep working',
    });
    if (!sure) return;
  }
  const key = driveKey(drive.agent_id, drive.drive_id);
  await command(`eject:${key}`, key, () => send({ command: 'eject', agent_id: drive.agent_id, drive_id: drive.drive_id }), `Ejected ${jobLabel(job, drive)} from ${drive.drive_id}`, 'Could not eject');
}

async function rescan(drive: DriveView): Promise<void> {
  const key = driveKey(drive.agent_id, drive.drive_id);
  await command(`rescan:${key}`, key, () => send({ command: 'rescan', agent_id: drive.agent_id, drive_id: drive.drive_id }), `Reading the titles of ${drive.volume_label || 'the disc'} again`, 'Could not rescan');
}

async function toggleTitle(job: JobView, titleId: number, selected: boolean): Promise<void> {
  const current = drafts.get(job.job_id) ?? new Set((job.titles ?? []).filter((t) => t.selected).map((t) => t.title_id));
  const next = new Set(current);
  if (selected) next.add(titleId);
  else next.delete(titleId);
  drafts.set(job.job_id, next);
  const key = keyOfJobDrive(job);
  if (key) state.redrawDrive(key);
  state.redrawJob(job.job_id);
  schedule();
  if (job.state === 'ready') return; // sent with "rip now"
  // A running job: the station changes its selection now; titles already started keep their course.
  await command(`titles:${job.job_id}`, key, () => send({ command: 'select_titles', job_id: job.job_id, titles: [...next].sort((a, b) => a - b) }),
    `${selected ? 'Added' : 'Removed'} title ${titleId}`, 'Could not change the titles');
  if (drafts.get(job.job_id) === next) drafts.delete(job.job_id);
  if (key) state.redrawDrive(key);
  state.redrawJob(job.job_id);
  schedule();
}

function openJob(jobId: number): void {
  if (panel.jobId !== undefined && panel.jobId !== jobId) connection.send({ type: 'unsubscribe', topics: [`logs:${panel.jobId}`] });
  state.pinned.add(jobId);
  state.watchLog(jobId);
  panel.open(jobId);
  // Protocol 3 sends a job's log lines only to those who follow its log.
  connection.send({ type: 'subscribe', topics: [`logs:${jobId}`] });
  void loadDetail(jobId).catch((error: Error) => toast.show('error', `Could not load job ${jobId}: ${error.message}`));
  void api.jobLog(jobId).then(
    (log) => {
      if (panel.jobId !== jobId) return;
      state.openLog(jobId, log.data.lines);
      schedule();
    },
    (error: Error) => {
      if (panel.jobId === jobId) state.openLog(jobId, [{ at: Date.now(), level: 'warn', text: `The log could not be loaded: ${error.message}` }]);
      schedule();
    },
  );
}

panel.onClose((jobId) => {
  state.pinned.delete(jobId);
  state.closeLog(jobId);
  connection.send({ type: 'unsubscribe', topics: [`logs:${jobId}`] });
});

// ---- Clock: countdowns tick, relative times age

let ticks = 0;
setInterval(() => {
  ticks++;
  header.tick();
  for (const drive of state.drives.values()) {
    const job = state.jobOnDrive(drive);
    if (job && job.eta_at !== undefined && !isFinished(job.state)) state.redrawDrive(driveKey(drive.agent_id, drive.drive_id));
  }
  if (panel.jobId !== undefined) state.redrawJob(panel.jobId);
  if (ticks % 30 === 0) state.redrawHistory();
  schedule();
}, 1000);

// The hub's pings are invisible to page scripts, so a socket to a hub that vanished without closing it looks open
// for minutes. After 20 s of silence the page asks the hub directly; no answer means reconnect (and show it).
let probing = false;
setInterval(() => {
  if (!socketOpen || probing || Date.now() - lastMessageAt < 20_000) return;
  probing = true;
  void api.alive().then((alive) => {
    if (alive) lastMessageAt = Date.now();
    else connection.reconnect();
  }).finally(() => {
    probing = false;
  });
}, 5000);

header.tick();
showConnection();
connection.start();
void refreshSession();
