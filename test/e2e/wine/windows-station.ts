// A Windows rip station under Wine, for the end-to-end tests: its own Wine prefix (Windows 10), the Windows zip
// (dist/discbridge-agent-win-x64.zip, built by scripts/package-windows.mjs) unzipped into C:\, and a loop device as
// its drive D:. The harness does what Windows does by itself and Wine does not: after each insert and eject it tells
// Wine's mount manager (mount-manager.cjs, run by the zip's own node.exe). See ../shared/reference/windows-under-wine.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, waitFor, type VirtualDrive } from '../harness.js';

export const WINDOWS_ZIP = join(ROOT, 'dist/discbridge-agent-win-x64.zip');
const TOP = 'discbridge-agent';

/** Why the Wine tests cannot run here, or undefined when they can. */
export function wineUnavailable(): string | undefined {
  for (const tool of ['wine', 'wineserver', 'unzip', 'zip']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (scripts/install-deps installs it)`;
  }
  return undefined;
}

/** Builds the Windows zip (about 15 s: the bundle, and the Windows node.exe from the registry, cached after the first time). */
export function buildWindowsZip(): void {
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts/package-windows.mjs')], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`package-windows failed: ${run.stderr || run.stdout}`);
}

/** A path on the Linux side as Windows programs under Wine see it (Wine's Z: is /). */
export function windowsPath(linuxPath: string): string {
  return `Z:${linuxPath.replace(/\//g, '\\')}`;
}

export class WindowsStation {
  readonly prefix: string;
  /** What the mount manager is told the drive's folder is: Wine reads the disc from the device, not from here. */
  private readonly emptyFolder: string;
  private agentProcess: ChildProcess | undefined;
  private readonly logFile: string;

  constructor(private readonly drive: VirtualDrive, logDir: string) {
    const dir = mkdtempSync(join(tmpdir(), 'discbridge-wine-'));
    this.prefix = join(dir, 'prefix');
    this.emptyFolder = join(dir, 'd-folder');
    mkdirSync(this.emptyFolder);
    mkdirSync(logDir, { recursive: true });
    this.logFile = join(logDir, 'windows-agent.log');
    rmSync(this.logFile, { force: true });
  }

  /** The folder the zip was unzipped to, on the Linux side (C:\discbridge-agent). */
  get folder(): string {
    return join(this.prefix, 'drive_c', TOP);
  }

  /** C:\ProgramData\discbridge on the Linux side: the Windows agent's default home. */
  get programData(): string {
    return join(this.prefix, 'drive_c', 'ProgramData', 'discbridge');
  }

  private get env(): NodeJS.ProcessEnv {
    const { DISPLAY: _display, ...rest } = process.env;
    return { ...rest, WINEPREFIX: this.prefix, WINEDEBUG: '-all' };
  }

  /** A new prefix (about 10 s), the zip in C:\, drive D: a CD-ROM drive on the loop device. */
  async setUp(): Promise<void> {
    await this.wine(['wineboot', '-i'], true); // its "rundll32.exe: c0000135" is harmless
    // Wine says Windows 7 by default, and Node 22 refuses to start on it.
    await this.wine(['wine', 'winecfg', '-v', 'win10']);
    const unzip = spawnSync('unzip', ['-q', WINDOWS_ZIP, '-d', join(this.prefix, 'drive_c')], { encoding: 'utf8' });
    if (unzip.status !== 0) throw new Error(`unzip failed: ${unzip.stderr}`);
    cpSync(join(ROOT, 'test/e2e/wine/mount-manager.cjs'), join(this.folder, 'app', 'mount-manager.cjs'));
    const devices = join(this.prefix, 'dosdevices');
    rmSync(join(devices, 'd:'), { force: true });
    rmSync(join(devices, 'd::'), { force: true });
    symlinkSync(this.emptyFolder, join(devices, 'd:'));
    symlinkSync(this.drive.device, join(devices, 'd::'));
    await this.wine(['wine', 'reg', 'add', 'HKLM\\Software\\Wine\\Drives', '/v', 'd:', '/d', 'cdrom', '/f']);
    // The mount manager reads the drive list when Wine starts: start it again, and keep it up between programs.
    await this.wine(['wineserver', '-k'], true); // none may be running
    await this.wine(['wineserver', '-w']);
    await this.wine(['wineserver', '-p']);
  }

  async insert(image: string): Promise<void> {
    this.drive.insert(image);
    await this.tellMountManager();
  }

  async eject(): Promise<void> {
    this.drive.eject();
    await this.tellMountManager();
  }

  /** `discbridge.cmd agent` from the zip, through cmd.exe as a person would run it; its output goes to the log file. */
  startAgent(env: Record<string, string>): void {
    const log = openSync(this.logFile, 'a');
    // Windows node.exe dies on a Unix pipe for stdio (EBADF): files only.
    this.agentProcess = spawn('wine', ['cmd', '/c', `C:\\${TOP}\\discbridge.cmd`, 'agent'], { env: { ...this.env, ...env }, stdio: ['ignore', log, log] });
    closeSync(log);
  }

  /** `discbridge.cmd ARGS` through cmd.exe, to its exit: its exit code and what it printed. */
  async discbridge(args: readonly string[]): Promise<{ status: number | null; output: string }> {
    const output = join(this.prefix, '..', 'discbridge-command.log');
    const status = await this.wine(['wine', 'cmd', '/c', `C:\\${TOP}\\discbridge.cmd`, ...args], true, output);
    return { status, output: readFileSync(output, 'utf8') };
  }

  /** The Linux process ids of this prefix's Windows node.exe processes running `what` (the agent, a stand-in). */
  windowsProcesses(what: string): number[] {
    const pids: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const environ = readFileSync(`/proc/${name}/environ`, 'utf8');
        if (!environ.includes(`WINEPREFIX=${this.prefix}\u0000`)) continue;
        const command = readFileSync(`/proc/${name}/cmdline`, 'utf8');
        if (/node\.exe/i.test(command) && command.includes(what)) pids.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /** SIGKILL of the agent's node.exe, as a crash or a power cut would end it. */
  async killAgent(): Promise<void> {
    const pids = this.windowsProcesses('discbridge.mjs');
    if (pids.length === 0) throw new Error('The Windows agent is not running');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => this.windowsProcesses('discbridge.mjs').length === 0, 10_000, 'the Windows agent to die');
    this.agentProcess = undefined;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Ends every Windows process of the prefix and removes it. */
  async tearDown(): Promise<void> {
    this.agentProcess?.kill('SIGKILL');
    spawnSync('wineserver', ['-k'], { env: this.env });
    rmSync(join(this.prefix, '..'), { recursive: true, force: true });
  }

  writeProgramDataFile(name: string, content: string): void {
    mkdirSync(this.programData, { recursive: true });
    writeFileSync(join(this.programData, name), content);
  }

  // Asynchronous, all of it: a test process blocked in spawnSync answers no WebSocket ping, and the hub drops its dashboards.
  private async tellMountManager(): Promise<void> {
    await this.wine(['wine', `C:\\${TOP}\\node.exe`, `C:\\${TOP}\\app\\mount-manager.cjs`, 'd', this.emptyFolder, this.drive.device]);
  }

  /**
   * Runs a Wine command to its exit. Its output goes to a file, never a pipe: Windows node.exe dies on a pipe, and
   * the Wine processes it leaves running (wineserver, services.exe) would hold a pipe open long after it exited.
   */
  private async wine(command: string[], anyStatus = false, output = join(this.prefix, '..', 'wine-command.log')): Promise<number | null> {
    const [program, ...args] = command as [string, ...string[]];
    const fd = openSync(output, 'w');
    const child = spawn(program, args, { env: this.env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const status = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
    if (status !== 0 && !anyStatus) throw new Error(`${command.join(' ')} failed (exit ${status}): ${readFileSync(output, 'utf8').slice(-2000)}`);
    return status;
  }
}
