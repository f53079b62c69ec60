// The state events of one job as a station sends them, for the benchmarks that stream jobs through the hub.
import type { StationEvent } from '../shared/index.js';

/** Per job: started, ripping, 20 title progress states, completed: 23 state events. */
export const STEPS = 20;

export function jobEvents(agentId: string, jobId: number): StationEvent[] {
  return [
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'identifying', drive_id: '/dev/sr0', volume_label: `DISC_${jobId}`, disc_type: 'dvd' },
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'ripping', total_titles: 1, progress_percent: 0 },
    ...Array.from({ length: STEPS }, (_, step): StationEvent => ({ type: 'title_update', agent_id: agentId, job_id: jobId, title_id: 1, state: 'ripping', match_progress: (step * 100) / STEPS })),
    { type: 'title_update', agent_id: agentId, job_id: jobId, title_id: 1, state: 'completed', match_progress: 100, actual_size_bytes: 1_000_000 },
    { type: 'job_update', agent_id: agentId, job_id: jobId, state: 'completed', progress_percent: 100 },
  ];
}
