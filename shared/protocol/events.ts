// The four station events (protocol brief: drive_event, titles_discovered, title_update, job_update).
// Agents send them to the hub inside a link envelope; the hub forwards the very same shapes to dashboards.
// Optional fields are present only when they carry a value: a receiver merges, an absent field means "unchanged".
// `rev` is set by the hub on what it sends to dashboards; the hub ignores it from agents.
import { z } from 'zod';
import {
  AgentId, Bytes, DriveId, EpochMs, HumanMessage, JobId, Label, Percent, Revision, Seconds, SpeedMultiple, TitleId,
} from './fields.js';
import { DiscType, ErrorCode, JobState, TitleState } from './states.js';

/** Names of the images waiting for a drive (an import folder), the first 100, and how many there are in all. */
export const WaitingImages = {
  waiting: z.array(Label).max(100).optional(),
  waiting_count: z.number().int().nonnegative().optional(),
};

export const DriveEvent = z.object({
  type: z.literal('drive_event'),
  agent_id: AgentId,
  drive_id: DriveId,
  /** `waiting_changed`: only the images waiting for the drive changed; its disc is as it was. */
  event: z.enum(['inserted', 'removed', 'waiting_changed']),
  volume_label: Label,
  disc_type: DiscType.optional(),
  ...WaitingImages,
  rev: Revision.optional(),
});
export type DriveEvent = z.infer<typeof DriveEvent>;

export const StreamKind = z.enum(['video', 'audio', 'subtitle', 'unknown']);
export type StreamKind = z.infer<typeof StreamKind>;

export const TitleStreamInfo = z.object({
  kind: StreamKind,
  language: z.string().max(16).optional(),
  codec: z.string().max(64).optional(),
});

export const DiscoveredTitle = z.object({
  title_id: TitleId,
  duration_seconds: Seconds,
  chapters: z.number().int().nonnegative(),
  expected_size_bytes: Bytes,
  selected: z.boolean(),
  name: Label.optional(),
  /** Blu-ray playlist or clip the title plays ("00800.mpls"). */
  source_file: z.string().max(256).optional(),
  streams: z.array(TitleStreamInfo).max(256).optional(),
});
export type DiscoveredTitle = z.infer<typeof DiscoveredTitle>;

/** An audio CD's ids, computed from its table of contents: to look it up (MusicBrainz, freedb/CDDB) or tag with. */
export const AudioDiscIds = {
  /** 28 characters of base64 with `.`, `_`, `-` ("TqvKjMu7dMliSfmVEBtrL7sBSno-"). */
  musicbrainz_disc_id: z.string().regex(/^[A-Za-z0-9._-]{28}$/).optional(),
  /** 8 lower-case hex digits ("b60d770f"). */
  freedb_disc_id: z.string().regex(/^[0-9a-f]{8}$/).optional(),
};

export const TitlesDiscovered = z.object({
  type: z.literal('titles_discovered'),
  agent_id: AgentId,
  job_id: JobId,
  titles: z.array(DiscoveredTitle).max(1000),
  content_type: z.enum(['tv', 'movie', 'unknown']).optional(),
  detected_title: Label.optional(),
  ...AudioDiscIds,
  rev: Revision.optional(),
});
export type TitlesDiscovered = z.infer<typeof TitlesDiscovered>;

/** What a job_update may say about a job, shared with the job records of the REST API. */
export const JobFields = z.object({
  agent_id: AgentId,
  job_id: JobId,
  state: JobState,
  drive_id: DriveId.optional(),
  volume_label: Label.optional(),
  disc_type: DiscType.optional(),
  progress_percent: Percent.optional(),
  current_speed: SpeedMultiple.optional(),
  eta_seconds: Seconds.optional(),
  current_title: TitleId.optional(),
  total_titles: z.number().int().nonnegative().optional(),
  error_message: HumanMessage.optional(),
  error_code: ErrorCode.optional(),
  /** Folder of this job's files, relative to the station's output directory. */
  output_dir: z.string().max(1024).optional(),
  /** Bytes read a second, for work measured in bytes (a data disc's image); cleared when the job ends, like the speed. */
  bytes_per_second: Bytes.optional(),
  /** A data disc's image: the SHA-256 of what was read, lower-case hex, on the job's final update once verified. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** A data disc that could not be read whole: how many bytes are missing from its image. */
  unreadable_bytes: Bytes.optional(),
  ...AudioDiscIds,
});

export const JobUpdate = z.object({ type: z.literal('job_update'), ...JobFields.shape, rev: Revision.optional() });
export type JobUpdate = z.infer<typeof JobUpdate>;

/** What a title_update may say about a title, shared with the title records of the REST API. */
export const TitleFields = z.object({
  agent_id: AgentId,
  job_id: JobId,
  title_id: TitleId,
  state: TitleState,
  match_progress: Percent.optional(),
  duration_seconds: Seconds.optional(),
  expected_size_bytes: Bytes.optional(),
  actual_size_bytes: Bytes.optional(),
  output_filename: z.string().max(1024).optional(),
  error: HumanMessage.optional(),
  error_code: ErrorCode.optional(),
  /** The station that transcoded the title (the transcode farm), by its agent id. */
  transcoded_by: AgentId.optional(),
});

export const TitleUpdate = z.object({ type: z.literal('title_update'), ...TitleFields.shape, rev: Revision.optional() });
export type TitleUpdate = z.infer<typeof TitleUpdate>;

export const LogLevel = z.enum(['info', 'warn', 'error']);
export type LogLevel = z.infer<typeof LogLevel>;

export const LogLine = z.object({
  /** Epoch ms, the station's clock. */
  at: EpochMs,
  level: LogLevel,
  text: z.string().max(500),
});
export type LogLine = z.infer<typeof LogLine>;

/** Lines of a job's log, in order, as they are written: what the station did and what its tools said. */
export const JobLog = z.object({
  type: z.literal('job_log'),
  agent_id: AgentId,
  job_id: JobId,
  lines: z.array(LogLine).min(1).max(100),
  rev: Revision.optional(),
});
export type JobLog = z.infer<typeof JobLog>;

export const StationEvent = z.discriminatedUnion('type', [DriveEvent, TitlesDiscovered, TitleUpdate, JobUpdate, JobLog]);
export type StationEvent = z.infer<typeof StationEvent>;
