// The agent socket: authenticates stations on the upgrade, runs the hello/welcome handshake, applies their events
// to the store and forwards them to dashboards, and carries commands (cancel, eject) to them.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AgentMessage, FARM_LINK_PROTOCOL, LINK_PROTOCOL, LinkCloseCode, decodeMessage,
  type AgentEvent, type AgentHello, type CommandResult, type HubMessage, type SourceUnavailable, type StationCommand, type StationEvent, type TaskReport,
  type TranscodeRequest,
} from '../../shared/index.js';
import type { StationIdentity, StationRegistry } from '../auth/station-registry.js';
import { TokenBucket } from '../auth/rate-limit.js';
import { bearerToken, refuseUpgrade } from '../http/auth.js';
import { closeFirmly, startHeartbeat, trackHeartbeat } from '../http/heartbeat.js';
import type { Numbering, StationStore } from '../store/station-store.js';

export interface AgentServerOptions {
  registry: StationRegistry;
  /** Messages a second a station may send (bursts up to ten times that). */
  maxMessagesPerSecond: number;
  serverName: string;
  version: string;
  heartbeatMs: number;
  /** Pings a station may leave unanswered before it counts as gone. */
  missedHeartbeats: number;
  helloTimeoutMs: number;
  store: StationStore;
  logger: Logger;
  /** A station event to pass on; `progressOnly` ones may be coalesced for slow dashboards. */
  onEvent: (event: StationEvent, progressOnly: boolean) => void;
  /** A station connected or went away; `refusal` says why it was turned away, if it was. */
  onAgentState: (hello: AgentHello, online: boolean, refusal?: string) => void;
  /** A station handed a job's titles to the transcode queue (`job_id` is the hub's); told once per hand-off. */
  onTranscodeRequest: (request: TranscodeRequest) => void;
  /** A worker's report on a transcode task it holds. */
  onTaskReport: (agentId: string, report: TaskReport) => void;
  onSourceUnavailable: (agentId: string, message: SourceUnavailable) => void;
}

interface Connection {
  socket: WebSocket;
  hello: AgentHello;
  /** The link version agreed with this station. */
  protocol: number;
  /** How this connection's sequence and job numbers map to the hub's. */
  numbering: Numbering;
}

interface PendingCommand {
  agentId: string;
  resolve: (result: CommandResult) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class AgentUnavailableError extends Error {}
export class CommandTimeoutError extends Error {}

export class AgentServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private readonly connections = new Map<string, Connection>();
  private readonly pending = new Map<string, PendingCommand>();
  private stopHeartbeat: (() => void) | undefined;

  constructor(private readonly options: AgentServerOptions) {}

  start(): void {
    this.wss.on('connection', (socket: WebSocket, request: IncomingMessage, identity: StationIdentity) => this.onConnection(socket, request, identity));
    this.stopHeartbeat = startHeartbeat(this.wss, this.options.heartbeatMs, this.options.missedHeartbeats, (socket) => {
      const agent = [...this.connections.values()].find((c) => c.socket === socket)?.hello.agent_id;
      this.options.logger.warn({ agent, missed: this.options.missedHeartbeats }, 'A station stopped answering heartbeats; marking it offline');
    });
    // Acknowledge only what is committed: the agent deletes acknowledged events from its outbox.
    this.options.store.onCommit((agents) => {
      for (const [agentId, seq] of agents) {
        const connection = this.connections.get(agentId);
        const agentSeq = connection ? seq - connection.numbering.seqOffset : 0;
        if (connection && agentSeq > 0) connection.socket.send(JSON.stringify({ kind: 'ack', seq: agentSeq } satisfies HubMessage));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopHeartbeat?.();
    for (const id of [...this.pending.keys()]) this.settlePending(id, new AgentUnavailableError('The hub is shutting down'));
    for (const socket of this.wss.clients) socket.close(1001, 'Hub is shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  get onlineCount(): number {
    return this.connections.size;
  }

  isOnline(agentId: string): boolean {
    return this.connections.has(agentId);
  }

  /** Connected stations that take transcode tasks: a link that knows them, and slots. */
  farmStations(): { agentId: string; slots: number; library: boolean }[] {
    return [...this.connections.values()]
      .filter((connection) => connection.protocol >= FARM_LINK_PROTOCOL && (connection.hello.transcode_slots ?? 0) > 0)
      .map(({ hello }) => ({ agentId: hello.agent_id, slots: hello.transcode_slots ?? 0, library: hello.library === true }));
  }

  /** Sends a message to a connected station; false when it is not connected. */
  sendToStation(agentId: string, message: HubMessage): boolean {
    const connection = this.connections.get(agentId);
    if (!connection || connection.socket.readyState !== connection.socket.OPEN) return false;
    connection.socket.send(JSON.stringify(message));
    return true;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const identity = this.options.registry.verify(bearerToken(request));
    if (!identity) {
      this.options.logger.warn({ peer: request.socket.remoteAddress }, 'Refused a station with a missing, wrong or revoked token');
      refuseUpgrade(socket, 401, 'A valid station token is required');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request, identity));
  }

  /** Disconnects, at once, every station whose token has been revoked. */
  disconnectRevoked(): void {
    const revoked = this.options.registry.revoked();
    for (const [agentId, connection] of this.connections) {
      if (!revoked.has(agentId)) continue;
      this.options.logger.warn({ agent: agentId }, 'Disconnecting a station whose token was revoked');
      closeFirmly(connection.socket, LinkCloseCode.Revoked, 'This station\'s token was revoked');
    }
  }

  /**
   * Sends a command to an agent and waits for its answer. Rejects with AgentUnavailableError when the station is
   * offline or goes offline before answering, and with CommandTimeoutError when it does not answer in time.
   */
  sendCommand(agentId: string, command: StationCommand, timeoutMs = 10_000): Promise<CommandResult> {
    const connection = this.connections.get(agentId);
    if (!connection) return Promise.reject(new AgentUnavailableError(`Station ${agentId} is offline`));
    const id = randomUUID();
    // Job numbers go back into the agent's own numbering.
    const forAgent = 'job_id' in command ? { ...command, job_id: command.job_id - connection.numbering.jobOffset } : command;
    const message: HubMessage = { kind: 'command', id, expires_at: Date.now() + timeoutMs, command: forAgent };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settlePending(id, new CommandTimeoutError('The station did not answer in time')), timeoutMs);
      this.pending.set(id, { agentId, resolve, reject, timer });
      connection.socket.send(JSON.stringify(message));
    });
  }

