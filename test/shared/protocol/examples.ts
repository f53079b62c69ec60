// One valid example of every message, written by hand from the protocol brief (not produced by the code under test).
// Each has every optional field set, so a test can drop or break one field at a time.

export const driveEvent = {
  type: 'drive_event',
  agent_id: 'station-1',
  drive_id: '/dev/sr0',
  event: 'inserted',
  volume_label: 'THE_MOVIE',
  disc_type: 'dvd',
  rev: 41,
} as const;

export const titlesDiscovered = {
  type: 'titles_discovered',
  agent_id: 'station-1',
  job_id: 7,
  titles: [
    { title_id: 1, duration_seconds: 6120, chapters: 24, expected_size_bytes: 4_500_000_000, selected: true, name: 'Main feature' },
    { title_id: 2, duration_seconds: 95, chapters: 1, expected_size_bytes: 12_000_000, selected: false },
  ],
  content_type: 'movie',
  detected_title: 'The Movie',
  rev: 42,
} as const;

export const titleUpdate = {
  type: 'title_update',
  agent_id: 'station-1',
  job_id: 7,
  title_id: 1,
  state: 'ripping',
  match_progress: 42.5,
  duration_seconds: 6120,
  expected_size_bytes: 4_500_000_000,
  actual_size_bytes: 1_900_000_000,
  output_filename: 'The Movie (t01).mkv',
  error: 'none so far',
  rev: 43,
} as const;

export const jobUpdate = {
  type: 'job_update',
  agent_id: 'station-1',
  job_id: 7,
  state: 'ripping',
  drive_id: '/dev/sr0',
  volume_label: 'THE_MOVIE',
  disc_type: 'dvd',
  progress_percent: 37.25,
  current_speed: '4.2x',
  eta_seconds: 600,
  current_title: 1,
  total_titles: 2,
  error_message: 'retrying a sector',
  output_dir: 'The Movie',
  rev: 44,
} as const;

export const agentHello = {
  kind: 'hello',
  agent_id: 'station-1',
  name: 'Basement rip station',
  version: '0.1.0',
  protocol: { min: 2, max: 2 },
  last_seq: 11,
  drives: [
    { drive_id: '/dev/sr0', has_disc: true, volume_label: 'THE_MOVIE', disc_type: 'dvd', busy: true },
    { drive_id: '/dev/sr1', has_disc: false, busy: false },
  ],
} as const;

export const agentEvent = { kind: 'event', seq: 12, at: 1_700_000_000_000, event: jobUpdate } as const;
/** A replay: consecutive events in one message. */
export const agentEventBatch = {
  kind: 'events',
  events: [
    { seq: 12, at: 1_700_000_000_000, event: driveEvent },
    { seq: 13, at: 1_700_000_001_000, event: jobUpdate },
  ],
} as const;
/** A progress-only update: no seq of its own, only the seq of the event it came after. */
export const agentProgress = { kind: 'progress', after_seq: 13, at: 1_700_000_001_500, event: titleUpdate } as const;

export const commandResultOk = { kind: 'command_result', id: 'b8a4c8f0-cmd', ok: true } as const;
export const commandResultFailed = { kind: 'command_result', id: 'b8a4c8f0-cmd', ok: false, error: 'Drive is busy' } as const;

export const welcome = { kind: 'welcome', server: 'hub', version: '0.1.0', protocol: 2, last_seq: 11, last_job_id: 7 } as const;
export const ack = { kind: 'ack', seq: 13 } as const;

export const cancelCommand = {
  kind: 'command', id: 'c-1', expires_at: 1_700_000_010_000, command: { name: 'cancel', job_id: 7 },
} as const;
export const ejectCommand = {
  kind: 'command', id: 'c-2', expires_at: 1_700_000_010_000, command: { name: 'eject', drive_id: '/dev/sr0' },
} as const;

export const dashboardHello = { type: 'hello', server: 'hub', version: '0.1.0', protocol: 2, protocols: [2, 3], rev: 40, revisions: { 'station-1': 12 } } as const;
export const agentUpdate = {
  type: 'agent_update', agent_id: 'station-1', state: 'offline', name: 'Basement', version: '0.1.0',
  error: 'Protocol mismatch: the hub speaks 2-2, the agent 1-1; upgrade the older side', rev: 45,
} as const;
export const errorMessage = { type: 'error', message: 'Unknown command: send commands through the REST API' } as const;

/** A copy of `value` with `key` set to `replacement` (or removed when replacement is the REMOVE marker). */
export const REMOVE = Symbol('remove');
export function withField(value: object, key: string, replacement: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(value) as Record<string, unknown>;
  if (replacement === REMOVE) delete copy[key];
  else copy[key] = replacement;
  return copy;
}
