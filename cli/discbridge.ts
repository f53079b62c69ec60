#!/usr/bin/env node
// The discbridge command: `start` runs a whole station (hub and a local agent), `hub` and `agent` run one side.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { Agent } from '../agent/agent.js';
import type { DriveSource } from '../agent/drives/drive-source.js';
import { DriveSources } from '../agent/drives/drive-sources.js';
import { ImportFolderSource } from '../agent/drives/import/import-folder-source.js';
import { BlockDeviceSource } from '../agent/drives/linux/block-device-source.js';
import { driveAccessProblems } from '../agent/drives/linux/drive-access.js';
import { DriveLetterSource } from '../agent/drives/windows/drive-letter-source.js';
import { loadWin32Drives } from '../agent/drives/windows/kernel32.js';
import { createDiscKinds, createRipper, createTranscoder } from '../agent/kinds/create-kinds.js';
import { findExecutable } from '../agent/tools/find-executable.js';
import { endToolsWithThisProcess } from '../agent/tools/windows/job-object.js';
import { outputFolderProblem } from '../agent/jobs/output-folder.js';
import { RipError } from '../agent/tools/rip-error.js';
import { HealthServer } from '../agent/health/health-server.js';
import { libraryProblem } from '../agent/farm/library.js';
import { getLoopback } from './loopback-get.js';
import { createLogger } from './logger.js';
import { onWindows } from './platform.js';
import { linuxServiceCommand } from './linux-service.js';
import { SystemdNotifier } from './systemd-notify.js';
import { windowsServiceCommand } from './windows-service.js';
import { scanCommand } from './scan.js';
import { SettingError, loadSettings, localHubOrigin, settingsHelp, type Settings } from './settings.js';
import { VERSION } from './version.js';

const USAGE = `discbridge ${VERSION}: rip stations and a hub for optical discs

Usage:
  discbridge start     run a whole station: the hub and an agent for this machine's drives
  discbridge hub       run only the hub (REST, dashboard socket, agent socket)
  discbridge agent     run only an agent, reporting to DISCBRIDGE_HUB_URL
  discbridge worker    run a station without drives that transcodes the hub's queue (DISCBRIDGE_TRANSCODE_SLOTS at
                       once; DISCBRIDGE_LIBRARY_DIR where it mounts the shared library)
  discbridge scan DEVICE [--json]
                       print what the configured ripper sees on a disc, without ripping it
  discbridge station add ID [--name NAME]
                       allow a station: prints its token (give it as DISCBRIDGE_TOKEN) once
  discbridge station revoke ID | discbridge station list
  discbridge password  set the dashboard password, read from standard input
  discbridge notify test
                       send a test notification to every DISCBRIDGE_NOTIFY URL and print what each answered
  discbridge health [hub|agent]
                       ask the running hub (or the agent, with DISCBRIDGE_HEALTH_PORT) for /health; exit 0 when it
                       answers ok (a container's HEALTHCHECK)
  discbridge doctor    check that the agent can use its drives (a container's most common problem) and its tools
  discbridge service install | uninstall | start | stop | status [agent|hub] [--root DIR]
                       the agent (or the hub) as a service: systemd units on Linux (the discbridge user in the
                       cdrom group), the service discbridge-agent on Windows (from the Windows zip)
  discbridge --help    this text
  discbridge --version

Settings (environment variables win over the config file):
${settingsHelp()}
`;

/**
 * The hub's side of the command, loaded only when a command needs it: an agent-only install (the Windows zip) has
 * no better-sqlite3 for the hub's database, and an agent never loads it.
 */
async function hubSide(): Promise<typeof import('./hub-side.js')> {
  try {
    return await import('./hub-side.js');
  } catch (error) {
    throw new SettingError(`This install of discbridge runs only the agent (the hub needs better-sqlite3, which it lacks: ${(error as Error).message.split('\n')[0]}); run the hub on Linux`);
  }
}

