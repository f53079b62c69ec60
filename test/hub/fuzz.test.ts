// Property-based fuzzing of everything the hub reads from its two sockets, on a real in-process Hub (port 0, real
// SQLite, loopback sockets). Each run opens a fresh socket, sends one fuzzed message or raw frame, and checks the
// hub's answer against an oracle built from the shared schemas:
//   /agent: a schema-valid message is accepted (the socket stays open), anything else closes the socket with the
//           link code for it (4002 before the hello, 4004 after; 4006 for a hello naming another station, 4001 for a
//           protocol it does not speak), or with 1007 (bad UTF-8) / 1009 (over 1 MiB).
//   /ws:    every frame gets an `error` reply, or a close with 1007 / 1009 (over 64 KiB).
// Meanwhile a well-behaved station and dashboard stay connected the whole time: every event the station sends must
// reach the dashboard, in order, and every frame the dashboard gets must match the dashboard schema. At the end the
// hub is still healthy, holds no socket of the fuzzers, and its heap is back within a bound (see HEAP_GROWTH_BOUND).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StationRegistry } from '../../hub/auth/station-registry.js';
import { Hub } from '../../hub/hub.js';
import { openDatabase } from '../../hub/store/database.js';
import {
  AgentMessage, DashboardMessage, DashboardRequest, HubMessage, JobState, LINK_PROTOCOL, LinkCloseCode, TitleState, decodeMessage,
} from '../../shared/index.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const GOOD = 'good-station';
/** What the dashboard socket sends in answer to a client's frame (everything else is a broadcast). */
const ANSWER_TYPES = new Set(['subscribed', 'unsubscribed', 'pong', 'snapshot', 'reply', 'error']);
const FUZZ = 'fuzz-station';
const AGENT_MAX_PAYLOAD = 1024 * 1024;
const DASHBOARD_MAX_PAYLOAD = 64 * 1024;
/**
 * The hub's heap may grow by at most this much over the whole fuzzing, measured after a full GC. What the hub
 * legitimately keeps is small: per-station sequence numbers, the fuzz station's unfinished jobs and titles (a few
 * thousand map entries at most from ~1,000 runs of ≤5 titles: well under 1 MiB), prepared statements; events go to
 * SQLite, whose page cache lives outside the V8 heap. The test process shares that heap, and fast-check and vitest
 * keep their own bookkeeping, so the bound is generous; but a hub that retained sockets, frames or per-connection
 * state (1,000+ connections carrying up to 1 MiB each) would pass it many times over.
 */
const HEAP_GROWTH_BOUND = 48 * 1024 * 1024;
/** Fuzz runs per property and the time each property may take (the whole file stays well under a minute). */
const RUNS = 150;
const TIME_LIMIT_MS = 8_000;

let hub: Hub;
let dataDir: string;
let base: string;
let wsBase: string;
let fuzzToken: string;
let goodToken: string;
const tally = { sessions: 0, closes: new Map<string, number>() };

// ---- The hub

async function startHub(dir: string): Promise<Hub> {
  const started = new Hub({
    host: '127.0.0.1', port: 0, dataDir: dir, viewRequiresLogin: false, maxConnections: 5000, maxConnectionsPerAddress: 5000,
    maxStationMessagesPerSecond: 2000, serverName: 'fuzz-hub', version: '0.0.0-fuzz', heartbeatMs: 2000, missedHeartbeats: 3, leaseMs: 60_000,
  }, pino({ level: 'silent' }));
  await started.start();
  return started;
}

function addStations(dir: string, ...ids: string[]): string[] {
  const db = openDatabase(join(dir, 'hub.sqlite'));
  try {
    const registry = new StationRegistry(db);
    return ids.map((id) => registry.add(id, id));
  } finally {
    db.close();
  }
}

async function health(): Promise<{ status: number; body: { memory: { heap_used_bytes: number }; connections: { open: number }; dashboards: { clients: number }; stations_online: number } }> {
  const response = await fetch(`${base}/health`);
  return { status: response.status, body: await response.json() as never };
}

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise((r) => setTimeout(r, 20));
  }
  return (await health()).body.memory.heap_used_bytes;
}

// ---- The well-behaved pair

interface GoodPair {
  sent: number;
  acked: number;
  agentCloses: number[];
  dashboardCloses: number[];
  received: string[];
  contractViolations: string[];
  stop(): Promise<void>;
}

/** Opens a socket; `onMessage` is attached before the upgrade completes, so a frame sent with the 101 is not missed. */
async function openSocket(url: string, headers: Record<string, string> = {}, onMessage?: (data: WebSocket.RawData, isBinary: boolean) => void): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  if (onMessage) ws.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return ws;
}

