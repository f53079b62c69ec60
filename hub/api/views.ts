// The hub's view of its stations as clients read it, for REST and the dashboard socket alike: stations with whether
// they are online, drives and unfinished jobs marked unreachable while their station is offline (what is known of
// them may be stale), and the snapshot that holds all a first render needs in one answer.
import { FINISHED_JOB_STATES, type AgentRecord, type DriveRecord, type JobState, type SnapshotFields } from '../../shared/index.js';
import type { AgentServer } from '../link/agent-server.js';
import type { JobQuery, StationStore } from '../store/station-store.js';

/** Jobs on the snapshot's first history page, as on the page's own first page. */
const SNAPSHOT_HISTORY = 50;

export class Views {
  constructor(private readonly store: StationStore, private readonly agents: AgentServer) {}

  stations(only?: ReadonlySet<string>): AgentRecord[] {
    return this.store.listAgents().filter((agent) => !only || only.has(agent.agent_id)).map((agent) => ({
      agent_id: agent.agent_id,
      name: agent.name,
      version: agent.version,
      state: this.agents.isOnline(agent.agent_id) ? 'online' : 'offline',
      last_seen: new Date(agent.last_seen).toISOString(),
    }));
  }

  drives(only?: ReadonlySet<string>): DriveRecord[] {
    return this.store.listDrives().filter((drive) => !only || only.has(drive.agent_id))
      .map((drive) => ({ ...drive, reachable: this.agents.isOnline(drive.agent_id) }));
  }

  jobs(query: JobQuery) {
    const page = this.store.listJobs(query);
    return { ...page, jobs: page.jobs.map((job) => this.reachable(job)) };
  }

  job(jobId: number) {
    const job = this.store.getJob(jobId);
    return job && this.reachable(job);
  }

  /** Stations, drives, running jobs with their titles, the first history page and the revisions; `only` keeps those stations'. */
  snapshot(only?: ReadonlySet<string>): SnapshotFields {
    const revisions = this.store.stationRevisions();
    return {
      // All read in one turn of the event loop: no event lands between the revisions and the rows.
      rev: this.store.revision,
      revisions: only ? Object.fromEntries(Object.entries(revisions).filter(([agentId]) => only.has(agentId))) : revisions,
      agents: this.stations(only),
      drives: this.drives(only),
      running: this.store.runningJobs(only).map((job) => this.reachable(job)),
      history: this.jobs({ limit: SNAPSHOT_HISTORY, ...(only ? { agent_ids: [...only] } : {}) }),
    };
  }

  /** Unfinished jobs of an offline station may be stale: they say so. */
  private reachable<T extends { agent_id: string; state: JobState }>(job: T): T & { reachable: boolean } {
    return { ...job, reachable: FINISHED_JOB_STATES.has(job.state) || this.agents.isOnline(job.agent_id) };
  }
}