  private settlePending(id: string, outcome: CommandResult | Error): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(id);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  private onConnection(socket: WebSocket, request: IncomingMessage, identity: StationIdentity): void {
    trackHeartbeat(socket);
    const peer = request.socket.remoteAddress;
    const log = this.options.logger.child({ peer });
    let connection: Connection | undefined;
    const rate = new TokenBucket(this.options.maxMessagesPerSecond, this.options.maxMessagesPerSecond * 10);
    const helloTimer = setTimeout(() => {
      log.warn('An agent connected but sent no hello; closing');
      closeFirmly(socket, LinkCloseCode.BadHello, 'Expected hello');
    }, this.options.helloTimeoutMs);

    socket.on('message', (data, isBinary) => {
      // A socket the hub is closing says nothing more that counts.
      if (socket.readyState !== socket.OPEN) return;
      if (!rate.take()) {
        log.warn({ agent: connection?.hello.agent_id }, 'Closing a station that sends more messages than allowed');
        closeFirmly(socket, 1008, 'Too many messages');
        return;
      }
      const decoded = decodeMessage(AgentMessage, isBinary ? '' : data.toString());
      if (!decoded.ok) {
        log.warn({ agent: connection?.hello.agent_id, reason: decoded.error }, 'Closing an agent that sent an invalid message');
        closeFirmly(socket, connection ? LinkCloseCode.BadMessage : LinkCloseCode.BadHello, decoded.error.slice(0, 120));
        return;
      }
      const message = decoded.value;
      if (!connection) {
        if (message.kind !== 'hello') {
          closeFirmly(socket, LinkCloseCode.BadHello, 'Expected hello');
          return;
        }
        clearTimeout(helloTimer);
        if (identity.shared && this.options.registry.isRegistered(message.agent_id)) {
          // The shared token must not speak for a station that has a token of its own, revoked or not.
          log.warn({ claimed: message.agent_id }, 'Closing a shared-token connection that claims a registered station');
          closeFirmly(socket, LinkCloseCode.WrongStation, 'This station has a token of its own; use it');
          return;
        }
        if (!identity.shared && message.agent_id !== identity.agentId) {
          log.warn({ token: identity.agentId, claimed: message.agent_id }, 'Closing a station that claims another station\'s id');
          closeFirmly(socket, LinkCloseCode.WrongStation, `This token belongs to station ${identity.agentId}`.slice(0, 120));
          return;
        }
        connection = this.accept(socket, message, log);
        return;
      }
      const agentId = connection.hello.agent_id;
      switch (message.kind) {
        case 'hello':
          closeFirmly(socket, LinkCloseCode.BadMessage, 'hello was already received');
          return;
        case 'event':
          this.applyEvents(connection, [message], log);
          return;
        case 'events':
          // A replay: written and acknowledged at once, in one transaction with the batches that came with it.
          if (this.applyEvents(connection, message.events, log)) this.options.store.flushSoon();
          return;
        case 'progress': {
          const { seqOffset, jobOffset } = connection.numbering;
          const event = this.options.store.applyProgress(agentId, {
            ...message, after_seq: message.after_seq + seqOffset, event: { ...message.event, job_id: message.event.job_id + jobOffset },
          });
          if (event) this.options.onEvent(event, true);
          return;
        }
        case 'command_result':
          if (this.pending.get(message.id)?.agentId === agentId) this.settlePending(message.id, message);
          return;
        case 'task_report':
        case 'source_unavailable':
          try {
            if (message.kind === 'task_report') this.options.onTaskReport(agentId, message);
            else this.options.onSourceUnavailable(agentId, message);
          } catch (error) {
            // The station says it again after its next reconnect; the hub goes on.
            log.error({ agent: agentId, task: message.task_id, err: error }, `Could not take a transcode report (${(error as Error).message})`);
          }
          return;
      }
    });

    socket.on('close', (code, reason) => {
      clearTimeout(helloTimer);
      if (connection && this.connections.get(connection.hello.agent_id) === connection) {
        this.connections.delete(connection.hello.agent_id);
        this.options.store.touchAgent(connection.hello.agent_id, Date.now());
        log.info({ agent: connection.hello.agent_id, code, reason: reason.toString() }, 'Agent disconnected');
        const agentId = connection.hello.agent_id;
        for (const [id, pending] of this.pending) {
          if (pending.agentId === agentId) this.settlePending(id, new AgentUnavailableError(`Station ${agentId} went offline before answering`));
        }
        this.options.onAgentState(connection.hello, false);
      }
    });
    socket.on('error', (error) => log.warn({ err: error.message }, 'Agent socket error'));
  }

