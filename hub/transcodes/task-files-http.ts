// The HTTP side of streamed transcode tasks (TASK_FILES_PATH in the protocol): the ripping station uploads a task's rip
// and later fetches its result; the worker holding a streamed lease fetches the rip and uploads the result. Each
// request is checked against the station's token and the task's state and lease now, so a worker whose lease was
// given away can neither read nor write the task's files. The bytes live in the spool (task-spool.ts).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { AgentId, OFFSET_HEADER, SHA256_HEADER, STATION_HEADER, Sha256, TASK_FILES_PATH } from '../../shared/index.js';
import type { StationRegistry } from '../auth/station-registry.js';
import { bearerToken } from '../http/auth.js';
import type { TranscodeTask } from './transcode-queue.js';
import { OffsetMismatch, SpoolFull, type TaskSpool } from './task-spool.js';

/** What the farm offers this handler: the task as it is now, and what to do once a file is whole. */
export interface TaskFilesFarm {
  task(id: number): TranscodeTask | undefined;
  /** The rip is whole in the spool; false when the task no longer wants it. */
  sourceStaged(taskId: number, sha256: string, bytes: number): boolean;
  /** A streamed lease's result is whole in the spool; false when the lease is no longer the task's. */
  resultArrived(taskId: number, leaseId: string, worker: string, sha256: string, bytes: number): boolean;
}

export interface TaskFilesHttpOptions {
  registry: StationRegistry;
  farm: TaskFilesFarm;
  spool: TaskSpool;
  logger: Logger;
}

class Refusal extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const ROUTE = new RegExp(`^${TASK_FILES_PATH}/(\\d{1,12})/(source|result)$`);

export class TaskFilesHttp {
  constructor(private readonly options: TaskFilesHttpOptions) {}

  /** Answers a request for a task's file; false for any other path. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://hub');
    const match = ROUTE.exec(url.pathname);
    if (!match) return false;
    try {
      const station = this.stationOf(request);
      const task = this.options.farm.task(Number(match[1]));
      if (!task) throw new Refusal(404, `There is no transcode task ${match[1]}`);
      const which = match[2] as 'source' | 'result';
      const lease = url.searchParams.get('lease') ?? undefined;
      const file = this.fileFor(task, which, request.method ?? 'GET', station, lease);
      switch (request.method) {
        case 'HEAD':
          response.writeHead(200, { [OFFSET_HEADER]: String(await this.options.spool.received(file)) }).end();
          break;
        case 'GET':
          await this.send(file, request, response, which === 'source' ? task.staged?.sha256 : task.result?.sha256);
          break;
        case 'PUT':
          await this.receive(task, which, file, station, lease as string, request, response);
          break;
        default:
          throw new Refusal(405, 'Use HEAD, GET or PUT');
      }
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(500, 'The hub could not handle the file');
      if (!(error instanceof Refusal)) {
        this.options.logger.error({ err: error, path: url.pathname }, `A transcode file transfer failed at the hub: ${(error as Error).message}`);
      } else if (refusal.status !== 409 || !refusal.headers[OFFSET_HEADER]) {
        // A 409 with an offset is the usual "go on from here" of a resumed upload; any other refusal is worth a line.
        this.options.logger.warn({ path: url.pathname, status: refusal.status, peer: request.socket.remoteAddress }, `Refused ${request.method} ${url.pathname}: ${refusal.message}`);
      }
      if (!response.headersSent) {
        // What the sender still has on the way is not read: the connection closes with the answer.
        const unread = !request.complete;
        response.writeHead(refusal.status, { 'Content-Type': 'application/json', ...refusal.headers, ...(unread ? { Connection: 'close' } : {}) });
        response.end(request.method === 'HEAD' ? undefined : JSON.stringify({ error: refusal.message }), () => {
          if (unread) request.socket.destroy();
        });
      } else {
        response.destroy();
      }
    }
    return true;
  }

  private stationOf(request: IncomingMessage): string {
    const identity = this.options.registry.verify(bearerToken(request));
    if (!identity) throw new Refusal(401, 'A station token is needed for the files of transcode tasks');
    if (!identity.shared) return identity.agentId;
    const named = AgentId.safeParse(request.headers[STATION_HEADER]);
    if (!named.success) throw new Refusal(400, `With the shared token, name the station in ${STATION_HEADER}`);
    // As on the link: a station with a token of its own speaks only with it.
    if (this.options.registry.isRegistered(named.data)) throw new Refusal(403, `${named.data} has a token of its own: the shared token cannot speak for it`);
    return named.data;
  }

  /**
   * The spool file this request may touch, or a refusal: the rip is the ripping station's to send and the streamed
   * lease holder's to fetch; the result is the lease holder's to send and the ripping station's to fetch once done.
   */
  private fileFor(task: TranscodeTask, which: 'source' | 'result', method: string, station: string, lease: string | undefined): string {
    const { spool } = this.options;
    const sending = method === 'PUT' || method === 'HEAD';
    // The task's newest lease, running or run out while nobody took the task: its worker may still deliver under it.
    const holdsLease = (task.state === 'transcoding' || task.state === 'queued') && task.streamed && task.leasedTo === station && lease !== undefined && task.leaseId === lease;
    if (which === 'source') {
      if (sending) {
        if (station !== task.agentId) throw new Refusal(403, `Only ${task.agentId}, which ripped it, sends the rip of task ${task.id}`);
        if (task.state !== 'queued' && task.state !== 'transcoding') throw new Refusal(409, `Task ${task.id} is ${task.state}: its rip is not wanted`);
        return spool.sourceFile(task.id);
      }
      if (!holdsLease) throw new Refusal(403, `Station ${station} holds no streamed lease ${lease ?? ''} of task ${task.id}`);
      if (!task.staged) throw new Refusal(409, `The rip of task ${task.id} is not at the hub yet`);
      return spool.sourceFile(task.id);
    }
    if (sending) {
      if (!holdsLease) throw new Refusal(409, `The lease ${lease ?? ''} of task ${task.id} is no longer ${station}'s: its result is not wanted`);
      return spool.resultFile(task.id, lease as string);
    }
    if (station !== task.agentId) throw new Refusal(403, `Only ${task.agentId} fetches the result of task ${task.id}`);
    if (task.state !== 'done' || !task.streamed || !task.result || !task.leaseId || task.deliveredAt !== undefined) {
      throw new Refusal(409, `Task ${task.id} has no result waiting at the hub`);
    }
    return spool.resultFile(task.id, task.leaseId);
  }

