// The agent↔hub link: station events and commands wrapped in one small envelope, told apart by `kind`.
// The agent speaks first with `hello`; the hub answers `welcome` or closes with a LinkCloseCode and a reason.
import { z } from 'zod';
import { AgentId, DriveId, EpochMs, HumanMessage, JobId, Label, Seq } from './fields.js';
import { JobUpdate, StationEvent, TitleUpdate, WaitingImages } from './events.js';
import { DiscType } from './states.js';

export const ProtocolRange = z.object({ min: z.number().int().positive(), max: z.number().int().positive() });

export const DriveSnapshot = z.object({
  drive_id: DriveId,
  has_disc: z.boolean(),
  volume_label: Label.optional(),
  disc_type: DiscType.optional(),
  busy: z.boolean(),
  ...WaitingImages,
});
export type DriveSnapshot = z.infer<typeof DriveSnapshot>;

export const AgentHello = z.object({
  kind: z.literal('hello'),
  agent_id: AgentId,
  name: Label,
  version: z.string().max(64),
  protocol: ProtocolRange,
  drives: z.array(DriveSnapshot).max(64),
  /** The newest sequence number the agent has given an event (0 for none). */
  last_seq: Seq.optional(),
  /**
   * Made once per installation: a station whose data folder was wiped comes back with a new one, and the hub then
   * numbers its events and jobs after the old ones. Agents always send it; without it the hub keeps the numbering.
   */
  instance: z.string().min(1).max(64).optional(),
  /** Events in the agent's outbox not yet acknowledged when it said hello: how far behind the hub it is. */
  outbox_events: z.number().int().nonnegative().optional(),
});
export type AgentHello = z.infer<typeof AgentHello>;

const SequencedEvent = {
  /** Dense per agent: 1, 2, 3…, kept in the agent's outbox until the hub acknowledges it. */
  seq: z.number().int().positive(),
  /** The agent's clock when it happened (epoch ms). */
  at: EpochMs,
  event: StationEvent,
};

/** A state-changing station event: written to the agent's outbox before it is sent, replayed until acknowledged. */
export const AgentEvent = z.object({ kind: z.literal('event'), ...SequencedEvent });
export type AgentEvent = z.infer<typeof AgentEvent>;

/** Replayed events, in order; the hub applies a batch in one transaction. */
export const AgentEventBatch = z.object({
  kind: z.literal('events'),
  events: z.array(z.object(SequencedEvent)).min(1).max(1000),
});
export type AgentEventBatch = z.infer<typeof AgentEventBatch>;

/**
 * A progress-only update (speed, ETA, percentages): latest wins, so it has no sequence number of its own. It came
 * after event `after_seq`; a hub that has applied a later event drops it as stale.
 */
export const AgentProgress = z.object({
  kind: z.literal('progress'),
  after_seq: Seq,
  at: EpochMs,
  event: z.discriminatedUnion('type', [JobUpdate, TitleUpdate]),
});
export type AgentProgress = z.infer<typeof AgentProgress>;

export const CommandResult = z.object({
  kind: z.literal('command_result'),
  id: z.string().min(1).max(64),
  ok: z.boolean(),
  error: HumanMessage.optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

export const AgentMessage = z.discriminatedUnion('kind', [AgentHello, AgentEvent, AgentEventBatch, AgentProgress, CommandResult]);
export type AgentMessage = z.infer<typeof AgentMessage>;

export const Welcome = z.object({
  kind: z.literal('welcome'),
  server: Label,
  version: z.string().max(64),
  protocol: z.number().int().positive(),
  /** The newest event of this agent the hub has stored: the agent replays what comes after. */
  last_seq: Seq,
  /** The highest job number of this agent the hub knows, so an agent whose data was wiped never reuses one. */
  last_job_id: JobId,
});
export type Welcome = z.infer<typeof Welcome>;

/** Everything up to `seq` is stored at the hub: the agent may drop it from its outbox. */
export const Ack = z.object({ kind: z.literal('ack'), seq: Seq });
export type Ack = z.infer<typeof Ack>;

export const TitleSelection = z.array(z.number().int().nonnegative()).max(1000);

export const StationCommand = z.discriminatedUnion('name', [
  z.object({ name: z.literal('cancel'), job_id: JobId }),
  z.object({ name: z.literal('eject'), drive_id: DriveId }),
  /** Rip the disc in the drive now: a job that is `ready`, or a new one; `titles` replaces the selection. */
  z.object({ name: z.literal('rip'), drive_id: DriveId, titles: TitleSelection.optional() }),
  /** Read the disc's titles again, without ripping: the new job waits in `ready`. */
  z.object({ name: z.literal('rescan'), drive_id: DriveId }),
  /** Change which titles a job rips; titles already started keep their course. */
  z.object({ name: z.literal('select_titles'), job_id: JobId, titles: TitleSelection }),
]);
export type StationCommand = z.infer<typeof StationCommand>;

/** A command from the hub. It runs at most once and never after `expires_at` (epoch ms). */
export const HubCommand = z.object({
  kind: z.literal('command'),
  id: z.string().min(1).max(64),
  expires_at: EpochMs,
  command: StationCommand,
});
export type HubCommand = z.infer<typeof HubCommand>;

export const HubMessage = z.discriminatedUnion('kind', [Welcome, HubCommand, Ack]);
export type HubMessage = z.infer<typeof HubMessage>;

/** WebSocket close codes of the link (4000–4999 is the range RFC 6455 leaves to applications). */
export const LinkCloseCode = {
  ProtocolMismatch: 4001,
  BadHello: 4002,
  Replaced: 4003,
  BadMessage: 4004,
  Revoked: 4005,
  WrongStation: 4006,
} as const;

export const LINK_PATH = '/agent';