async function startGoodPair(): Promise<GoodPair> {
  const pair: GoodPair = {
    sent: 0, acked: 0, agentCloses: [], dashboardCloses: [], received: [], contractViolations: [], stop: async () => undefined,
  };
  const dashboard = await openSocket(`${wsBase}/ws`, {}, (data) => {
    const text = data.toString();
    const parsed = DashboardMessage.safeParse(JSON.parse(text));
    if (!parsed.success) pair.contractViolations.push(text.slice(0, 300));
    else if (parsed.data.type === 'job_log' && parsed.data.agent_id === GOOD) pair.received.push(...parsed.data.lines.map((l) => l.text));
  });
  dashboard.on('close', (code) => pair.dashboardCloses.push(code));
  const agent = await openSocket(`${wsBase}/agent`, { Authorization: `Bearer ${goodToken}` });
  agent.on('close', (code) => pair.agentCloses.push(code));
  const welcomed = new Promise<void>((resolve) => {
    agent.on('message', (data) => {
      const message = HubMessage.parse(JSON.parse(data.toString()));
      if (message.kind === 'welcome') resolve();
      if (message.kind === 'ack') pair.acked = Math.max(pair.acked, message.seq);
    });
  });
  agent.send(JSON.stringify({ kind: 'hello', agent_id: GOOD, name: 'Good', version: '1', protocol: LINK_PROTOCOL, drives: [] }));
  await welcomed;
  const timer = setInterval(() => {
    const seq = ++pair.sent;
    agent.send(JSON.stringify({
      kind: 'event', seq, at: Date.now(),
      event: { type: 'job_log', agent_id: GOOD, job_id: 1, lines: [{ at: Date.now(), level: 'info', text: `good-${seq}` }] },
    }));
  }, 25);
  pair.stop = async () => {
    clearInterval(timer);
    agent.close();
    dashboard.close();
    await new Promise((r) => setTimeout(r, 50));
  };
  return pair;
}

// ---- One fuzz session: a fresh socket, one message or frame, the hub's answer

interface Frame {
  data: string | Buffer;
  binary: boolean;
  /** Send as this many fragments of one message. */
  fragments?: number;
  note: string;
}

type Answer = { open: true; replies: string[] } | { open: false; code: number; reason: string; replies: string[] };

/** A frame that prints short in fast-check's counterexamples (frames may be megabytes long). */
function frame(data: string | Buffer, binary: boolean, note: string, fragments?: number): Frame {
  const value: Frame = { data, binary, note, ...(fragments !== undefined ? { fragments } : {}) };
  Object.defineProperty(value, fc.toStringMethod, {
    value: () => `${note} (${binary ? 'binary' : 'text'}, ${frameBytes(value).length} bytes${fragments ? `, ${fragments} fragments` : ''}): ` +
      JSON.stringify(frameBytes(value).subarray(0, 160).toString('latin1')),
  });
  return value;
}

function sendFrame(ws: WebSocket, frame: Frame): void {
  const bytes = typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : frame.data;
  const pieces = Math.max(1, Math.min(frame.fragments ?? 1, bytes.length));
  if (pieces === 1) {
    ws.send(bytes, { binary: frame.binary });
    return;
  }
  const size = Math.ceil(bytes.length / pieces);
  for (let i = 0; i < pieces; i++) {
    ws.send(bytes.subarray(i * size, (i + 1) * size), { binary: frame.binary, fin: i === pieces - 1 });
  }
}

/**
 * Sends `frame` (after our hello for `greeting: 'send-hello'`, after the hub's hello for 'await-hello'), then, for
 * /agent, a ping: the hub handles frames in order, so a pong means the message was taken and the socket is still
 * open, and a close means it was refused. For /ws it waits for the `error` reply instead. Frames that are only
 * passing by (acks, other stations' broadcasts) are ignored.
 */
