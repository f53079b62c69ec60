// The agent↔hub link: station events and commands wrapped in one small envelope, told apart by `kind`.
// The agent speaks first with `hello`; the hub answers `welcome` or closes with a LinkCloseCode and a reason.
import { z } from 'zod';
import { AgentId, Bytes, DriveId, EpochMs, HumanMessage, JobId, Label, Percent, Seconds, Seq, SpeedMultiple, TitleId } from './fields.js';
import { JobUpdate, StationEvent, TitleUpdate, WaitingImages } from './events.js';
import { DiscType, ErrorCode } from './states.js';

export const TaskId = z.number().int().positive();
/** A file's SHA-256, lower-case hex: what a file sent through the hub is checked against at the other end. */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
export const LeaseId = z.string().min(1).max(64);

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
  /** Transcodes the station runs at once (DISCBRIDGE_TRANSCODE_SLOTS); absent or 0: it is leased none. */
  transcode_slots: z.number().int().nonnegative().max(64).optional(),
  /** Whether the station has the shared library mounted (DISCBRIDGE_LIBRARY_DIR): only then may it take tasks in it. */
  library: z.boolean().optional(),
  /** The transcode leases the station holds: any other lease the hub thinks it holds was lost on the way. */
  tasks: z.array(z.object({ task_id: TaskId, lease_id: LeaseId })).max(64).optional(),
});
export type AgentHello = z.infer<typeof AgentHello>;

/**
 * Where a task's paths are relative to: the shared library (every station that mounts it can reach them) or the
 * ripping station's own output folder (only that station can).
 */
export const TaskRoot = z.enum(['library', 'output']);
export type TaskRoot = z.infer<typeof TaskRoot>;

/** A path relative to a task's root, '/'-separated: never absolute, never climbing out. */
const RelativePath = z.string().min(1).max(1024).refine((path) => !path.startsWith('/') && !/^[A-Za-z]:/.test(path) && !path.split(/[/\\]/).includes('..'), 'a path inside the folder');

/** How a ripped title is to be transcoded, as its station chose: said in its hand-off and in each task's offer. */
const TranscodeChoice = {
  /** The ripping station's DISCBRIDGE_TRANSCODE profile. */
  profile: z.string().min(1).max(64),
  /** Keep the rip once its transcode is in place (the ripping station's DISCBRIDGE_KEEP_RIP). */
  keep_rip: z.boolean(),
  root: TaskRoot,
};

/** One title's files, relative to the root, and its length (for progress). */
const TitleFiles = {
  source: RelativePath,
  output: RelativePath,
  duration_seconds: Seconds,
};

/**
 * A job's ripped titles handed to the hub's transcode queue: sequenced like every station event, so each title
 * becomes one task however often it is replayed. The job then stays `transcoding` until the hub ends it.
 */
export const TranscodeRequest = z.object({
  type: z.literal('transcode_request'),
  agent_id: AgentId,
  job_id: JobId,
  ...TranscodeChoice,
  titles: z.array(z.object({ title_id: TitleId, ...TitleFiles })).min(1).max(1000),
});
export type TranscodeRequest = z.infer<typeof TranscodeRequest>;

/** What an agent's outbox carries: the station events, and its hand-offs to the transcode queue. */
export const LinkEvent = z.discriminatedUnion('type', [...StationEvent.options, TranscodeRequest]);
export type LinkEvent = z.infer<typeof LinkEvent>;

