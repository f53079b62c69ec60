// The notifications consumer on real parts: a Hub in-process, a scripted station over the real agent socket, a local
// HTTP receiver (and the real Apprise CLI for a scheme only it knows), the outbox in the hub's SQLite file.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { notificationsConsumer, sendTestNotification, type NotificationsOptions } from '../../../../hub/consumers/notifications/notifications.js';
import { isInstalled } from '../../../../hub/consumers/notifications/targets.js';
import type { StationEvent } from '../../../../shared/index.js';
import { connectAgent, eventEnvelope, hello, removeDir, startHub, tempDir, type Peer, type TestHub } from '../../helpers.js';

interface Received { method: string; url: string; headers: IncomingHttpHeaders; body: string }

/** A local HTTP receiver that records every request and answers with `status` (or the next of `statuses`). */
class Receiver {
  readonly requests: Received[] = [];
  statuses: number[] = [];
  status = 200;
  port = 0;
  private server: Server | undefined;

  async start(port = this.port): Promise<this> {
    const server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => { body += chunk; });
      request.on('end', () => {
        this.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
        response.writeHead(this.statuses.shift() ?? this.status, { 'Content-Type': 'application/json' });
        response.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > until) throw new Error(`got ${this.requests.length} of ${count} requests`);
      await sleep(25);
    }
    return this.requests;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pino logger whose lines the test can read. */
function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  cleanups.push(() => r.close());
  return r;
}

const options = (urls: string[], extra: Partial<NotificationsOptions> = {}): NotificationsOptions => ({
  urls, events: ['job_completed', 'job_failed', 'stalled', 'station_offline'], offlineAfterMs: 300_000,
  retry: { firstDelayMs: 150, maxDelayMs: 400 }, ...extra,
});

async function hubWith(opts: NotificationsOptions, dataDir = tempDir()): Promise<TestHub> {
  const hub = await startHub(dataDir, { consumers: [notificationsConsumer(opts)] });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await hub.hub.stop();
    removeDir(dataDir);
  });
  const stop = hub.hub.stop.bind(hub.hub);
  hub.hub.stop = async () => { stopped = true; await stop(); };
  return hub;
}

const sr0 = { drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd' as const, busy: false };

async function station(hub: TestHub, agentId = 'station-1'): Promise<Peer> {
  const peer = await connectAgent(hub.port, hello(agentId, [sr0], { name: 'Living room' }));
  cleanups.push(() => peer.close());
  return peer;
}

/** One rip, as a station reports it: identify, titles, one title ripped, completed. Returns the next seq. */
async function rip(agent: Peer, agentId = 'station-1', firstSeq = 1, jobId = 1): Promise<number> {
  const events: StationEvent[] = [
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
    { type: 'titles_discovered', agent_id: agentId, job_id: jobId, titles: [
      { title_id: 1, name: 'Main feature', duration_seconds: 6720, chapters: 24, expected_size_bytes: 4_000_000_000, selected: true },
      { title_id: 2, name: 'Trailer', duration_seconds: 90, chapters: 1, expected_size_bytes: 50_000_000, selected: false },
    ] },
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'ripping', total_titles: 1 },
    { type: 'title_update', agent_id: agentId, job_id: jobId, title_id: 1, state: 'completed', actual_size_bytes: 4_200_000_000, output_filename: 'Main feature.mkv' },
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'completed', progress_percent: 100, output_dir: 'THE_MOVIE' },
  ];
  let seq = firstSeq;
  for (const event of events) agent.send(eventEnvelope(seq++, event));
  return seq;
}

