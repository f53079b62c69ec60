// A flood while a real rip runs: real hub and agent processes (harness Station), a real DVD image on a loop device
// ripped by the real HandBrakeCLI, and a good dashboard client on the real socket. A separate flooder process, on
// loopback only and bounded in count and time, first opens many connections at once (dashboards, and stations with
// bad tokens), then for ~10 s runs fast senders: dashboards sending garbage and commands, stations impersonating
// the real one or presenting bad tokens, and REST commands without a session. The good client must keep getting
// the rip's progress (the largest gap between consecutive job updates is its worst delay) and the job must complete.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FINISHED_JOB_STATES, LINK_PROTOCOL, type JobUpdate } from '../../shared/index.js';
import { ROOT, Station, VirtualDrive, cpuSeconds, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'dvdauthor', 'genisoimage', 'isoinfo', 'blkid');
if (skipReason) console.warn(`Skipping the flood test: ${skipReason}`);

const CLI = join(ROOT, 'dist/cli/discbridge.js');
const PASSWORD = 'flood test passphrase';
/** The bounds of the flood. */
const FLOOD = { wsConnections: 300, agentConnections: 100, seconds: 10, wsSenders: 4, agentSenders: 4, httpSenders: 8 };
/** The good client's worst gap between two progress updates of the rip while the flood runs. */
const WORST_GAP_LIMIT_MS = 3000;

