// Files of streamed transcode tasks to and from the hub, over HTTP (TASK_FILES_PATH in the protocol): resumable both
// ways and checked against their SHA-256. A cut connection is retried from where the other end has got to (the hub's
// Upload-Offset, or the local part's size with a Range), so a network cut costs the bytes in flight, not the file.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat, truncate } from 'node:fs/promises';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { OFFSET_HEADER, SHA256_HEADER, STATION_HEADER } from '../../shared/index.js';
import { hashFile, hashInto } from '../../shared/files/hash-file.js';
import { Backoff } from '../link/backoff.js';
import { tlsClientOptions, type LinkTls } from '../link/hub-link.js';
import { RipError } from '../tools/rip-error.js';

export interface HubFilesOptions {
  /** DISCBRIDGE_HUB_URL (ws:// or http://; the scheme follows). */
  hubUrl: string;
  token: string;
  agentId: string;
  tls: LinkTls;
  logger: Logger;
  /** A transfer that makes no headway for this long (the hub away, the network down) fails. */
  patienceMs?: number;
  /** Bytes in one PUT (CHUNK_BYTES). */
  chunkBytes?: number;
}

/** The hub refused the transfer for a reason retrying does not mend (the lease is gone, the hub's disk is full). */
export class TransferRefused extends RipError {}

/**
 * Bytes in one PUT: each request ends well within the hub's request time limit (Node's 300 s) even on a slow link,
 * and a refusal costs at most one chunk.
 */
const CHUNK_BYTES = 64 * 1024 * 1024;

/** Files that did not match their SHA-256 this many times in a row are given up: something corrupts them. */
const MAX_MISMATCHES = 3;

export class HubFiles {
  private readonly base: URL;

  constructor(private readonly options: HubFilesOptions) {
    const url = new URL(options.hubUrl);
    url.protocol = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
    url.pathname = '/';
    url.search = '';
    this.base = url;
  }

  /**
   * Sends `file` to the hub at `path`, in chunks of at most CHUNK_BYTES, going on from what the hub has; resolves once
   * the hub has it whole and checked.
   */
  async upload(path: string, file: string, signal: AbortSignal): Promise<void> {
    const total = (await stat(file)).size;
    const sha256 = await hashFile({ file, signal });
    let mismatches = 0;
    await this.withRetries(`sending ${path}`, signal, async (progressed) => {
      let offset = await this.offsetAt(path, signal);
      for (;;) {
        if (offset > total) offset = 0;
        // With every byte there, an empty PUT has the hub check and take the file (its answer was lost with a cut).
        const last = Math.min(total, offset + (this.options.chunkBytes ?? CHUNK_BYTES)) - 1;
        const body = offset === total ? undefined : createReadStream(file, { start: offset, end: last }).on('data', progressed);
        const response = await this.send(path, {
          method: 'PUT', signal,
          headers: {
            'Content-Type': 'application/octet-stream', 'Content-Length': String(last + 1 - offset),
            'Content-Range': offset === total ? `bytes */${total}` : `bytes ${offset}-${last}/${total}`, [SHA256_HEADER]: sha256,
          },
        }, body);
        const answer = await readAnswer(response);
        if (response.statusCode === 200 || response.statusCode === 201) return;
        if ((response.statusCode === 202 || response.statusCode === 409) && response.headers[OFFSET_HEADER] !== undefined) {
          offset = Number(response.headers[OFFSET_HEADER]);
          continue;
        }
        if (response.statusCode === 422 && ++mismatches < MAX_MISMATCHES) {
          offset = 0;
          continue;
        }
        throw refusal(response, answer, `The hub refused ${path}`);
      }
    });
  }

