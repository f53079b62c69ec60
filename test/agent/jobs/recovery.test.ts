// What a restarted agent does about its previous run: recoverInterruptedJobs ends the jobs its journal (a real
// AgentStore) says were cut short as `interrupted` and removes their partial files; killOrphanTools kills the process
// groups of tools that outlived the agent, found by the marker in their environment (real processes, Linux /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StationEvent, type JobUpdate, type TitleUpdate } from '../../../shared/index.js';
import { TOOL_OWNER_VARIABLE, killOrphanTools, recoverInterruptedJobs } from '../../../agent/jobs/recovery.js';
import { AgentStore } from '../../../agent/store/agent-store.js';

const A = 'station-1';
const logger = pino({ level: 'silent' });

const job = (jobId: number, state: JobUpdate['state'], extra: Partial<JobUpdate> = {}): JobUpdate =>
  ({ type: 'job_update', agent_id: A, job_id: jobId, state, ...extra });
const title = (jobId: number, titleId: number, state: TitleUpdate['state']): TitleUpdate =>
  ({ type: 'title_update', agent_id: A, job_id: jobId, title_id: titleId, state });

describe('recoverInterruptedJobs', () => {
  let dir: string;
  let outputDir: string;
  let store: AgentStore;
  let emitted: StationEvent[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'discbridge-recovery-'));
    outputDir = join(dir, 'rips');
    mkdirSync(outputDir);
    store = new AgentStore(join(dir, 'agent'));
    store.start();
    emitted = [];
  });

  afterEach(() => {
    store.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs recovery the way the agent does: every event it emits goes through the outbox (and so the journal). */
  async function recover(keepPartialFiles = false): Promise<number> {
    return recoverInterruptedJobs({
      store, agentId: A, outputDir, keepPartialFiles, logger,
      emit: (event) => { emitted.push(event); store.record(event, false); },
    });
  }

  /** A folder in the output dir with the given files ('name/' makes a folder with a file in it). */
  function folder(name: string, entries: string[]): string {
    const path = join(outputDir, name);
    mkdirSync(path, { recursive: true });
    for (const entry of entries) {
      if (entry.endsWith('/')) {
        mkdirSync(join(path, entry), { recursive: true });
        writeFileSync(join(path, entry, 'title_t00.mkv'), 'staged');
      } else {
        writeFileSync(join(path, entry), 'data');
      }
    }
    return path;
  }

  it('ends each cut-short job as interrupted: its open titles first, then the job with a message', async () => {
    // Job 1 was ripping title 2 (title 1 done, title 3 pending, title 4 skipped); job 2 was identifying.
    store.record(job(1, 'identifying', { drive_id: '/dev/sr0' }), false);
    store.record({
      type: 'titles_discovered', agent_id: A, job_id: 1,
      titles: [1, 2, 3, 4].map((id) => ({ title_id: id, duration_seconds: 3000, chapters: 5, expected_size_bytes: 1000, selected: id !== 4 })),
    }, false);
    store.record(job(1, 'ripping', { output_dir: 'Disc One' }), false);
    store.record(title(1, 1, 'completed'), false);
    store.record(title(1, 2, 'ripping'), false);
    store.record(job(2, 'identifying', { drive_id: '/dev/sr1' }), false);
    // Job 3 finished: nothing to do for it.
    store.record(job(3, 'ripping', { drive_id: '/dev/sr0' }), false);
    store.record(job(3, 'completed'), false);

    expect(await recover()).toBe(2);
    expect(emitted.map((e) => [e.type, 'job_id' in e ? e.job_id : undefined, 'title_id' in e ? e.title_id : undefined, 'state' in e ? e.state : undefined])).toEqual([
      ['title_update', 1, 2, 'interrupted'],
      ['title_update', 1, 3, 'interrupted'],
      ['job_update', 1, undefined, 'interrupted'],
      ['job_update', 2, undefined, 'interrupted'],
    ]);
    for (const event of emitted) expect(StationEvent.parse(event)).toEqual(event);
    expect(emitted[0]).toMatchObject({ agent_id: A, error: expect.stringMatching(/restart/i) });
    expect(emitted[2]).toMatchObject({ agent_id: A, error_message: expect.stringMatching(/stopped while this job was running/) });
    // Written through the outbox: the hub will learn it, and the next start has nothing left to recover.
    expect(store.eventsAfter(8, 100).map((e) => e.event)).toEqual(emitted);
    expect(store.unfinishedJobs()).toEqual([]);
    emitted = [];
    expect(await recover()).toBe(0);
    expect(emitted).toEqual([]);
  });

  it('removes *.part files and .NAME.makemkv staging folders, keeping finished files and the folder that holds them', async () => {
    const kept = folder('Disc One', ['DISC_t01.mkv', 'DISC_t02.mkv.part', '.DISC_t03.makemkv/', 'notes.txt']);
    const emptied = folder('Disc Two', ['DISC_t01.mkv.part', '.DISC_t01.makemkv/']);
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0', output_dir: 'Disc One' }), false);
    store.record(job(2, 'ripping', { drive_id: '/dev/sr1', output_dir: 'Disc Two' }), false);
    expect(await recover()).toBe(2);
    expect(readdirSync(kept).sort()).toEqual(['DISC_t01.mkv', 'notes.txt']);
    // Nothing but partial files: the folder goes too.
    expect(existsSync(emptied)).toBe(false);
    expect(readdirSync(outputDir)).toEqual(['Disc One']);
  });

  it('keeps everything with keepPartialFiles, and still ends the jobs', async () => {
    const path = folder('Disc One', ['DISC_t02.mkv.part', '.DISC_t03.makemkv/']);
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0', output_dir: 'Disc One' }), false);
    expect(await recover(true)).toBe(1);
    expect(readdirSync(path).sort()).toEqual(['.DISC_t03.makemkv', 'DISC_t02.mkv.part']);
    expect(emitted.at(-1)).toMatchObject({ type: 'job_update', state: 'interrupted' });
  });

  it('leaves alone files that only look partial: a .makemkv folder without the dot, a file named .part inside a name', async () => {
    const path = folder('Disc One', ['DISC.makemkv/', 'DISC.part.mkv', '.hidden', 'x.part']);
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0', output_dir: 'Disc One' }), false);
    await recover();
    expect(readdirSync(path).sort()).toEqual(['.hidden', 'DISC.makemkv', 'DISC.part.mkv']);
  });

  it('a job without a folder yet, or whose folder is gone, is ended without error', async () => {
    store.record(job(1, 'identifying', { drive_id: '/dev/sr0' }), false);
    store.record(job(2, 'ripping', { drive_id: '/dev/sr1', output_dir: 'Gone' }), false);
    expect(await recover()).toBe(2);
    expect(emitted.filter((e): e is JobUpdate => e.type === 'job_update').map((e) => e.job_id)).toEqual([1, 2]);
  });

  it.each([
    ['a parent path', '../outside'],
    ['an absolute path', '<outside>'],
    ['the output directory itself', '.'],
    ['a path that climbs out and back', 'a/../../outside'],
  ])('refuses a journal path outside its job folder: %s', async (_name, journalPath) => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious.part'), 'not ours');
    mkdirSync(join(outside, '.keep.makemkv'));
    writeFileSync(join(outputDir, 'top.part'), 'not a job folder');
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0', output_dir: journalPath === '<outside>' ? outside : journalPath }), false);
    expect(await recover()).toBe(1);
    expect(readdirSync(outside).sort()).toEqual(['.keep.makemkv', 'precious.part']);
    expect(readdirSync(outputDir)).toEqual(['top.part']);
    // The job is still ended.
    expect(emitted.at(-1)).toMatchObject({ type: 'job_update', job_id: 1, state: 'interrupted' });
  });

  // BUG (hardening): removePartialFiles checks the journal path only lexically (pathInside), then readdir()s and rm()s
  // through it. A job folder that is (or was replaced by) a symlink to a folder outside the output directory is
  // followed, and the *.part files and .*.makemkv folders there are deleted, against "a journal entry pointing
  // outside the output directory is not ours to clean". A realpath/lstat check before cleaning would prevent it.
  it('does not follow a job folder that is a symlink out of the output directory', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious.part'), 'not ours');
    symlinkSync(outside, join(outputDir, 'Disc One'));
    store.record(job(1, 'ripping', { drive_id: '/dev/sr0', output_dir: 'Disc One' }), false);
    await recover();
    expect(readdirSync(outside)).toEqual(['precious.part']);
  });
});

