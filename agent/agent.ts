// The agent: one per rip station. Watches its drives through a drive source, starts one job per inserted disc with
// the plan of the disc's kind, and reports everything to the hub. Like every component here, the constructor only
// sets fields; start() and stop() do the work.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AGENT_LINK_PROTOCOL, type AgentHello, type CommandResult, type HubCommand, type LinkEvent } from '../shared/index.js';
import type { DiscIdentity, DriveSource } from './drives/drive-source.js';
import { HubFiles } from './farm/hub-files.js';
import { RipExchange } from './farm/rip-exchange.js';
import { TranscodeWorker } from './farm/transcode-worker.js';
import { JobRunner } from './jobs/job-runner.js';
import { EjectDisc } from './jobs/phases/eject-disc.js';
import { TOOL_OWNER_VARIABLE, killOrphanTools, recoverInterruptedJobs } from './jobs/recovery.js';
import type { DiscKinds } from './kinds/disc-kind.js';
import { HubLink, type LinkTls } from './link/hub-link.js';
import { AgentStore } from './store/agent-store.js';
import type { Transcoder } from './transcoders/transcoder.js';

export interface AgentConfig {
  agentId: string;
  name: string;
  version: string;
  hubUrl: string;
  token: string;
  /** For a wss:// hub: a CA file to trust, and a certificate fingerprint to insist on. */
  tls: LinkTls;
  dataDir: string;
  outputDir: string;
  minTitleSeconds: number;
  /**
   * How long a disc must stay in before its job starts. The insert is told at once; the job waits, so a tray that
   * bounces out and back in (which the drive source hides, removals being debounced) is ripped once, whole.
   */
  settleMs: number;
  heartbeatMs: number;
  stallSeconds: number;
  /** Rip as soon as a disc's titles are known; otherwise each job waits in `ready` for "rip now". */
  autoRip: boolean;
  /** Jobs that may run at once on this station; 0 means one per drive. */
  maxJobs: number;
  /** Keep the partial files of jobs cut short by a crash, for inspection. */
  keepPartialFiles: boolean;
  /** Open the tray when a job has completed, on drives that have one. */
  ejectWhenDone: boolean;
  /** Transcode tasks of the hub's queue this station runs at once (0: none). */
  transcodeSlots: number;
  /** This station's mount point of the shared library, if it has one. */
  libraryDir?: string | undefined;
  /** A worker (`discbridge worker`) has no drives by design; a station without one is told to look for them. */
  worker?: boolean;
}

export interface AgentParts {
  drives: DriveSource;
  kinds: DiscKinds;
  /** Runs the transcode tasks the hub leases this station. */
  transcoder: Transcoder;
}

export interface AgentHealth {
  hub_connected: boolean;
  drives: { drive_id: string; has_disc: boolean; busy: boolean }[];
  jobs_running: number;
  /** Transcode tasks of the hub's queue running here now, and at most. */
  transcodes_running: number;
  transcode_slots: number;
  /** Events kept until the hub confirms them: growing while hub_connected is false, none lost. */
  outbox: number;
}

interface DriveState {
  identity?: DiscIdentity;
  /** Changes with every insert and removal: a settle wait that outlived its insert starts nothing. */
  insertion?: object;
  job?: JobRunner;
  /** Jobs stopped by a command that decides itself what becomes of the disc (a rescan keeps it, an eject takes it). */
  replacing?: JobRunner;
}

/** Names of waiting images sent at most: the count says how many there are in all. */
const MAX_WAITING_NAMES = 100;

export class Agent {
  private store: AgentStore | undefined;
  private link: HubLink | undefined;
  private worker: TranscodeWorker | undefined;
  private exchange: RipExchange | undefined;
  private readonly driveStates = new Map<string, DriveState>();
  private readonly seenCommands = new Set<string>();
  private readonly drives: DriveSource;
  private readonly kinds: DiscKinds;
  private readonly transcoder: Transcoder;

