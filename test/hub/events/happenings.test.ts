// What consumers act on, read off the hub's events: a disc in and out, a job starting, waiting, finishing (and how,
// and whether the watchdog stopped it), a title finishing, progress, stations coming and going.
import { describe, expect, it } from 'vitest';
import type { StationEvent } from '../../../shared/index.js';
import { happeningsOf } from '../../../hub/events/happenings.js';

const station = (event: StationEvent, progressOnly = false) => happeningsOf({ type: 'station_event', event, progressOnly });
const A = 'station-1';

describe('happeningsOf', () => {
  it('tells discs going in and out, and nothing for a change of the waiting images', () => {
    expect(station({ type: 'drive_event', agent_id: A, drive_id: '/dev/sr0', event: 'inserted', volume_label: 'MOVIE', disc_type: 'dvd' }))
      .toEqual([{ kind: 'disc_inserted', agentId: A, driveId: '/dev/sr0', volumeLabel: 'MOVIE', discType: 'dvd' }]);
    expect(station({ type: 'drive_event', agent_id: A, drive_id: '/dev/sr0', event: 'removed', volume_label: '' })).toEqual([{ kind: 'disc_removed', agentId: A, driveId: '/dev/sr0' }]);
    expect(station({ type: 'drive_event', agent_id: A, drive_id: 'import', event: 'waiting_changed', volume_label: 'X', waiting: ['a.iso'] })).toEqual([]);
  });

  it('tells a job starting (its opening update names its drive), waiting for rip now, and finishing with its outcome', () => {
    expect(station({ type: 'job_update', agent_id: A, job_id: 4, state: 'identifying', drive_id: '/dev/sr0' })).toEqual([{ kind: 'job_started', agentId: A, jobId: 4, driveId: '/dev/sr0' }]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 4, state: 'identifying', disc_type: 'bluray' })).toEqual([]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 4, state: 'ready', total_titles: 2 })).toEqual([{ kind: 'job_ready', agentId: A, jobId: 4 }]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 4, state: 'ripping', total_titles: 2, progress_percent: 0 })).toEqual([]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 4, state: 'completed', progress_percent: 100 })).toEqual([{ kind: 'job_finished', agentId: A, jobId: 4, outcome: 'completed', errorCode: undefined, errorMessage: undefined }]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 5, state: 'failed', error_code: 'disc_removed', error_message: 'The disc was removed during the job' }))
      .toEqual([{ kind: 'job_finished', agentId: A, jobId: 5, outcome: 'failed', errorCode: 'disc_removed', errorMessage: 'The disc was removed during the job' }]);
  });

  it('tells the watchdog stepping in, for a title and for a job, besides how they ended', () => {
    expect(station({ type: 'title_update', agent_id: A, job_id: 6, title_id: 2, state: 'failed', error_code: 'stalled', error: 'Ripping title 2 made no progress for 300 s and was stopped' })).toEqual([
      { kind: 'stalled', agentId: A, jobId: 6, titleId: 2, message: 'Ripping title 2 made no progress for 300 s and was stopped' },
      { kind: 'title_finished', agentId: A, jobId: 6, titleId: 2, state: 'failed', bytes: undefined, seconds: undefined },
    ]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 6, state: 'failed', error_code: 'stalled', error_message: 'The disc scan made no progress' }).map((h) => h.kind)).toEqual(['stalled', 'job_finished']);
  });

  it('tells titles that finished, and progress only for progress-only updates', () => {
    expect(station({ type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'completed', actual_size_bytes: 1000, duration_seconds: 60 }))
      .toEqual([{ kind: 'title_finished', agentId: A, jobId: 7, titleId: 1, state: 'completed', bytes: 1000, seconds: 60 }]);
    expect(station({ type: 'title_update', agent_id: A, job_id: 7, title_id: 1, state: 'ripping', match_progress: 40 }, true)).toEqual([]);
    expect(station({ type: 'job_update', agent_id: A, job_id: 7, state: 'ripping', progress_percent: 40, eta_seconds: 90 }, true))
      .toEqual([{ kind: 'progress', agentId: A, jobId: 7, percent: 40, etaSeconds: 90 }]);
    expect(station({ type: 'titles_discovered', agent_id: A, job_id: 7, titles: [] })).toEqual([]);
  });

  it('tells stations coming online and going offline, with the reason when one was turned away', () => {
    expect(happeningsOf({ type: 'station_state', update: { type: 'agent_update', agent_id: A, state: 'online', version: '0.1.0' } })).toEqual([{ kind: 'station_online', agentId: A, version: '0.1.0' }]);
    expect(happeningsOf({ type: 'station_state', update: { type: 'agent_update', agent_id: A, state: 'offline', error: 'Protocol 1 is too old' } }))
      .toEqual([{ kind: 'station_offline', agentId: A, reason: 'Protocol 1 is too old' }]);
  });
});
