// The notifications consumer: decides from the hub's committed events (and, for a station gone offline, from live
// state plus a timer) what a person should hear about, writes that decision into the outbox at once, and delivers the
// outbox at least once per URL, retrying with exponential backoff for up to a day. Also the one-off test send.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConsumerFactory, HubConsumer, HubContext } from '../../events/consumer.js';
import type { HubEvent } from '../../events/event-bus.js';
import { happeningsOf, type Happening } from '../../events/happenings.js';
import type { NotifyEvent } from './events.js';
import { noticeOf, type Facts, type Notice } from './message.js';
import { Outbox, type Decision, type OutboxRow } from './outbox.js';
import { deliver, isInstalled, redact, schemeOf, targetOf, type Target } from './targets.js';

export interface RetryPolicy {
  /** Wait before the second attempt; each later one waits twice as long as the one before… */
  firstDelayMs: number;
  /** …up to this long… */
  maxDelayMs: number;
  /** …until this long after the notification was decided, then it is given up (logged). */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 10_000, maxDelayMs: 60 * 60_000, giveUpAfterMs: 24 * 60 * 60_000 };

export interface NotificationsOptions {
  urls: string[];
  events: readonly NotifyEvent[];
  /** Signs webhook:// bodies (X-Discbridge-Signature: sha256=HMAC-SHA256 of the raw body). */
  secret?: string | undefined;
  /** A station offline this long (and still offline) is notified; 300 s by default in the settings. */
  offlineAfterMs: number;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  /** Path or name of the Apprise CLI, for every scheme not built in. */
  apprise?: string | undefined;
  /** One attempt's limit, HTTP or Apprise. */
  timeoutMs?: number | undefined;
}

const NAME = 'notifications';

export function notificationsConsumer(options: NotificationsOptions): ConsumerFactory {
  const targets = options.urls.map(targetOf);
  const apprise = options.apprise ?? 'apprise';
  const needsApprise = targets.find((target) => target.kind === 'apprise');
  if (needsApprise && !isInstalled(apprise)) {
    throw new Error(`Notification URLs with ${schemeOf(needsApprise.url) || 'that'}:// need Apprise: install the Debian package apprise`);
  }
  return (context) => new NotificationsConsumer(context, options, targets, apprise);
}

class NotificationsConsumer implements HubConsumer {
  readonly name = NAME;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly retry: RetryPolicy;
  private readonly events: ReadonlySet<NotifyEvent>;
  private outbox: Outbox | undefined;
  /** Decisions made while the bus tells this commit's events, written together once it has told them all. */
  private decisions: Decision[] = [];
  /** Stations gone offline and not back yet: the timer that notifies, and since when. */
  private readonly offline = new Map<string, { timer: NodeJS.Timeout; since: number; reason?: string | undefined }>();
  private wakeTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private drainAgain = false;
  private readonly abort = new AbortController();
  private stopped = false;

  constructor(private readonly context: HubContext, private readonly options: NotificationsOptions, private readonly targets: readonly Target[], private readonly apprise: string) {
    this.logger = options.logger ?? context.logger.child({ component: NAME });
    this.now = options.now ?? Date.now;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.events = new Set(options.events);
  }

  start(): void {
    this.outbox = new Outbox(this.context.db);
    this.context.bus.on(NAME, 'committed', (event) => this.onCommitted(event));
    this.context.bus.on(NAME, 'applied', (event) => this.onApplied(event));
    this.logger.info({ urls: this.targets.map((t) => t.origin), events: [...this.events] }, 'Notifications are on');
    // What an earlier run decided and could not deliver yet goes out now.
    this.outbox.resume(this.now());
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.context.bus.off(NAME);
    this.writeDecisions();
    for (const { timer } of this.offline.values()) clearTimeout(timer);
    this.offline.clear();
    clearTimeout(this.wakeTimer);
    // An attempt cut short stays pending: the next start sends it again, with the same id.
    this.abort.abort();
    await this.draining;
  }

  private onCommitted(hubEvent: HubEvent): void {
    for (const happening of happeningsOf(hubEvent)) {
      const event = notifyEventOf(happening);
      if (event && this.events.has(event)) this.decide(event, happening, hubEvent.type === 'station_event' ? { rev: hubEvent.event.rev } : {});
    }
  }