interface Component {
  stop(): Promise<void>;
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (!['start', 'hub', 'agent', 'worker', 'scan', 'station', 'password', 'notify', 'service', 'doctor', 'health'].includes(command)) {
    process.stderr.write(`Unknown command "${command}". Run discbridge --help.\n`);
    return 2;
  }
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command === 'station') return (await hubSide()).stationCommand(argv.slice(1), settings.dataDir);
  if (command === 'password') return (await hubSide()).passwordCommand(settings.dataDir);
  if (command === 'notify') return (await hubSide()).notifyCommand(argv.slice(1), settings);
  if (command === 'doctor') return doctorCommand(settings);
  if (command === 'health') return healthCommand(argv[1] ?? 'hub', settings);
  if (command === 'service') {
    const print = (line: string) => process.stdout.write(`${line}\n`);
    return onWindows ? windowsServiceCommand(argv.slice(1), settings, print) : linuxServiceCommand(argv.slice(1), print);
  }
  if (command === 'scan') {
    const device = argv.find((arg, i) => i > 0 && !arg.startsWith('--'));
    if (!device) {
      process.stderr.write('Usage: discbridge scan DEVICE [--json]\n');
      return 2;
    }
    try {
      return await scanCommand(createRipper(settings), device, argv.includes('--json'), settings.minTitleSeconds);
    } catch (error) {
      process.stderr.write(`${error instanceof RipError ? error.message : (error as Error).message}\n`);
      return 1;
    }
  }
  const logger = await createLogger(settings.logLevel, settings.logFile);
  const components: Component[] = [];
  try {
    if (command === 'start' || command === 'hub') components.push(await (await hubSide()).startHub(settings, logger));
    if (command === 'start' || command === 'agent' || command === 'worker') components.push(await startAgent(settings, logger, command));
  } catch (error) {
    logger.fatal({ err: error }, `Could not start: ${(error as Error).message}`);
    for (const component of components.reverse()) await component.stop();
    return 1;
  }
  const systemd = new SystemdNotifier(logger);
  systemd.ready(`discbridge ${command} running`);
  await new Promise<void>((resolveSignal) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'Shutting down');
      resolveSignal();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  systemd.stopping();
  for (const component of components.reverse()) await component.stop();
  return 0;
}


async function startAgent(settings: Settings, logger: Logger, command: 'start' | 'agent' | 'worker'): Promise<Component> {
  const local = command === 'start';
  const worker = command === 'worker';
  if (worker && settings.transcodeSlots === 0) throw new SettingError('A worker with DISCBRIDGE_TRANSCODE_SLOTS=0 has nothing to do: give it at least 1');
  const dataDir = resolve(settings.dataDir);
  let token = settings.token;
  let hubUrl = settings.hubUrl;
  if (local) {
    token ??= (await hubSide()).localStationToken(dataDir, settings.agentId, settings.agentName);
    hubUrl = localHubOrigin(settings, 'ws');
  }
  if (!token) throw new SettingError('DISCBRIDGE_TOKEN is required for an agent: run "discbridge station add ID" on the hub and use the token it prints');
  const agentId = stationOf(token, settings.agentId);
  if (onWindows) {
    try {
      endToolsWithThisProcess();
    } catch (error) {
      logger.warn({ err: error }, `Tools the agent starts may outlive it after a crash: ${(error as Error).message}`);
    }
  }
  const hasDdrescue = (await findExecutable(settings.ddrescue)) !== undefined;
  if (!hasDdrescue) logger.info({ ddrescue: settings.ddrescue }, 'GNU ddrescue is not installed (Debian: gddrescue): a damaged data disc fails at its first read error');
  for (const problem of await stationProblems(settings, worker)) logger.error(`Station check: ${problem}`);
  const agent = new Agent({
    agentId, tls: { ...(settings.tlsCa ? { ca: settings.tlsCa } : {}), ...(settings.tlsPin ? { pin: settings.tlsPin } : {}) }, name: settings.agentName, version: VERSION, hubUrl, token,
    dataDir: resolve(dataDir, 'agent'), outputDir: resolve(settings.outputDir), minTitleSeconds: settings.minTitleSeconds, settleMs: settings.debounceMs, heartbeatMs: settings.heartbeatMs,
    stallSeconds: settings.stallSeconds, keepPartialFiles: settings.keepPartial, autoRip: settings.autoRip, maxJobs: settings.maxJobs,
    ejectWhenDone: settings.ejectWhenDone, transcodeSlots: settings.transcodeSlots, worker,
    ...(settings.libraryDir ? { libraryDir: resolve(settings.libraryDir) } : {}),
  }, {
    // A worker has no drives: it only transcodes.
    drives: worker ? new DriveSources([]) : driveSources(settings, logger.child({ side: 'agent', component: 'drives' })),
    kinds: createDiscKinds(settings, hasDdrescue, { version: VERSION, agentId }),
    transcoder: createTranscoder(settings),
  }, logger.child({ side: worker ? 'worker' : 'agent' }));
  await agent.start();
  if (settings.healthPort === undefined) return agent;
  const health = new HealthServer({ port: settings.healthPort, health: () => agent.health(), logger: logger.child({ side: 'agent', component: 'health' }) });
  try {
    await health.start();
  } catch (error) {
    await agent.stop();
    throw error;
  }
  return { stop: async () => { await health.stop(); await agent.stop(); } };
}