describe('what each scheme sends', () => {
  it('posts ntfy JSON to the server root, Apprise json:// and a signed webhook, each with the id, and logs no secret', async () => {
    const r = await receiver();
    const { logger, lines } = capturingLogger();
    const base = `127.0.0.1:${r.port}`;
    const hub = await hubWith(options([`ntfy://${base}/secret-topic`, `json://alice:pa55word@${base}/hook?token=tok123`, `webhook://${base}/discbridge`], { secret: 'shh', logger }));
    await rip(await station(hub));
    const requests = await r.waitFor(3);
    await sleep(200);
    expect(requests).toHaveLength(3);
    const byUrl = new Map(requests.map((request) => [request.url, request]));

    const ntfy = byUrl.get('/');
    expect(ntfy?.method).toBe('POST');
    expect(ntfy?.headers['content-type']).toBe('application/json');
    const ntfyBody = JSON.parse(ntfy?.body ?? '{}');
    expect(ntfyBody).toMatchObject({ topic: 'secret-topic', title: 'Ripped THE_MOVIE', priority: 3, tags: ['white_check_mark', 'cd'] });
    expect(ntfyBody.message).toContain('Living room, /dev/sr0');
    expect(ntfyBody.message).toContain('Main feature.mkv (1 h 52 min, 4.2 GB)');

    const json = byUrl.get('/hook?token=tok123');
    expect(json?.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa55word').toString('base64')}`);
    const jsonBody = JSON.parse(json?.body ?? '{}');
    expect(Object.keys(jsonBody).sort()).toEqual(['attachments', 'id', 'message', 'title', 'type', 'version']);
    expect(jsonBody).toMatchObject({ version: '1.0', title: 'Ripped THE_MOVIE', type: 'success', attachments: [] });

    const webhook = byUrl.get('/discbridge');
    const raw = webhook?.body ?? '';
    expect(webhook?.headers['x-discbridge-signature']).toBe(`sha256=${createHmac('sha256', 'shh').update(raw).digest('hex')}`);
    const hook = JSON.parse(raw);
    expect(hook).toMatchObject({ event: 'job_completed', station: { agent_id: 'station-1', name: 'Living room' }, drive: '/dev/sr0',
      job: { job_id: 1, state: 'completed', volume_label: 'THE_MOVIE', output_dir: 'THE_MOVIE', titles: [{ title_id: 1, state: 'completed' }, { title_id: 2 }] } });
    expect(hook.occurred_at).toBe(hook.job.finished_at);

    // One notification: the same id in every body and header.
    const ids = new Set(requests.map((request) => request.headers['x-discbridge-notification-id']));
    expect(ids.size).toBe(1);
    expect(ids).toContain(hook.id);
    expect(jsonBody.id).toBe(hook.id);
    const log = lines.join('');
    expect(log).toContain(`json://${base}`);
    for (const secret of ['pa55word', 'alice', 'tok123', 'secret-topic', 'shh']) expect(log).not.toContain(secret);
  });

  it.skipIf(!isInstalled('apprise'))('sends a scheme only Apprise knows (form://) through the apprise CLI', async () => {
    const r = await receiver();
    const hub = await hubWith(options([`form://127.0.0.1:${r.port}/form`]));
    await rip(await station(hub));
    const [request] = await r.waitFor(1, 10_000);
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/form');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = Object.fromEntries(new URLSearchParams(request?.body ?? ''));
    expect(form).toMatchObject({ version: '1.0', title: 'Ripped THE_MOVIE', type: 'success' });
    expect(form.message).toContain('Main feature.mkv');
  }, 15_000);

  it('refuses to start when a URL needs Apprise and it is not installed, naming the scheme and the package', () => {
    expect(() => notificationsConsumer(options(['tgram://123:abc/456'], { apprise: '/nonexistent/apprise' })))
      .toThrow('Notification URLs with tgram:// need Apprise: install the Debian package apprise');
  });
});

describe('delivery', () => {
  it('delivers exactly once when the receiver is down when the job completes and up a little later', async () => {
    const r = await receiver();
    await r.close();
    const hub = await hubWith(options([`webhook://127.0.0.1:${r.port}/hook`]));
    await rip(await station(hub));
    await sleep(400);
    expect(r.requests).toHaveLength(0);
    await r.start();
    await r.waitFor(1);
    await sleep(800);
    expect(r.requests).toHaveLength(1);
  });

  it('retries 5xx, and after the hub restarts delivers what is pending with the same id', async () => {
    const r = await receiver();
    r.status = 503;
    const dataDir = tempDir();
    const opts = options([`webhook://127.0.0.1:${r.port}/hook`], { retry: { firstDelayMs: 60_000 } });
    const first = await hubWith(opts, dataDir);
    await rip(await station(first));
    const [refused] = await r.waitFor(1);
    await first.hub.stop();
    r.status = 200;
    await hubWith(opts, dataDir);
    const requests = await r.waitFor(2);
    await sleep(300);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.headers['x-discbridge-notification-id']).toBe(refused?.headers['x-discbridge-notification-id']);
    expect(requests[1]?.body).toBe(refused?.body);
  });

  it('does not retry a 400, and logs it', async () => {
    const r = await receiver();
    r.status = 400;
    const { logger, lines } = capturingLogger();
    const hub = await hubWith(options([`json://127.0.0.1:${r.port}/`], { logger }));
    await rip(await station(hub));
    await r.waitFor(1);
    await sleep(700);
    expect(r.requests).toHaveLength(1);
    expect(lines.join('')).toContain('Notification refused, not retried: json://127.0.0.1');
  });

  it('notifies a replayed event once', async () => {
    const r = await receiver();
    const hub = await hubWith(options([`webhook://127.0.0.1:${r.port}/hook`]));
    const agent = await station(hub);
    const next = await rip(agent);
    await r.waitFor(1);
    // The same completion again: under its old seq (the hub drops it) and under a new one (the hub applies it again).
    agent.send(eventEnvelope(next - 1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'completed', progress_percent: 100 }));
    agent.send(eventEnvelope(next, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'completed', progress_percent: 100 }));
    await sleep(600);
    expect(r.requests).toHaveLength(1);
  });

  it('keeps what it decided while the disk refuses the outbox, and sends it once the disk takes it', async () => {
    const r = await receiver();
    const { logger, lines } = capturingLogger();
    const dataDir = tempDir();
    const hub = await hubWith(options([`webhook://127.0.0.1:${r.port}/hook`], { logger }), dataDir);
    // A second connection to the hub's own file: a trigger that fails every outbox insert, as a full disk would.
    const db = new Database(join(dataDir, 'hub.sqlite'));
    cleanups.push(() => { db.close(); });
    db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON notification_outbox BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END`);
    const agent = await station(hub);
    const next = await rip(agent, 'station-1', 1, 1);
    await rip(agent, 'station-1', next, 2);
    const until = Date.now() + 5000;
    const refused = 'Could not save 2 notification(s) to the outbox; trying again in a second';
    while (!lines.join('').includes(refused) && Date.now() < until) await sleep(25);
    expect(lines.join('')).toContain(refused);
    expect(r.requests).toHaveLength(0);
    db.exec('DROP TRIGGER refuse');
    const requests = await r.waitFor(2, 5000);
    await sleep(300);
    expect(requests.map((request) => JSON.parse(request.body).job.job_id).sort()).toEqual([1, 2]);
  });

  it('notifies a failed job with its error, and a stall once per job', async () => {
    const r = await receiver();
    const hub = await hubWith(options([`webhook://127.0.0.1:${r.port}/hook`]));
    const agent = await station(hub);
    agent.send(eventEnvelope(1, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'ripping', drive_id: '/dev/sr0', volume_label: 'OLD_DISC' }));
    agent.send(eventEnvelope(2, { type: 'title_update', agent_id: 'station-1', job_id: 1, title_id: 1, state: 'failed', error: 'No progress for 300 s', error_code: 'stalled' }));
    agent.send(eventEnvelope(3, { type: 'job_update', agent_id: 'station-1', job_id: 1, state: 'failed', error_message: 'No progress for 300 s', error_code: 'stalled' }));
    await r.waitFor(2);
    await sleep(400);
    const events = r.requests.map((request) => JSON.parse(request.body).event).sort();
    expect(events).toEqual(['job_failed', 'stalled']);
    const failed = r.requests.map((request) => JSON.parse(request.body)).find((body) => body.event === 'job_failed');
    expect(failed.job).toMatchObject({ state: 'failed', error_message: 'No progress for 300 s', error_code: 'stalled', volume_label: 'OLD_DISC' });
  });
});

