// The hub's spool of streamed transcode files, a folder beside its database: a task's rip, sent by its ripping
// station for a worker that cannot reach it, and each streamed lease's result, sent by the worker for the ripping
// station to fetch. A file arrives as `<name>.part`, appended to as bytes come (so an upload cut off resumes where
// it stopped), and takes its name only once whole and matching the SHA-256 its sender gave.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';

/** What an upload's bytes came to. */
export type Received =
  | { kind: 'partial'; offset: number }
  | { kind: 'whole'; sha256: string; bytes: number }
  /** The bytes were all there but did not hash to what the sender said: the part is gone, and it starts again. */
  | { kind: 'mismatch'; sha256: string };

/** An upload's bytes do not start where the part ends, or run past the total: the sender should ask again. */
export class OffsetMismatch extends Error {
  constructor(readonly offset: number) {
    super(`The upload goes on from byte ${offset}`);
  }
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const sizeOf = (file: string): Promise<number | undefined> => stat(file).then((s) => s.size, () => undefined);

export class TaskSpool {
  /** The upload now writing to each part file: a newer request for the file ends it first, so bytes never interleave. */
  private readonly writing = new Map<string, { request: IncomingMessage; done: Promise<void> }>();

  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  sourceFile(taskId: number): string {
    return join(this.dir, `task-${taskId}.source`);
  }

  resultFile(taskId: number, leaseId: string): string {
    return join(this.dir, `task-${taskId}.${leaseId}.result`);
  }

  /** How much of the file is here: all of it once whole, else the bytes of its part. */
  async received(file: string): Promise<number> {
    await this.writing.get(file)?.done;
    return (await sizeOf(file)) ?? (await sizeOf(`${file}.part`)) ?? 0;
  }

  async has(file: string): Promise<boolean> {
    return (await sizeOf(file)) !== undefined;
  }

  /**
   * Appends an upload's body to the file's part, from byte `from` of `total`, and makes the file whole once all of
   * it is there and hashes to `sha256`. An earlier request still writing to the part is ended first.
   */
  async receive(file: string, request: IncomingMessage, from: number, total: number, sha256: string): Promise<Received> {
    const before = this.writing.get(file);
    if (before) {
      before.request.destroy();
      await before.done;
    }
    const receiving = this.append(file, request, from, total, sha256);
    // Until the bytes are flushed, hashed and the file named, what is here is not known: a HEAD meanwhile waits.
    const entry = { request, done: receiving.then(() => undefined, () => undefined) };
    this.writing.set(file, entry);
    try {
      return await receiving;
    } finally {
      if (this.writing.get(file) === entry) this.writing.delete(file);
    }
  }

  private async append(file: string, request: IncomingMessage, from: number, total: number, sha256: string): Promise<Received> {
    const part = `${file}.part`;
    const offset = (await sizeOf(part)) ?? 0;
    if (from !== offset) throw new OffsetMismatch(offset);
    let written = offset;
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(part, { flags: 'a' });
      let failed: Error | undefined;
      request.on('data', (chunk: Buffer) => {
        if (written + chunk.length > total) {
          failed = new OffsetMismatch(written);
          request.destroy();
          return;
        }
        written += chunk.length;
        if (!out.write(chunk)) request.pause();
      });
      out.on('drain', () => request.resume());
      out.on('error', (error) => {
        failed = error;
        request.destroy();
      });
      // However the request ends (whole, cut off, destroyed), what arrived is flushed before anyone reads the part.
      request.on('close', () => out.end(() => (failed ? reject(failed) : resolve())));
    });
    const size = (await sizeOf(part)) ?? 0;
    if (size < total) return { kind: 'partial', offset: size };
    const actual = await sha256Of(part);
    if (actual !== sha256) {
      await rm(part, { force: true });
      return { kind: 'mismatch', sha256: actual };
    }
    await rename(part, file);
    return { kind: 'whole', sha256, bytes: size };
  }

  /** Removes the task's files, whole or in part: all of them, or (`resultsOnly`) every lease's result. */
  async remove(taskId: number, resultsOnly = false): Promise<void> {
    const prefix = `task-${taskId}.`;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.startsWith(prefix) && (!resultsOnly || /\.result(\.part)?$/.test(name))) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Removes the files of every task not in `open`: after a restart, what finished meanwhile leaves nothing behind. */
  async sweep(open: ReadonlySet<number>): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const id = Number(/^task-(\d+)\./.exec(name)?.[1]);
      if (!open.has(id)) {
        await rm(join(this.dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }
}
