// What a notification says: one Notice per thing that happened, with the words a person acts on (station name,
// drive, disc label, titles, size, duration, the error) and the job's REST record for machines. Pure: no clock, no store.
import type { StoredJobDetail } from '../../store/station-store.js';
import type { NotifyEvent } from './events.js';

/** Apprise's notification types, which every scheme maps its own urgency from. */
export type NoticeType = 'info' | 'success' | 'warning' | 'failure';

export interface Notice {
  /** The same on every attempt and every URL, so a receiver can drop a repeat. */
  id: string;
  event: NotifyEvent | 'test';
  occurredAt: string;
  agentId: string;
  stationName: string;
  driveId?: string | undefined;
  job?: StoredJobDetail | undefined;
  title: string;
  message: string;
  type: NoticeType;
}

export interface Facts {
  id: string;
  event: NotifyEvent;
  agentId: string;
  stationName: string;
  driveId?: string | undefined;
  job?: StoredJobDetail | undefined;
  /** What the event itself said, when the record may not have it (a title's stall message, an offline reason). */
  detail?: string | undefined;
  volumeLabel?: string | undefined;
  /** Epoch ms; for jobs it comes from the record, so a replayed event says when it really happened. */
  occurredAt: number;
}

export function noticeOf(facts: Facts): Notice {
  const { job, stationName } = facts;
  const label = job?.volume_label ?? facts.volumeLabel ?? 'the disc';
  const where = [stationName, facts.driveId ?? job?.drive_id].filter(Boolean).join(', ');
  const lines: string[] = [];
  let title: string;
  let type: NoticeType;
  switch (facts.event) {
    case 'job_completed': {
      title = `Ripped ${label}`;
      type = 'success';
      const done = job?.titles.filter((t) => t.state === 'completed') ?? [];
      const bytes = done.reduce((sum, t) => sum + (t.actual_size_bytes ?? 0), 0);
      lines.push(`${label} on ${where}: ${count(done.length, 'title')}${bytes > 0 ? `, ${formatBytes(bytes)}` : ''}, took ${took(job)}.`);
      lines.push(...titleLines(done));
      if (job?.output_dir) lines.push(`Folder: ${job.output_dir}`);
      break;
    }
    case 'job_failed':
      title = `Rip failed: ${label}`;
      type = 'failure';
      lines.push(`${label} on ${where} failed after ${took(job)}: ${job?.error_message ?? facts.detail ?? 'no reason given'}`);
      break;
    case 'stalled':
      title = `Stalled: ${label}`;
      type = 'warning';
      lines.push(`${label} on ${where} made no progress and was stopped: ${facts.detail ?? job?.error_message ?? 'the watchdog stepped in'}`);
      break;
    case 'disc_ready': {
      title = `Ready to rip: ${label}`;
      type = 'info';
      const selected = job?.titles.filter((t) => t.selected) ?? [];
      lines.push(`${label} on ${where} waits for "rip now": ${count(job?.titles.length ?? 0, 'title')}, ${selected.length} selected.`);
      lines.push(...titleLines(selected));
      break;
    }
    case 'disc_inserted':
      title = `Disc inserted: ${label}`;
      type = 'info';
      lines.push(`${label} went into ${where}.`);
      break;
    case 'station_offline':
      title = `Station offline: ${stationName}`;
      type = 'warning';
      lines.push(`${stationName} has been offline since ${new Date(facts.occurredAt).toISOString()}${facts.detail ? ` (${facts.detail})` : ''}.`);
      break;
  }
  return {
    id: facts.id, event: facts.event, occurredAt: new Date(facts.occurredAt).toISOString(), agentId: facts.agentId, stationName,
    driveId: facts.driveId ?? job?.drive_id, job, title, message: lines.join('\n'), type,
  };
}

const MAX_TITLE_LINES = 8;

function titleLines(titles: StoredJobDetail['titles']): string[] {
  const shown = titles.slice(0, MAX_TITLE_LINES).map((t) => {
    const size = t.actual_size_bytes ?? t.expected_size_bytes;
    const parts = [t.duration_seconds !== undefined ? formatSeconds(t.duration_seconds) : undefined, size !== undefined ? formatBytes(size) : undefined];
    return `- ${t.output_filename ?? t.name ?? `Title ${t.title_id}`} (${parts.filter(Boolean).join(', ')})`;
  });
  return titles.length > MAX_TITLE_LINES ? [...shown, `- and ${titles.length - MAX_TITLE_LINES} more`] : shown;
}

function took(job: StoredJobDetail | undefined): string {
  if (!job?.finished_at) return 'an unknown time';
  return formatSeconds((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000);
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}