  private onApplied(hubEvent: HubEvent): void {
    if (hubEvent.type !== 'station_state' || !this.events.has('station_offline')) return;
    for (const happening of happeningsOf(hubEvent)) {
      const known = this.offline.get(happening.agentId);
      if (happening.kind === 'station_online') {
        if (known) clearTimeout(known.timer);
        this.offline.delete(happening.agentId);
      } else if (happening.kind === 'station_offline' && !known) {
        const since = this.now();
        const reason = happening.reason;
        const timer = setTimeout(() => {
          this.offline.delete(happening.agentId);
          this.decide('station_offline', happening, { offline: { since, reason } });
        }, this.options.offlineAfterMs);
        timer.unref();
        this.offline.set(happening.agentId, { timer, since, reason });
      }
    }
  }

  /** Writes the notification for every URL, unless this (kind, station, subject) was already decided. */
  private decide(event: NotifyEvent, happening: Happening, seen: { rev?: number | undefined; offline?: { since: number; reason?: string | undefined } }): void {
    const { offline } = seen;
    if (!this.outbox || this.targets.length === 0) return;
    const { store } = this.context;
    const jobId = 'jobId' in happening ? happening.jobId : undefined;
    const job = jobId === undefined ? undefined : store.getJob(jobId);
    const stationName = store.agent(happening.agentId)?.name ?? happening.agentId;
    const now = this.now();
    const facts: Facts = {
      id: randomUUID(), event, agentId: happening.agentId, stationName, job,
      driveId: 'driveId' in happening ? happening.driveId : job?.drive_id,
      volumeLabel: happening.kind === 'disc_inserted' ? happening.volumeLabel : undefined,
      detail: happening.kind === 'stalled' ? happening.message : offline?.reason,
      occurredAt: offline?.since ?? occurredAt(event, job) ?? now,
    };
    // Jobs: once per job and kind, whatever repeats or replays. An insert: once per drive event (its revision). Offline: once per outage.
    const subject = jobId !== undefined ? `job:${jobId}`
      : offline ? `offline:${offline.since}`
      : `drive:${facts.driveId ?? ''}:rev:${seen.rev ?? now}`;
    this.decisions.push({ notice: noticeOf(facts), subject });
    // The bus tells one commit's events in one go: a microtask writes them after the last, in the same turn.
    if (this.decisions.length === 1) queueMicrotask(() => this.writeDecisions());
  }

  private writeDecisions(): void {
    const decisions = this.decisions;
    if (decisions.length === 0 || !this.outbox) return;
    this.decisions = [];
    try {
      if (this.outbox.add(decisions, this.targets.length, this.now()) > 0) this.kick();
    } catch (error) {
      // A full or busy disk: keep them in memory and try again, as the store does with its own writes.
      this.decisions = decisions.concat(this.decisions);
      this.logger.error({ err: error, notifications: this.decisions.length }, `Could not save ${this.decisions.length} notification(s) to the outbox; trying again in a second`);
      if (!this.stopped) setTimeout(() => this.writeDecisions(), 1000).unref();
    }
  }

  /** Sends what is due now, then sleeps until the next row is. One drain at a time; a kick during it drains again. */
  private kick(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = this.drain().catch((error: unknown) => {
      this.logger.error({ err: error }, 'Delivering notifications failed; will try again');
    }).finally(() => {
      this.draining = undefined;
      if (this.drainAgain) {
        this.drainAgain = false;
        this.kick();
      } else this.sleep();
    });
  }

  private async drain(): Promise<void> {
    const outbox = this.outbox;
    if (!outbox) return;
    for (let due = outbox.due(this.now()); due.length > 0 && !this.stopped; due = outbox.due(this.now())) {
      await Promise.all(due.map((row) => this.attempt(outbox, row)));
    }
  }

