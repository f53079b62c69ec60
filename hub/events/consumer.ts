// What a consumer of the hub's events is given and must provide: one file per consumer (notifications, metrics,
// MQTT), built from the hub's context and started and stopped with the hub, touching nothing else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { TranscodeTaskState } from '../../shared/index.js';
import type { AccessControl } from '../auth/access.js';
import type { Db } from '../store/database.js';
import type { StationStore } from '../store/station-store.js';
import type { EventBus } from './event-bus.js';

/** The answer to a command sent to a station, as REST gives it: refused with the station's or hub's own sentence. */
export type CommandAnswer = { ok: true } | { ok: false; status: number; error: string };

export interface HubStats {
  stationsConnected: number;
  dashboards: { clients: number; slow: number; dropped: number };
  /** The transcode queue: its tasks in each state, and the tasks each station runs now. */
  transcodes: { tasks: Record<TranscodeTaskState, number>; running: Map<string, number> };
}

export interface HubContext {
  bus: EventBus;
  store: StationStore;
  /** The hub's SQLite file, for a consumer's own tables (declared in hub/store/migrations.ts). */
  db: Db;
  access: AccessControl;
  version: string;
  logger: Logger;
  /** Commands to a station's drives, through the same checks and refusals as REST and the dashboard socket. */
  commands: DriveCommands;
  stats(): HubStats;
}

export type DriveCommandName = 'eject' | 'rip' | 'rescan';

/** What a consumer may ask of a station's drives (hub/commands/station-commands.ts does it for every door). */
export interface DriveCommands {
  drive(agentId: string, driveId: string, name: DriveCommandName): Promise<CommandAnswer>;
}

export interface HubConsumer {
  /** For logs and as its owner name on the bus. */
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** Answers an HTTP request of its own (GET /metrics); resolves false for anything else. */
  handle?(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
}

export type ConsumerFactory = (context: HubContext) => HubConsumer;
