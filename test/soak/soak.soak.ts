// The soak: discs through two stations and one hub for SOAK_MINUTES (scripts/soak --minutes N) while a chaos loop, at
// random moments, SIGKILLs the hub or a station, cuts or stalls a station's link (a TCP proxy between it and the
// hub), and ejects a disc mid-rip. Three lanes feed discs: a loop-device drive on each station (authored DVDs of one
// and two titles, a broken DVD, a data disc) and the second station's import folder (an authored audio CD as
// CUE/BIN). At the end it checks the invariants and prints them as a table, with the faults and the jobs' outcomes.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOOL_OWNER_VARIABLE } from '../../agent/jobs/recovery.js';
import { FINISHED_JOB_STATES, JobDetail, JobPage, type JobRecord } from '../../shared/index.js';
import { report } from '../../bench/report.js';
import { makeTestCd } from '../agent/cd-audio/test-cd.js';
import {
  Station, VirtualDrive, freePort, loopDevicesUnavailable, makeDisc, probeDuration, residentBytes, toolsUnavailable, waitFor,
  type StationAgent,
} from '../e2e/harness.js';
import { TcpProxy } from '../e2e/tcp-proxy.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 20);
const HUB_MEMORY_LIMIT = 300 * 1024 * 1024;
const JOB_TIMEOUT_MS = 240_000;
/**
 * A disc already in the drive when an agent starts is, by design, not ripped on its own (it waits for "rip now"), so
 * an insert the station had not yet made a job of when it was killed, or made before it watched its drives once after
 * a restart, would rightly have no job to count: a station is killed only once the hub shows a job for each disc just
 * put in its drives, and no disc goes in this soon after it starts.
 */
const INSERT_GRACE_MS = 3000;

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffprobe', 'cd-info', 'cd-paranoia', 'flac', 'sox', 'genisoimage');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

interface Disc {
  label: string;
  /** Inserts it: attaches the image to the lane's drive, or copies the CD into the import folder. */
  files: string[];
  /** What a job on it ends as when no fault touched it, and the length of each title it rips. */
  outcome: 'completed' | 'failed';
  titleSeconds: number[];
  kind: 'dvd' | 'data' | 'cd';
}

interface Insert {
  lane: Lane;
  disc: Disc;
  at: number;
  endedAt?: number;
  job?: JobDetail | undefined;
  /** Faults that may rightly end its job other than as planned: its station killed, its disc ejected. */
  touchedBy: Set<string>;
  stuck?: boolean;
}

interface Lane {
  name: string;
  agent: StationAgent;
  driveId: string;
  discs: Disc[];
  insert(disc: Disc): void;
  /** Takes whatever disc is in (no-op when empty). */
  eject(): void;
  current?: Insert | undefined;
  lastJobId: number;
}

type Fault = 'kill hub' | 'kill station' | 'cut link' | 'stall link' | 'eject mid-rip';