const scratch = mkdtempSync(join(tmpdir(), 'discbridge-flood-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface FloodReport {
  attempted: number;
  byStatus: Record<string, number>;
  closesByCode: Record<string, number>;
  wsMessagesSent: number;
  httpRequests: number;
  httpByStatus: Record<string, number>;
  phase1Ms: number;
  floodMs: number;
}

// The flooder: plain JavaScript in its own process, so its work does not stall the good client's clock.
const FLOODER = String.raw`
import { createRequire } from 'node:module';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
const [root, portText, configText] = process.argv.slice(2);
const WebSocket = createRequire(root + '/package.json')('ws');
const port = Number(portText);
const config = JSON.parse(configText);
const stats = { attempted: 0, byStatus: {}, closesByCode: {}, wsMessagesSent: 0, httpRequests: 0, httpByStatus: {}, phase1Ms: 0, floodMs: 0 };
const count = (map, key) => { map[key] = (map[key] ?? 0) + 1; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(path, headers, localAddress) {
  stats.attempted++;
  return new Promise((resolve) => {
    const ws = new WebSocket('ws://127.0.0.1:' + port + path, { headers, localAddress, handshakeTimeout: 10000 });
    let settled = false;
    const settle = (key, value) => { if (settled) return; settled = true; count(stats.byStatus, key); resolve(value); };
    ws.on('error', (e) => settle('error ' + (e.code ?? e.message), undefined));
    ws.once('open', () => settle('101', ws));
    ws.once('unexpected-response', (_req, res) => { settle(String(res.statusCode), undefined); res.resume(); ws.terminate(); });
  });
}

// Valid UTF-8 garbage and commands a dashboard may not send (the hub answers each with an error until the rate
// limit closes the socket with 1008); every other dashboard connection also sends invalid UTF-8 (closed with 1007).
const garbage = [
  () => JSON.stringify({ type: 'cancel', job_id: config.jobId }),
  () => JSON.stringify({ kind: 'command', command: { name: 'eject', drive_id: config.driveId } }),
  () => '{"type":"rip","drive_id":"' + config.driveId + '"',
  () => '['.repeat(5000) + ']'.repeat(5000),
  () => 'x'.repeat(60 * 1024),
  () => randomBytes(64).toString('base64'),
];
const garbageWithBadUtf8 = [...garbage.slice(0, 3), () => randomBytes(64)];

// As fast as it can, in bursts of 10 messages: between bursts the event loop turns, so the sender reads what the hub
// says (its close frame) like any WebSocket client. (A client that never reads is another attack: see the "ignores
// the close frame" tests in security.test.ts.)
async function blast(ws, frames) {
  let i = 0;
  const closed = new Promise((resolve) => ws.once('close', (code) => { count(stats.closesByCode, String(code)); resolve(); }));
  let done = false;
  void closed.then(() => { done = true; });
  while (!done && Date.now() < deadline) {
    for (let burst = 0; burst < 10 && !done && ws.readyState === 1 && ws.bufferedAmount < 256 * 1024; burst++) {
      ws.send(frames[i++ % frames.length](), { binary: false });
      stats.wsMessagesSent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  if (!done) ws.terminate();
  await Promise.race([closed, sleep(200)]);
}

let deadline = Infinity;

async function dashboardSender(localAddress) {
  for (let n = 0; Date.now() < deadline; n++) {
    const ws = await open('/ws', {}, localAddress);
    if (ws) await blast(ws, n % 2 === 0 ? garbage : garbageWithBadUtf8); else await sleep(20);
  }
}

async function stationSender(localAddress, n) {
  while (Date.now() < deadline) {
    const kind = n++ % 3;
    // 0: a real token naming the real station (4006); 1: the same token, garbage instead of a hello (4002); 2: a bad token (401).
    const token = kind === 2 ? 'flood-station:' + randomBytes(32).toString('base64url') : config.stationToken;
    const ws = await open('/agent', { Authorization: 'Bearer ' + token }, localAddress);
    if (!ws) { await sleep(5); continue; }
    const frames = kind === 0
      ? [() => JSON.stringify({ kind: 'hello', agent_id: config.agentId, name: 'impostor', version: '1', protocol: { min: 2, max: 2 }, drives: [] }),
         () => JSON.stringify({ kind: 'command_result', id: 'x', ok: true })]
      : garbage;
    await blast(ws, frames);
  }
}

async function httpSender(localAddress, n) {
  const agent = new http.Agent({ keepAlive: true, localAddress });
  const paths = [
    ['/api/jobs/' + config.jobId + '/cancel', '{}'],
    ['/api/drives/' + encodeURIComponent(config.agentId) + '/' + encodeURIComponent(config.driveId) + '/eject', '{}'],
    ['/api/drives/' + encodeURIComponent(config.agentId) + '/' + encodeURIComponent(config.driveId) + '/rip', '{"titles":[1]}'],
    ['/api/jobs/' + config.jobId + '/titles', '{"selected":[]}'],
    ['/api/login', JSON.stringify({ password: 'guess-' + n })],
  ];
  while (Date.now() < deadline) {
    const [path, body] = paths[n++ % paths.length];
    await new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        count(stats.httpByStatus, String(res.statusCode));
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', (e) => { count(stats.httpByStatus, 'error ' + (e.code ?? e.message)); resolve(); });
      req.end(body);
    });
    stats.httpRequests++;
  }
  agent.destroy();
}

const started = Date.now();
// Phase 1: many connections at once, from one address; those that open are held for the whole flood.
const held = (await Promise.all([
  ...Array.from({ length: config.wsConnections }, () => open('/ws', {}, '127.0.0.1')),
  ...Array.from({ length: config.agentConnections }, (_, i) => open('/agent', { Authorization: 'Bearer bad-token-' + i }, '127.0.0.1')),
])).filter(Boolean);
stats.phase1Ms = Date.now() - started;
// Phase 2: fast senders from other loopback addresses, each with its own per-address allowance.
deadline = Date.now() + config.seconds * 1000;
await Promise.all([
  ...Array.from({ length: config.wsSenders }, (_, i) => dashboardSender('127.0.0.' + (10 + i))),
  ...Array.from({ length: config.agentSenders }, (_, i) => stationSender('127.0.0.' + (20 + i), i)),
  ...Array.from({ length: config.httpSenders }, (_, i) => httpSender('127.0.0.' + (30 + (i % 2)), i)),
]);
for (const ws of held) ws.terminate();
stats.floodMs = Date.now() - started;
process.stdout.write(JSON.stringify(stats) + '\n');
process.exit(0);
`;

function runFlooder(port: number, config: Record<string, unknown>): Promise<FloodReport> {
  const script = join(scratch, 'flooder.mjs');
  writeFileSync(script, FLOODER);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ROOT, String(port), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`flooder exited with ${code}: ${err}`));
      else resolve(JSON.parse(out) as FloodReport);
    });
  });
}

