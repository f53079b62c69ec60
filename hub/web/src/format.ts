// How the dashboard writes numbers and times for people: speeds, ETAs (as a time of day and as a countdown),
// durations, sizes, percentages, relative times and state names. PURE: no DOM, no clock (callers pass `now`),
// and the time zone and locale can be given, so it is unit-tested in Node (test/hub/web/format.test.ts).
import type { DiscType, JobState, TitleState } from '../../../shared/index.js';

export interface TimeOptions {
  /** BCP 47 locale; the browser's own when absent. */
  locale?: string;
  /** IANA time zone; the browser's own when absent. */
  timeZone?: string;
}

const DASH = '—';

/** "4.2x" as sent by the hub → "4.2×". */
/** What a job's titles are on this kind of disc: an audio CD's tracks, a data disc's image, a video disc's titles. */
export function partName(discType: DiscType | undefined): string {
  return discType === 'cd' ? 'Track' : discType === 'data' ? 'Image' : 'Title';
}

/** "4.2×"; with a byte rate (a data disc's image) "11.2 MB/s · 8.1×". */
export function formatSpeed(speed: string | undefined, bytesPerSecond?: number): string {
  const value = speed === undefined ? NaN : Number.parseFloat(speed);
  const multiple = Number.isFinite(value) ? `${value.toFixed(1)}×` : undefined;
  const rate = bytesPerSecond !== undefined && bytesPerSecond > 0 ? `${(bytesPerSecond / 1e6).toFixed(1)} MB/s` : undefined;
  return [rate, multiple].filter(Boolean).join(' · ') || DASH;
}

/** Seconds of video over seconds of wall time, as a speed ("2.3×"); undefined when it means nothing. */
export function averageSpeed(videoSeconds: number, wallSeconds: number): string | undefined {
  if (!(videoSeconds > 0) || !(wallSeconds > 0)) return undefined;
  return `${(videoSeconds / wallSeconds).toFixed(1)}×`;
}

/** A length of time: "45 s", "3 min 20 s", "34 min", "1 h 02 min", "26 h 15 min". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return DASH;
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hours > 0) return `${hours} h ${String(minutes).padStart(2, '0')} min`;
  if (minutes < 10 && secs > 0) return `${minutes} min ${secs} s`;
  return `${minutes} min`;
}

/** Time left until `at`, counted down: whole seconds rounded up so it never says 0 s early. */
export function formatCountdown(at: number, now: number): string {
  const left = Math.ceil((at - now) / 1000);
  if (left <= 0) return 'any moment';
  return `${formatDuration(left)} left`;
}

/** Formatters are costly to make (tens of microseconds each) and a busy page formats hundreds of times a second. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, made);
  }
  return made;
}

function dayKey(epochMs: number, options: TimeOptions): string {
  return formatter('en-CA', { timeZone: options.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(epochMs);
}

/** A time of day, 24-hour "14:32"; with the weekday ("Tue 09:15") when it is not today. */
export function formatClock(epochMs: number, now: number, options: TimeOptions = {}): string {
  const sameDay = dayKey(epochMs, options) === dayKey(now, options);
  return formatter(options.locale ?? 'en-GB', {
    timeZone: options.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(sameDay ? {} : { weekday: 'short' }),
  }).format(epochMs);
}

/** A date and time for history: "12 Mar, 14:02" (with the year when it is not this year). */
export function formatDateTime(epochMs: number, now: number, options: TimeOptions = {}): string {
  const year = (ms: number) => formatter('en-CA', { timeZone: options.timeZone, year: 'numeric' }).format(ms);
  return formatter(options.locale ?? 'en-GB', {
    timeZone: options.timeZone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    ...(year(epochMs) === year(now) ? {} : { year: 'numeric' }),
  }).format(epochMs);
}

/** The ETA both ways: when it will be done ("14:32") and how long that is from now ("3 min 20 s left"). */
export function formatEta(etaAt: number | undefined, now: number, options: TimeOptions = {}): { clock: string; countdown: string } | undefined {
  if (etaAt === undefined || !Number.isFinite(etaAt)) return undefined;
  return { clock: formatClock(Math.max(etaAt, now), now, options), countdown: formatCountdown(etaAt, now) };
}

/** How long ago: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then a date. */
export function formatRelative(epochMs: number, now: number, options: TimeOptions = {}): string {
  const seconds = Math.round((now - epochMs) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(seconds / 3600);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(seconds / 86_400);
  if (days === 1) return 'yesterday';
  if (days < 7) return `${days} days ago`;
  return formatDateTime(epochMs, now, options);
}

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

/** Bytes in decimal units, as disc makers and file managers count them: "4.7 GB", "812 MB", "0 B". */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ${SIZE_UNITS[unit]}`;
}

/** A percentage rounded down, so 99.9 never reads as done: "42%". */
export function formatPercent(percent: number | undefined): string {
  if (percent === undefined || !Number.isFinite(percent)) return DASH;
  return `${Math.floor(Math.min(100, Math.max(0, percent)))}%`;
}

const JOB_STATE_NAMES: Record<JobState, string> = {
  identifying: 'Identifying', ready: 'Ready to rip', ripping: 'Ripping', transcoding: 'Transcoding',
  completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled', interrupted: 'Interrupted',
};

const TITLE_STATE_NAMES: Record<TitleState, string> = {
  pending: 'Waiting', ripping: 'Ripping', transcoding: 'Transcoding', completed: 'Done', failed: 'Failed',
  skipped: 'Skipped', cancelled: 'Cancelled', interrupted: 'Interrupted',
};

export function jobStateName(state: JobState): string {
  return JOB_STATE_NAMES[state];
}

export function titleStateName(state: TitleState): string {
  return TITLE_STATE_NAMES[state];
}

/** Seconds between two ISO times (or until now when the end is absent). */
export function elapsedSeconds(startIso: string | undefined, endIso: string | undefined, now: number): number | undefined {
  if (startIso === undefined) return undefined;
  const start = Date.parse(startIso);
  const end = endIso === undefined ? now : Date.parse(endIso);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) return undefined;
  return (end - start) / 1000;
}
