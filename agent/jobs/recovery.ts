// What a restarted agent does about the jobs its previous run left behind: ends them as `interrupted` (through the
// outbox, so the hub learns it too), removes their partial files unless told to keep them, and kills tools that
// outlived the agent (they run in their own process groups, so a SIGKILLed agent leaves them running).
import { readdir, readFile, realpath, rm, rmdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type { StationEvent } from '../../shared/index.js';
import type { AgentStore } from '../store/agent-store.js';
import { PARTIAL_SUFFIX } from '../../shared/files/partial-file.js';
import { pathInside } from './naming.js';

/** Set in the agent's environment, so every tool it starts inherits it and can be found after a crash. */
export const TOOL_OWNER_VARIABLE = 'DISCBRIDGE_TOOL_OWNER';

export interface RecoveryOptions {
  store: AgentStore;
  agentId: string;
  outputDir: string;
  keepPartialFiles: boolean;
  emit: (event: StationEvent) => void;
  logger: Logger;
}

export async function recoverInterruptedJobs(options: RecoveryOptions): Promise<number> {
  const jobs = options.store.unfinishedJobs();
  for (const job of jobs) {
    const message = 'The station stopped while this job was running (crash, reboot or power loss); insert the disc again to rip it';
    for (const title of job.openTitles) {
      options.emit({ type: 'title_update', agent_id: options.agentId, job_id: job.jobId, title_id: title.titleId, state: 'interrupted', error: 'Interrupted by a station restart' });
    }
    options.emit({ type: 'job_update', agent_id: options.agentId, job_id: job.jobId, state: 'interrupted', error_message: message });
    const removed = job.outputDir && !options.keepPartialFiles ? await removePartialFiles(options.outputDir, job.outputDir) : [];
    options.logger.warn({ job: job.jobId, drive: job.drive, removedPartialFiles: removed }, 'A job was cut short by the last stop; marked interrupted');
  }
  return jobs.length;
}

/** Removes `*.part` files and MakeMKV staging folders from a job's folder, and the folder if nothing else is left. */
async function removePartialFiles(outputDir: string, jobDir: string): Promise<string[]> {
  let folder: string;
  try {
    // Resolved through symlinks: a job folder replaced by a link to elsewhere is not ours to clean.
    folder = pathInside(await realpath(outputDir), relative(await realpath(outputDir), await realpath(pathInside(outputDir, jobDir))));
  } catch {
    return []; // outside the output directory, or gone
  }
  const entries = await readdir(folder).catch(() => [] as string[]);
  const partial = entries.filter((name) => name.endsWith(PARTIAL_SUFFIX) || (name.startsWith('.') && name.endsWith('.makemkv')));
  for (const name of partial) await rm(join(folder, name), { recursive: true, force: true });
  if (entries.length === partial.length) await rmdir(folder).catch(() => undefined);
  return partial;
}

/** Kills the process groups of tools started by an earlier run of this agent (Linux: read from /proc). */
export async function killOrphanTools(owner: string, logger: Logger): Promise<number> {
  if (process.platform !== 'linux') return 0;
  const marker = `${TOOL_OWNER_VARIABLE}=${owner}`;
  const ownGroup = await processGroupOf(process.pid);
  let killed = 0;
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    if (!environ.split('\0').includes(marker)) continue;
    const group = await processGroupOf(Number(name));
    if (group === undefined || group === ownGroup) continue;
    try {
      process.kill(-group, 'SIGKILL');
      killed++;
      const command = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0')[0];
      logger.warn({ pid: Number(name), command }, 'Killed a tool left running by the previous run of this agent');
    } catch {
      // gone already
    }
  }
  return killed;
}

async function processGroupOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces), which ends at the last ')': state, ppid, pgrp, …
  const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  return Number.isInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}