function cli(dataDir: string, args: string[], input?: string): string {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: scratch, input, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', DISCBRIDGE_DATA_DIR: dataDir },
  });
  if (result.status !== 0) throw new Error(`discbridge ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * A second, scripted station in this process that stamps each event with the time it sent it: the good dashboard's
 * receive time minus that stamp is the hub's delivery delay itself, whatever the CPU left to HandBrakeCLI.
 */
async function startProbe(port: number, token: string): Promise<{ stop(): void; sent: Map<string, number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { Authorization: `Bearer ${token}` } });
  const welcomed = new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => { if ((JSON.parse(data.toString()) as { kind: string }).kind === 'welcome') resolve(); });
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send(JSON.stringify({ kind: 'hello', agent_id: 'probe-station', name: 'probe', version: '1', protocol: LINK_PROTOCOL, drives: [] }));
  await welcomed;
  const sent = new Map<string, number>();
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    const label = `probe-${seq}`;
    sent.set(label, Date.now());
    ws.send(JSON.stringify({ kind: 'event', seq, at: Date.now(), event: { type: 'drive_event', agent_id: 'probe-station', drive_id: '/dev/probe', event: 'inserted', volume_label: label } }));
  }, 200);
  return { sent, stop: () => { clearInterval(timer); ws.close(); } };
}

/** The largest gap between consecutive times in [from, to], counting from the last one before `from`. */
function worstGap(times: number[], from: number, to: number): number {
  const inside = times.filter((t) => t >= from && t <= to);
  const before = times.filter((t) => t < from).at(-1) ?? from;
  const after = times.find((t) => t > to) ?? to;
  const points = [before, ...inside, Math.min(after, to)];
  let worst = 0;
  for (let i = 1; i < points.length; i++) worst = Math.max(worst, (points[i] as number) - (points[i - 1] as number));
  return worst;
}

describe.skipIf(skipReason !== undefined)('a flood while a real rip runs', () => {
  let station: Station | undefined;
  afterAll(async () => {
    await station?.stop();
  });

  it('the good dashboard keeps getting the rip\'s progress and the job completes', async () => {
    const disc = makeDisc('e2e-long', ['--label', 'E2E_LONG', '--title', '150:5']);
    station = new Station(VirtualDrive.reserve(), { name: 'flood' });
    const hubDir = join(station.dir, 'hub');
    // Changes need a session, so the flood's commands are refused; a station token the flood may hold but not misuse.
    cli(hubDir, ['password'], `${PASSWORD}\n`);
    const stationToken = cli(hubDir, ['station', 'add', 'flood-station']);
    const probeToken = cli(hubDir, ['station', 'add', 'probe-station']);
    await station.start();
    const good = await station.dashboard();
    const probe = await startProbe(station.port, probeToken);

    station.drive.insert(disc);
    const ripping = await good.waitFor((m): m is JobUpdate => m.type === 'job_update' && m.state === 'ripping' && (m.progress_percent ?? 0) > 0, 60_000);
    const jobId = ripping.job_id;
    const progressTimes = () => good.received
      .filter((r) => r.message.type === 'job_update' && r.message.job_id === jobId && r.message.progress_percent !== undefined)
      .map((r) => r.at);
    // A few seconds of undisturbed progress first, for comparison.
    await new Promise((r) => setTimeout(r, 3000));
    const calmFrom = good.receivedAt(ripping);

    const hubCpuBefore = cpuSeconds(station.hub?.child.pid as number);
    const floodStart = Date.now();
    const report = await runFlooder(station.port, {
      ...FLOOD, jobId, agentId: station.agentId, driveId: station.drive.device, stationToken,
    });
    const floodEnd = Date.now();
    const hubCpu = cpuSeconds(station.hub?.child.pid as number) - hubCpuBefore;

    const done = await good.waitFor((m) => m.type === 'job_update' && m.job_id === jobId && FINISHED_JOB_STATES.has(m.state), 240_000);
    const doneAt = good.receivedAt(done);
    probe.stop();
    const probeSamples = good.received.flatMap((r) => {
      const sentAt = r.message.type === 'drive_event' && r.message.agent_id === 'probe-station' ? probe.sent.get(r.message.volume_label) : undefined;
      return sentAt !== undefined && sentAt >= floodStart && sentAt <= floodEnd ? [{ delay: r.at - sentAt, sentAt }] : [];
    });
    const probeDelays = probeSamples.map((p) => p.delay);
    const worstSample = probeSamples.reduce((a, b) => (b.delay > a.delay ? b : a), { delay: 0, sentAt: floodStart });
    const probeSentDuringFlood = [...probe.sent.values()].filter((t) => t >= floodStart && t <= floodEnd - 1000).length;
    const probeWorst = Math.max(0, ...probeDelays);
    const probeMedian = [...probeDelays].sort((a, b) => a - b)[Math.floor(probeDelays.length / 2)] ?? 0;
    const times = progressTimes();
    const duringFlood = times.filter((t) => t >= floodStart && t <= floodEnd).length;
    const calmGap = worstGap(times, calmFrom, floodStart);
    const floodGap = worstGap(times, floodStart, Math.min(floodEnd, doneAt));
    const refused = Object.entries(report.byStatus).filter(([status]) => status !== '101').reduce((sum, [, n]) => sum + n, 0);
    const health = await station.get<{ connections: { open: number; refused: number }; dashboards: { dropped: number } }>('/health');

    console.info([
      `flood: ${report.attempted} WebSocket connections attempted (${FLOOD.wsConnections} /ws + ${FLOOD.agentConnections} /agent at once, then reconnects by ` +
        `${FLOOD.wsSenders + FLOOD.agentSenders} fast senders for ${FLOOD.seconds} s); by answer: ${JSON.stringify(report.byStatus)}; refused ${refused}`,
      `flood: the hub closed flood sockets with ${JSON.stringify(report.closesByCode)}; it counted ${health.connections.refused} refused by its connection limits`,
      `flood: opening the first ${FLOOD.wsConnections + FLOOD.agentConnections} at once took ${report.phase1Ms} ms`,
      `flood: ${report.wsMessagesSent} WebSocket messages and ${report.httpRequests} REST commands sent (REST answers ${JSON.stringify(report.httpByStatus)})`,
      `flood: the good client got ${duringFlood} progress updates during the ${(floodEnd - floodStart) / 1000} s flood; worst gap ${floodGap} ms ` +
        `(before the flood: ${calmGap} ms); the job ended ${done.type === 'job_update' ? done.state : ''} ${((doneAt - floodEnd) / 1000).toFixed(1)} s after the flood`,
      `flood: the hub used ${hubCpu.toFixed(1)} CPU seconds during the ${((floodEnd - floodStart) / 1000).toFixed(1)} s flood ` +
        `(${Math.round((100 * hubCpu) / ((floodEnd - floodStart) / 1000))} % of one core; the machine has 2, shared with HandBrakeCLI and the flooder)`,
      `flood: the real agent's link reconnected ${(station.agent?.log().match(/Lost the hub/g) ?? []).length} time(s) during the run`,
      `flood: probe station events sent during the flood: ${probeDelays.length} delivered to the good client, delay median ${probeMedian} ms, worst ${probeWorst} ms ` +
        `(sent ${((worstSample.sentAt - floodStart) / 1000).toFixed(1)} s into the flood; the first ${report.phase1Ms} ms were the ${FLOOD.wsConnections + FLOOD.agentConnections} connections at once)`,
    ].join('\n'));

    // The flood really was a flood, and it was refused.
    expect(report.attempted).toBeGreaterThanOrEqual(FLOOD.wsConnections + FLOOD.agentConnections);
    expect(report.byStatus['503'] ?? 0).toBeGreaterThan(FLOOD.wsConnections / 2);
    expect(report.byStatus['401'] ?? 0).toBeGreaterThan(0);
    expect(report.httpByStatus['200'] ?? 0).toBe(0); // no command without a session went through
    expect(report.wsMessagesSent).toBeGreaterThan(1000);
    // The rip ran through the flood, its progress kept coming, and nothing the flood sent touched it.
    expect(doneAt).toBeGreaterThan(floodEnd);
    expect(duringFlood).toBeGreaterThan(0);
    expect(floodGap).toBeLessThan(WORST_GAP_LIMIT_MS);
    // Every probe event sent during the flood arrived, none later than the same limit.
    expect(probeDelays.length).toBeGreaterThanOrEqual(probeSentDuringFlood);
    expect(probeWorst).toBeLessThan(WORST_GAP_LIMIT_MS);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });
    expect(good.contractViolations).toEqual([]);
    expect(health.dashboards.dropped).toBeGreaterThanOrEqual(0);
    expect(station.hub?.child.exitCode).toBeNull();
    // The station is back online at the end (a reconnect during the flood is reported above, not fatal: the test's
    // 1 s heartbeat makes the agent reconnect after 3 s of silence, and nothing is lost through its outbox).
    const agentsAfter = await station.get<{ agent_id: string; state: string }[]>('/api/agents');
    expect(agentsAfter.find((a) => a.agent_id === station?.agentId)?.state).toBe('online');
  }, 300_000);
});