const SequencedEvent = {
  /** Dense per agent: 1, 2, 3…, kept in the agent's outbox until the hub acknowledges it. */
  seq: z.number().int().positive(),
  /** The agent's clock when it happened (epoch ms). */
  at: EpochMs,
  event: LinkEvent,
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

/**
 * A worker's word on a task it holds, under its lease. `running` reports progress (and keeps the lease alive);
 * `finished` asks to deliver a checked result, which the worker puts in place only once the hub says yes, and then
 * says `delivered` (the title completes only then, so a completed title's file is there); `failed` gives the task
 * back. Not sequenced: the worker keeps each task in its own journal and says it again after a
 * reconnect until the hub answers, and the hub's answer to a repeated word is the same.
 */
export const TaskReport = z.object({
  kind: z.literal('task_report'),
  task_id: TaskId,
  lease_id: LeaseId,
  /** declined: not taken at all (the station is shutting down, or has no free slot): queued again, no attempt counted. */
  status: z.enum(['running', 'finished', 'delivered', 'failed', 'declined']),
  progress_percent: Percent.optional(),
  current_speed: SpeedMultiple.optional(),
  eta_seconds: Seconds.optional(),
  /** `finished`, `delivered`: the size of the checked result. */
  size_bytes: Bytes.optional(),
  /** `failed`: why, for people, and for machines. */
  error: HumanMessage.optional(),
  error_code: ErrorCode.optional(),
});
export type TaskReport = z.infer<typeof TaskReport>;

/**
 * The ripping station cannot send a task's rip to the hub (it is gone from its output folder): the task fails for
 * good with this reason, since no station can get it.
 */
export const SourceUnavailable = z.object({
  kind: z.literal('source_unavailable'),
  task_id: TaskId,
  error: HumanMessage,
});
export type SourceUnavailable = z.infer<typeof SourceUnavailable>;

export const AgentMessage = z.discriminatedUnion('kind', [AgentHello, AgentEvent, AgentEventBatch, AgentProgress, CommandResult, TaskReport, SourceUnavailable]);
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

/** A transcode task leased to the station until it stops reporting for `lease_seconds`. */
export const TaskOffer = z.object({
  kind: z.literal('task_offer'),
  task_id: TaskId,
  lease_id: LeaseId,
  /** The station that ripped the title: with root `output`, the paths are in its output folder (the station itself). */
  agent_id: AgentId,
  ...TranscodeChoice,
  ...TitleFiles,
  lease_seconds: z.number().int().positive(),
  /**
   * The worker cannot reach the files (a rip in another station's output folder, or a library it does not mount): it
   * fetches the rip from the hub (`GET /api/farm/tasks/:id/source`), checks it against these, and uploads the result
   * there in turn.
   */
  streamed: z.object({ source_sha256: Sha256, source_bytes: Bytes }).optional(),
});
export type TaskOffer = z.infer<typeof TaskOffer>;

/**
 * To the ripping station: a station that cannot reach the task's files has a free slot, so send the rip (`source`,
 * relative to `root` on this station) to the hub (`PUT /api/farm/tasks/:id/source`), where workers fetch it.
 */
export const SourceWanted = z.object({
  kind: z.literal('source_wanted'),
  task_id: TaskId,
  root: TaskRoot,
  source: RelativePath,
});
export type SourceWanted = z.infer<typeof SourceWanted>;

/**
 * To the ripping station: the task's result, transcoded elsewhere under `lease_id`, is at the hub. The station fetches
 * it (`GET /api/farm/tasks/:id/result`), checks it, puts it in place at `output` (removing the rip unless `keep_rip`)
 * and then says `delivered` under that lease. Said again at each reconnect, and every 30 s, until it has.
 */
export const ResultReady = z.object({
  kind: z.literal('result_ready'),
  task_id: TaskId,
  lease_id: LeaseId,
  root: TaskRoot,
  ...TitleFiles,
  keep_rip: z.boolean(),
  sha256: Sha256,
  size_bytes: Bytes,
});
export type ResultReady = z.infer<typeof ResultReady>;

/**
 * The hub's answer under a lease: `accepted` to a finished or failed report (the result may go in place; the failure
 * is recorded); not accepted when the lease is no longer the task's (it ran out and was given away, or the task was
 * cancelled): the worker stops and discards what it made.
 */
export const TaskVerdict = z.object({
  kind: z.literal('task_verdict'),
  task_id: TaskId,
  lease_id: LeaseId,
  accepted: z.boolean(),
  reason: HumanMessage.optional(),
});
export type TaskVerdict = z.infer<typeof TaskVerdict>;

export const HubMessage = z.discriminatedUnion('kind', [Welcome, HubCommand, Ack, TaskOffer, TaskVerdict, SourceWanted, ResultReady]);
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

/**
 * Files of streamed transcode tasks, over plain HTTP at the hub, under a station's token (with the shared token, the
 * station names itself in STATION_HEADER): `${TASK_FILES_PATH}/<task>/source` and `.../result`. An upload is a PUT
 * with `Content-Range: bytes <from>-<last>/<total>` and the whole file's SHA-256 in SHA256_HEADER; the hub appends
 * what arrives, so after a cut the sender asks (HEAD) how much is there (OFFSET_HEADER) and goes on from it. The hub
 * takes the file only when it is whole and its hash matches. A download is a GET, resumed with `Range: bytes=<from>-`.
 */
export const TASK_FILES_PATH = '/api/farm/tasks';
export const OFFSET_HEADER = 'upload-offset';
export const SHA256_HEADER = 'x-content-sha256';
export const STATION_HEADER = 'x-discbridge-station';
