// The hub's spool of streamed transcode files, a folder beside its database: a task's rip, sent by its ripping
// station for a worker that cannot reach it, and each streamed lease's result, sent by the worker for the ripping
// station to fetch. A file arrives as `<name>.part`, appended to chunk by chunk as bytes come (so an upload cut off
// resumes where it stopped), hashed as it grows, and takes its name only once whole, matching the SHA-256 its sender
// gave, and on disk (fsynced, then renamed).
import type { Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat, statfs } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { hashInto } from '../../shared/files/hash-file.js';
import { PARTIAL_SUFFIX, finishPartial } from '../../shared/files/partial-file.js';

/** What an upload's bytes came to. */
export type Received =
  /** The chunk arrived whole (`complete`) or was cut short; the file goes on from `offset`. */
  | { kind: 'partial'; offset: number; complete: boolean }
  | { kind: 'whole'; sha256: string; bytes: number }
  /** The bytes were all there but did not hash to what the sender said: the part is gone, and it starts again. */
  | { kind: 'mismatch'; sha256: string };

/** An upload's bytes do not start where the part ends, or run past its range: the sender should ask again. */
export class OffsetMismatch extends Error {
  constructor(readonly offset: number) {
    super(`The upload goes on from byte ${offset}`);
  }
}

/** The hub's disk cannot take the rest of the file and still keep room for its database. */
export class SpoolFull extends Error {}

/** Room the spool leaves free on the hub's disk, for its database and logs. */
const RESERVE_BYTES = 256 * 1024 * 1024;

const sizeOf = (file: string): Promise<number | undefined> => stat(file).then((s) => s.size, () => undefined);

export class TaskSpool {
  /** The upload now writing to each file: a newer request for the file (or a HEAD) ends it first. */
  private readonly writing = new Map<string, { request: IncomingMessage; done: Promise<void> }>();
  /** Each part's hash so far, and over how many bytes: resuming it costs no second read of what arrived. */
  private readonly hashes = new Map<string, { hash: Hash; bytes: number }>();

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

  /**
   * How much of the file is here: all of it once whole, else the bytes of its part. An upload still writing to it
   * is ended first: after a cut, the hub's side of it may linger, half open, long after its sender gave up.
   */
  async received(file: string): Promise<number> {
    await this.endWriting(file);
    return (await sizeOf(file)) ?? (await sizeOf(`${file}${PARTIAL_SUFFIX}`)) ?? 0;
  }

  /**
   * Appends an upload's body, bytes `from` to `last` of `total`, to the file's part, and makes the file whole once
   * all of it is there and hashes to `sha256`. `from === total` with no body finishes a file whose bytes are all
   * here already (its sender's answer was lost). An earlier request still writing to the file is ended first.
   */
  receive(file: string, request: IncomingMessage, range: { from: number; last: number; total: number }, sha256: string): Promise<Received> {
    const before = this.writing.get(file);
    // Taken at once, before anything is awaited: a request that comes meanwhile ends this one, never runs beside it.
    const receiving = (async () => {
      if (before) {
        before.request.destroy();
        await before.done;
      }
      return this.append(file, request, range, sha256);
    })();
    const entry = { request, done: receiving.then(() => undefined, () => undefined) };
    this.writing.set(file, entry);
    return receiving.finally(() => {
      if (this.writing.get(file) === entry) this.writing.delete(file);
    });
  }

  private async append(file: string, request: IncomingMessage, { from, last, total }: { from: number; last: number; total: number }, sha256: string): Promise<Received> {
    const part = `${file}${PARTIAL_SUFFIX}`;
    const whole = await sizeOf(file);
    if (whole !== undefined) {
      // Named already (a restart came between the rename and its record): only its hash is to be checked.
      if (whole !== total || from !== total) throw new OffsetMismatch(whole);
      const actual = (await hashInto({ file })).digest('hex');
      return actual === sha256 ? { kind: 'whole', sha256, bytes: whole } : this.mismatch(file, actual);
    }
    const offset = (await sizeOf(part)) ?? 0;
    if (from !== offset) throw new OffsetMismatch(offset);
    const free = await statfs(this.dir).then((s) => s.bavail * s.bsize, () => Number.POSITIVE_INFINITY);
    if (free - (total - offset) < RESERVE_BYTES) throw new SpoolFull(`The hub's disk has ${Math.round(free / 1024 / 1024)} MB free`);
    let state = this.hashes.get(part);
    if (state?.bytes !== offset) state = { hash: await hashInto({ file: part, to: offset }), bytes: offset };
    this.hashes.set(part, state);
    const hashing = state;
    // Destroyed while it waited for an earlier one (a newer request came): its bytes are not taken.
    if (request.destroyed) return { kind: 'partial', offset, complete: false };
    const limit = from === total ? total : last + 1;
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(part, { flags: 'a' });
      let written = offset;
      let failed: Error | undefined;
      request.on('data', (chunk: Buffer) => {
        if (written + chunk.length > limit) {
          failed = new OffsetMismatch(written);
          request.destroy();
          return;
        }
        written += chunk.length;
        hashing.hash.update(chunk);
        hashing.bytes += chunk.length;
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
    // The hash must cover just what is on disk: after a failed write it is read again from the file next time.
    if (hashing.bytes !== size) this.hashes.delete(part);
    if (size < total) return { kind: 'partial', offset: size, complete: size === limit };
    const hash = this.hashes.get(part) === hashing ? hashing.hash : await hashInto({ file: part });
    this.hashes.delete(part);
    const actual = hash.digest('hex');
    if (actual !== sha256) return this.mismatch(part, actual);
    await finishPartial(part, file);
    return { kind: 'whole', sha256, bytes: size };
  }

  private async mismatch(file: string, actual: string): Promise<Received> {
    await rm(file, { force: true });
    return { kind: 'mismatch', sha256: actual };
  }

  private async endWriting(file: string): Promise<void> {
    const writing = this.writing.get(file);
    if (!writing) return;
    writing.request.destroy();
    await writing.done;
  }

  /** Removes the task's files, whole or in part: all of them, or (`resultsOnly`) every lease's result. */
  async remove(taskId: number, resultsOnly = false): Promise<void> {
    const prefix = `task-${taskId}.`;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.startsWith(prefix) || (resultsOnly && !/\.result(\.part)?$/.test(name))) continue;
      const path = join(this.dir, name);
      await this.endWriting(path.slice(0, path.endsWith(PARTIAL_SUFFIX) ? -PARTIAL_SUFFIX.length : undefined));
      this.hashes.delete(path);
      await rm(path, { force: true });
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
