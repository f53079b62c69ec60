// What happened, in the words consumers act on (a disc went in, a job finished and how, the watchdog stepped in, a
// station went offline), read off the hub's events in one place so notifications, metrics and MQTT never each
// interpret raw station events their own way. Pure: no clock, no store.
import type { DiscType, ErrorCode, JobState, TitleState } from '../../shared/index.js';
import { FINISHED_JOB_STATES } from '../../shared/index.js';
import type { HubEvent } from './event-bus.js';

export type Happening =
  | { kind: 'disc_inserted'; agentId: string; driveId: string; volumeLabel: string; discType?: DiscType | undefined }
  | { kind: 'disc_removed'; agentId: string; driveId: string }
  /** A job's first word: the disc is being identified. */
  | { kind: 'job_started'; agentId: string; jobId: number; driveId?: string | undefined }
  /** The disc's titles are known and the job waits for "rip now". */
  | { kind: 'job_ready'; agentId: string; jobId: number }
  | { kind: 'job_finished'; agentId: string; jobId: number; outcome: JobState; errorCode?: ErrorCode | undefined; errorMessage?: string | undefined }
  | { kind: 'title_finished'; agentId: string; jobId: number; titleId: number; state: TitleState; bytes?: number | undefined; seconds?: number | undefined }
  /** The watchdog stopped a title's (or a job's) work that made no progress. */
  | { kind: 'stalled'; agentId: string; jobId: number; titleId?: number | undefined; message?: string | undefined }
  | { kind: 'progress'; agentId: string; jobId: number; percent?: number | undefined; etaSeconds?: number | undefined }
  | { kind: 'station_online'; agentId: string; version?: string | undefined }
  | { kind: 'station_offline'; agentId: string; reason?: string | undefined };

const FINISHED_TITLE_STATES: ReadonlySet<TitleState> = new Set(['completed', 'failed', 'cancelled', 'interrupted']);

export function happeningsOf(hubEvent: HubEvent): Happening[] {
  if (hubEvent.type === 'station_state') {
    const { update } = hubEvent;
    return [update.state === 'online'
      ? { kind: 'station_online', agentId: update.agent_id, version: update.version }
      : { kind: 'station_offline', agentId: update.agent_id, reason: update.error }];
  }
  // Notifications, metrics and MQTT act on jobs and titles; a task of the transcode queue is none of theirs.
  if (hubEvent.type === 'task_update') return [];
  const { event, progressOnly } = hubEvent;
  const agentId = event.agent_id;
  switch (event.type) {
    case 'drive_event':
      if (event.event === 'inserted') return [{ kind: 'disc_inserted', agentId, driveId: event.drive_id, volumeLabel: event.volume_label, discType: event.disc_type }];
      return event.event === 'removed' ? [{ kind: 'disc_removed', agentId, driveId: event.drive_id }] : [];
    case 'job_update': {
      if (progressOnly) return [{ kind: 'progress', agentId, jobId: event.job_id, percent: event.progress_percent, etaSeconds: event.eta_seconds }];
      if (FINISHED_JOB_STATES.has(event.state)) {
        const finished: Happening = { kind: 'job_finished', agentId, jobId: event.job_id, outcome: event.state, errorCode: event.error_code, errorMessage: event.error_message };
        return event.error_code === 'stalled' ? [{ kind: 'stalled', agentId, jobId: event.job_id, message: event.error_message }, finished] : [finished];
      }
      // The job's opening update names its drive; later ones in the same state do not.
      if (event.state === 'identifying' && event.drive_id !== undefined) return [{ kind: 'job_started', agentId, jobId: event.job_id, driveId: event.drive_id }];
      if (event.state === 'ready' && event.total_titles !== undefined) return [{ kind: 'job_ready', agentId, jobId: event.job_id }];
      return [];
    }
    case 'title_update':
      if (progressOnly || !FINISHED_TITLE_STATES.has(event.state)) return [];
      return [
        ...(event.error_code === 'stalled' ? [{ kind: 'stalled', agentId, jobId: event.job_id, titleId: event.title_id, message: event.error } as const] : []),
        { kind: 'title_finished', agentId, jobId: event.job_id, titleId: event.title_id, state: event.state, bytes: event.actual_size_bytes, seconds: event.duration_seconds },
      ];
    case 'titles_discovered':
    case 'job_log':
      return [];
  }
}
