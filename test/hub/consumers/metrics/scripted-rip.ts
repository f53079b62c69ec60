// A scripted station for the metrics tests: one DVD job with two titles of known bytes and seconds that completes,
// one that fails, and one still ripping on a second drive; plus a small parser of the Prometheus text format.
import type { StationEvent } from '../../../../shared/index.js';
import { eventEnvelope, type HubFixture, type Peer } from '../../helpers.js';

export const STATION = 'station-1';
export const drives = [
  { drive_id: '/dev/sr0', has_disc: false, busy: false },
  { drive_id: '/dev/sr1', has_disc: false, busy: false },
];
export const TITLE_BYTES = [1_000_000_000, 500_000_000];
export const TITLE_SECONDS = [1800, 1200];

const at = { agent_id: STATION };
const title = (title_id: number, seconds: number, bytes: number) =>
  ({ title_id, duration_seconds: seconds, chapters: 5, expected_size_bytes: bytes, selected: true, name: `Title ${title_id}` });

/** The station's events, in order (agent job ids 7, 8, 9). */
export const ripEvents: StationEvent[] = [
  { type: 'drive_event', ...at, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
  { type: 'job_update', ...at, job_id: 7, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
  { type: 'titles_discovered', ...at, job_id: 7, titles: [title(1, TITLE_SECONDS[0]!, TITLE_BYTES[0]!), title(2, TITLE_SECONDS[1]!, TITLE_BYTES[1]!)] },
  { type: 'job_update', ...at, job_id: 7, state: 'ripping', progress_percent: 10, total_titles: 2 },
  { type: 'title_update', ...at, job_id: 7, title_id: 1, state: 'ripping' },
  // The first title's final update carries its size and length; the second's only its size (its length is the scan's).
  { type: 'title_update', ...at, job_id: 7, title_id: 1, state: 'completed', actual_size_bytes: TITLE_BYTES[0]!, duration_seconds: TITLE_SECONDS[0]!, output_filename: 'The Movie t01.mkv' },
  { type: 'title_update', ...at, job_id: 7, title_id: 2, state: 'completed', actual_size_bytes: TITLE_BYTES[1]!, output_filename: 'The Movie t02.mkv' },
  { type: 'job_update', ...at, job_id: 7, state: 'completed', progress_percent: 100, output_dir: 'The Movie' },
  { type: 'job_update', ...at, job_id: 8, state: 'identifying', drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' },
  { type: 'job_update', ...at, job_id: 8, state: 'failed', error_code: 'unreadable', error_message: 'The disc could not be read' },
  { type: 'drive_event', ...at, drive_id: '/dev/sr1', event: 'inserted', volume_label: 'SECOND_DISC', disc_type: 'dvd' },
  { type: 'job_update', ...at, job_id: 9, state: 'identifying', drive_id: '/dev/sr1', volume_label: 'SECOND_DISC', disc_type: 'dvd' },
  { type: 'job_update', ...at, job_id: 9, state: 'ripping', progress_percent: 40 },
];

/** Job 7 (hub job 1) runs from event 2 to event 8, one second of the agent's clock apart each. */
export const RIP_SECONDS = 6;

/** Sends every event and waits until the dashboard has the last, then reads REST so that the store has committed them. */
export async function scriptRip(fx: HubFixture, agent: Peer, dashboard: Peer): Promise<void> {
  ripEvents.forEach((event, index) => agent.send(eventEnvelope(index + 1, event)));
  await dashboard.next((m) => m.type === 'job_update' && m.state === 'ripping' && m.progress_percent === 40);
  await fetch(`${fx.hub.base}/api/jobs`);
}

export interface Sample { name: string; labels: Record<string, string>; value: number }

/** The samples of a Prometheus text exposition (no escapes in our label values beyond the plain ones). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with that name whose labels include `labels`; undefined when there is none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