async function session(path: '/agent' | '/ws', frame: Frame, options: { greeting: 'send-hello' | 'await-hello' | 'none' }): Promise<Answer> {
  tally.sessions++;
  const headers: Record<string, string> = path === '/agent' ? { Authorization: `Bearer ${fuzzToken}` } : {};
  const replies: string[] = [];
  const ws = await openSocket(`${wsBase}${path}`, headers, (data, isBinary) => replies.push(isBinary ? '<binary>' : data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  const has = (key: 'kind' | 'type', value: string, from = 0) => () => replies.slice(from).some((r) => (JSON.parse(r) as Record<string, unknown>)[key] === value);
  try {
    if (options.greeting === 'send-hello') {
      ws.send(JSON.stringify({ kind: 'hello', agent_id: FUZZ, name: 'Fuzz', version: '1', protocol: LINK_PROTOCOL, drives: [] }));
      await waitUntil(has('kind', 'welcome'), closed, 'welcome');
    } else if (options.greeting === 'await-hello') {
      await waitUntil(has('type', 'hello'), closed, 'hello');
    }
    const before = replies.length;
    sendFrame(ws, frame);
    if (path === '/ws') {
      // An answer, not one of the good station's events that any client may get meanwhile.
      await waitUntil(() => replies.slice(before).some((r) => ANSWER_TYPES.has((JSON.parse(r) as { type?: string }).type ?? '')), closed, 'an answer');
    } else {
      const pong = new Promise<void>((resolve) => ws.once('pong', () => resolve()));
      ws.ping();
      await Promise.race([pong, closed, timeout('a pong or a close')]);
    }
    // A close may have raced the answer: give it a moment to show.
    const outcome = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5))]);
    if (outcome) {
      const key = `${path} ${outcome.code}`;
      tally.closes.set(key, (tally.closes.get(key) ?? 0) + 1);
      return { open: false, ...outcome, replies: replies.slice(before) };
    }
    return { open: true, replies: replies.slice(before) };
  } finally {
    ws.terminate();
  }
}

function timeout(what: string, ms = 5000): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`The hub neither answered nor closed within ${ms} ms (waiting for ${what})`)), ms).unref());
}