  constructor(private readonly config: AgentConfig, parts: AgentParts, private readonly logger: Logger) {
    this.drives = parts.drives;
    this.kinds = parts.kinds;
    this.transcoder = parts.transcoder;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    const store = new AgentStore(config.dataDir);
    store.start();
    this.store = store;
    logger.info({ dataDir: config.dataDir, sqlite: store.driver }, `Keeping the outbox and job journal in ${config.dataDir} (SQLite through ${store.driver})`);
    // Tools inherit this, so a later run can find them if this one dies without stopping them.
    process.env[TOOL_OWNER_VARIABLE] = config.dataDir;
    await killOrphanTools(config.dataDir, logger);

    for (const { kind, missing } of await this.kinds.missingTools()) {
      logger.error({ kind }, `${missing}. The station runs, but ${kind} discs cannot be ripped until it is installed.`);
    }

    this.link = new HubLink({
      url: config.hubUrl, token: config.token, tls: config.tls, heartbeatMs: config.heartbeatMs, store,
      hello: () => this.hello(), logger: logger.child({ component: 'link' }),
    });
    this.link.on('command', (command) => void this.onCommand(command));
    const link = this.link;
    const farmLogger = logger.child({ component: 'farm' });
    const files = new HubFiles({ hubUrl: config.hubUrl, token: config.token, agentId: config.agentId, tls: config.tls, logger: farmLogger });
    const worker = new TranscodeWorker({
      agentId: config.agentId, slots: config.transcodeSlots, libraryDir: config.libraryDir, outputDir: config.outputDir, transcoder: this.transcoder,
      spoolDir: join(config.dataDir, 'spool'), files,
      store, report: (report) => link.report(report), stallMs: config.stallSeconds * 1000, logger: farmLogger,
    });
    await worker.start();
    this.worker = worker;
    const exchange = new RipExchange({ files, outputDir: config.outputDir, libraryDir: config.libraryDir, report: (message) => link.report(message), logger: farmLogger });
    this.exchange = exchange;
    link.on('taskOffer', (offer) => worker.offer(offer));
    link.on('taskVerdict', (verdict) => {
      void worker.verdict(verdict);
      void exchange.verdict(verdict);
    });
    link.on('sourceWanted', (message) => void exchange.sourceWanted(message));
    link.on('resultReady', (message) => void exchange.resultReady(message));
    link.on('connected', () => void worker.connected());
    if (config.transcodeSlots > 0) {
      const missing = await this.transcoder.checkInstalled();
      if (missing) logger.error(`${missing}. This station takes transcode tasks (DISCBRIDGE_TRANSCODE_SLOTS=${config.transcodeSlots}) and fails each one until it is installed; set DISCBRIDGE_TRANSCODE_SLOTS=0 to take none.`);
    }
    await recoverInterruptedJobs({
      store, agentId: config.agentId, outputDir: config.outputDir, keepPartialFiles: config.keepPartialFiles,
      emit: (event) => this.emit(event), logger: logger.child({ component: 'recovery' }),
    });
    this.drives.on('inserted', (drive, initial) => void this.onInserted(drive, initial));
    this.drives.on('removed', (drive) => this.onRemoved(drive));
    this.drives.on('waitingChanged', (drive) => this.emit({
      type: 'drive_event', agent_id: config.agentId, drive_id: drive, event: 'waiting_changed', volume_label: this.stateOf(drive).identity?.volumeLabel ?? '', ...this.waitingOf(drive),
    }));
    // Drives first, so the hello already lists them; events from this first look wait in the link's queue.
    await this.drives.start();
    this.link.start();

    logger.info({ agent: config.agentId, drives: this.drives.list().map((d) => d.id), kinds: this.kinds.all.map((k) => k.name), output: config.outputDir }, 'Agent started');
    if (this.drives.list().length === 0 && !config.worker) logger.warn('No drive matches DISCBRIDGE_DRIVES yet; watching for one to appear');
  }

  async stop(): Promise<void> {
    await this.drives.stop();
    const running = [...this.driveStates.values()].flatMap((state) => (state.job ? [state.job] : []));
    for (const job of running) job.stop({ state: 'interrupted', message: 'The station was shut down during the job' });
    await Promise.all(running.map((job) => job.run()));
    this.exchange?.stop();
    await this.worker?.stop();
    await this.link?.stop();
    this.store?.stop();
    this.logger.info('Agent stopped');
  }

  /** What /health reports: whether the link is up, the drives, the running jobs and the events still to send. */
  health(): AgentHealth {
    return {
      hub_connected: this.link?.isConnected ?? false,
      drives: this.drives.list().map(({ id, hasDisc }) => ({ drive_id: id, has_disc: hasDisc, busy: this.driveStates.get(id)?.job !== undefined })),
      jobs_running: [...this.driveStates.values()].filter((state) => state.job).length,
      transcodes_running: this.worker?.runningCount ?? 0,
      transcode_slots: this.config.transcodeSlots,
      outbox: this.store?.outboxSize() ?? 0,
    };
  }

  private hello(): Omit<AgentHello, 'instance' | 'last_seq'> {
    return {
      kind: 'hello',
      agent_id: this.config.agentId,
      name: this.config.name,
      version: this.config.version,
      protocol: { ...AGENT_LINK_PROTOCOL },
      transcode_slots: this.config.transcodeSlots,
      library: this.config.libraryDir !== undefined,
      tasks: this.worker?.held() ?? [],
      drives: this.drives.list().map(({ id, hasDisc }) => {
        const state = this.driveStates.get(id);
        return {
          drive_id: id,
          has_disc: hasDisc,
          busy: state?.job !== undefined,
          ...this.waitingOf(id),
          ...(hasDisc && state?.identity ? { volume_label: state.identity.volumeLabel, disc_type: state.identity.discType } : {}),
        };
      }),
    };
  }

