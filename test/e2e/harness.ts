// The one harness every end-to-end test uses: real hub and agent processes started from the built CLI, real test
// discs authored by scripts/make-test-disc, loop devices as drives, and a dashboard client on the real socket.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { freePort } from '../tools/free-port.js';
import { DashboardMessage, LINK_PROTOCOL } from '../../shared/index.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/discbridge.js');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** Why loop-device tests cannot run here, or undefined when they can. */
export function loopDevicesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'loop devices need Linux';
  if (process.getuid?.() !== 0) return 'attaching disc images to loop devices needs root (CI runs as root)';
  if (!existsSync('/dev/loop-control')) return 'this kernel has no loop device support (/dev/loop-control missing)';
  if (!existsSync(CLI)) return `the CLI is not built (${CLI}); run npm run build`;
  return undefined;
}

export function toolsUnavailable(...tools: string[]): string | undefined {
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (.ci/run installs it)`;
    }
  }
  return undefined;
}

// ---- The makemkvcon stand-in (test/makemkv-standin), which replays real captured output

export const MAKEMKVCON_STANDIN = join(ROOT, 'test/makemkv-standin/makemkvcon.mjs');

/** Agent settings that make it rip with MakeMKV through the stand-in, replaying the given scenario. */
export function makeMkvAgentEnv(scenario: Record<string, unknown>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'discbridge-standin-'));
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(scenario));
  return { DISCBRIDGE_RIPPER: 'makemkv', DISCBRIDGE_MAKEMKVCON: MAKEMKVCON_STANDIN, MAKEMKVCON_STANDIN_SCENARIO: file };
}

// ---- Test discs

const discCache = join(tmpdir(), 'discbridge-test-discs');

/** Authors (once per argument list) a DVD-Video image with scripts/make-test-disc and returns its path. */
export function makeDisc(name: string, args: string[]): string {
  mkdirSync(discCache, { recursive: true });
  const image = join(discCache, `${name}.iso`);
  const stamp = `${image}.args`;
  const wanted = JSON.stringify(args);
  if (existsSync(image) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return image;
  execFileSync(join(ROOT, 'scripts/make-test-disc'), [image, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(stamp, wanted);
  return image;
}

// ---- Loop devices as drives

const lockDir = join(tmpdir(), 'discbridge-loop-locks');

/** A loop device reserved for one test: free (no image) and locked against other test processes. */
export class VirtualDrive {
  private constructor(readonly device: string, private readonly lockFile: string) {}

  static reserve(): VirtualDrive {
    mkdirSync(lockDir, { recursive: true });
    for (let attempt = 0; attempt < 64; attempt++) {
      const device = execFileSync('losetup', ['--find'], { encoding: 'utf8' }).trim();
      const candidates = [device, ...Array.from({ length: 32 }, (_, i) => `/dev/loop${i}`)];
      for (const candidate of candidates) {
        if (!existsSync(candidate) || loopSize(candidate) !== 0) continue;
        const lockFile = join(lockDir, candidate.replaceAll('/', '_'));
        if (!takeLock(lockFile)) continue;
        return new VirtualDrive(candidate, lockFile);
      }
    }
    throw new Error('No free loop device');
  }

  insert(image: string): void {
    execFileSync(join(ROOT, 'scripts/insert-disc'), [image, this.device], { stdio: 'ignore' });
  }

  eject(): void {
    execFileSync(join(ROOT, 'scripts/eject-disc'), [this.device], { stdio: 'ignore' });
  }

  hasDisc(): boolean {
    return loopSize(this.device) > 0;
  }

  release(): void {
    if (this.hasDisc()) this.eject();
    rmSync(this.lockFile, { force: true });
  }
}

function loopSize(device: string): number {
  try {
    return Number(readFileSync(`/sys/block/${device.replace('/dev/', '')}/size`, 'utf8').trim());
  } catch {
    return -1;
  }
}

function takeLock(file: string): boolean {
  try {
    closeSync(openSync(file, 'wx'));
    writeFileSync(file, String(process.pid));
    return true;
  } catch {
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner && !processAlive(owner)) {
      unlinkSync(file); // left by a test run that died
      return takeLock(file);
    }
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- Processes

/** The pino records in a log's text (JSON lines), skipping what is not one (a tool's own output, a stack). */
export function pinoRecords(log: string): Record<string, unknown>[] {
  return log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

export class DiscbridgeProcess {
  readonly exited: Promise<number | null>;
  private constructor(readonly child: ChildProcess, readonly logFile: string) {
    this.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  }

  /** `cpus`: pinned to these cores (taskset), its tools too: a benchmark's stand-in for a machine of its own. */
  static spawn(command: 'start' | 'hub' | 'agent' | 'worker', env: Record<string, string>, logFile: string, cpus?: string): DiscbridgeProcess {
    mkdirSync(resolve(logFile, '..'), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' }); // a restarted process appends to its own log
    const [program, args] = cpus === undefined ? [process.execPath, [CLI, command]] : ['taskset', ['-c', cpus, process.execPath, CLI, command]];
    const child = spawn(program, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return new DiscbridgeProcess(child, logFile);
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /** Log lines as parsed pino records. */
  records(): Record<string, unknown>[] {
    return pinoRecords(this.log());
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

// ---- A station: a hub and its agent processes around virtual drives

export interface StationOptions {
  /** Extra environment for every agent of the station. */
  agentEnv?: Record<string, string>;
  hubEnv?: Record<string, string>;
  name: string;
  /** Port the agent connects to instead of the hub's own (a TcpProxy in front of the hub). */
  agentHubPort?: () => number;
  /** Cores the hub and the station's own agent are pinned to (taskset), for benchmarks. */
  cpus?: string;
}

/** One agent of a station: its id, its drives and its own folders (data under `dir/agent`, files under `outputDir`). */
export interface StationAgent {
  readonly agentId: string;
  readonly name: string;
  readonly drives: readonly VirtualDrive[];
  /** The first of `drives`. */
  readonly drive: VirtualDrive;
  readonly dir: string;
  readonly outputDir: string;
  readonly env: Record<string, string>;
  /** Its log file's name in the station's log folder. */
  readonly logName: string;
  /** A rip station (`discbridge agent`), or a station without drives that only transcodes (`discbridge worker`). */
  readonly command: 'agent' | 'worker';
  /** Cores it is pinned to (taskset), for benchmarks. */
  readonly cpus?: string | undefined;
  process: DiscbridgeProcess | undefined;
}

function stationAgent(
  agentId: string, name: string, drives: VirtualDrive | readonly VirtualDrive[], dir: string, logName: string, env: Record<string, string> = {},
  command: 'agent' | 'worker' = 'agent', cpus?: string,
): StationAgent {
  const list = drives instanceof VirtualDrive ? [drives] : [...drives];
  if (list.length === 0 && command === 'agent') throw new Error(`Agent ${agentId} needs at least one drive`);
  return { agentId, name, drives: list, drive: list[0] as VirtualDrive, dir, outputDir: join(dir, 'rips'), env, logName, command, cpus, process: undefined };
}

export class Station {
  readonly token = 'e2e-token-' + Math.random().toString(36).slice(2);
  readonly dir: string;
  hub: DiscbridgeProcess | undefined;
  port = 0;
  /** The station's own agent, then those added with startExtraAgent. */
  readonly agents: StationAgent[];
  private readonly dashboards: DashboardClient[] = [];

  /** `drives`: one drive, or several watched by the same agent (all passed in DISCBRIDGE_DRIVES). */
  constructor(drives: VirtualDrive | readonly VirtualDrive[], private readonly options: StationOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `discbridge-e2e-${options.name}-`));
    this.agents = [stationAgent(`e2e-${options.name}`, `E2E ${options.name}`, drives, this.dir, 'agent.log', {}, 'agent', options.cpus)];
    rmSync(this.logDir, { recursive: true, force: true });
  }

  private get main(): StationAgent {
    return this.agents[0] as StationAgent;
  }

  get agentId(): string {
    return this.main.agentId;
  }

  get drive(): VirtualDrive {
    return this.main.drive;
  }

  get drives(): readonly VirtualDrive[] {
    return this.main.drives;
  }

  get outputDir(): string {
    return this.main.outputDir;
  }

  /** The process of the station's own agent. */
  get agent(): DiscbridgeProcess | undefined {
    return this.main.process;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logDir(): string {
    return join(ARTIFACTS, 'e2e', this.options.name);
  }

  async startHub(): Promise<void> {
    this.port ||= await freePort();
    this.hub = DiscbridgeProcess.spawn('hub', this.hubEnv(), join(this.logDir, 'hub.log'), this.options.cpus);
    await this.waitForHub();
  }

  async startAgent(): Promise<void> {
    await this.spawnAgent(this.main);
  }

  /** Starts one of the station's agents again (after a stop or a kill), with the same folders and log. */
  async restartAgent(agent: StationAgent): Promise<void> {
    await this.spawnAgent(agent);
  }

  /**
   * Another agent process on the same hub, as a second rip station: its own id (`e2e-<station>-<name>`), drives, data
   * and output folders, log `agent-<name>.log`. stop() stops it, releases its drives and removes its folders.
   */
  async startExtraAgent(options: {
    name: string; drives: VirtualDrive | readonly VirtualDrive[]; agentEnv?: Record<string, string>; command?: 'agent' | 'worker'; cpus?: string;
  }): Promise<StationAgent> {
    const agentId = `e2e-${this.options.name}-${options.name}`;
    const dir = mkdtempSync(join(tmpdir(), `discbridge-e2e-${this.options.name}-${options.name}-`));
    const agent = stationAgent(agentId, `E2E ${this.options.name} ${options.name}`, options.drives, dir, `agent-${options.name}.log`, options.agentEnv, options.command, options.cpus);
    this.agents.push(agent); // before it starts, so that stop() cleans up after a failed start too
    await this.spawnAgent(agent);
    return agent;
  }

  /** Hub and agent in one process, as `npm start` runs them. */
  async startCombined(): Promise<void> {
    this.port ||= await freePort();
    this.hub = DiscbridgeProcess.spawn('start', { ...this.agentEnv(this.main), ...this.hubEnv(), DISCBRIDGE_DATA_DIR: join(this.dir, 'data') },
      join(this.logDir, 'station.log'));
    await this.waitForHub();
    await this.waitForAgent(this.main.agentId);
  }

  private async spawnAgent(agent: StationAgent): Promise<void> {
    agent.process = DiscbridgeProcess.spawn(agent.command, this.agentEnv(agent), join(this.logDir, agent.logName), agent.cpus);
    await this.waitForAgent(agent.agentId);
  }

  private hubEnv(): Record<string, string> {
    return {
      DISCBRIDGE_PORT: String(this.port), DISCBRIDGE_HOST: '127.0.0.1', DISCBRIDGE_DATA_DIR: join(this.dir, 'hub'),
      DISCBRIDGE_TOKEN: this.token, DISCBRIDGE_HEARTBEAT_MS: '1000', DISCBRIDGE_LOG_LEVEL: 'debug', ...this.options.hubEnv,
    };
  }

  private agentEnv(agent: StationAgent): Record<string, string> {
    return {
      DISCBRIDGE_HUB_URL: `ws://127.0.0.1:${this.options.agentHubPort?.() ?? this.port}`, DISCBRIDGE_TOKEN: this.token, DISCBRIDGE_DATA_DIR: join(agent.dir, 'agent'),
      DISCBRIDGE_OUTPUT_DIR: agent.outputDir, DISCBRIDGE_DRIVES: agent.drives.map((d) => d.device).join(','), DISCBRIDGE_AGENT_ID: agent.agentId,
      DISCBRIDGE_AGENT_NAME: agent.name, DISCBRIDGE_POLL_MS: '200', DISCBRIDGE_DEBOUNCE_MS: '400',
      DISCBRIDGE_MIN_TITLE_SECONDS: '10', DISCBRIDGE_HANDBRAKE_PRESET: 'Very Fast 480p30', DISCBRIDGE_HEARTBEAT_MS: '1000',
      DISCBRIDGE_LOG_LEVEL: 'debug', ...this.options.agentEnv, ...agent.env,
    };
  }

  private async waitForHub(): Promise<void> {
    await waitFor(async () => (await fetch(`${this.baseUrl}/health`).then((r) => r.ok, () => false)), 15_000, 'hub /health');
  }

  private async waitForAgent(agentId: string): Promise<void> {
    await waitFor(async () => {
      const agents = await this.get<{ agent_id: string; state: string }[]>('/api/agents').catch(() => []);
      return agents.some((a) => a.agent_id === agentId && a.state === 'online');
    }, 15_000, `agent ${agentId} online at the hub`);
  }

  async start(): Promise<void> {
    await this.startHub();
    await this.startAgent();
  }

  /**
   * Takes the disc out of the station's own drive and waits until the hub shows the drive empty, as a person takes a
   * moment between two discs: an image swapped within one poll looks like a disc that never left.
   */
  async ejectAndWait(): Promise<void> {
    this.drive.eject();
    await waitFor(async () => (await this.get<{ drive_id: string; has_disc: boolean }[]>('/api/drives'))
      .some((drive) => drive.drive_id === this.drive.device && !drive.has_disc), 15_000, 'the drive empty at the hub');
  }

  async dashboard(): Promise<DashboardClient> {
    const client = await DashboardClient.connect(`ws://127.0.0.1:${this.port}/ws`);
    this.dashboards.push(client);
    return client;
  }

  async get<T>(path: string): Promise<T> {
    const response = await fetch(this.baseUrl + path);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async post(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(this.baseUrl + path, { method: 'POST' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** The hub's SQLite file, for checks after the hub has stopped. */
  get hubDatabase(): string {
    return join(this.dir, 'hub', 'hub.sqlite');
  }

  /** An agent's SQLite file (the station's own agent by default). */
  agentDatabase(agent: StationAgent = this.main): string {
    // The agent keeps its files in an `agent` folder of its data folder.
    return join(this.agentEnv(agent).DISCBRIDGE_DATA_DIR as string, 'agent', 'agent.sqlite');
  }

  /** How many events an agent still holds for the hub: 0 once the hub has acknowledged everything it sent. */
  outboxSize(agent: StationAgent = this.main): number {
    const db = new Database(this.agentDatabase(agent), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  /**
   * The sequence numbers of an agent's events that the hub holds, in order, and the newest the agent gave out: read
   * from both databases, so call it with both processes stopped (or at least idle).
   */
  eventSequences(agent: StationAgent = this.main): { hub: number[]; agentLast: number } {
    const hubDb = new Database(this.hubDatabase, { readonly: true });
    const agentDb = new Database(this.agentDatabase(agent), { readonly: true });
    try {
      // The hub's own changes to a station's jobs (the transcode farm's) have negative numbers: not the station's.
      const hub = (hubDb.prepare('SELECT seq FROM events WHERE agent_id = ? AND seq > 0 ORDER BY seq').all(agent.agentId) as { seq: number }[]).map((r) => r.seq);
      const agentLast = (agentDb.prepare(`SELECT value FROM counters WHERE name = 'seq'`).get() as { value: number } | undefined)?.value ?? 0;
      return { hub, agentLast };
    } finally {
      hubDb.close();
      agentDb.close();
    }
  }

  /** Stops every agent, then the hub; releases every drive and removes every folder, even after a failed step. */
  async stop(): Promise<void> {
    for (const client of this.dashboards) client.close();
    await Promise.all(this.agents.map((agent) => agent.process?.stop()));
    await this.hub?.stop();
    const failures: unknown[] = [];
    for (const agent of this.agents) {
      for (const drive of agent.drives) {
        try {
          drive.release();
        } catch (error) {
          failures.push(error);
        }
      }
      rmSync(agent.dir, { recursive: true, force: true });
    }
    if (failures.length > 0) throw new AggregateError(failures, 'Could not release every drive');
  }
}

// ---- Dashboard client

export interface Received {
  at: number;
  message: DashboardMessage;
}

/** A dashboard on the real socket. Every frame is checked against the shared schema: that is the contract test. */
export class DashboardClient {
  readonly received: Received[] = [];
  readonly contractViolations: { frame: string; error: string }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = data.toString();
      const parsed = DashboardMessage.safeParse(JSON.parse(frame));
      if (parsed.success) this.received.push({ at: Date.now(), message: parsed.data });
      else this.contractViolations.push({ frame, error: parsed.error.message });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string): Promise<DashboardClient> {
    const socket = new WebSocket(url);
    const client = new DashboardClient(socket);
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', reject);
    });
    await client.waitFor((m) => m.type === 'hello', 5000);
    return client;
  }

  /** When a message was received (ms since the epoch). */
  receivedAt(message: DashboardMessage): number {
    const entry = this.received.find((r) => r.message === message);
    if (!entry) throw new Error('That message was not received by this client');
    return entry.at;
  }

  messages<T extends DashboardMessage['type']>(type: T): Extract<DashboardMessage, { type: T }>[] {
    return this.received.map((r) => r.message).filter((m): m is Extract<DashboardMessage, { type: T }> => m.type === type);
  }

  /** Resolves with the first message that matches, among those received from index `since` on (default: all). */
  async waitFor<T extends DashboardMessage>(match: (message: DashboardMessage) => message is T, timeoutMs: number, since?: number): Promise<T>;
  async waitFor(match: (message: DashboardMessage) => boolean, timeoutMs: number, since?: number): Promise<DashboardMessage>;
  async waitFor(match: (message: DashboardMessage) => boolean, timeoutMs: number, since = 0): Promise<DashboardMessage> {
    const deadline = Date.now() + timeoutMs;
    let seen = since;
    for (;;) {
      for (; seen < this.received.length; seen++) {
        const message = (this.received[seen] as Received).message;
        if (match(message)) return message;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for a dashboard message; got ${this.received.length}: ${this.received.slice(-5).map((r) => JSON.stringify(r.message)).join('\n')}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => { clearTimeout(timer); wake(); });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

// ---- Small utilities

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { freePort };

/** Media duration of a file in seconds, from ffprobe. */
export function probeDuration(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file], { encoding: 'utf8' });
  return Number(out.trim());
}

// ---- A scripted station on the real link, for tests that need exact control of what the hub receives

export class ScriptedAgent {
  /** The newest sequence number the hub acknowledged. */
  acked = 0;
  /** The commands the hub sent it, in order; answer them with answer(). */
  readonly commands: { id: string; command: Record<string, unknown> }[] = [];

  private constructor(private readonly socket: WebSocket, readonly welcome: { last_seq: number; last_job_id: number }) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { kind: string; seq?: number; id?: string; command?: Record<string, unknown> };
      if (message.kind === 'ack') this.acked = Math.max(this.acked, message.seq ?? 0);
      if (message.kind === 'command') this.commands.push({ id: message.id as string, command: message.command ?? {} });
    });
  }

  answer(id: string, ok: boolean, error?: string): void {
    this.send({ kind: 'command_result', id, ok, ...(error ? { error } : {}) });
  }

  static async connect(port: number, token: string, agentId: string): Promise<ScriptedAgent> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { Authorization: `Bearer ${token}` } });
    await new Promise<void>((resolveOpen, reject) => {
      socket.once('open', () => resolveOpen());
      socket.once('error', reject);
    });
    const welcome = new Promise<{ last_seq: number; last_job_id: number }>((resolveWelcome) => {
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { kind: string; last_seq: number; last_job_id: number };
        if (message.kind === 'welcome') resolveWelcome(message);
      });
    });
    socket.send(JSON.stringify({
      kind: 'hello', agent_id: agentId, name: agentId, version: 'test', protocol: LINK_PROTOCOL,
      drives: [{ drive_id: '/dev/sr0', has_disc: true, busy: true }],
    }));
    return new ScriptedAgent(socket, await welcome);
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Stops reading the socket: no pong, no close, as a frozen machine or a dead network path. */
  freeze(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  /** Resolves once every queued frame has been handed to the kernel. */
  async drain(): Promise<void> {
    while (this.socket.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 10));
  }

  close(): void {
    this.socket.close();
  }
}

/** Processes of `tool` (by program name) that have `argument` on their command line, found in /proc. */
export function toolProcesses(tool: string, argument: string): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return (args[0] ?? '').split('/').at(-1) === tool && args.includes(argument);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

/** CPU seconds a process has used, user + system (Linux /proc; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process in bytes (Linux). */
export function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
}
