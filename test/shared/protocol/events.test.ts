// The four station events: valid examples pass unchanged, and each kind of bad field is refused.
import { describe, expect, it } from 'vitest';
import {
  DiscoveredTitle, DriveEvent, JobUpdate, StationEvent, TitleUpdate, TitlesDiscovered,
} from '../../../shared/index.js';
import { REMOVE, driveEvent, jobUpdate, titleUpdate, titlesDiscovered, withField } from './examples.js';

const examples = [
  ['drive_event', DriveEvent, driveEvent],
  ['titles_discovered', TitlesDiscovered, titlesDiscovered],
  ['title_update', TitleUpdate, titleUpdate],
  ['job_update', JobUpdate, jobUpdate],
] as const;

const optionalFields: Record<string, string[]> = {
  drive_event: ['disc_type', 'rev'],
  titles_discovered: ['content_type', 'detected_title', 'rev'],
  title_update: ['match_progress', 'duration_seconds', 'expected_size_bytes', 'actual_size_bytes', 'output_filename', 'error', 'rev'],
  job_update: [
    'drive_id', 'volume_label', 'disc_type', 'progress_percent', 'current_speed', 'eta_seconds', 'current_title',
    'total_titles', 'error_message', 'output_dir', 'rev',
  ],
};

describe.each(examples)('%s', (type, schema, example) => {
  it('accepts the full example unchanged, on its own schema and as a StationEvent', () => {
    expect(schema.parse(example)).toEqual(example);
    expect(StationEvent.parse(example)).toEqual(example);
  });

  it('accepts the example without any optional field, and adds none back', () => {
    let minimal: Record<string, unknown> = { ...example };
    for (const key of optionalFields[type]!) minimal = withField(minimal, key, REMOVE);
    const parsed = StationEvent.parse(minimal) as Record<string, unknown>;
    expect(parsed).toEqual(minimal);
    for (const key of optionalFields[type]!) expect(Object.keys(parsed)).not.toContain(key);
  });

  it.each(optionalFields[type]!)('refuses null for the optional field %s', (key) => {
    expect(StationEvent.safeParse(withField(example, key, null)).success).toBe(false);
  });

  it('refuses a missing or wrong agent id', () => {
    for (const bad of [REMOVE, '../x', '', 'a'.repeat(65), 'has space', 'a/b', 42, null]) {
      expect(StationEvent.safeParse(withField(example, 'agent_id', bad)).success, String(bad)).toBe(false);
    }
    expect(StationEvent.safeParse(withField(example, 'agent_id', 'a'.repeat(64))).success).toBe(true);
    expect(StationEvent.safeParse(withField(example, 'agent_id', 'Rip_station-2.local')).success).toBe(true);
  });

  it('refuses an unknown type', () => {
    expect(StationEvent.safeParse(withField(example, 'type', type.toUpperCase())).success).toBe(false);
    expect(StationEvent.safeParse(withField(example, 'type', REMOVE)).success).toBe(false);
  });

  it('takes a revision only as a whole number from 0', () => {
    for (const bad of [-1, 1.5, '3', true]) {
      expect(StationEvent.safeParse(withField(example, 'rev', bad)).success, String(bad)).toBe(false);
    }
    expect(StationEvent.safeParse(withField(example, 'rev', 0)).success).toBe(true);
    expect(StationEvent.safeParse(withField(example, 'rev', 2 ** 40)).success).toBe(true);
  });
});

describe('job and title ids', () => {
  it.each([7.5, '7', -1, Number.POSITIVE_INFINITY, null, true])('refuses job id %s in every event that carries one', (bad) => {
    for (const example of [titlesDiscovered, titleUpdate, jobUpdate]) {
      expect(StationEvent.safeParse(withField(example, 'job_id', bad)).success).toBe(false);
    }
  });

  it('accepts job id 0 and large whole numbers', () => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'job_id', 0)).success).toBe(true);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'job_id', 2 ** 40)).success).toBe(true);
  });

  it('refuses a fractional or negative title id', () => {
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'title_id', 1.5)).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'title_id', -1)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'current_title', 0.5)).success).toBe(false);
  });
});

