// Dashboard topics (protocol 3): what a client subscribes to, and the one rule of which messages each topic carries,
// used by the hub to route and by clients to know what they follow.
//   all                      everything (a protocol-3 client's default), but job logs
//   station:<agent_id>       that station's drive, job and title events, its agent_update, and the tasks of its rips
//   drive:<agent_id>:<drive> that drive's events and the jobs on it, and its station's agent_update
//   jobs                     job and title events of every station, and the transcode queue's task updates
//   logs:<job_id>            that job's log lines: the only way a protocol-3 client gets them
import { AgentId, DriveId, JobId } from './fields.js';

export type Topic =
  | { kind: 'all' }
  | { kind: 'station'; agentId: string }
  | { kind: 'drive'; agentId: string; driveId: string }
  | { kind: 'jobs' }
  | { kind: 'logs'; jobId: number };

export const MAX_TOPICS = 100;

/** The topic a name stands for, or undefined when the name is not of one of the forms above. */
export function parseTopic(name: string): Topic | undefined {
  if (name === 'all') return { kind: 'all' };
  if (name === 'jobs') return { kind: 'jobs' };
  const colon = name.indexOf(':');
  if (colon < 0) return undefined;
  const kind = name.slice(0, colon);
  const rest = name.slice(colon + 1);
  if (kind === 'station') return AgentId.safeParse(rest).success ? { kind: 'station', agentId: rest } : undefined;
  if (kind === 'logs') {
    const jobId = /^\d{1,15}$/.test(rest) ? Number(rest) : Number.NaN;
    return JobId.safeParse(jobId).success ? { kind: 'logs', jobId } : undefined;
  }
  if (kind === 'drive') {
    // Station ids have no colon; drive ids may ("D:" on Windows), so the first colon ends the station.
    const split = rest.indexOf(':');
    const agentId = rest.slice(0, split);
    const driveId = rest.slice(split + 1);
    if (split < 0 || !AgentId.safeParse(agentId).success || !DriveId.safeParse(driveId).success) return undefined;
    return { kind: 'drive', agentId, driveId };
  }
  return undefined;
}

export function topicName(topic: Topic): string {
  switch (topic.kind) {
    case 'all':
    case 'jobs':
      return topic.kind;
    case 'station':
      return `station:${topic.agentId}`;
    case 'drive':
      return `drive:${topic.agentId}:${topic.driveId}`;
    case 'logs':
      return `logs:${topic.jobId}`;
  }
}

/** What routing needs to know of a message: its type, station, drive and job where it has them. */
export interface Routed {
  type: string;
  agent_id?: string | undefined;
  drive_id?: string | undefined;
  job_id?: number | undefined;
}

/**
 * Whether a client subscribed to `topic` gets `message`. `driveOfJob` tells the drive a job runs on, for the job and
 * title events that do not name it; it is asked only for drive topics.
 */
export function topicCarries(topic: Topic, message: Routed, driveOfJob: (jobId: number) => string | undefined): boolean {
  const isLog = message.type === 'job_log';
  const isJobEvent = message.type === 'job_update' || message.type === 'title_update' || message.type === 'titles_discovered' || message.type === 'task_update';
  switch (topic.kind) {
    case 'all':
      return !isLog;
    case 'jobs':
      return isJobEvent;
    case 'logs':
      return isLog && message.job_id === topic.jobId;
    case 'station':
      return !isLog && message.agent_id === topic.agentId;
    case 'drive': {
      if (isLog || message.agent_id !== topic.agentId) return false;
      if (message.type === 'agent_update') return true;
      if (message.type === 'drive_event') return message.drive_id === topic.driveId;
      if (!isJobEvent || message.job_id === undefined) return false;
      return (message.drive_id ?? driveOfJob(message.job_id)) === topic.driveId;
    }
  }
}
