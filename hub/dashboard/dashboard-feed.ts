// The dashboard socket as a consumer of the hub's events: every applied event goes out to the dashboards at once,
// without waiting for the disk (a slow dashboard gets only the newest progress of each job and title).
import type { StationEvent } from '../../shared/index.js';
import type { EventBus } from '../events/event-bus.js';
import type { DashboardServer } from './dashboard-server.js';

const OWNER = 'dashboards';

/** Progress of one job or one title: a slow dashboard needs only the newest of each. */
function progressKey(event: StationEvent): string {
  return event.type === 'title_update' ? `title:${event.job_id}:${event.title_id}` : `${event.type}:${'job_id' in event ? event.job_id : ''}`;
}

export class DashboardFeed {
  constructor(private readonly bus: EventBus, private readonly dashboards: DashboardServer) {}

  start(): void {
    this.bus.on(OWNER, 'applied', (event) => {
      if (event.type === 'station_event') {
        this.dashboards.broadcast({ message: event.event, key: progressKey(event.event), progressOnly: event.progressOnly, stationRev: event.stationRev });
      } else if (event.type === 'station_state') {
        this.dashboards.broadcast({ message: event.update, progressOnly: false, stationRev: event.stationRev });
      } else {
        const { update } = event;
        // A running task's progress is latest-wins like a title's; its other changes always go.
        this.dashboards.broadcast({ message: update, key: `task:${update.task_id}`, progressOnly: update.state === 'transcoding' && update.progress_percent !== 0 });
      }
    });
  }

  stop(): void {
    this.bus.off(OWNER);
  }
}
