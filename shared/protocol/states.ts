// The lower-case state vocabularies every message uses. Values are the wire strings themselves,
// so a dashboard never sees an enum member name or a number.
import { z } from 'zod';

export const JobState = z.enum([
  'identifying',
  /** Titles are known and the job waits for "rip now" (DISCBRIDGE_AUTO_RIP=false, or after a rescan). */
  'ready',
  'ripping',
  'transcoding',
  'completed',
  'failed',
  'cancelled',
  /** The station stopped (crash, reboot, power) while the job ran; the job's error_message says so. */
  'interrupted',
]);
export type JobState = z.infer<typeof JobState>;

export const TitleState = z.enum([
  'pending',
  'ripping',
  'transcoding',
  'completed',
  'failed',
  'skipped',
  'cancelled',
  'interrupted',
]);
export type TitleState = z.infer<typeof TitleState>;

/**
 * A transcode task in the hub's queue: waiting; leased to a station that runs it; done once, by exactly one lease;
 * failed after its last attempt; cancelled by a person.
 */
export const TranscodeTaskState = z.enum(['queued', 'transcoding', 'done', 'failed', 'cancelled']);
export type TranscodeTaskState = z.infer<typeof TranscodeTaskState>;

/**
 * Why a job or title ended badly, for machines (notifications, metrics): `error_message` says it for people.
 * stalled: the watchdog stopped work that made no progress; disc_removed: taken out mid-job; output_full: no room
 * left; tool_missing: a backend is not installed; unreadable: the disc could not be read (whole).
 */
export const ErrorCode = z.enum(['stalled', 'disc_removed', 'output_full', 'tool_missing', 'unreadable']);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const DiscType = z.enum(['dvd', 'bluray', 'cd', 'data', 'unknown']);
export type DiscType = z.infer<typeof DiscType>;

export const AgentState = z.enum(['online', 'offline']);
export type AgentState = z.infer<typeof AgentState>;

/** Job states after which nothing about the job changes any more. */
export const FINISHED_JOB_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled', 'interrupted']);