describe.skipIf(skipReason !== undefined)('soak', () => {
  it(`${MINUTES} minutes of discs through two stations and one hub under random faults`, async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'discbridge-soak-'));
    const cd = await makeTestCd(join(scratch, 'cd'));
    const dvd = (label: string, titles: number[], broken = false): Disc => ({
      label, kind: 'dvd', outcome: broken ? 'failed' : 'completed', titleSeconds: broken ? [] : titles,
      files: [makeDisc(`soak-${label}`, ['--label', label, ...titles.flatMap((t) => ['--title', `${t}:1`]), '--size', '352x240', ...(broken ? ['--broken'] : [])])],
    });
    const loopDiscs: Disc[] = [
      dvd('SOAK_ONE', [30]), dvd('SOAK_TWO', [24, 36]), dvd('SOAK_BROKEN', [12], true),
      { label: 'SOAK_DATA', kind: 'data', outcome: 'completed', titleSeconds: [], files: [makeDisc('soak-data', ['--data', '--label', 'SOAK_DATA', '--size-mb', '8'])] },
    ];
    const cdDisc: Disc = { label: 'Discbridge Test Tones', kind: 'cd', outcome: 'completed', titleSeconds: [12, 7.3, 5], files: [join(cd.folder, 'disc.bin'), cd.cue] };

    const hubPort = await freePort();
    const proxies = [new TcpProxy(hubPort), new TcpProxy(hubPort)];
    for (const proxy of proxies) await proxy.start();
    const importDir = join(scratch, 'import');
    const quiet = { DISCBRIDGE_LOG_LEVEL: 'info' };
    const station = new Station(VirtualDrive.reserve(), { name: 'soak', agentHubPort: () => (proxies[0] as TcpProxy).port, agentEnv: quiet, hubEnv: quiet });
    station.port = hubPort;
    const hubMemory: number[] = [];
    const faults = new Map<Fault, number>();
    const inserts: Insert[] = [];
    /** When each station may take a disc again: not while it is being killed, nor just after it started. */
    const readyAt = new Map<StationAgent, number>();
    let stopping = false;
    try {
      await station.start();
      const second = await station.startExtraAgent({
        name: 'two', drives: VirtualDrive.reserve(),
        agentEnv: { DISCBRIDGE_HUB_URL: `ws://127.0.0.1:${(proxies[1] as TcpProxy).port}`, DISCBRIDGE_IMPORT_DIR: importDir },
      });
      const first = station.agents[0] as StationAgent;
      const proxyOf = (agent: StationAgent) => proxies[agent === first ? 0 : 1] as TcpProxy;
      const loopLane = (name: string, agent: StationAgent): Lane => ({
        name, agent, driveId: agent.drive.device, discs: loopDiscs, lastJobId: 0,
        insert: (disc) => agent.drive.insert(disc.files[0] as string),
        eject: () => { if (agent.drive.hasDisc()) agent.drive.eject(); },
      });
      const lanes: Lane[] = [loopLane('station 1 drive', first), loopLane('station 2 drive', second), {
        name: 'station 2 import folder', agent: second, driveId: 'import', discs: [cdDisc], lastJobId: 0,
        // The BIN first, then the CUE that names it, as a user's copy would finish.
        insert: (disc) => { for (const file of disc.files) copyFileSync(file, join(importDir, file.split('/').at(-1) as string)); },
        eject: () => { for (const name of ['disc.bin', 'disc.cue']) rmSync(join(importDir, name), { force: true }); },
      }];

      const newestJob = async (lane: Lane): Promise<JobRecord | undefined> => {
        const page = JobPage.parse(await station.get(`/api/jobs?agent_id=${lane.agent.agentId}&drive_id=${encodeURIComponent(lane.driveId)}&limit=1`));
        return page.jobs[0];
      };
      const until = async <T>(what: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const value = await what().catch(() => undefined); // the hub may be down for a moment
          if (value !== undefined) return value;
          await sleep(250);
        }
        return undefined;
      };

      const runLane = async (lane: Lane) => {
        for (let turn = 0; !stopping; turn++) {
          const disc = lane.discs[turn % lane.discs.length] as Disc;
          while ((readyAt.get(lane.agent) ?? 0) > Date.now()) await sleep(200);
          // From this check to the insert nothing awaits, so the chaos loop cannot kill the station in between.
          const insert: Insert = { lane, disc, at: Date.now(), touchedBy: new Set() };
          lane.current = insert;
          inserts.push(insert);
          lane.insert(disc);
          const job = await until(async () => {
            const newest = await newestJob(lane);
            return newest && newest.job_id > lane.lastJobId && FINISHED_JOB_STATES.has(newest.state) ? newest : undefined;
          }, JOB_TIMEOUT_MS);
          insert.endedAt = Date.now();
          if (job) {
            lane.lastJobId = job.job_id;
            insert.job = await until(async () => JobDetail.parse(await station.get(`/api/jobs/${job.job_id}`)), 30_000);
          } else {
            insert.stuck = true;
          }
          lane.current = undefined;
          lane.eject();
          await sleep(between(500, 1500));
        }
      };

      const chaos = async () => {
        while (!stopping) {
          await sleep(between(4000, 12_000));
          if (stopping) return;
          const fault = pick<Fault>(['kill hub', 'kill station', 'cut link', 'stall link', 'eject mid-rip']);
          if (fault === 'kill hub') {
            await station.hub!.stop('SIGKILL');
            await sleep(between(500, 3000));
            await station.startHub();
          } else if (fault === 'kill station') {
            const agent = pick(station.agents);
            readyAt.set(agent, Number.POSITIVE_INFINITY); // no disc goes in while this is decided
            const theirs = lanes.filter((lane) => lane.agent === agent && lane.current);
            const seen = await Promise.all(theirs.map(async (lane) => ((await newestJob(lane).catch(() => undefined))?.job_id ?? 0) > lane.lastJobId));
            if (seen.includes(false)) {
              readyAt.set(agent, 0);
              continue;
            }
            for (const lane of lanes) if (lane.agent === agent) lane.current?.touchedBy.add(fault);
            await agent.process!.stop('SIGKILL');
            await sleep(between(500, 2000));
            await station.restartAgent(agent);
            readyAt.set(agent, Date.now() + INSERT_GRACE_MS);
          } else if (fault === 'cut link') {
            proxyOf(pick(station.agents)).cut();
          } else if (fault === 'stall link') {
            const proxy = proxyOf(pick(station.agents));
            proxy.stall();
            await sleep(between(2000, 6000));
            proxy.resume();
          } else {
            const candidates = lanes.filter((l) => l.driveId !== 'import' && l.current && !l.current.touchedBy.has(fault));
            const lane = candidates.length > 0 ? pick(candidates) : undefined;
            const running = lane && (await newestJob(lane).catch(() => undefined));
            if (!lane?.current || !running || running.job_id <= lane.lastJobId || running.state !== 'ripping') continue;
            lane.current.touchedBy.add(fault);
            lane.eject();
          }
          faults.set(fault, (faults.get(fault) ?? 0) + 1);
        }
      };

      const sampler = setInterval(() => {
        const pid = station.hub?.child.pid;
        if (pid && station.hub?.child.exitCode === null) {
          try {
            hubMemory.push(residentBytes(pid));
          } catch {
            // exited meanwhile
          }
        }
      }, 1000);
      const running = [chaos(), ...lanes.map(runLane)];
      await sleep(MINUTES * 60_000);
      stopping = true;
      await Promise.all(running);
      clearInterval(sampler);

      // Everything said is acknowledged, then both stations stop as a user would stop them.
      for (const agent of station.agents) await waitFor(() => station.outboxSize(agent) === 0, 60_000, `${agent.agentId}'s events acknowledged`);
      for (const agent of station.agents) await agent.process!.stop();
      const leftTools = station.agents.flatMap((agent) => toolsOwnedBy(join(agent.dir, 'agent')));
      const jobs = await allJobs(station);
      await station.hub!.stop();

      const checks: { invariant: string; holds: boolean; detail: string }[] = [];
      const check = (invariant: string, problems: string[], fine: string) =>
        checks.push({ invariant, holds: problems.length === 0, detail: problems.length === 0 ? fine : problems.slice(0, 5).join('; ') });

      const jobsByLane = new Map(lanes.map((lane) => [lane, jobs.filter((j) => j.agent_id === lane.agent.agentId && j.drive_id === lane.driveId)]));
      check('every insert made exactly one job', lanes.flatMap((lane) => {
        const made = jobsByLane.get(lane)?.length ?? 0;
        const put = inserts.filter((i) => i.lane === lane).length;
        return made === put ? [] : [`${lane.name}: ${put} inserts, ${made} jobs`];
      }), `${inserts.length} inserts, ${jobs.length} jobs`);
      check('every job ended in a final state', [
        ...jobs.filter((j) => !FINISHED_JOB_STATES.has(j.state)).map((j) => `job ${j.job_id} ${j.state}`),
        ...inserts.filter((i) => i.stuck).map((i) => `${i.lane.name}: ${i.disc.label} had no final job after ${JOB_TIMEOUT_MS / 1000} s`),
      ], `none stuck; ${outcomes(jobs)}`);
      check('a job no station kill or eject touched ended as planned', inserts.filter((i) => i.job && i.touchedBy.size === 0 && i.job.state !== i.disc.outcome)
        .map((i) => `job ${i.job!.job_id} (${i.disc.label}) ${i.job!.state}: ${i.job!.error_message ?? ''}`), 'hub kills and link faults failed no job');
      const completed = inserts.filter((i) => i.job?.state === 'completed');
      check('every completed job\'s files exist, whole', completed.flatMap((i) => filesProblems(i)), `${completed.length} completed jobs checked with ffprobe or SHA-256`);
      check('no event lost or doubled', station.agents.flatMap((agent) => {
        const { hub, agentLast } = station.eventSequences(agent);
        const whole = hub.length === agentLast && hub.every((seq, index) => seq === index + 1);
        return whole ? [] : [`${agent.agentId}: the hub holds ${hub.length} events, the station gave out ${agentLast}`];
      }), station.agents.map((agent) => `${agent.agentId}: 1…${station.eventSequences(agent).agentLast}`).join(', '));
      check('no tool process left running', leftTools.map((t) => `pid ${t}`), 'none');
      const peak = Math.max(0, ...hubMemory);
      check('the hub stayed under 300 MB', peak < HUB_MEMORY_LIMIT ? [] : [`peak ${(peak / 2 ** 20).toFixed(0)} MB`], `peak ${(peak / 2 ** 20).toFixed(0)} MB resident`);

      report(`Soak: ${MINUTES} min, 2 stations, 1 hub; faults: ${[...faults].map(([f, n]) => `${f} ×${n}`).join(', ')}`,
        checks.map((c) => ({ invariant: c.invariant, holds: c.holds ? 'yes' : 'NO', detail: c.detail })));
      expect(checks.filter((c) => !c.holds)).toEqual([]);
    } finally {
      stopping = true;
      for (const proxy of proxies) await proxy.stop();
      await station.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, (MINUTES * 60 + 600) * 1000);
});

