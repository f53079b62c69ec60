// `discbridge service install | uninstall | start | stop | status` on Windows: the agent as the service
// discbridge-agent under the service control manager, through NSSM (nssm64.exe, shipped in the zip beside node.exe).
// NSSM because a plain node.exe cannot be a service, and it is a native program (WinSW, the other common wrapper,
// needs .NET). NSSM restarts the agent when it exits, and stops it with Ctrl+C, which Node sees as SIGINT: the agent
// then ends its jobs as interrupted and closes cleanly, within the stop timeout set here.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, win32 } from 'node:path';
import { execa } from 'execa';
import { programDataFolder, stationLogFile } from './platform.js';
import type { Settings } from './settings.js';

export const SERVICE_NAME = 'discbridge-agent';
/** How long a stop waits for the agent to end its jobs before NSSM ends it: a rip's cleanup takes seconds. */
const STOP_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 5000;

const USAGE = 'Usage: discbridge service install | uninstall | start | stop | status';

export async function windowsServiceCommand(args: readonly string[], settings: Settings, out: (line: string) => void): Promise<number> {
  const action = args[0];
  const folder = dirname(process.execPath);
  const nssm = join(folder, 'nssm64.exe');
  if (!existsSync(nssm)) {
    out(`nssm64.exe is not beside ${process.execPath}: the service is installed from the discbridge Windows zip (npm run package:windows)`);
    return 1;
  }
  const run = async (...nssmArgs: string[]) => {
    const result = await execa(nssm, nssmArgs, { reject: false, windowsHide: true, stdin: 'ignore' });
    // NSSM writes UTF-16 to a console; what reaches a pipe may carry NULs.
    return { ok: result.exitCode === 0, text: `${result.stdout}\n${result.stderr}`.replace(/\u0000/g, '').trim() };
  };
  switch (action) {
    case 'install': {
      mkdirSync(win32.dirname(stationLogFile()), { recursive: true });
      const script = join(folder, 'app', 'discbridge.mjs');
      const steps: string[][] = [
        ['install', SERVICE_NAME, process.execPath, '--disable-warning=ExperimentalWarning', script, 'agent'],
        ['set', SERVICE_NAME, 'DisplayName', 'discbridge agent'],
        ['set', SERVICE_NAME, 'Description', 'Watches this PC\'s optical drives, rips each disc and reports to the discbridge hub'],
        ['set', SERVICE_NAME, 'Start', 'SERVICE_AUTO_START'],
        // The service's working folder is its own folder, never System32; and its ProgramData is the one this
        // install wrote the settings to (Wine gives services another, C:\users\Public).
        ['set', SERVICE_NAME, 'AppDirectory', programDataFolder()],
        ['set', SERVICE_NAME, 'AppEnvironmentExtra', `ProgramData=${win32.dirname(programDataFolder())}`],
        // What Node prints if it dies before its log is open.
        ['set', SERVICE_NAME, 'AppStderr', win32.join(win32.dirname(stationLogFile()), 'service-errors.log')],
        ['set', SERVICE_NAME, 'AppExit', 'Default', 'Restart'],
        ['set', SERVICE_NAME, 'AppRestartDelay', String(RESTART_DELAY_MS)],
        ['set', SERVICE_NAME, 'AppStopMethodConsole', String(STOP_TIMEOUT_MS)],
      ];
      for (const step of steps) {
        const result = await run(...step);
        if (!result.ok) {
          out(`Could not ${step[0]} the service ${SERVICE_NAME} (run this as Administrator): ${result.text}`);
          return 1;
        }
      }
      const started = await run('start', SERVICE_NAME);
      out(started.ok
        ? `Installed and started the service ${SERVICE_NAME}; it starts with Windows. Log: ${logOf(settings)}`
        : `Installed the service ${SERVICE_NAME}, but it did not start: ${started.text}`);
      return started.ok ? 0 : 1;
    }
    case 'uninstall': {
      await run('stop', SERVICE_NAME);
      const removed = await run('remove', SERVICE_NAME, 'confirm');
      out(removed.ok ? `Removed the service ${SERVICE_NAME}` : `Could not remove the service ${SERVICE_NAME}: ${removed.text}`);
      return removed.ok ? 0 : 1;
    }
    case 'start':
    case 'stop': {
      const result = await run(action, SERVICE_NAME);
      out(result.ok ? `${action === 'start' ? 'Started' : 'Stopped'} the service ${SERVICE_NAME}` : `Could not ${action} the service ${SERVICE_NAME}: ${result.text}`);
      return result.ok ? 0 : 1;
    }
    case 'status': {
      const result = await run('status', SERVICE_NAME);
      if (!result.ok) {
        out(`The service ${SERVICE_NAME} is not installed (discbridge service install installs it)`);
        return 3;
      }
      const state = /SERVICE_([A-Z_]+)/.exec(result.text)?.[1]?.toLowerCase().replace(/_/g, ' ') ?? result.text;
      out(`${SERVICE_NAME}: ${state}; log: ${logOf(settings)}`);
      return state === 'running' ? 0 : 3;
    }
    default:
      out(USAGE);
      return 2;
  }
}

/** Where the log is: pino-roll numbers the files beside the one named (discbridge.1.log, discbridge.2.log…). */
function logOf(settings: Settings): string {
  const file = settings.logFile ?? stationLogFile();
  return `${win32.dirname(file)} (the newest ${win32.basename(file).replace(/(\.[^.]*)?$/, '.N$1')})`;
}
