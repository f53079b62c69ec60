import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ToolMissingError, runTool, splitLines } from '../../../agent/tools/run-tool.js';

function collect(chunks: string[], flush = true): string[] {
  const lines: string[] = [];
  const splitter = splitLines((line) => lines.push(line));
  for (const chunk of chunks) splitter.push(chunk);
  if (flush) splitter.flush();
  return lines;
}

/** Alive = exists and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isAlive(pid);
}

describe('splitLines', () => {
  it('splits on \\n, \\r and \\r\\n', () => {
    expect(collect(['a\nb\rc\r\nd'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('treats \\r\\n split across two chunks as one line end', () => {
    expect(collect(['a\r', '\nb\r', '\n', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('joins a line split across chunks', () => {
    expect(collect(['Encod', 'ing: task 1', ' of 1, 5.00 %\r'])).toEqual(['Encoding: task 1 of 1, 5.00 %']);
  });

  it('holds a partial last line until flush', () => {
    const lines: string[] = [];
    const splitter = splitLines((line) => lines.push(line));
    splitter.push('one\ntw');
    expect(lines).toEqual(['one']);
    splitter.push('o');
    expect(lines).toEqual(['one']);
    splitter.flush();
    expect(lines).toEqual(['one', 'two']);
    splitter.flush();
    expect(lines).toEqual(['one', 'two']);
  });

  it('keeps a partial line out when flush is not called', () => {
    expect(collect(['a\nb'], false)).toEqual(['a']);
  });

  it('drops blank and whitespace-only lines, but keeps the spaces of other lines', () => {
    expect(collect(['\n\n\r\r\n  \n\t\r x \n'])).toEqual([' x ']);
    expect(collect(['   '])).toEqual([]);
  });

  it('gives the same lines for every chunking of a mixed stream', () => {
    const text = 'libdvdnav: x\n\rEncoding: 1\rEncoding: 2\r\nlog line\n\n\rlast';
    const whole = collect([text]);
    expect(whole).toEqual(['libdvdnav: x', 'Encoding: 1', 'Encoding: 2', 'log line', 'last']);
    for (let size = 1; size <= text.length; size++) {
      const chunks: string[] = [];
      for (let at = 0; at < text.length; at += size) chunks.push(text.slice(at, at + size));
      expect(collect(chunks)).toEqual(whole);
    }
  });
});

describe('runTool', () => {
  it('splits stdout on \\r and \\n, and returns the exit code and the stderr tail', async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const run = await runTool('/bin/sh', ['-c', 'printf "a\\rb\\nc"; echo err >&2; exit 3'], {
      onStdoutLine: (line) => lines.push(line),
      onStderrLine: (line) => errors.push(line),
    });
    expect(lines).toEqual(['a', 'b', 'c']);
    expect(errors).toEqual(['err']);
    expect(run).toEqual({ exitCode: 3, signal: undefined, cancelled: false, stderrTail: ['err'], stdout: '' });
  });

  it('collects stdout only when asked', async () => {
    const run = await runTool('/bin/sh', ['-c', 'printf "x\\ry\\n"'], { collectStdout: true });
    expect(run.stdout).toBe('x\ry\n');
    expect(run.exitCode).toBe(0);
  });

  it('keeps only the last 20 stderr lines', async () => {
    const run = await runTool('/bin/sh', ['-c', 'i=1; while [ $i -le 25 ]; do echo "line $i" >&2; i=$((i+1)); done']);
    expect(run.stderrTail).toHaveLength(20);
    expect(run.stderrTail[0]).toBe('line 6');
    expect(run.stderrTail.at(-1)).toBe('line 25');
  });

  it('passes arguments without a shell', async () => {
    const run = await runTool('/bin/echo', ['$HOME', '; rm -rf /', '`id`'], { collectStdout: true });
    expect(run.stdout).toBe('$HOME ; rm -rf / `id`\n');
  });

  it('passes extra environment variables', async () => {
    const run = await runTool('/bin/sh', ['-c', 'echo "$DISCBRIDGE_TEST_VAR"'], { collectStdout: true, env: { DISCBRIDGE_TEST_VAR: 'hello' } });
    expect(run.stdout).toBe('hello\n');
  });

  it('rejects with ToolMissingError for a missing binary', async () => {
    const promise = runTool('/nonexistent/discbridge-no-such-tool', ['--version'], { installHint: 'apt-get install no-such-tool' });
    await expect(promise).rejects.toBeInstanceOf(ToolMissingError);
    await expect(promise).rejects.toMatchObject({
      name: 'ToolMissingError',
      tool: '/nonexistent/discbridge-no-such-tool',
      hint: 'apt-get install no-such-tool',
      message: expect.stringContaining('apt-get install no-such-tool'),
    });
  });

  it('rejects with ToolMissingError for a missing command name on the PATH', async () => {
    await expect(runTool('discbridge-no-such-tool-xyz', [])).rejects.toThrow(ToolMissingError);
  });

  it('does not start the tool when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runTool('/bin/sh', ['-c', 'exit 0'], { signal: controller.signal })).rejects.toThrow();
  });

  it('kills the whole process group when cancelled, and returns at once', async () => {
    const controller = new AbortController();
    let grandchild: number | undefined;
    const started = Date.now();
    const run = await runTool('/bin/sh', ['-c', 'sleep 30 & echo $!; sleep 30'], {
      signal: controller.signal,
      onStdoutLine: (line) => {
        grandchild = Number(line);
        controller.abort();
      },
    });
    const elapsed = Date.now() - started;
    expect(run.cancelled).toBe(true);
    expect(run.signal).toBe('SIGTERM');
    expect(run.exitCode).toBeUndefined();
    expect(elapsed).toBeLessThan(5000);
    expect(grandchild).toBeGreaterThan(1);
    // The background sleep (the tool's own child) must be gone too, not left holding the pipe.
    expect(await waitUntilDead(grandchild as number, 2000)).toBe(true);
  });

  it('sends SIGKILL after the grace time when the tool ignores SIGTERM', async () => {
    const controller = new AbortController();
    let grandchild: number | undefined;
    const started = Date.now();
    const run = await runTool('/bin/sh', ['-c', 'trap "" TERM; sleep 30 & echo $!; wait; sleep 30'], {
      signal: controller.signal,
      killGraceMs: 200,
      onStdoutLine: (line) => {
        grandchild = Number(line);
        controller.abort();
      },
    });
    expect(run.cancelled).toBe(true);
    expect(run.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await waitUntilDead(grandchild as number, 2000)).toBe(true);
  });

  it('is not cancelled when the signal is never aborted', async () => {
    const controller = new AbortController();
    const run = await runTool('/bin/sh', ['-c', 'exit 0'], { signal: controller.signal });
    expect(run).toMatchObject({ exitCode: 0, cancelled: false });
    controller.abort(); // after the run: must not throw or kill anything
  });

  it('keeps a UTF-8 character split across two writes whole', async () => {
    const lines: string[] = [];
    const run = await runTool('/bin/sh', ['-c', "printf 'Am\\303'; sleep 0.3; printf '\\251lie\\n'"], {
      collectStdout: true,
      onStdoutLine: (line) => lines.push(line),
    });
    expect(lines).toEqual(['Amélie']);
    expect(run.stdout).toBe('Amélie\n');
  });
});
