// The dashboard socket at /ws. The hub sends a hello, then station events and agent status as they happen. A client
// that never sends anything speaks protocol 2 and gets every event with the hub's revision; one that sends a
// protocol-3 request (subscribe, command, ping, snapshot) speaks protocol 3 from then on: it gets its topics' events,
// each with its station's own revision, and replies to what it asked.
import { z } from 'zod';
import { AgentId, DriveId, HumanMessage, JobId, Label, Revision } from './fields.js';
import { StationEvent, DriveEvent, JobLog, TitlesDiscovered, TitleUpdate, JobUpdate } from './events.js';
import { TitleSelection } from './link.js';
import { AgentRecord, DriveRecord, JobDetail, JobPage, TranscodeTaskRecord } from './records.js';
import { AgentState } from './states.js';
import { MAX_TOPICS } from './topics.js';

export const DashboardHello = z.object({
  type: z.literal('hello'),
  server: Label,
  version: z.string().max(64),
  protocol: z.number().int().positive(),
  /** Every protocol this hub speaks: a client speaks the newest it knows by sending one of its requests. */
  protocols: z.array(z.number().int().positive()).max(16),
  /** The hub's revision now: the next state change a protocol-2 client sees has rev + 1. */
  rev: Revision,
  /** Each station's revision now: in protocol 3 the next event of a station has its revision + 1. */
  revisions: z.record(AgentId, Revision),
});
export type DashboardHello = z.infer<typeof DashboardHello>;

export const AgentUpdate = z.object({
  type: z.literal('agent_update'),
  agent_id: AgentId,
  state: AgentState,
  name: Label.optional(),
  version: z.string().max(64).optional(),
  /** Why the station is not connected, when it was refused (wrong protocol version). */
  error: HumanMessage.optional(),
  rev: Revision.optional(),
});
export type AgentUpdate = z.infer<typeof AgentUpdate>;

export const ErrorMessage = z.object({
  type: z.literal('error'),
  message: HumanMessage,
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

// ---- Protocol 3: what a client asks, and what it is answered

const TopicNames = z.array(z.string().max(400)).min(1).max(MAX_TOPICS);
const RequestId = z.string().min(1).max(64);

export const Subscribe = z.object({
  type: z.literal('subscribe'),
  topics: TopicNames,
  /** The least time between two progress updates of one job or title for this client; state changes come at once. */
  progress_interval_ms: z.number().int().min(0).max(60_000).optional(),
}).strict();
export const Unsubscribe = z.object({ type: z.literal('unsubscribe'), topics: TopicNames }).strict();
export const Ping = z.object({ type: z.literal('ping') }).strict();
export const SnapshotRequest = z.object({ type: z.literal('snapshot') }).strict();
/** A command with the fields of its REST route: a drive's `agent_id` and `drive_id`, or a `job_id`; `titles` to choose. */
export const DashboardCommand = z.object({
  type: z.literal('command'),
  id: RequestId,
  command: z.enum(['cancel', 'eject', 'rip', 'rescan', 'select_titles']),
  agent_id: AgentId.optional(),
  drive_id: DriveId.optional(),
  job_id: JobId.optional(),
  titles: TitleSelection.optional(),
}).strict();
export type DashboardCommand = z.infer<typeof DashboardCommand>;

export const DashboardRequest = z.discriminatedUnion('type', [Subscribe, Unsubscribe, Ping, SnapshotRequest, DashboardCommand]);
export type DashboardRequest = z.infer<typeof DashboardRequest>;

export const Subscribed = z.object({ type: z.literal('subscribed'), topics: z.array(z.string()).max(MAX_TOPICS) });
export const Unsubscribed = z.object({ type: z.literal('unsubscribed'), topics: z.array(z.string()).max(MAX_TOPICS) });
export const Pong = z.object({ type: z.literal('pong') });
/** The answer to a command: `result` when it was done, else `error`, a short sentence for people. */
export const Reply = z.object({
  type: z.literal('reply'),
  id: RequestId,
  result: z.object({ ok: z.literal(true) }).optional(),
  error: HumanMessage.optional(),
});
export type Reply = z.infer<typeof Reply>;

/** Everything a first render needs, in one answer: `GET /api/snapshot` and `{"type":"snapshot"}` on the socket. */
export const SnapshotFields = z.object({
  agents: z.array(AgentRecord),
  drives: z.array(DriveRecord),
  /** The jobs not finished yet, each with its titles. */
  running: z.array(JobDetail),
  /** The first page of the history (newest jobs first). */
  history: JobPage,
  /** The hub's revision the answer reflects (protocol 2's numbering). */
  rev: Revision,
  /** Each station's revision the answer reflects: its events with a higher one come after it. */
  revisions: z.record(AgentId, Revision),
});
export type SnapshotFields = z.infer<typeof SnapshotFields>;
export const Snapshot = SnapshotFields.extend({ type: z.literal('snapshot') });
export type Snapshot = z.infer<typeof Snapshot>;

/** A task of the transcode queue changed: queued, leased, progress, done, failed, cancelled, moved up. */
export const TaskUpdate = TranscodeTaskRecord.extend({ type: z.literal('task_update'), rev: Revision.optional() });
export type TaskUpdate = z.infer<typeof TaskUpdate>;

export const DashboardMessage = z.discriminatedUnion('type', [
  DashboardHello, AgentUpdate, ErrorMessage, DriveEvent, TitlesDiscovered, TitleUpdate, JobUpdate, JobLog, TaskUpdate,
  Subscribed, Unsubscribed, Pong, Snapshot, Reply,
]);
export type DashboardMessage = z.infer<typeof DashboardMessage>;
export type { StationEvent };

export const DASHBOARD_PATH = '/ws';