  private emit(event: LinkEvent, progressOnly = false): void {
    this.link?.send(event, progressOnly);
  }

  private stateOf(drive: string): DriveState {
    let state = this.driveStates.get(drive);
    if (!state) this.driveStates.set(drive, (state = {}));
    return state;
  }

  private async onInserted(drive: string, initial: boolean): Promise<void> {
    const insertion = {};
    const state = this.stateOf(drive);
    state.insertion = insertion;
    const identity = await this.drives.identify(drive);
    if (state.insertion !== insertion) return; // taken out again while being looked at
    state.identity = identity;
    this.logger.info({ drive, label: identity.volumeLabel, discType: identity.discType, fs: identity.fsType, initial }, initial ? 'Disc already in drive' : 'Disc inserted');
    this.emit({ type: 'drive_event', agent_id: this.config.agentId, drive_id: drive, event: 'inserted', volume_label: identity.volumeLabel, disc_type: identity.discType, ...this.waitingOf(drive) });
    // A disc that was already in the drive when the agent started is not ripped again on its own.
    if (initial) return;
    if (this.config.settleMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.settleMs));
    // After a quick swap the old disc's job may still be ending: the new disc waits for it rather than being lost.
    if (state.job?.stopping) await state.job.run();
    if (state.insertion !== insertion || !state.identity) return;
    if (state.job) {
      this.logger.warn({ drive }, 'A disc was reported inserted while the drive is busy; not starting a second job');
      return;
    }
    const busy = this.overJobLimit();
    if (busy) {
      // Never a silent queue: the disc gets a job that says at once why it is not ripped.
      this.refuseDisc(drive, identity, `${busy}; press "rip now" when a job has finished`);
      return;
    }
    this.startJob(drive, identity, this.config.autoRip);
  }

  /** The images waiting for a drive, for its events and the hello; nothing for a drive with a tray. */
  private waitingOf(drive: string): { waiting?: string[]; waiting_count?: number } {
    if (!this.drives.has(drive) || this.drives.hasTray(drive)) return {};
    const names = this.drives.waiting(drive);
    return { waiting: names.slice(0, MAX_WAITING_NAMES), waiting_count: names.length };
  }

  /** A disc that gets no job is told as a job that fails at once with the reason, so it does not look forgotten. */
  private refuseDisc(drive: string, identity: DiscIdentity, reason: string): void {
    this.logger.warn({ drive, discType: identity.discType }, reason);
    const jobId = this.store?.nextJobId() ?? 0;
    this.emit({ type: 'job_update', agent_id: this.config.agentId, job_id: jobId, state: 'identifying', drive_id: drive, volume_label: identity.volumeLabel, disc_type: identity.discType });
    this.emit({ type: 'job_update', agent_id: this.config.agentId, job_id: jobId, state: 'failed', error_message: reason });
  }

  /** Why no further job may start now, or undefined. */
  private overJobLimit(): string | undefined {
    const limit = this.config.maxJobs || Math.max(1, this.drives.list().length);
    const running = [...this.driveStates.values()].filter((state) => state.job && state.job.currentState !== 'ready').length;
    return running >= limit ? `Station is busy: ${running} job(s) running, the limit is ${limit} (DISCBRIDGE_MAX_JOBS)` : undefined;
  }

  private onRemoved(drive: string): void {
    const state = this.stateOf(drive);
    delete state.identity;
    state.insertion = {};
    this.logger.info({ drive }, 'Disc removed');
    this.emit({ type: 'drive_event', agent_id: this.config.agentId, drive_id: drive, event: 'removed', volume_label: '', ...this.waitingOf(drive) });
    state.job?.stop({ state: 'failed', message: 'The disc was removed during the job', code: 'disc_removed' });
  }

  private startJob(drive: string, identity: DiscIdentity, autoRip: boolean, selection?: readonly number[]): void {
    if (!this.store) return;
    const state = this.stateOf(drive);
    const plan = this.kinds.planFor(identity.discType, this.config.ejectWhenDone && this.drives.hasTray(drive) ? [new EjectDisc()] : []);
    if (!plan) {
      const reason = `This station cannot rip ${identity.discType === 'cd' ? 'audio CDs' : `${identity.discType} discs`} yet`;
      this.refuseDisc(drive, identity, reason);
      void this.drives.jobEnded(drive, { state: 'failed', message: reason });
      return;
    }
    const jobId = this.store.nextJobId();
    const job = new JobRunner(
      {
        agentId: this.config.agentId, jobId, drive, device: this.drives.devicePath(drive), volumeLabel: identity.volumeLabel,
        discType: identity.discType, autoRip, selection,
      },
      plan,
      {
        outputDir: this.config.outputDir, minTitleSeconds: this.config.minTitleSeconds, stallMs: this.config.stallSeconds * 1000,
        progressIntervalMs: 500, emit: (event, progressOnly) => this.emit(event, progressOnly), eject: () => this.drives.eject(drive),
        logger: this.logger.child({ component: 'job' }),
      },
    );
    state.job = job;
    void job.run().then(async (final) => {
      if (state.job === job) delete state.job;
      this.logger.info({ drive, job: job.spec.jobId, state: final }, final === 'transcoding' ? 'Drive is free; the titles wait in the hub\'s transcode queue' : 'Drive is free');
      if (state.replacing === job) return;
      // A job handed to the transcode queue is done with its disc: for the drive it completed.
      const outcome = { state: final === 'transcoding' ? 'completed' as const : final, message: job.errorMessage };
      await this.drives.jobEnded(drive, outcome).catch((error: unknown) => {
        this.logger.warn({ drive, err: error }, 'The drive could not act on the end of its job');
      });
    });
  }

  private async onCommand(message: HubCommand): Promise<void> {
    const reply = (ok: boolean, error?: string) => this.link?.reply({ kind: 'command_result', id: message.id, ok, ...(error ? { error } : {}) } satisfies CommandResult);
    if (this.seenCommands.has(message.id)) return; // at most once, even if the hub sends it again
    this.seenCommands.add(message.id);
    if (this.seenCommands.size > 1000) this.seenCommands.delete(this.seenCommands.values().next().value as string);
    if (message.expires_at < Date.now()) {
      this.logger.warn({ command: message.command }, 'Ignoring an expired command');
      return reply(false, 'The command expired before it reached the station');
    }
    const { command } = message;
    const jobById = (id: number) => [...this.driveStates.values()].find((state) => state.job?.spec.jobId === id)?.job;
    switch (command.name) {
      case 'cancel': {
        const job = jobById(command.job_id);
        if (!job) return reply(false, 'That job is not running on this station');
        this.logger.info({ job: command.job_id }, 'Cancelling job at the hub\'s request');
        job.stop({ state: 'cancelled', message: 'Cancelled by user' });
        await job.run();
        return reply(true);
      }
      case 'select_titles': {
        const job = jobById(command.job_id);
        if (!job) return reply(false, 'That job is not running on this station');
        const refusal = job.selectTitles(command.titles);
        return refusal ? reply(false, refusal) : reply(true);
      }
      case 'rip':
      case 'rescan': {
        if (!this.drives.has(command.drive_id)) return reply(false, 'No such drive on this station');
        const state = this.stateOf(command.drive_id);
        if (!state.identity) return reply(false, 'There is no disc in the drive');
        const job = state.job;
        if (job && command.name === 'rip' && job.currentState === 'ready') {
          const refusal = job.ripNow(command.titles);
          return refusal ? reply(false, refusal) : reply(true);
        }
        if (job && job.currentState !== 'ready') return reply(false, 'Drive is busy');
        const busy = command.name === 'rip' ? this.overJobLimit() : undefined;
        if (busy) return reply(false, busy);
        if (job) {
          // A rescan replaces the job that waits with a fresh one, for the same disc.
          state.replacing = job;
          job.stop({ state: 'cancelled', message: 'Replaced by a rescan' });
          await job.run();
        }
        this.logger.info({ drive: command.drive_id, command: command.name }, command.name === 'rip' ? 'Ripping at the hub\'s request' : 'Rescanning at the hub\'s request');
        this.startJob(command.drive_id, state.identity, command.name === 'rip', command.name === 'rip' ? command.titles : undefined);
        return reply(true);
      }
      case 'eject': {
        if (!this.drives.has(command.drive_id)) return reply(false, 'No such drive on this station');
        const state = this.stateOf(command.drive_id);
        const job = state.job;
        if (job && job.currentState !== 'ready') return reply(false, 'Drive is busy');
        if (job) {
          state.replacing = job;
          job.stop({ state: 'cancelled', message: 'The disc was ejected' });
          await job.run();
        }
        try {
          await this.drives.eject(command.drive_id);
          this.logger.info({ drive: command.drive_id }, 'Ejected at the hub\'s request');
          return reply(true);
        } catch (error) {
          this.logger.warn({ drive: command.drive_id, err: (error as Error).message }, 'Eject failed');
          return reply(false, 'The drive could not eject');
        }
      }
    }
  }
}