/** What is wrong with a completed job's files: missing, cut short, or not the bytes the station hashed. */
function filesProblems(insert: Insert): string[] {
  const job = insert.job as JobDetail;
  const folder = join(insert.lane.agent.outputDir, job.output_dir ?? '');
  const titles = job.titles.filter((t) => t.state === 'completed');
  const problems: string[] = [];
  if (insert.disc.kind !== 'data' && titles.length !== insert.disc.titleSeconds.length) problems.push(`job ${job.job_id}: ${titles.length} titles completed`);
  for (const [index, title] of titles.entries()) {
    const file = join(folder, title.output_filename ?? '');
    if (!existsSync(file)) {
      problems.push(`job ${job.job_id}: ${title.output_filename} missing`);
    } else if (statSync(file).size !== title.actual_size_bytes) {
      problems.push(`job ${job.job_id}: ${title.output_filename} is ${statSync(file).size} bytes, announced ${title.actual_size_bytes}`);
    } else if (insert.disc.kind === 'data') {
      const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
      if (sha256 !== job.sha256) problems.push(`job ${job.job_id}: ${title.output_filename} does not match its SHA-256`);
    } else {
      const seconds = probeDuration(file);
      const expected = insert.disc.titleSeconds[index] as number;
      if (Math.abs(seconds - expected) > 1) problems.push(`job ${job.job_id}: ${title.output_filename} lasts ${seconds.toFixed(1)} s, not ${expected} s`);
    }
  }
  return problems;
}

function outcomes(jobs: readonly JobRecord[]): string {
  const counts = new Map<string, number>();
  for (const job of jobs) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}

async function allJobs(station: Station): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  for (let before: number | undefined; ;) {
    const page = JobPage.parse(await station.get(`/api/jobs?limit=500${before ? `&before=${before}` : ''}`));
    jobs.push(...page.jobs);
    if (page.next_before === undefined) return jobs;
    before = page.next_before;
  }
}

/** Processes started by an agent whose data folder is in `dataDir` (every tool inherits its owner variable). */
function toolsOwnedBy(dataDir: string): number[] {
  const marker = `${TOOL_OWNER_VARIABLE}=${dataDir}`;
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith(marker));
    } catch {
      return false;
    }
  }).map(Number);
}