  private async send(file: string, request: IncomingMessage, response: ServerResponse, sha256: string | undefined): Promise<void> {
    const size = await stat(file).then((s) => s.size, () => undefined);
    if (size === undefined || !sha256) throw new Refusal(409, 'The file is not whole at the hub');
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    if (from > size) throw new Refusal(416, `The file has ${size} bytes`, { 'Content-Range': `bytes */${size}` });
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size - from), [SHA256_HEADER]: sha256 };
    if (range) response.writeHead(206, { ...headers, 'Content-Range': `bytes ${from}-${size - 1}/${size}` });
    else response.writeHead(200, headers);
    if (from === size) return void response.end();
    // A reader that goes away mid-file just ends the stream; it resumes with a Range.
    await pipeline(createReadStream(file, { start: from }), response).catch(() => undefined);
  }

  private async receive(
    task: TranscodeTask, which: 'source' | 'result', file: string, station: string, lease: string, request: IncomingMessage, response: ServerResponse,
  ): Promise<void> {
    const { spool, farm, logger } = this.options;
    // `bytes <from>-<last>/<total>`, or `bytes */<total>` to finish a file whose bytes are all here.
    const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+)$/.exec(request.headers['content-range'] ?? '');
    const sha256 = Sha256.safeParse(request.headers[SHA256_HEADER]);
    if (!range || !sha256.success) throw new Refusal(400, `An upload needs Content-Range: bytes <from>-<last>/<total> and the file's SHA-256 in ${SHA256_HEADER}`);
    const total = Number(range[3]);
    const [from, last] = range[1] === undefined ? [total, total - 1] : [Number(range[1]), Number(range[2])];
    if (total === 0 || last >= total || (range[1] !== undefined && last < from)) throw new Refusal(400, 'The Content-Range does not fit the file');
    const recorded = which === 'source' ? task.staged : task.result;
    if (recorded) {
      response.writeHead(200, { [OFFSET_HEADER]: String(recorded.bytes) }).end();
      return;
    }
    let received;
    try {
      received = await spool.receive(file, request, { from, last, total }, sha256.data);
    } catch (error) {
      if (error instanceof OffsetMismatch) throw new Refusal(409, error.message, { [OFFSET_HEADER]: String(error.offset) });
      if (error instanceof SpoolFull || (error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new Refusal(507, `The hub's disk is full: its spool of transcode files cannot take this file${error instanceof SpoolFull ? ` (${error.message})` : ''}`);
      }
      throw error;
    }
    switch (received.kind) {
      case 'partial':
        // A chunk that arrived whole is taken (202); one cut short says where to go on from (409).
        if (received.complete) return void response.writeHead(202, { [OFFSET_HEADER]: String(received.offset) }).end();
        throw new Refusal(409, `The upload stopped at byte ${received.offset} of ${total}`, { [OFFSET_HEADER]: String(received.offset) });
      case 'mismatch':
        logger.warn({ task: task.id, station, which }, `The ${which} of transcode task ${task.id} from ${station} did not match its SHA-256 (${received.sha256}); it is sent again`);
        throw new Refusal(422, 'The file does not match its SHA-256: send it again from the start', { [OFFSET_HEADER]: '0' });
      case 'whole': {
        const taken = which === 'source'
          ? farm.sourceStaged(task.id, received.sha256, received.bytes)
          : farm.resultArrived(task.id, lease, station, received.sha256, received.bytes);
        if (!taken) {
          await spool.remove(task.id, which === 'result');
          throw new Refusal(409, `Task ${task.id} no longer wants this file`);
        }
        response.writeHead(201, { [OFFSET_HEADER]: String(received.bytes) }).end();
      }
    }
  }
}