async function waitUntil(check: () => boolean, closed: Promise<{ code: number; reason: string }>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let isClosed = false;
  void closed.then(() => { isClosed = true; });
  while (!check()) {
    if (isClosed) return;
    if (Date.now() > deadline) throw new Error(`The hub neither answered nor closed within 5 s (waiting for ${what})`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

// ---- Oracles

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const frameBytes = (frame: Frame) => (typeof frame.data === 'string' ? Buffer.from(frame.data, 'utf8') : frame.data);

/** What /agent must do with this frame: stay open, or close with one of these codes. */
function agentExpectation(frame: Frame, phase: 'pre-hello' | 'post-hello'): 'open' | number {
  const bytes = frameBytes(frame);
  if (bytes.length > AGENT_MAX_PAYLOAD) return 1009;
  if (!frame.binary && !isValidUtf8(bytes)) return 1007;
  const decoded = decodeMessage(AgentMessage, frame.binary ? '' : bytes.toString('utf8'));
  if (!decoded.ok) return phase === 'pre-hello' ? LinkCloseCode.BadHello : LinkCloseCode.BadMessage;
  const message = decoded.value;
  if (phase === 'post-hello') return message.kind === 'hello' ? LinkCloseCode.BadMessage : 'open';
  if (message.kind !== 'hello') return LinkCloseCode.BadHello;
  if (message.agent_id !== FUZZ) return LinkCloseCode.WrongStation;
  const protocol = Math.min(message.protocol.max, LINK_PROTOCOL.max);
  if (protocol < Math.max(message.protocol.min, LINK_PROTOCOL.min)) return LinkCloseCode.ProtocolMismatch;
  return 'open';
}

/** What /ws must do with this frame: answer a protocol-3 request, answer with an error, or close with this code. */
function dashboardExpectation(frame: Frame): 'answer' | 'error' | number {
  const bytes = frameBytes(frame);
  if (bytes.length > DASHBOARD_MAX_PAYLOAD) return 1009;
  if (!frame.binary && !isValidUtf8(bytes)) return 1007;
  return !frame.binary && decodeMessage(DashboardRequest, bytes.toString('utf8')).ok ? 'answer' : 'error';
}

/** Nothing a client gets back may carry internals: stack frames, file paths, exception names. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\bat .+:\d+:\d+|\/work\/|node_modules|\.ts\b|\.js\b|TypeError|RangeError|SyntaxError|SQLITE/);
}

async function checkAgent(frame: Frame, phase: 'pre-hello' | 'post-hello'): Promise<void> {
  const expected = agentExpectation(frame, phase);
  const answer = await session('/agent', frame, { greeting: phase === 'post-hello' ? 'send-hello' : 'none' });
  const what = `${frame.note}: ${frameBytes(frame).subarray(0, 200).toString('utf8')}`;
  if (expected === 'open') {
    expect(answer.open ? 'open' : `closed ${answer.code} ${answer.reason}`, what).toBe('open');
  } else {
    expect(answer.open ? 'open' : answer.code, what).toBe(expected);
  }
  if (!answer.open) {
    expect(Buffer.byteLength(answer.reason)).toBeLessThanOrEqual(123);
    expectNoInternals(answer.reason);
  }
  for (const reply of answer.replies) expect(HubMessage.safeParse(JSON.parse(reply)).success, reply).toBe(true);
}

async function checkDashboard(frame: Frame): Promise<void> {
  const expected = dashboardExpectation(frame);
  const answer = await session('/ws', frame, { greeting: 'await-hello' });
  const what = `${frame.note}: ${frameBytes(frame).subarray(0, 200).toString('utf8')}`;
  const errors = answer.replies.map((r) => JSON.parse(r) as { type: string }).filter((m) => m.type === 'error');
  if (expected === 'error') {
    expect(answer.open ? errors.length : `closed ${answer.code}`, what).toBe(1);
    const error = DashboardMessage.parse(errors[0]);
    expectNoInternals(JSON.stringify(error));
  } else if (expected === 'answer') {
    // One answer: what was asked for, or a short error (a topic of no known form, a command refused). The good
    // station's events may arrive meanwhile: the client follows `all` once it speaks protocol 3.
    const answers = answer.replies.map((r) => DashboardMessage.parse(JSON.parse(r))).filter((m) => ANSWER_TYPES.has(m.type));
    expect(answer.open ? answers.length : `closed ${answer.code}`, what).toBe(1);
    expectNoInternals(JSON.stringify(answers[0]));
  } else {
    expect(answer.open ? `open, errors ${JSON.stringify(errors)}` : answer.code, what).toBe(expected);
  }
}

// ---- Arbitraries

function deepArray(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function deepObject(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** Values that break assumptions: huge and negative numbers, -0, numbers as text, long, odd and hostile strings, nesting. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e308, -1e308, -0, -1, 0.5, 2 ** 53, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 8.64e15 + 1, 2 ** 32, -(2 ** 31) - 1, 5e-324),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '', ' ', '0', '-0', '1e308', '__proto__', 'constructor', 'prototype',
    '../../../etc/passwd', '/dev/sda', 'CON', 'NUL.txt', '\u0000', '\u202e\u2066evil', 'ＡＢＣ', '🔥'.repeat(100), '\ud800', 'a\udfffb',
    '<script>alert(1)</script>', "'; DROP TABLE jobs; --", '%s%s%n', '${process.exit()}', 'x'.repeat(257), 'y'.repeat(501), 'z'.repeat(70_000)),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.boolean(),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => Number(n)),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }),
  fc.object({ maxDepth: 2 }),
  // At most 1000 deep: several of these can end up nested in one message, and the test's own JSON.stringify must not
  // overflow its stack. Far deeper frames (10,000 and 100,000) are sent as raw text below.
  fc.integer({ min: 50, max: 1000 }).map(deepArray),
  fc.integer({ min: 50, max: 1000 }).map(deepObject),
);

const extraKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'kind', 'type', 'rev', 'agent_id', 'seq', 'toString', ''), fc.string({ maxLength: 20 }));

interface Mutation { op: 'delete' | 'replace' | 'extra' | 'wrap'; pick: number; key: string; value: unknown }

const mutations = fc.array(fc.record({
  op: fc.constantFrom('delete', 'replace', 'replace', 'extra', 'wrap') as fc.Arbitrary<Mutation['op']>, pick: fc.nat(), key: extraKey, value: weird,
}), { maxLength: 3 });

/** Every [container, key] in a JSON value, depth first. */
function slots(value: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(value)) value.forEach((item, i) => { out.push([value, i]); slots(item, out); });
  else if (value && typeof value === 'object') for (const key of Object.keys(value)) { out.push([value as Record<string, unknown>, key]); slots((value as Record<string, unknown>)[key], out); }
  return out;
}

function containers(value: unknown, out: unknown[] = []): unknown[] {
  if (value && typeof value === 'object') {
    out.push(value);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** Applies mutations to a copy of a valid message: fields removed, retyped, wrapped, and extra fields added anywhere. */
function mutate(template: unknown, changes: Mutation[]): unknown {
  const root = { value: structuredClone(template) as unknown };
  for (const change of changes) {
    if (change.op === 'extra') {
      const targets = containers(root.value).filter((c) => !Array.isArray(c));
      const target = targets[change.pick % Math.max(1, targets.length)];
      if (target) Object.defineProperty(target, change.key, { value: change.value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const all = slots(root.value);
    if (all.length === 0) continue;
    const [parent, key] = all[change.pick % all.length] as [Record<string, unknown>, string];
    if (change.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else if (change.op === 'replace') {
      parent[key] = change.value;
    } else {
      parent[key] = change.pick % 2 === 0 ? [parent[key]] : { value: parent[key] };
    }
  }
  return root.value;
}

const shaped = (valid: fc.Arbitrary<unknown>): fc.Arbitrary<{ message: unknown; changes: Mutation[] }> =>
  fc.record({ valid, changes: mutations }).map(({ valid: message, changes }) => ({ message: mutate(message, changes), changes }));

const label = fc.string({ maxLength: 30 });
const agentIdField = fc.constantFrom(FUZZ, GOOD, 'other-station');
const jobId = fc.nat({ max: 40 });
const at = fc.nat({ max: 4_102_444_800_000 }); // up to 2100: within what a Date can show
const percent = fc.double({ min: 0, max: 100, noNaN: true });
const speed = fc.constantFrom('1x', '2.5x', '0.9x', '12.25x');

const jobUpdate = fc.record({
  type: fc.constant('job_update'), agent_id: agentIdField, job_id: jobId, state: fc.constantFrom(...JobState.options),
  drive_id: fc.constantFrom('/dev/sr0', '/dev/sr1'), volume_label: label, progress_percent: percent, current_speed: speed,
  eta_seconds: fc.nat({ max: 100_000 }), current_title: fc.nat({ max: 20 }), total_titles: fc.nat({ max: 20 }), error_message: label,
  output_dir: label,
}, { requiredKeys: ['type', 'agent_id', 'job_id', 'state'] });

const titleUpdate = fc.record({
  type: fc.constant('title_update'), agent_id: agentIdField, job_id: jobId, title_id: fc.nat({ max: 20 }), state: fc.constantFrom(...TitleState.options),
  match_progress: percent, duration_seconds: fc.nat({ max: 20_000 }), expected_size_bytes: fc.nat(), actual_size_bytes: fc.nat(),
  output_filename: label, error: label,
}, { requiredKeys: ['type', 'agent_id', 'job_id', 'title_id', 'state'] });

const stationEvent = fc.oneof(
  fc.record({
    type: fc.constant('drive_event'), agent_id: agentIdField, drive_id: fc.constantFrom('/dev/sr0', '/dev/sr1', '../../x'),
    event: fc.constantFrom('inserted', 'removed'), volume_label: label, disc_type: fc.constantFrom('dvd', 'bluray', 'cd', 'unknown'),
  }, { requiredKeys: ['type', 'agent_id', 'drive_id', 'event', 'volume_label'] }),
  fc.record({
    type: fc.constant('titles_discovered'), agent_id: agentIdField, job_id: jobId,
    titles: fc.array(fc.record({
      title_id: fc.nat({ max: 20 }), duration_seconds: fc.nat({ max: 20_000 }), chapters: fc.nat({ max: 99 }), expected_size_bytes: fc.nat(),
      selected: fc.boolean(), name: label,
    }, { requiredKeys: ['title_id', 'duration_seconds', 'chapters', 'expected_size_bytes', 'selected'] }), { maxLength: 5 }),
  }),
  titleUpdate,
  jobUpdate,
  fc.record({
    type: fc.constant('job_log'), agent_id: agentIdField, job_id: jobId,
    lines: fc.array(fc.record({ at, level: fc.constantFrom('info', 'warn', 'error'), text: fc.string({ maxLength: 60 }) }), { minLength: 1, maxLength: 3 }),
  }),
);

const sequenced = fc.record({ seq: fc.integer({ min: 1, max: 1_000_000 }), at, event: stationEvent });

const helloMessage = fc.record({
  kind: fc.constant('hello'), agent_id: fc.constantFrom(FUZZ, FUZZ, FUZZ, GOOD, 'other-station'), name: label, version: fc.string({ maxLength: 12 }),
  protocol: fc.oneof(fc.constant({ ...LINK_PROTOCOL }), fc.record({ min: fc.integer({ min: 1, max: 4 }), max: fc.integer({ min: 1, max: 4 }) })),
  drives: fc.array(fc.record({
    drive_id: fc.constantFrom('/dev/sr0', '/dev/sr1'), has_disc: fc.boolean(), volume_label: label, busy: fc.boolean(),
  }, { requiredKeys: ['drive_id', 'has_disc', 'busy'] }), { maxLength: 3 }),
  last_seq: fc.nat({ max: 1000 }),
}, { requiredKeys: ['kind', 'agent_id', 'name', 'version', 'protocol', 'drives'] });

const eventMessage = sequenced.map((s) => ({ kind: 'event', ...s }));
const eventsMessage = fc.record({ kind: fc.constant('events'), events: fc.array(sequenced, { minLength: 1, maxLength: 5 }) });
const progressMessage = fc.record({ kind: fc.constant('progress'), after_seq: fc.nat({ max: 1_000_000 }), at, event: fc.oneof(jobUpdate, titleUpdate) });
const commandResult = fc.record({
  kind: fc.constant('command_result'), id: fc.string({ minLength: 1, maxLength: 64 }), ok: fc.boolean(), error: label,
}, { requiredKeys: ['kind', 'id', 'ok'] });

const asFrame = (note: string) => ({ message }: { message: unknown }): Frame => frame(JSON.stringify(message) ?? 'null', false, note);
const shapedFrames = (valid: fc.Arbitrary<unknown>, note: string) => shaped(valid).map(asFrame(note));

const invalidUtf8 = fc.record({
  before: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1').replace(/[^\x20-\x7e]/g, 'a')),
  bad: fc.constantFrom([0xff], [0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]),
  after: fc.constantFrom('', '"}', '{"kind":"hello"}'),
  fragments: fc.integer({ min: 1, max: 3 }),
}).map(({ before, bad, after, fragments }): Frame =>
  frame(Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from(bad), Buffer.from(after)]), false, 'invalid UTF-8', fragments));

const sampleMessages = [
  { kind: 'hello', agent_id: FUZZ, name: 'Fuzz', version: '1', protocol: LINK_PROTOCOL, drives: [] },
  { kind: 'event', seq: 5, at: 1, event: { type: 'drive_event', agent_id: FUZZ, drive_id: '/dev/sr0', event: 'removed', volume_label: '' } },
  { kind: 'command_result', id: 'abc', ok: true },
];

const numberTokens = ['NaN', 'Infinity', '-Infinity', '1e309', '-1e400', '-0', '1e308', '0x10', '01', '.5', '1.', '9007199254740993', '-1', '1e-400', '+1'];

const fixedFrames = (): Frame[] => [
  frame('{"kind":"hello","kind":"event"}', false, 'duplicate keys'),
  frame('{"__proto__":{"kind":"hello"},"kind":"command_result","id":"x","ok":true}', false, '__proto__ key'),
  frame('{"constructor":{"prototype":{"polluted":1}},"kind":"command_result","id":"x","ok":true}', false, 'constructor key'),
  frame(`\ufeff${JSON.stringify(sampleMessages[2])}`, false, 'BOM'),
  frame(' \n\t ', false, 'whitespace'),
  frame('null', false, 'null'),
  frame('true', false, 'true'),
  frame('[]', false, 'array'),
  frame('"hello"', false, 'string'),
  frame('1e308', false, 'number'),
  frame('{}', false, 'empty object'),
  frame(JSON.stringify(sampleMessages[2]).repeat(2), false, 'two messages in one frame'),
  frame(`${JSON.stringify(sampleMessages[2])}\u0000`, false, 'trailing NUL'),
  frame('é'.repeat(40_000), false, 'multi-byte characters split across fragments', 7),
  frame('', false, 'empty text frame'),
  frame(Buffer.alloc(0), true, 'empty binary frame'),
];

const rawFrame: fc.Arbitrary<Frame> = fc.oneof(
  invalidUtf8,
  fc.record({ message: fc.constantFrom(...sampleMessages), cut: fc.nat() }).map(({ message, cut }): Frame => {
    const text = JSON.stringify(message);
    return frame(text.slice(0, cut % text.length), false, 'truncated JSON');
  }),
  fc.uint8Array({ maxLength: 200 }).map((a) => frame(Buffer.from(a), true, 'binary frame')),
  fc.constantFrom(...sampleMessages).map((m) => frame(Buffer.from(JSON.stringify(m)), true, 'valid JSON in a binary frame')),
  fc.constantFrom(100, 1000, 10_000, 100_000, 400_000).map((n) => frame('['.repeat(n) + ']'.repeat(n), false, `${n}-deep arrays`)),
  fc.constantFrom(100, 10_000, 100_000).map((n) => frame('{"a":'.repeat(n) + '1' + '}'.repeat(n), false, `${n}-deep objects`)),
  fc.constantFrom(10_000, 100_000).map((n) => frame(`{"kind":"hello","drives":${'['.repeat(n)}${']'.repeat(n)}}`, false, `${n}-deep nesting inside a message`)),
  fc.record({ token: fc.constantFrom(...numberTokens), field: fc.constantFrom('seq', 'at', 'after_seq') }).map(({ token, field }) => frame(
    `{"kind":"${field === 'after_seq' ? 'progress' : 'event'}","${field}":${token},"at":1,"seq":1,"after_seq":0,"event":{"type":"job_update","agent_id":"x","job_id":${token},"state":"ripping"}}`,
    false, `number token ${token} in ${field}`,
  )),
  fc.nat().map((i) => { const all = fixedFrames(); return all[i % all.length] as Frame; }),
  fc.constantFrom(DASHBOARD_MAX_PAYLOAD, DASHBOARD_MAX_PAYLOAD + 1, AGENT_MAX_PAYLOAD, AGENT_MAX_PAYLOAD + 1, 2 * AGENT_MAX_PAYLOAD).map((n) =>
    frame(`{"kind":"command_result","id":"${'x'.repeat(Math.max(0, n - 37))}","ok":true}`, false, `${n}-byte frame`)),
);

// ---- The tests

const runOptions = { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, endOnFailure: true } as const;

describe('fuzzing both sockets of a live hub', () => {
  let good: GoodPair;
  let heapBefore = 0;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'discbridge-fuzz-'));
    [goodToken, fuzzToken] = addStations(dataDir, GOOD, FUZZ) as [string, string];
    hub = await startHub(dataDir);
    base = `http://127.0.0.1:${hub.port}`;
    wsBase = `ws://127.0.0.1:${hub.port}`;
    good = await startGoodPair();
    heapBefore = await heapAfterGc();
  });

  afterAll(async () => {
    await good?.stop();
    await hub?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('/agent before the hello: hello-shaped messages, valid or not', async () => {
    await fc.assert(fc.asyncProperty(shapedFrames(helloMessage, 'hello'), async (f) => checkAgent(f, 'pre-hello')), runOptions);
  });

  it.each([
    ['event', eventMessage],
    ['events', eventsMessage],
    ['progress', progressMessage],
    ['command_result', commandResult],
    ['hello (again)', helloMessage],
  ] as const)('/agent after the hello: %s-shaped messages, valid or not', async (kind, valid) => {
    await fc.assert(fc.asyncProperty(shapedFrames(valid as fc.Arbitrary<unknown>, kind), async (f) => checkAgent(f, 'post-hello')), runOptions);
  });

  it('/agent: raw frames before and after the hello', async () => {
    await fc.assert(fc.asyncProperty(rawFrame, fc.boolean(), async (frame, afterHello) => checkAgent(frame, afterHello ? 'post-hello' : 'pre-hello')), runOptions);
  });

  it('/ws: anything shaped like a message or a command gets an error reply, or a close for an over-size frame', async () => {
    const dashboardish = fc.oneof(
      shapedFrames(fc.record({ type: fc.constantFrom('hello', 'subscribe', 'cancel', 'eject', 'rip', 'login'), job_id: jobId, agent_id: agentIdField, drive_id: label }), 'command-like'),
      shapedFrames(eventMessage, 'event'),
      shapedFrames(jobUpdate, 'job_update'),
      fc.anything({ maxDepth: 3 }).map((message) => asFrame('anything')({ message })),
    );
    await fc.assert(fc.asyncProperty(dashboardish, async (f) => checkDashboard(f)), runOptions);
  });

  it('/ws: protocol-3 requests, valid or not, each get one answer', async () => {
    const topic = fc.oneof(fc.constantFrom('all', 'jobs', 'logs:1', `station:${GOOD}`, `drive:${GOOD}:/dev/sr0`, 'drive:x', 'logs:-1', 'station:'), label);
    // Commands name stations and jobs that are not there, so each is answered at once ("No such …").
    const request = fc.oneof(
      fc.record({ type: fc.constant('subscribe'), topics: fc.array(topic, { maxLength: 120 }), progress_interval_ms: fc.integer({ min: -10, max: 70_000 }) }, { requiredKeys: ['type', 'topics'] }),
      fc.record({ type: fc.constant('unsubscribe'), topics: fc.array(topic, { maxLength: 5 }) }, { requiredKeys: ['type'] }),
      fc.constantFrom({ type: 'ping' }, { type: 'snapshot' }, { type: 'ping', extra: 1 }),
      fc.record({
        type: fc.constant('command'), id: label, command: fc.constantFrom('cancel', 'eject', 'rip', 'rescan', 'select_titles', 'format'),
        agent_id: fc.constantFrom(FUZZ, 'other-station'), drive_id: label, job_id: fc.integer({ min: 1000, max: 2000 }), titles: fc.array(weird, { maxLength: 3 }),
      }, { requiredKeys: ['type'] }),
    );
    await fc.assert(fc.asyncProperty(shapedFrames(request, 'protocol-3 request'), async (f) => checkDashboard(f)), runOptions);
  });

  it('/ws: raw frames', async () => {
    await fc.assert(fc.asyncProperty(rawFrame, async (frame) => checkDashboard(frame)), runOptions);
  });

  it('afterwards: the hub is healthy, holds only the good pair, its heap is bounded, and the good pair lost nothing', async () => {
    const { status } = await health();
    expect(status).toBe(200);
    // Every fuzz socket is gone: only the good station and the good dashboard hold connections.
    await expect.poll(async () => (await health()).body.connections.open, { timeout: 5000 }).toBe(2);
    const { body } = await health();
    expect(body.dashboards.clients).toBe(1);
    expect(body.stations_online).toBe(1);
    // REST reads that do not depend on the fuzzed `at` times still answer.
    for (const path of ['/api/agents', '/api/drives', '/api/session']) expect((await fetch(base + path)).status, path).toBe(200);

    // The good station's events all reached the good dashboard, in order, and were all acknowledged.
    const sent = good.sent;
    await expect.poll(() => good.received.length, { timeout: 5000 }).toBeGreaterThanOrEqual(sent);
    expect(good.received.slice(0, sent)).toEqual(Array.from({ length: sent }, (_, i) => `good-${i + 1}`));
    await expect.poll(() => good.acked, { timeout: 5000 }).toBeGreaterThanOrEqual(sent);
    expect(good.agentCloses).toEqual([]);
    expect(good.dashboardCloses).toEqual([]);
    expect(good.contractViolations).toEqual([]);

    const heapAfter = await heapAfterGc();
    console.info(`fuzz: ${tally.sessions} sessions, closes by code ${JSON.stringify(Object.fromEntries(tally.closes))}; ` +
      `good station sent ${sent} events, all received; heap ${(heapBefore / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MiB`);
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_BOUND);
    expect(sent).toBeGreaterThan(100);
  });
});

describe('a station event with a time a Date cannot hold', () => {
  // Regression (found by this suite): `at` accepted any safe integer, and hub/store/station-store.ts toJobRecord
  // calls new Date(at).toISOString(), which throws past 8.64e15 ms: one such event from any station made GET
  // /api/jobs answer 500 for every client from then on. Times are now bounded to what a Date holds.
  async function sendJobUpdate(at: number): Promise<{ close: number | undefined; jobs: number; body: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'discbridge-fuzz-at-'));
    const [token] = addStations(dir, 'clock-station');
    const started = await startHub(dir);
    try {
      let close: number | undefined;
      const ws = await openSocket(`ws://127.0.0.1:${started.port}/agent`, { Authorization: `Bearer ${token}` });
      ws.on('close', (code) => { close = code; });
      const welcome = new Promise<void>((resolve) => ws.once('message', () => resolve()));
      ws.send(JSON.stringify({ kind: 'hello', agent_id: 'clock-station', name: 'c', version: '1', protocol: LINK_PROTOCOL, drives: [] }));
      await welcome;
      ws.send(JSON.stringify({ kind: 'event', seq: 1, at, event: { type: 'job_update', agent_id: 'clock-station', job_id: 1, state: 'identifying', drive_id: '/dev/sr0' } }));
      const pong = new Promise<void>((resolve) => ws.once('pong', () => resolve()));
      ws.ping();
      await Promise.race([pong, new Promise((r) => ws.once('close', r))]);
      await new Promise((r) => setTimeout(r, 50));
      const jobs = await fetch(`http://127.0.0.1:${started.port}/api/jobs`);
      const body = await jobs.text();
      ws.close();
      return { close, jobs: jobs.status, body };
    } finally {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('past the Date range: the station is closed (4004) and the job list keeps answering', async () => {
    const outcome = await sendJobUpdate(8.64e15 + 1);
    expect(outcome.close).toBe(LinkCloseCode.BadMessage);
    expect(outcome.jobs).toBe(200);
    expect(JSON.parse(outcome.body)).toEqual({ jobs: [] });
  });

  it('at the edge of the Date range: applied, and the job list shows it', async () => {
    const outcome = await sendJobUpdate(8.64e15);
    expect(outcome.close).toBeUndefined();
    expect(outcome.jobs).toBe(200);
    expect(JSON.parse(outcome.body)).toMatchObject({ jobs: [{ started_at: '+275760-09-13T00:00:00.000Z' }] });
  });
});
