// The hub: one HTTP server carrying the agent socket, the dashboard socket and the REST API, over one SQLite store.
// Like every component here, the constructor only sets fields; start() and stop() do the work.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DASHBOARD_PATH, LINK_PATH, type StationEvent } from '../shared/index.js';
import { RestApi } from './api/rest.js';
import { Views } from './api/views.js';
import { AccessControl } from './auth/access.js';
import { StationRegistry } from './auth/station-registry.js';
import { StationCommands } from './commands/station-commands.js';
import { ConnectionLimits } from './http/connection-limits.js';
import { TaskFilesHttp } from './transcodes/task-files-http.js';
import { TaskSpool } from './transcodes/task-spool.js';
import { Transcodes } from './transcodes/transcodes.js';
import { DashboardFeed } from './dashboard/dashboard-feed.js';
import { DashboardRequests } from './dashboard/dashboard-requests.js';
import { DashboardServer } from './dashboard/dashboard-server.js';
import type { ConsumerFactory, HubConsumer, HubContext } from './events/consumer.js';
import { EventBus } from './events/event-bus.js';
import { refuseUpgrade } from './http/auth.js';
import { StaticFiles } from './http/static-files.js';
import { AgentServer } from './link/agent-server.js';
import { openDatabase, type Db } from './store/database.js';
import { StationStore } from './store/station-store.js';

export interface HubConfig {
  host: string;
  port: number;
  dataDir: string;
  /** A token every station may use (then its hello names it). Per-station tokens are safer: see StationRegistry. */
  sharedToken?: string | undefined;
  /** PEM files: with both, the hub serves https and wss. */
  tls?: { cert: string; key: string } | undefined;
  viewRequiresLogin: boolean;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  maxStationMessagesPerSecond: number;
  serverName: string;
  version: string;
  heartbeatMs: number;
  /** Pings left unanswered before a station or dashboard counts as gone. */
  missedHeartbeats: number;
  /** Dashboard send-buffer limits (see DashboardServer); defaults suit a LAN. */
  dashboardSoftBufferBytes?: number;
  dashboardHardBufferBytes?: number;
  dashboardStuckMs?: number;
  /** What else acts on the hub's events (notifications, metrics, MQTT), each built from the hub's context. */
  consumers?: readonly ConsumerFactory[];
  /** How long a transcode lease lives after its worker's last report (DISCBRIDGE_LEASE_SECONDS). */
  leaseMs: number;
}

const COMMAND_TIMEOUT_MS = 10_000;

export class Hub {
  private db: Db | undefined;
  private server: Server | undefined;
  private store: StationStore | undefined;
  private agents: AgentServer | undefined;
  private dashboards: DashboardServer | undefined;
  private revocationTimer: NodeJS.Timeout | undefined;
  private limits: ConnectionLimits | undefined;
  private feed: DashboardFeed | undefined;
  /** The transcode queue (hub/transcodes): public so the parts that fill it, and tests, reach it. */
  transcodes: Transcodes | undefined;
  private consumers: HubConsumer[] = [];
  /** What happened at the hub, for every consumer: see hub/events/event-bus.ts. */
  readonly bus: EventBus;

  constructor(private readonly config: HubConfig, private readonly logger: Logger) {
    this.bus = new EventBus(logger.child({ component: 'events' }));
  }

