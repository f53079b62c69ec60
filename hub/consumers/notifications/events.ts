// The kinds of notification a person can ask for, and the default set: one list, so the settings (DISCBRIDGE_NOTIFY_EVENTS)
// and the consumer accept exactly the same names.
export const NOTIFY_EVENTS = ['job_completed', 'job_failed', 'stalled', 'disc_ready', 'station_offline', 'disc_inserted'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** What needs a person: finished rips, failures, stalls, a station gone. Inserts and "ready" are opt-in (noisy). */
export const DEFAULT_NOTIFY_EVENTS: readonly NotifyEvent[] = ['job_completed', 'job_failed', 'stalled', 'station_offline'];

export function isNotifyEvent(value: string): value is NotifyEvent {
  return (NOTIFY_EVENTS as readonly string[]).includes(value);
}