/** `discbridge health [hub|agent]`: GET /health of this machine's running hub or agent; exit 0 only on 200. */
async function healthCommand(side: string, settings: Settings): Promise<number> {
  if (side !== 'hub' && side !== 'agent') {
    process.stderr.write('Usage: discbridge health [hub|agent]\n');
    return 2;
  }
  if (side === 'agent' && settings.healthPort === undefined) {
    process.stderr.write('The agent serves /health only when DISCBRIDGE_HEALTH_PORT is set\n');
    return 2;
  }
  const url = side === 'hub' ? `${localHubOrigin(settings, 'http')}/health` : `http://127.0.0.1:${settings.healthPort}/health`;
  try {
    const { status, body } = await getLoopback(url, 5000);
    process.stdout.write(`${body}\n`);
    return status === 200 ? 0 : 1;
  } catch (error) {
    process.stderr.write(`The ${side} does not answer at ${url}: ${(error as Error).message}\n`);
    return 1;
  }
}


/**
 * What keeps the agent from its drives, its output folder or its shared library, as sentences (Linux block devices;
 * Windows drive letters need no such check). A worker has neither drives nor rips of its own.
 */
async function stationProblems(settings: Settings, worker = false): Promise<string[]> {
  const drives = onWindows || worker ? [] : await driveAccessProblems(settings.drives, { needsScsiGeneric: settings.ripper === 'makemkv' });
  const output = worker ? undefined : await outputFolderProblem(resolve(settings.outputDir));
  const library = settings.libraryDir ? await libraryProblem(resolve(settings.libraryDir)) : undefined;
  return [...drives, ...(output ? [output] : []), ...(library ? [library] : [])];
}

/** `discbridge doctor`: the drives and the tools, each problem with how to fix it; exit 1 when there is one. */
async function doctorCommand(settings: Settings): Promise<number> {
  const problems = await stationProblems(settings);
  const kinds = createDiscKinds(settings, true, { version: VERSION, agentId: settings.agentId });
  for (const { kind, missing } of await kinds.missingTools()) problems.push(`${missing} (${kind} discs)`);
  const transcoderMissing = settings.transcodeSlots > 0 ? await createTranscoder(settings).checkInstalled() : undefined;
  if (transcoderMissing) problems.push(`${transcoderMissing} (transcode tasks, DISCBRIDGE_TRANSCODE_SLOTS=${settings.transcodeSlots}; 0 takes none)`);
  for (const problem of problems) process.stdout.write(`PROBLEM  ${problem}\n`);
  if (problems.length === 0) process.stdout.write(`ok  the drives (${settings.drives.join(', ')}), the output folder and every tool can be used\n`);
  return problems.length === 0 ? 0 : 1;
}

/** The station's drives (block devices on Linux, drive letters on Windows), and its import folder when one is set. */
function driveSources(settings: Settings, logger: Logger): DriveSource {
  const devices = onWindows
    ? new DriveLetterSource({ drives: settings.drives, pollMs: settings.pollMs, debounceMs: settings.debounceMs, logger, win32: loadWin32Drives() })
    : new BlockDeviceSource({ patterns: settings.drives, pollMs: settings.pollMs, debounceMs: settings.debounceMs, logger });
  if (!settings.importDir) return devices;
  const folder = new ImportFolderSource({
    folder: resolve(settings.importDir), settleMs: Math.max(settings.debounceMs, 1000), sheetWaitMs: IMPORT_SHEET_WAIT_MS, logger: logger.child({ source: 'import' }),
  });
  return new DriveSources([devices, folder]);
}

/** A CUE sheet or TOC waits this long for the files it names before it goes to failed/. */
const IMPORT_SHEET_WAIT_MS = 10 * 60_000;

/** A station token ("id:secret") names its station; a configured id must agree with it. */
function stationOf(token: string, configuredId: string): string {
  const split = token.lastIndexOf(':');
  if (split <= 0) return configuredId;
  const fromToken = token.slice(0, split);
  if (process.env.DISCBRIDGE_AGENT_ID && process.env.DISCBRIDGE_AGENT_ID !== fromToken) {
    throw new SettingError(`DISCBRIDGE_AGENT_ID is ${process.env.DISCBRIDGE_AGENT_ID}, but DISCBRIDGE_TOKEN belongs to station ${fromToken}`);
  }
  return fromToken;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`discbridge crashed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