  /** The port actually listened on (useful with port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? this.config.port;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const dbFile = join(config.dataDir, 'hub.sqlite');
    this.db = openDatabase(dbFile);
    const db = this.db;
    const { bus } = this;
    const store = new StationStore(db, logger.child({ component: 'store' }));
    store.onCommit((_agents, events) => {
      for (const event of events) bus.publish('committed', { type: 'station_event', event, progressOnly: false });
    });
    store.start();
    // Published as soon as applied, so the station's revision now is the event's own.
    const publishApplied = (event: StationEvent, progressOnly: boolean) =>
      bus.publish('applied', { type: 'station_event', event, progressOnly, stationRev: store.stationRevision(event.agent_id) });
    const registry = new StationRegistry(db, config.sharedToken);
    const access = new AccessControl(db, { viewRequiresLogin: config.viewRequiresLogin, secure: config.tls !== undefined });
    const limits = new ConnectionLimits(config.maxConnections, config.maxConnectionsPerAddress);
    const agents = new AgentServer({
      registry, maxMessagesPerSecond: config.maxStationMessagesPerSecond, serverName: config.serverName, version: config.version, heartbeatMs: config.heartbeatMs,
      missedHeartbeats: config.missedHeartbeats, helloTimeoutMs: 10_000, store, logger: logger.child({ component: 'link' }),
      onEvent: publishApplied,
      onAgentState: (hello, online, refusal) => {
        const update = {
          type: 'agent_update', agent_id: hello.agent_id, state: online ? 'online' : 'offline', name: hello.name, version: hello.version,
          ...(refusal ? { error: refusal } : {}), rev: store.nextRevision(hello.agent_id),
        } as const;
        bus.publish('applied', { type: 'station_state', update, stationRev: store.stationRevision(hello.agent_id) });
        try {
          if (online) transcodes.stationOnline(hello);
          else if (!refusal) transcodes.stationOffline(hello.agent_id);
        } catch (error) {
          logger.error({ agent: hello.agent_id, err: error }, `Could not update the transcode leases of ${hello.agent_id} (${(error as Error).message}); the lease sweep puts them right`);
        }
      },
      onTranscodeRequest: (request) => transcodes.requested(request),
      onTaskReport: (agentId, report) => transcodes.report(agentId, report),
      onSourceUnavailable: (agentId, message) => transcodes.sourceUnavailable(agentId, message.task_id, message.error),
    });
    const spool = new TaskSpool(join(config.dataDir, 'spool'));
    const transcodes = new Transcodes({
      db, bus, spool, leaseMs: config.leaseMs, logger: logger.child({ component: 'transcodes' }), link: agents,
      jobs: {
        change: (event) => { const applied = store.applyHubEvent(event); if (applied) publishApplied(applied, false); },
        progress: (event) => { const applied = store.applyHubProgress(event); if (applied) publishApplied(applied, true); },
        jobState: (jobId) => store.liveJobState(jobId),
        transcodingJobs: () => store.transcodingJobs(),
      },
    });
    this.transcodes = transcodes; // before anything that may fail, so that stop() always ends its timer
    const views = new Views(store, agents);
    const commands = new StationCommands(store, agents, transcodes, COMMAND_TIMEOUT_MS);
    const dashboardLogger = logger.child({ component: 'dashboard' });
    const dashboards = new DashboardServer({
      serverName: config.serverName, version: config.version, heartbeatMs: config.heartbeatMs, missedHeartbeats: config.missedHeartbeats,
      softBufferBytes: config.dashboardSoftBufferBytes ?? 1024 * 1024, hardBufferBytes: config.dashboardHardBufferBytes ?? 8 * 1024 * 1024,
      stuckMs: config.dashboardStuckMs ?? 10_000, revision: () => store.revision, stationRevisions: () => store.stationRevisions(),
      driveOfJob: (jobId) => store.driveOfJob(jobId), requests: new DashboardRequests({ views, commands, access, logger: dashboardLogger }),
      access, logger: dashboardLogger,
    });
    const feed = new DashboardFeed(bus, dashboards);
    const api = new RestApi({ store, agents, views, commands, dashboards, access, limits, transcodes, logger: logger.child({ component: 'api' }) });
    const context: HubContext = {
      bus, store, db, access, version: config.version, logger,
      commands,
      stats: () => ({
        stationsConnected: agents.onlineCount, dashboards: dashboards.stats(),
        transcodes: { tasks: transcodes.tasks.countByState(), running: transcodes.tasks.runningByStation() },
      }),
    };
    const consumers = (config.consumers ?? []).map((create) => create(context));
    dashboards.start();
    feed.start();
    await transcodes.start();
    for (const consumer of consumers) await consumer.start();
    this.consumers = consumers;
    agents.start();
    const page = new StaticFiles();
    const taskFiles = new TaskFilesHttp({
      registry, spool, logger: logger.child({ component: 'transcodes' }),
      farm: {
        task: (id) => transcodes.tasks.get(id),
        sourceStaged: (id, sha256, bytes) => transcodes.sourceStaged(id, sha256, bytes),
        resultArrived: (id, leaseId, worker, sha256, bytes) => transcodes.resultArrived(id, leaseId, worker, sha256, bytes),
      },
    });

    const handler: RequestListener = (request, response) => {
      // The REST API first, then the consumers' own routes (GET /metrics), then the dashboard page's files.
      // The stations' transcode files first: their bodies are streamed, never read whole.
      taskFiles.handle(request, response).then((files) => files || api.handle(request, response)).then(async (handled) => {
        for (const consumer of consumers) if (!handled && consumer.handle) handled = await consumer.handle(request, response);
        return handled || page.handle(request, response);
      }).then((handled) => {
        if (handled) return;
        response.writeHead(404, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ error: 'Not found' }));
      }, (error: unknown) => {
        logger.error({ err: error }, 'HTTP request failed');
        response.destroy();
      });
    };
    const server: Server = config.tls
      ? createTlsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler)
      : createServer(handler);
    server.on('upgrade', (request: IncomingMessage, socket, head) => {
      const path = new URL(request.url ?? '/', 'http://hub').pathname;
      socket.on('error', () => socket.destroy());
      const refusal = limits.admit(request, socket);
      if (refusal) {
        logger.warn({ peer: request.socket.remoteAddress, open: limits.open }, `Refused a connection: ${refusal}`);
        refuseUpgrade(socket, 503, refusal);
        return;
      }
      if (path === LINK_PATH) agents.handleUpgrade(request, socket, head);
      else if (path === DASHBOARD_PATH) dashboards.handleUpgrade(request, socket, head);
      else refuseUpgrade(socket, 404, `No WebSocket at ${path}; dashboards use ${DASHBOARD_PATH}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // `discbridge station revoke` writes from another process; SQLite's data_version says when anything changed.
    let version = db.pragma('data_version', { simple: true });
    this.revocationTimer = setInterval(() => {
      const now = db.pragma('data_version', { simple: true });
      if (now === version) return;
      version = now;
      agents.disconnectRevoked();
    }, 500);
    this.revocationTimer.unref();
    Object.assign(this, { server, store, agents, dashboards, limits, feed });
    const scheme = config.tls ? 'https' : 'http';
    logger.info({ url: `${scheme}://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${this.port}/`, db: dbFile }, 'Hub is listening');
  }

  async stop(): Promise<void> {
    clearInterval(this.revocationTimer);
    await this.agents?.stop();
    // The last events are written (and told as committed) while the consumers still listen.
    this.store?.flush();
    for (const consumer of this.consumers.reverse()) await consumer.stop();
    this.consumers = [];
    this.transcodes?.stop();
    this.feed?.stop();
    await this.dashboards?.stop();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.store?.stop();
    this.db?.close();
    this.logger.info('Hub stopped');
  }
}
