// The REST API's records: the hub's current view of agents, drives, jobs and titles.
// Job and title records reuse the event field sets, so a field has one name and one type everywhere.
import { z } from 'zod';
import { AgentId, DriveId, HumanMessage, JobId, Label, Percent, TitleId } from './fields.js';
import { JobFields, TitleFields, DiscoveredTitle, LogLine, WaitingImages } from './events.js';
import { TitleSelection } from './link.js';
import { AgentState, DiscType, TranscodeTaskState } from './states.js';

const IsoTime = z.iso.datetime();

export const AgentRecord = z.object({
  agent_id: AgentId,
  name: Label,
  version: z.string().max(64),
  state: AgentState,
  last_seen: IsoTime,
});
export type AgentRecord = z.infer<typeof AgentRecord>;

export const DriveRecord = z.object({
  agent_id: AgentId,
  drive_id: DriveId,
  has_disc: z.boolean(),
  volume_label: Label.optional(),
  disc_type: DiscType.optional(),
  /** The job running on this drive, if any. */
  job_id: JobId.optional(),
  /** The job that last ended on this drive, while its disc is still in: what became of the disc. */
  last_job_id: JobId.optional(),
  ...WaitingImages,
  /** false when the drive's station is offline: what we know of it may be stale. */
  reachable: z.boolean(),
});
export type DriveRecord = z.infer<typeof DriveRecord>;

export const TitleRecord = TitleFields.omit({ agent_id: true, job_id: true }).extend({
  selected: z.boolean(),
  chapters: DiscoveredTitle.shape.chapters,
  name: DiscoveredTitle.shape.name,
  source_file: DiscoveredTitle.shape.source_file,
  streams: DiscoveredTitle.shape.streams,
});
export type TitleRecord = z.infer<typeof TitleRecord>;

export const JobRecord = JobFields.extend({
  started_at: IsoTime,
  updated_at: IsoTime,
  finished_at: IsoTime.optional(),
  /** false while the job is unfinished and its station is offline: its state may no longer be the truth. */
  reachable: z.boolean(),
});
export type JobRecord = z.infer<typeof JobRecord>;

export const JobDetail = JobRecord.extend({ titles: z.array(TitleRecord) });
export type JobDetail = z.infer<typeof JobDetail>;

export const JobPage = z.object({
  jobs: z.array(JobRecord),
  /** Pass as `before` to get the next (older) page; absent on the last page. */
  next_before: JobId.optional(),
});
export type JobPage = z.infer<typeof JobPage>;

/** A task of the hub's transcode queue: one ripped title, transcoded by whichever station has a free slot. */
export const TranscodeTaskRecord = z.object({
  task_id: z.number().int().positive(),
  /** The station that ripped the title, and the title's job there. */
  agent_id: AgentId,
  job_id: JobId,
  title_id: TitleId,
  /** DISCBRIDGE_TRANSCODE of the ripping station: h264, h265, h264-aac. */
  profile: z.string().max(64),
  /** The rip and the result, relative to the library the stations share, or to the ripping station's output folder. */
  source: z.string().max(4096),
  output: z.string().max(4096),
  state: TranscodeTaskState,
  /** Higher goes first; equal priorities go oldest first. */
  priority: z.number().int(),
  /** Attempts that failed so far (3 fail the task). */
  attempts: z.number().int().nonnegative(),
  /** The station running it, while it is transcoding, and until when its lease holds without a report. */
  leased_to: AgentId.optional(),
  lease_expires_at: IsoTime.optional(),
  progress_percent: Percent.optional(),
  /** The station that delivered the result, once done. */
  transcoded_by: AgentId.optional(),
  /** Its newest lease sends the files through the hub (the station on it cannot reach them); `true` or absent. */
  streamed: z.literal(true).optional(),
  last_error: HumanMessage.optional(),
  created_at: IsoTime,
  updated_at: IsoTime,
  finished_at: IsoTime.optional(),
});
export type TranscodeTaskRecord = z.infer<typeof TranscodeTaskRecord>;

export const TranscodeTaskPage = z.object({ tasks: z.array(TranscodeTaskRecord) });
export type TranscodeTaskPage = z.infer<typeof TranscodeTaskPage>;

export const JobLogPage = z.object({ lines: z.array(LogLine) });
export type JobLogPage = z.infer<typeof JobLogPage>;

/** Body of POST /api/drives/:agent/:drive/rip. */
export const RipBody = z.object({ titles: TitleSelection.optional() }).strict();
/** Body of POST /api/login. */
export const LoginBody = z.object({ password: z.string().min(1).max(1024) }).strict();

/** GET /api/session: what this browser may do. */
export const SessionInfo = z.object({
  signed_in: z.boolean(),
  password_set: z.boolean(),
  can_view: z.boolean(),
  can_change: z.boolean(),
  view_requires_login: z.boolean(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** Body of POST /api/jobs/:id/titles. */
export const SelectTitlesBody = z.object({ selected: TitleSelection }).strict();

export const ApiError = z.object({ error: z.string() });
export type ApiError = z.infer<typeof ApiError>;
