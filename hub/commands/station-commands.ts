// The commands people send to stations, whatever door they come through (REST, the dashboard socket, MQTT): the hub's own
// checks (no such job or drive, a job already over), then the station's answer, in one shape with an HTTP status.
import { FINISHED_JOB_STATES, type StationCommand } from '../../shared/index.js';
import type { CommandAnswer, DriveCommandName, DriveCommands } from '../events/consumer.js';
import { answerCommand } from '../link/command-answer.js';
import type { AgentServer } from '../link/agent-server.js';
import type { StationStore } from '../store/station-store.js';

/** The transcode farm's part: a job whose titles wait in its queue is the hub's to cancel, not its station's. */
export interface FarmJobCancel {
  cancelJob(agentId: string, jobId: number): boolean;
}

export class StationCommands implements DriveCommands {
  constructor(private readonly store: StationStore, private readonly agents: AgentServer, private readonly farm: FarmJobCancel, private readonly timeoutMs: number) {}

  async cancel(jobId: number): Promise<CommandAnswer> {
    const ref = this.store.jobRef(jobId);
    if (!ref) return refused(404, 'No such job');
    if (FINISHED_JOB_STATES.has(ref.state)) return refused(409, `Job has already ${ref.state === 'cancelled' ? 'been cancelled' : ref.state}`);
    if (ref.state === 'transcoding' && this.farm.cancelJob(ref.agent_id, jobId)) return { ok: true };
    return this.send(ref.agent_id, { name: 'cancel', job_id: ref.agent_job_id });
  }

  async selectTitles(jobId: number, titles: number[]): Promise<CommandAnswer> {
    const ref = this.store.jobRef(jobId);
    if (!ref) return refused(404, 'No such job');
    if (FINISHED_JOB_STATES.has(ref.state)) return refused(409, 'The job has finished; its selection can no longer change');
    return this.send(ref.agent_id, { name: 'select_titles', job_id: ref.agent_job_id, titles });
  }

  async drive(agentId: string, driveId: string, name: DriveCommandName, titles?: number[]): Promise<CommandAnswer> {
    if (!this.store.listDrives().some((drive) => drive.agent_id === agentId && drive.drive_id === driveId)) return refused(404, 'No such drive');
    const command: StationCommand = name === 'rip' ? { name, drive_id: driveId, ...(titles ? { titles } : {}) } : { name, drive_id: driveId };
    return this.send(agentId, command);
  }

  private send(agentId: string, command: StationCommand): Promise<CommandAnswer> {
    return answerCommand(this.agents, agentId, command, this.timeoutMs);
  }
}

function refused(status: number, error: string): CommandAnswer {
  return { ok: false, status, error };
}