describe.runIf(process.platform === 'linux')('killOrphanTools', () => {
  const started: { child: ChildProcess; detached: boolean; sleeps: number[] }[] = [];

  /** The pids of every process in a process group, from /proc. */
  function groupMembers(pgid: number): number[] {
    return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number).filter((pid) => {
      const fields = statFields(pid);
      return fields !== undefined && Number(fields[2]) === pgid && fields[0] !== 'Z';
    });
  }

  /** state, ppid, pgrp, … of a process; undefined once it is gone. */
  function statFields(pid: number): string[] | undefined {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  }

  const alive = (pid: number): boolean => {
    const fields = statFields(pid);
    return fields !== undefined && fields[0] !== 'Z';
  };

  function commandOf(pid: number): string {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    } catch {
      return '';
    }
  }

  async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** `sh -c 'sleep 30 & sleep 30'` with the owner marker, in a process group of its own (as tools are started). */
  async function tool(owner: string, detached = true): Promise<{ child: ChildProcess; sleeps: number[] }> {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30'], {
      detached, stdio: 'ignore', env: { ...process.env, [TOOL_OWNER_VARIABLE]: owner },
    });
    const entry = { child, detached, sleeps: [] as number[] };
    started.push(entry);
    const pgid = detached ? child.pid! : Number(statFields(process.pid)![2]);
    let sleeps: number[] = [];
    await until(() => {
      sleeps = groupMembers(pgid).filter((pid) => pid !== process.pid && commandOf(pid) === 'sleep' && isDescendant(pid, child.pid!));
      return sleeps.length === 2;
    }, 'both sleeps run');
    entry.sleeps = sleeps;
    return { child, sleeps };
  }

  function isDescendant(pid: number, ancestor: number): boolean {
    for (let current = pid; current > 1;) {
      if (current === ancestor) return true;
      const parent = Number(statFields(current)?.[1]);
      if (!Number.isInteger(parent)) return false;
      current = parent;
    }
    return false;
  }

  afterEach(() => {
    // End what these tests started, by their own ids: each detached group, each sleep, each shell.
    for (const { child, detached, sleeps } of started.splice(0)) {
      if (detached) {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
      for (const pid of sleeps) {
        if (alive(pid) && commandOf(pid) === 'sleep') {
          try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        }
      }
      child.kill('SIGKILL');
    }
  });

  it('kills the process group of a tool whose environment carries the marker: both sleeps die', async () => {
    const owner = `/tmp/discbridge-test-owner-${randomUUID()}`;
    const { child, sleeps } = await tool(owner);
    const environ = readFileSync(`/proc/${sleeps[0]}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`${TOOL_OWNER_VARIABLE}=${owner}`);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    expect(await killOrphanTools(owner, logger)).toBeGreaterThanOrEqual(1);
    await until(() => sleeps.every((pid) => !alive(pid)), 'both sleeps are gone');
    expect(await exited).toBe('SIGKILL');
    // Nothing left with that marker: a second run kills nothing.
    expect(await killOrphanTools(owner, logger)).toBe(0);
  });

  it('leaves alone processes with another owner\'s marker', async () => {
    const mine = `/tmp/discbridge-test-owner-${randomUUID()}`;
    const other = await tool(`/tmp/discbridge-test-owner-${randomUUID()}`);
    // A prefix of the other marker is not the marker either.
    const prefix = await tool(`${mine}-and-more`);
    expect(await killOrphanTools(mine, logger)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const pid of [...other.sleeps, ...prefix.sleeps]) expect(alive(pid)).toBe(true);
  });

  it('never kills its own process group, even when a process in it carries the marker', async () => {
    const owner = `/tmp/discbridge-test-owner-${randomUUID()}`;
    const { sleeps } = await tool(owner, false);
    expect(await killOrphanTools(owner, logger)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const pid of sleeps) expect(alive(pid)).toBe(true);
    expect(alive(process.pid)).toBe(true);
  });
});
