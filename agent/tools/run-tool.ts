// Runs an external tool (HandBrakeCLI, makemkvcon, ffmpeg, lsdvd, blkid…) through execa, never through a shell.
// Owns the parts every tool shares: splitting output on \r as well as \n (progress lines end in \r),
// cancelling by killing the tool's whole process group, and turning "not installed" into a typed error.
import { execa } from 'execa';

export class ToolMissingError extends Error {
  constructor(readonly tool: string, readonly hint: string) {
    super(`${tool} is not installed or not found (${hint})`);
    this.name = 'ToolMissingError';
  }
}

export interface ToolRun {
  exitCode: number | undefined;
  /** The signal that ended the tool, when it did not exit by itself. */
  signal: string | undefined;
  /** true when the run was ended because `signal` aborted. */
  cancelled: boolean;
  /** The last lines the tool wrote to stderr, for error messages and logs. */
  stderrTail: string[];
  /** Everything written to stdout, when `collectStdout` was asked for. */
  stdout: string;
}

export interface ToolOptions {
  /** Called for each stdout line (split on \r and \n, empty lines dropped). */
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  collectStdout?: boolean;
  signal?: AbortSignal;
  /** How to install the tool, for the missing-tool message. */
  installHint?: string;
  /** Time between SIGTERM and SIGKILL when cancelling. */
  killGraceMs?: number;
  env?: Record<string, string>;
  /** Working directory of the tool, for tools that resolve paths named inside their input against it. */
  cwd?: string;
}

const STDERR_TAIL_LINES = 20;

export async function runTool(file: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolRun> {
  const { signal, killGraceMs = 3000 } = options;
  signal?.throwIfAborted();
  // A tool given as a JavaScript file runs through this Node: Windows runs no script by its first line, and Node
  // spawns no .cmd without a shell (test stand-ins are such files).
  const [program, programArgs] = isScript(file) ? [process.execPath, [file, ...args]] : [file, args];
  const child = execa(program, programArgs, {
    reject: false,
    buffer: false,
    stdin: 'ignore',
    // Its own process group, so a cancel reaches every process the tool started.
    detached: process.platform !== 'win32',
    windowsHide: true,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });

  const stderrTail: string[] = [];
  let stdout = '';
  let cancelled = false;

  const stdoutLines = splitLines((line) => {
    options.onStdoutLine?.(line);
  });
  // setEncoding decodes across chunk boundaries, so a character split between two writes stays whole.
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    if (options.collectStdout) stdout += text;
    stdoutLines.push(text);
  });
  const stderrLines = splitLines((line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    options.onStderrLine?.(line);
  });
  child.stderr?.on('data', (text: string) => stderrLines.push(text));

  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    cancelled = true;
    killTree(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => killTree(child.pid, 'SIGKILL'), killGraceMs);
    killTimer.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const result = await child;
    stdoutLines.flush();
    stderrLines.flush();
    if (result.code === 'ENOENT' || (result.failed && /ENOENT/.test(String(result.cause ?? '')))) {
      throw new ToolMissingError(file, options.installHint ?? 'check the path in the settings');
    }
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      cancelled,
      stderrTail,
      stdout,
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}

export function isScript(file: string): boolean {
  return /\.(mjs|cjs|js)$/i.test(file);
}

function killTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    // taskkill /T ends the tool and every process it started; where it cannot (Wine's taskkill has no /T), at
    // least the tool itself ends.
    void execa('taskkill', ['/pid', String(pid), '/T', '/F'], { reject: false, windowsHide: true }).then((run) => {
      if (run.exitCode !== 0) kill(pid, 'SIGKILL');
    });
    return;
  }
  kill(-pid, signal);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone: nothing to kill.
  }
}

/** Splits a stream of text chunks into lines on \r, \n or \r\n, keeping a partial last line until more arrives. */
export function splitLines(onLine: (line: string) => void): { push(text: string): void; flush(): void } {
  let pending = '';
  return {
    push(text) {
      pending += text;
      const parts = pending.split(/\r\n|\r|\n/);
      pending = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') onLine(part);
    },
    flush() {
      if (pending.trim() !== '') onLine(pending);
      pending = '';
    },
  };
}