describe('states are the lower-case wire strings only', () => {
  it.each(['RIPPING', 'Ripping', 'JobState.ripping', 'rip', '', 1])('refuses job state %s', (state) => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'state', state)).success).toBe(false);
  });

  it.each(['identifying', 'ripping', 'transcoding', 'completed', 'failed', 'cancelled', 'interrupted'])('accepts job state %s', (state) => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'state', state)).success).toBe(true);
  });

  it.each(['PENDING', 'Skipped', 'done', 'identifying', 'INTERRUPTED'])('refuses title state %s', (state) => {
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'state', state)).success).toBe(false);
  });

  it.each(['pending', 'ripping', 'transcoding', 'completed', 'failed', 'skipped', 'cancelled', 'interrupted'])('accepts title state %s', (state) => {
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'state', state)).success).toBe(true);
  });

  it('refuses upper-case disc types, drive events and content types', () => {
    expect(DriveEvent.safeParse(withField(driveEvent, 'disc_type', 'DVD')).success).toBe(false);
    expect(DriveEvent.safeParse(withField(driveEvent, 'disc_type', 'BluRay')).success).toBe(false);
    expect(DriveEvent.safeParse(withField(driveEvent, 'event', 'INSERTED')).success).toBe(false);
    expect(DriveEvent.safeParse(withField(driveEvent, 'event', 'ejected')).success).toBe(false);
    expect(TitlesDiscovered.safeParse(withField(titlesDiscovered, 'content_type', 'Movie')).success).toBe(false);
  });
});

describe('numbers within their bounds', () => {
  it('refuses progress above 100 or below 0, and accepts the ends', () => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', 101)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', 100.01)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', -1)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', '50')).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'match_progress', 101)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', 0)).success).toBe(true);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'progress_percent', 100)).success).toBe(true);
  });

  it('refuses negative or fractional sizes and durations', () => {
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'actual_size_bytes', -1)).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'expected_size_bytes', -4096)).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'actual_size_bytes', 10.5)).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'duration_seconds', -3)).success).toBe(false);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'eta_seconds', -1)).success).toBe(false);
    const title = titlesDiscovered.titles[0];
    expect(DiscoveredTitle.safeParse({ ...title, expected_size_bytes: -1 }).success).toBe(false);
    expect(DiscoveredTitle.safeParse({ ...title, chapters: -1 }).success).toBe(false);
    expect(DiscoveredTitle.safeParse({ ...title, duration_seconds: 1.25 }).success).toBe(false);
    expect(TitlesDiscovered.safeParse({ ...titlesDiscovered, titles: [{ ...title, expected_size_bytes: -1 }] }).success).toBe(false);
  });

  it.each(['fast', '4.2', 'x', '4.2X', '-1x', '4.2 x', ''])('refuses the speed %j', (speed) => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'current_speed', speed)).success).toBe(false);
  });

  it.each(['4.2x', '12x', '0.5x'])('accepts the speed %j', (speed) => {
    expect(JobUpdate.safeParse(withField(jobUpdate, 'current_speed', speed)).success).toBe(true);
  });
});

describe('sizes of strings and lists', () => {
  it('refuses a label over 256 characters and an error over 500', () => {
    expect(DriveEvent.safeParse(withField(driveEvent, 'volume_label', 'L'.repeat(257))).success).toBe(false);
    expect(DriveEvent.safeParse(withField(driveEvent, 'volume_label', 'L'.repeat(256))).success).toBe(true);
    expect(JobUpdate.safeParse(withField(jobUpdate, 'error_message', 'e'.repeat(501))).success).toBe(false);
    expect(TitleUpdate.safeParse(withField(titleUpdate, 'error', 'e'.repeat(501))).success).toBe(false);
  });

  it('refuses more than 1000 titles and a drive id over 256 characters or empty', () => {
    const title = titlesDiscovered.titles[1];
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...title, title_id: i }));
    expect(TitlesDiscovered.safeParse({ ...titlesDiscovered, titles: many }).success).toBe(false);
    expect(TitlesDiscovered.safeParse({ ...titlesDiscovered, titles: many.slice(0, 1000) }).success).toBe(true);
    expect(DriveEvent.safeParse(withField(driveEvent, 'drive_id', '')).success).toBe(false);
    expect(DriveEvent.safeParse(withField(driveEvent, 'drive_id', '/'.repeat(257))).success).toBe(false);
  });
});
