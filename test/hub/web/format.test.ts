// The dashboard's formatting of speeds, ETAs, durations, sizes and times (hub/web/src/format.ts).
import { describe, expect, it } from 'vitest';
import {
  averageSpeed, elapsedSeconds, formatBytes, formatClock, formatCountdown, formatDateTime, formatDuration, formatEta, formatPercent,
  formatRelative, formatSpeed, jobStateName, partName, titleStateName,
} from '../../../hub/web/src/format.js';

const UTC = { timeZone: 'UTC', locale: 'en-GB' };
const NOON = Date.UTC(2025, 2, 12, 12, 0, 0); // Wednesday 12 March 2025, 12:00 UTC

describe('speed', () => {
  it('writes the hub speed as a multiple with one decimal', () => {
    expect(formatSpeed('4.2x')).toBe('4.2×');
    expect(formatSpeed('12x')).toBe('12.0×');
    expect(formatSpeed('0.35x')).toBe('0.3×');
    expect(formatSpeed(undefined)).toBe('—');
    expect(formatSpeed('fast')).toBe('—');
    // A data disc's image is read in bytes: the rate comes first, then the multiple of the disc's 1× rate.
    expect(formatSpeed('8.1x', 11_234_567)).toBe('11.2 MB/s · 8.1×');
    expect(formatSpeed(undefined, 2_000_000)).toBe('2.0 MB/s');
    expect(formatSpeed('3x', 0)).toBe('3.0×');
  });

  it('average speed is video time over wall time', () => {
    expect(averageSpeed(3600, 1800)).toBe('2.0×');
    expect(averageSpeed(0, 100)).toBeUndefined();
    expect(averageSpeed(100, 0)).toBeUndefined();
  });
});

describe('durations and countdowns', () => {
  it('reads like people say it', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(45.4)).toBe('45 s');
    expect(formatDuration(60)).toBe('1 min');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(34 * 60 + 12)).toBe('34 min');
    expect(formatDuration(3600 + 2 * 60 + 5)).toBe('1 h 02 min');
    expect(formatDuration(26 * 3600 + 15 * 60)).toBe('26 h 15 min');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(-5)).toBe('—');
  });

  it('counts down in whole seconds rounded up, and never below zero', () => {
    expect(formatCountdown(NOON + 200_000, NOON)).toBe('3 min 20 s left');
    expect(formatCountdown(NOON + 200_000, NOON + 100)).toBe('3 min 20 s left');
    expect(formatCountdown(NOON + 1500, NOON)).toBe('2 s left');
    expect(formatCountdown(NOON, NOON)).toBe('any moment');
    expect(formatCountdown(NOON - 5000, NOON)).toBe('any moment');
  });

  it('gives the ETA as a time of day and as a countdown', () => {
    expect(formatEta(NOON + 32 * 60_000, NOON, UTC)).toEqual({ clock: '12:32', countdown: '32 min left' });
    // Past midnight: the weekday says which day.
    expect(formatEta(NOON + 13 * 3600_000, NOON, UTC)).toEqual({ clock: 'Thu 01:00', countdown: '13 h 00 min left' });
    // An ETA already passed shows now, not a time in the past.
    expect(formatEta(NOON - 60_000, NOON, UTC)).toEqual({ clock: '12:00', countdown: 'any moment' });
    expect(formatEta(undefined, NOON, UTC)).toBeUndefined();
  });

  it('elapsed time between ISO times, or until now', () => {
    expect(elapsedSeconds('2025-03-12T11:00:00.000Z', '2025-03-12T11:30:00.000Z', NOON)).toBe(1800);
    expect(elapsedSeconds('2025-03-12T11:00:00.000Z', undefined, NOON)).toBe(3600);
    expect(elapsedSeconds(undefined, undefined, NOON)).toBeUndefined();
    expect(elapsedSeconds('2025-03-12T13:00:00.000Z', undefined, NOON)).toBeUndefined();
  });
});

describe('times of day and relative times', () => {
  it('24-hour clock in the given zone', () => {
    expect(formatClock(NOON, NOON, UTC)).toBe('12:00');
    expect(formatClock(NOON, NOON, { timeZone: 'America/New_York', locale: 'en-GB' })).toBe('08:00');
    expect(formatClock(NOON + 86_400_000 * 2, NOON, UTC)).toBe('Fri 12:00');
  });

  it('dates for history, with the year only when it is not this year', () => {
    expect(formatDateTime(NOON - 3600_000, NOON, UTC)).toBe('12 Mar, 11:00');
    expect(formatDateTime(Date.UTC(2024, 11, 31, 23, 5), NOON, UTC)).toBe('31 Dec 2024, 23:05');
  });

  it('how long ago', () => {
    expect(formatRelative(NOON - 10_000, NOON, UTC)).toBe('just now');
    expect(formatRelative(NOON + 5_000, NOON, UTC)).toBe('just now'); // a station clock slightly ahead
    expect(formatRelative(NOON - 5 * 60_000, NOON, UTC)).toBe('5 min ago');
    expect(formatRelative(NOON - 3 * 3600_000, NOON, UTC)).toBe('3 h ago');
    expect(formatRelative(NOON - 30 * 3600_000, NOON, UTC)).toBe('yesterday');
    expect(formatRelative(NOON - 4 * 86_400_000, NOON, UTC)).toBe('4 days ago');
    expect(formatRelative(NOON - 40 * 86_400_000, NOON, UTC)).toBe('31 Jan, 12:00');
  });
});

describe('sizes and percentages', () => {
  it('decimal units, as discs and file managers count', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 kB');
    expect(formatBytes(812_400_000)).toBe('812 MB');
    expect(formatBytes(4_700_000_000)).toBe('4.7 GB');
    expect(formatBytes(25_000_000_000)).toBe('25.0 GB');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('percentages are rounded down, so only done reads 100%', () => {
    expect(formatPercent(42.9)).toBe('42%');
    expect(formatPercent(99.95)).toBe('99%');
    expect(formatPercent(100)).toBe('100%');
    expect(formatPercent(-1)).toBe('0%');
    expect(formatPercent(undefined)).toBe('—');
  });
});

describe('state names', () => {
  it('every state has words', () => {
    expect(jobStateName('ready')).toBe('Ready to rip');
    expect(jobStateName('interrupted')).toBe('Interrupted');
    expect(titleStateName('pending')).toBe('Waiting');
    expect(titleStateName('skipped')).toBe('Skipped');
  });
});

describe('partName', () => {
  it('calls a job\'s titles what they are on its kind of disc', () => {
    expect(partName('cd')).toBe('Track');
    expect(partName('data')).toBe('Image');
    expect(partName('dvd')).toBe('Title');
    expect(partName('bluray')).toBe('Title');
    expect(partName(undefined)).toBe('Title');
  });
});