  private sleep(): void {
    clearTimeout(this.wakeTimer);
    const next = this.stopped ? undefined : this.outbox?.nextDue();
    if (next === undefined) return;
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, next - this.now()));
    this.wakeTimer.unref();
  }

  private async attempt(outbox: Outbox, row: OutboxRow): Promise<void> {
    const target = this.targets[row.urlIndex];
    if (!target) {
      outbox.finish(row, 'dropped', 'its URL is no longer configured');
      this.logger.warn({ id: row.id, event: row.notice.event }, 'Dropped a notification: the URL it was for is no longer configured');
      return;
    }
    const delivery = await deliver(target, row.notice, {
      secret: this.options.secret, apprise: this.apprise, version: this.context.version, timeoutMs: this.options.timeoutMs ?? 15_000, signal: this.abort.signal,
    });
    if (this.stopped && delivery.outcome === 'retry') return;
    const log = { id: row.id, event: row.notice.event, url: target.origin, attempt: row.attempts + 1 };
    if (delivery.outcome === 'accepted') {
      outbox.finish(row, 'sent', delivery.answer);
      this.logger.info(log, 'Notification sent');
    } else if (delivery.outcome === 'rejected') {
      outbox.finish(row, 'rejected', delivery.answer);
      this.logger.warn({ ...log, answer: delivery.answer }, `Notification refused, not retried: ${delivery.answer}`);
    } else {
      const delay = Math.min(this.retry.maxDelayMs, this.retry.firstDelayMs * 2 ** row.attempts);
      const at = this.now() + delay;
      if (at - row.createdAt > this.retry.giveUpAfterMs) {
        outbox.finish(row, 'expired', delivery.answer);
        this.logger.error({ ...log, answer: delivery.answer }, `Gave up on a notification after ${row.attempts + 1} attempts: ${delivery.answer}`);
      } else {
        outbox.retryAt(row, at, delivery.answer);
        this.logger.warn({ ...log, retryInMs: delay, answer: delivery.answer }, `Notification not delivered yet: ${delivery.answer}`);
      }
    }
  }
}

function notifyEventOf(happening: Happening): NotifyEvent | undefined {
  switch (happening.kind) {
    case 'job_finished':
      return happening.outcome === 'completed' ? 'job_completed' : happening.outcome === 'failed' ? 'job_failed' : undefined;
    case 'job_ready': return 'disc_ready';
    case 'stalled': return 'stalled';
    case 'disc_inserted': return 'disc_inserted';
    default: return undefined;
  }
}

/** When it happened, from the job's record: a replayed event then says the time it really happened, not when it arrived. */
function occurredAt(event: NotifyEvent, job: Facts['job']): number | undefined {
  if (!job) return undefined;
  const at = event === 'job_completed' || event === 'job_failed' ? job.finished_at ?? job.updated_at : job.updated_at;
  return Date.parse(at);
}

export interface TestAnswer {
  /** Redacted: scheme://host only. */
  url: string;
  ok: boolean;
  answer: string;
}

/** `discbridge notify test`: one notification to every URL, and what each answered. */
export async function sendTestNotification(
  urls: readonly string[],
  options: { secret?: string | undefined; apprise?: string | undefined; version?: string | undefined; timeoutMs?: number | undefined; now?: (() => number) | undefined } = {},
): Promise<TestAnswer[]> {
  const apprise = options.apprise ?? 'apprise';
  const now = (options.now ?? Date.now)();
  const notice: Notice = {
    id: randomUUID(), event: 'test', occurredAt: new Date(now).toISOString(), agentId: 'discbridge', stationName: 'discbridge',
    title: 'discbridge test notification', message: 'If you can read this, discbridge can notify you here.', type: 'info',
  };
  return Promise.all(urls.map(async (url): Promise<TestAnswer> => {
    const target = targetOf(url);
    if (target.kind === 'apprise' && !isInstalled(apprise)) {
      return { url: redact(url), ok: false, answer: `${schemeOf(url) || 'this'}:// needs Apprise: install the Debian package apprise` };
    }
    const delivery = await deliver(target, notice, { secret: options.secret, apprise, version: options.version ?? 'test', timeoutMs: options.timeoutMs ?? 15_000 });
    return { url: target.origin, ok: delivery.outcome === 'accepted', answer: delivery.answer };
  }));
}