  /**
   * Fetches the hub's file at `path` into `file` (a part file: what it already holds is kept and gone on from), and
   * checks the whole against `sha256`; a file that does not match is fetched again from the start.
   */
  async download(path: string, file: string, sha256: string, bytes: number, signal: AbortSignal): Promise<void> {
    let mismatches = 0;
    // The hash of what the part holds, kept up as bytes arrive: the file is read once, not again to check it.
    let hashed: { hash: Hash; bytes: number } | undefined;
    await this.withRetries(`fetching ${path}`, signal, async (progressed) => {
      for (;;) {
        let have = await stat(file).then((s) => s.size, () => 0);
        if (have > bytes) {
          await truncate(file, 0);
          have = 0;
        }
        if (hashed?.bytes !== have) hashed = { hash: await hashInto({ file, to: have, signal, onProgress: progressed }), bytes: have };
        if (have === bytes) {
          if (hashed.hash.digest('hex') === sha256) return;
          hashed = undefined;
          await rm(file, { force: true });
          if (++mismatches >= MAX_MISMATCHES) throw new RipError(`${path} did not match its SHA-256 ${MAX_MISMATCHES} times`);
          continue;
        }
        const response = await this.send(path, { method: 'GET', signal, headers: { Range: `bytes=${have}-` } });
        if (response.statusCode !== 200 && response.statusCode !== 206) throw refusal(response, await readAnswer(response), `The hub refused ${path}`);
        // The hub's copy must be the file the task names: one of another size is refused, not fetched for ever.
        const size = response.statusCode === 206 ? Number(/\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1]) : Number(response.headers['content-length']);
        if (size !== bytes) {
          response.destroy();
          throw new RipError(`The hub's copy of ${path} has ${size} bytes, not the ${bytes} the task names`);
        }
        if (response.statusCode === 200) {
          await truncate(file, 0).catch(() => undefined);
          hashed = { hash: createHash('sha256'), bytes: 0 };
        }
        const growing = hashed;
        response.on('data', (chunk: Buffer) => {
          growing.hash.update(chunk);
          growing.bytes += chunk.length;
          progressed();
        });
        try {
          await pipeline(response, createWriteStream(file, { flags: 'a' }), { signal });
        } finally {
          // What reached the disk may differ from what was hashed after a failed write: read it again next time.
          if (growing.bytes !== (await stat(file).then((s) => s.size, () => -1))) hashed = undefined;
        }
      }
    });
  }

  /** How much of an upload the hub holds. */
  private async offsetAt(path: string, signal: AbortSignal): Promise<number> {
    const response = await this.send(path, { method: 'HEAD', signal });
    response.resume();
    if (response.statusCode !== 200) throw refusal(response, undefined, `The hub refused ${path}`);
    return Number(response.headers[OFFSET_HEADER] ?? 0);
  }

  /**
   * Runs a transfer, again after each connection failure (after a backoff), until it succeeds, is refused, is
   * stopped, or makes no headway for `patienceMs`.
   */
  private async withRetries(what: string, signal: AbortSignal, attempt: (progressed: () => void) => Promise<void>): Promise<void> {
    const backoff = new Backoff(250, 5000);
    let lastHeadway = Date.now();
    const progressed = () => {
      lastHeadway = Date.now();
      backoff.reset();
    };
    for (;;) {
      try {
        return await attempt(progressed);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (error instanceof RipError || !retryable(error)) throw error;
        const waited = Date.now() - lastHeadway;
        if (waited > (this.options.patienceMs ?? 120_000)) {
          throw new RipError(`The hub could not be reached for ${Math.round(waited / 1000)} s while ${what}: ${(error as Error).message}`);
        }
        this.options.logger.warn({ err: error }, `The connection to the hub failed while ${what} (${(error as Error).message}); going on from where it stopped`);
        await new Promise((resolve) => setTimeout(resolve, backoff.next()));
      }
    }
  }

  private send(path: string, options: RequestOptions & { signal: AbortSignal }, body?: NodeJS.ReadableStream): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const headers = { ...options.headers, Authorization: `Bearer ${this.options.token}`, [STATION_HEADER]: this.options.agentId };
    const https = url.protocol === 'https:';
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request: ClientRequest = (https ? httpsRequest : httpRequest)(url, {
        ...options, headers, ...(https ? tlsClientOptions(this.options.tls) : {}), timeout: 30_000,
      }, (response) => {
        // An answer before the body is all sent (a refusal) ends the sending: the rest is not wanted.
        if (body && !request.writableFinished) response.once('end', () => request.destroy());
        resolve(response);
      });
      request.on('timeout', () => request.destroy(new Error('the hub did not answer for 30 s')));
      request.on('error', reject);
      if (!body) return void request.end();
      body.on('error', (error) => request.destroy(error));
      body.pipe(request);
    });
  }
}

/** Errors of the connection, which a later try may not meet; not those of this station's own disk (ENOSPC, EACCES…). */
const CONNECTION_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'ERR_STREAM_PREMATURE_CLOSE']);

function retryable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined || CONNECTION_ERRORS.has(code);
}

async function readAnswer(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response) if (text.length < 2000) text += String(chunk);
  return text;
}

/** Why the hub said no: for good (4xx, and a full disk), or an Error to try again after (its other 5xx). */
function refusal(response: IncomingMessage, answer: string | undefined, fallback: string): Error {
  let message = fallback;
  try {
    message = (JSON.parse(answer ?? '') as { error?: string }).error ?? fallback;
  } catch {
    // not JSON: the fallback says enough
  }
  const status = response.statusCode ?? 0;
  // The hub's own trouble, or its request time limit: worth another try.
  if ((status >= 500 && status !== 507) || status === 408) return new Error(`${message} (HTTP ${status})`);
  return new TransferRefused(`${message} (HTTP ${status})`, undefined, status === 507 ? 'output_full' : undefined);
}