  /** Applies events in order; false when one could not be stored and the link was closed (the agent replays it). */
  private applyEvents(connection: Connection, events: readonly Omit<AgentEvent, 'kind'>[], log: Logger): boolean {
    const agentId = connection.hello.agent_id;
    const { seqOffset, jobOffset } = connection.numbering;
    for (const envelope of events) {
      if (envelope.event.agent_id !== agentId) {
        log.warn({ agent: agentId, claimed: envelope.event.agent_id }, 'A station sent an event under another station id; using its own');
      }
      const seq = envelope.seq + seqOffset;
      if (envelope.event.type === 'transcode_request') {
        if (seq <= this.options.store.lastSeq(agentId)) continue;
        const jobId = this.options.store.hubJobIdOf(agentId, envelope.event.job_id + jobOffset);
        try {
          if (jobId === undefined) log.warn({ agent: agentId, job: envelope.event.job_id }, 'A station handed over the titles of a job the hub does not know; ignoring them');
          else this.options.onTranscodeRequest({ ...envelope.event, agent_id: agentId, job_id: jobId });
        } catch (error) {
          // Not marked applied: the station keeps it in its outbox and sends it again on the next link.
          log.error({ agent: agentId, err: error }, `Could not queue a station's ripped titles for transcoding (${(error as Error).message}); closing its link so that it sends them again`);
          closeFirmly(connection.socket, 1011, 'The hub could not store a hand-off; send it again');
          return false;
        }
        this.options.store.acceptSeq(agentId, seq);
        continue;
      }
      const event = 'job_id' in envelope.event ? { ...envelope.event, job_id: envelope.event.job_id + jobOffset } : envelope.event;
      const applied = this.options.store.apply(agentId, { seq, at: envelope.at, event });
      if (applied) this.options.onEvent(applied, false);
    }
    return true;
  }

  private accept(socket: WebSocket, hello: AgentHello, log: Logger): Connection | undefined {
    const protocol = Math.min(hello.protocol.max, LINK_PROTOCOL.max);
    if (protocol < Math.max(hello.protocol.min, LINK_PROTOCOL.min)) {
      const reason = `Protocol mismatch: the hub speaks ${LINK_PROTOCOL.min}-${LINK_PROTOCOL.max}, ` +
        `the agent ${hello.protocol.min}-${hello.protocol.max}; upgrade the older side`;
      log.error({ agent: hello.agent_id }, reason);
      closeFirmly(socket, LinkCloseCode.ProtocolMismatch, reason.slice(0, 120));
      this.options.onAgentState(hello, false, reason);
      return undefined;
    }
    const previous = this.connections.get(hello.agent_id);
    if (previous) {
      log.warn({ agent: hello.agent_id }, 'A station connected again; closing its older connection');
      closeFirmly(previous.socket, LinkCloseCode.Replaced, 'Replaced by a newer connection');
    }
    const numbering = this.options.store.registerAgent(hello, Date.now());
    const connection = { socket, hello, protocol, numbering };
    this.connections.set(hello.agent_id, connection);
    const { store } = this.options;
    const welcome: HubMessage = {
      kind: 'welcome', server: this.options.serverName, version: this.options.version, protocol,
      last_seq: Math.max(0, store.committedSeq(hello.agent_id) - numbering.seqOffset),
      last_job_id: Math.max(0, store.lastAgentJobId(hello.agent_id) - numbering.jobOffset),
    };
    socket.send(JSON.stringify(welcome));
    log.info({ agent: hello.agent_id, name: hello.name, version: hello.version, drives: hello.drives.length }, 'Agent connected');
    this.options.onAgentState(hello, true);
    return connection;
  }
}