describe('stations offline', () => {
  it('notifies a station offline longer than the threshold once, and not one back in time', async () => {
    const r = await receiver();
    const { logger, lines } = capturingLogger();
    const hub = await hubWith(options([`webhook://127.0.0.1:${r.port}/hook`], { offlineAfterMs: 400, logger }));
    const gone = await station(hub, 'station-gone');
    const back = await station(hub, 'station-back');
    await gone.close();
    await back.close();
    const returned = await station(hub, 'station-back');
    await r.waitFor(1);
    await sleep(600);
    expect(lines.join('')).toContain('Notification sent');
    expect(r.requests).toHaveLength(1);
    expect(JSON.parse(r.requests[0]?.body ?? '{}')).toMatchObject({ event: 'station_offline', station: { agent_id: 'station-gone', name: 'Living room' }, job: null });
    await returned.close();
  });
});

describe('sendTestNotification', () => {
  it('sends one to every URL and says what each answered, URLs redacted', async () => {
    const ok = await receiver();
    const bad = await receiver();
    bad.status = 404;
    const answers = await sendTestNotification([`webhook://u:p@127.0.0.1:${ok.port}/x?token=t`, `ntfy://127.0.0.1:${bad.port}/topic`]);
    expect(answers).toEqual([
      { url: `webhook://127.0.0.1:${ok.port}`, ok: true, answer: `webhook://127.0.0.1:${ok.port} answered HTTP 200: {"ok":true}` },
      { url: `ntfy://127.0.0.1:${bad.port}`, ok: false, answer: `ntfy://127.0.0.1:${bad.port} answered HTTP 404: {"ok":true}` },
    ]);
    expect(JSON.parse(ok.requests[0]?.body ?? '{}')).toMatchObject({ event: 'test', job: null });
  });
});
