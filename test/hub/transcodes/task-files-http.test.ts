// The hub's HTTP endpoints for the files of streamed transcode tasks, on a real hub over loopback: who may send and
// fetch a task's rip and result, resumable uploads (HEAD offset, 409 on a wrong offset, 422 on a bad hash) and ranged downloads.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OFFSET_HEADER, SHA256_HEADER, STATION_HEADER, TASK_FILES_PATH } from '../../../shared/index.js';
import type { Transcodes } from '../../../hub/transcodes/transcodes.js';
import type { TranscodeTask } from '../../../hub/transcodes/transcode-queue.js';
import { HubFiles } from '../../../agent/farm/hub-files.js';
import { StationRegistry } from '../../../hub/auth/station-registry.js';
import { openDatabase } from '../../../hub/store/database.js';
import { TOKEN, silentLogger, startHub, type TestHub } from '../helpers.js';

let hub: TestHub | undefined;
let dir: string | undefined;
afterEach(async () => {
  await hub?.hub.stop();
  hub = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(): Promise<{ base: string; farm: Transcodes; spoolDir: string }> {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-task-files-'));
  hub = await startHub(dir);
  return { base: hub.base, farm: hub.hub.transcodes!, spoolDir: join(dir, 'spool') };
}

/** rip-a hands over one title of job 7, from its own output folder (no library): the task it made, queued. */
function queueTitle(farm: Transcodes): TranscodeTask {
  farm.requested({
    type: 'transcode_request', agent_id: 'rip-a', job_id: 7, profile: 'h264', keep_rip: true, root: 'output',
    titles: [{ title_id: 1, source: 'MOVIE/MOVIE_t01.mkv', output: 'MOVIE/MOVIE_t01.h264.mkv', duration_seconds: 60 }],
  });
  const task = farm.tasks.tasksOfJob('rip-a', 7)[0] as TranscodeTask;
  expect(task).toMatchObject({ state: 'queued', agentId: 'rip-a' });
  return task;
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
/** Bytes in a pattern that repeats only every 251 bytes, so a part at a wrong offset, or a wrong range, shows. */
const fileOf = (size: number): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251));

const asStation = (station: string): Record<string, string> => ({ Authorization: `Bearer ${TOKEN}`, [STATION_HEADER]: station });
const url = (base: string, taskId: number, which: 'source' | 'result', lease?: string): string =>
  `${base}${TASK_FILES_PATH}/${taskId}/${which}${lease === undefined ? '' : `?lease=${encodeURIComponent(lease)}`}`;

/** PUTs bytes `from`..`from + part.length - 1` of a file of `total` bytes whose SHA-256 is `sha256`. */
function put(target: string, headers: Record<string, string>, part: Buffer, from: number, total: number, sha256: string): Promise<Response> {
  return fetch(target, {
    method: 'PUT', body: part,
    headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${from}-${from + part.length - 1}/${total}`, [SHA256_HEADER]: sha256 },
  });
}

async function status(response: Response): Promise<number> {
  await response.arrayBuffer();
  return response.status;
}

const errorOf = async (response: Response): Promise<string> => ((await response.json()) as { error: string }).error;

/** The rip-a station sends the whole rip in one PUT; the task is staged after. */
async function stage(base: string, farm: Transcodes, task: TranscodeTask, rip: Buffer): Promise<void> {
  expect(await status(await put(url(base, task.id, 'source'), asStation('rip-a'), rip, 0, rip.length, sha(rip)))).toBe(201);
  expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
}

describe('the files of streamed transcode tasks at the hub', () => {
  it('refuses a request without a station token, or with a wrong one (401), and writes nothing to the spool', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(4096);
    for (const headers of [{}, { [STATION_HEADER]: 'rip-a' }, { Authorization: 'Bearer not-the-token', [STATION_HEADER]: 'rip-a' }, { Authorization: `Basic ${TOKEN}` }]) {
      const response = await put(url(base, task.id, 'source'), headers, rip, 0, rip.length, sha(rip));
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'A station token is needed for the files of transcode tasks' });
      expect((await fetch(url(base, task.id, 'source'), { method: 'HEAD', headers })).status).toBe(401);
    }
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(farm.tasks.get(task.id)?.staged).toBeUndefined();
  });

  it('needs the station named in its header when the shared token is used (400)', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(1000);
    const response = await put(url(base, task.id, 'source'), { Authorization: `Bearer ${TOKEN}` }, rip, 0, rip.length, sha(rip));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toContain(STATION_HEADER);
    expect((await fetch(url(base, task.id, 'source'), { method: 'HEAD', headers: { Authorization: `Bearer ${TOKEN}`, [STATION_HEADER]: '' } })).status).toBe(400);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('takes the rip only from the station that ripped it (403 for any other)', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(1000);
    const response = await put(url(base, task.id, 'source'), asStation('worker-b'), rip, 0, rip.length, sha(rip));
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toBe(`Only rip-a, which ripped it, sends the rip of task ${task.id}`);
    expect((await fetch(url(base, task.id, 'source'), { method: 'HEAD', headers: asStation('worker-b') })).status).toBe(403);
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(farm.tasks.get(task.id)?.staged).toBeUndefined();
    expect(await status(await put(url(base, task.id + 1000, 'source'), asStation('rip-a'), rip, 0, rip.length, sha(rip)))).toBe(404);
  });

  it('appends a rip sent in two parts, says how much it has, refuses a part at the wrong offset, and stages it once whole', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(20_000);
    const half = rip.length / 2;
    const target = url(base, task.id, 'source');
    expect((await fetch(target, { method: 'HEAD', headers: asStation('rip-a') })).headers.get(OFFSET_HEADER)).toBe('0');

    // A part that ends short of the whole is taken, and answered with where the upload goes on from.
    // A chunk that arrived whole is taken (202), and says where the file goes on.
    const first = await put(target, asStation('rip-a'), rip.subarray(0, half), 0, rip.length, sha(rip));
    expect(first.status).toBe(202);
    expect(first.headers.get(OFFSET_HEADER)).toBe(String(half));
    await first.arrayBuffer();
    const head = await fetch(target, { method: 'HEAD', headers: asStation('rip-a') });
    expect(head.status).toBe(200);
    expect(head.headers.get(OFFSET_HEADER)).toBe(String(half));
    expect(readdirSync(spoolDir)).toEqual([`task-${task.id}.source.part`]);
    expect(farm.tasks.get(task.id)?.staged).toBeUndefined();

    for (const from of [0, half - 10, half + 10]) {
      const wrong = await put(target, asStation('rip-a'), rip.subarray(from), from, rip.length, sha(rip));
      expect(wrong.status).toBe(409);
      expect(wrong.headers.get(OFFSET_HEADER)).toBe(String(half));
      await wrong.arrayBuffer();
    }
    expect(readFileSync(join(spoolDir, `task-${task.id}.source.part`))).toEqual(rip.subarray(0, half));

    const second = await put(target, asStation('rip-a'), rip.subarray(half), half, rip.length, sha(rip));
    expect(second.status).toBe(201);
    expect(second.headers.get(OFFSET_HEADER)).toBe(String(rip.length));
    expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
    expect(readdirSync(spoolDir)).toEqual([`task-${task.id}.source`]);
    expect(readFileSync(join(spoolDir, `task-${task.id}.source`))).toEqual(rip);
    expect((await fetch(target, { method: 'HEAD', headers: asStation('rip-a') })).headers.get(OFFSET_HEADER)).toBe(String(rip.length));
  });

  it('drops a rip whose bytes do not match its SHA-256 (422) and does not stage it', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(8000);
    const half = rip.length / 2;
    const target = url(base, task.id, 'source');
    const claimed = sha(fileOf(8001));
    expect(await status(await put(target, asStation('rip-a'), rip.subarray(0, half), 0, rip.length, claimed))).toBe(202);
    const last = await put(target, asStation('rip-a'), rip.subarray(half), half, rip.length, claimed);
    expect(last.status).toBe(422);
    expect(last.headers.get(OFFSET_HEADER)).toBe('0');
    await last.arrayBuffer();
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(existsSync(join(spoolDir, `task-${task.id}.source`))).toBe(false);
    expect(farm.tasks.get(task.id)?.staged).toBeUndefined();
    expect((await fetch(target, { method: 'HEAD', headers: asStation('rip-a') })).headers.get(OFFSET_HEADER)).toBe('0');
    // Sent again from the start with the right hash, it is taken.
    expect(await status(await put(target, asStation('rip-a'), rip, 0, rip.length, sha(rip)))).toBe(201);
    expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
  });

  it('gives the staged rip only to the holder of the task\'s current streamed lease, whole or from a byte on', async () => {
    const { base, farm } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(10_000);
    // Not leased yet: nobody holds a lease to fetch it under.
    expect(await status(await fetch(url(base, task.id, 'source', 'no-lease'), { headers: asStation('worker-b') }))).toBe(403);
    await stage(base, farm, task, rip);
    const lease = farm.tasks.lease(task.id, 'worker-b', Date.now(), 60_000, true) as string;
    expect(lease).toEqual(expect.any(String));
    expect(farm.tasks.get(task.id)).toMatchObject({ state: 'transcoding', streamed: true, leasedTo: 'worker-b', leaseId: lease });

    expect(await status(await fetch(url(base, task.id, 'source'), { headers: asStation('worker-b') }))).toBe(403);
    expect(await status(await fetch(url(base, task.id, 'source', `${lease}x`), { headers: asStation('worker-b') }))).toBe(403);
    expect(await status(await fetch(url(base, task.id, 'source', lease), { headers: asStation('worker-c') }))).toBe(403);
    expect(await status(await fetch(url(base, task.id, 'source', lease), { headers: asStation('rip-a') }))).toBe(403);

    const whole = await fetch(url(base, task.id, 'source', lease), { headers: asStation('worker-b') });
    expect(whole.status).toBe(200);
    expect(whole.headers.get(SHA256_HEADER)).toBe(sha(rip));
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(rip);

    const k = 6001;
    const rest = await fetch(url(base, task.id, 'source', lease), { headers: { ...asStation('worker-b'), Range: `bytes=${k}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${k}-${rip.length - 1}/${rip.length}`);
    expect(rest.headers.get(SHA256_HEADER)).toBe(sha(rip));
    expect(Buffer.from(await rest.arrayBuffer())).toEqual(rip.subarray(k));

    expect(await status(await fetch(url(base, task.id, 'source', lease), { headers: { ...asStation('worker-b'), Range: `bytes=${rip.length + 1}-` } }))).toBe(416);
  });

  it('refuses a result under a lease that is no longer the task\'s (409) and takes it under the current one (201)', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    await stage(base, farm, task, fileOf(3000));
    const result = fileOf(5000).reverse();
    const old = farm.tasks.lease(task.id, 'worker-b', Date.now(), 60_000, true) as string;
    expect(farm.tasks.release(task.id, old, Date.now())).toBe(true);

    // Released: the old lease is nobody's, and the task is queued.
    const released = await put(url(base, task.id, 'result', old), asStation('worker-b'), result, 0, result.length, sha(result));
    expect(released.status).toBe(409);
    expect(await errorOf(released)).toContain('is no longer worker-b\'s');

    const current = farm.tasks.lease(task.id, 'worker-b', Date.now(), 60_000, true) as string;
    expect(current).not.toBe(old);
    expect(await status(await put(url(base, task.id, 'result', old), asStation('worker-b'), result, 0, result.length, sha(result)))).toBe(409);
    expect((await fetch(url(base, task.id, 'result', old), { method: 'HEAD', headers: asStation('worker-b') })).status).toBe(409);
    // The current lease, named by another station, or not named at all, is no better.
    expect(await status(await put(url(base, task.id, 'result', current), asStation('worker-c'), result, 0, result.length, sha(result)))).toBe(409);
    expect(await status(await put(url(base, task.id, 'result'), asStation('worker-b'), result, 0, result.length, sha(result)))).toBe(409);
    expect(readdirSync(spoolDir)).toEqual([`task-${task.id}.source`]);
    expect(farm.tasks.get(task.id)?.result).toBeUndefined();

    const head = await fetch(url(base, task.id, 'result', current), { method: 'HEAD', headers: asStation('worker-b') });
    expect([head.status, head.headers.get(OFFSET_HEADER)]).toEqual([200, '0']);
    const taken = await put(url(base, task.id, 'result', current), asStation('worker-b'), result, 0, result.length, sha(result));
    expect(taken.status).toBe(201);
    expect(taken.headers.get(OFFSET_HEADER)).toBe(String(result.length));
    expect(farm.tasks.get(task.id)?.result).toEqual({ sha256: sha(result), bytes: result.length });
    expect(readFileSync(join(spoolDir, `task-${task.id}.${current}.result`))).toEqual(result);
    expect(readdirSync(spoolDir).sort()).toEqual([`task-${task.id}.${current}.result`, `task-${task.id}.source`]);
  });

  it('gives a done task\'s streamed result only to the station that ripped it, until it is put in place', async () => {
    const { base, farm } = await start();
    const task = queueTitle(farm);
    await stage(base, farm, task, fileOf(3000));
    const result = fileOf(7000).reverse();
    const lease = farm.tasks.lease(task.id, 'worker-b', Date.now(), 60_000, true) as string;
    expect(await status(await put(url(base, task.id, 'result', lease), asStation('worker-b'), result, 0, result.length, sha(result)))).toBe(201);
    // Not done yet: nothing waits for rip-a.
    expect(await status(await fetch(url(base, task.id, 'result'), { headers: asStation('rip-a') }))).toBe(409);
    expect(farm.tasks.complete(task.id, lease, 'worker-b', Date.now())).toBe(true);

    expect(await status(await fetch(url(base, task.id, 'result'), { headers: asStation('worker-b') }))).toBe(403);
    const fetched = await fetch(url(base, task.id, 'result'), { headers: asStation('rip-a') });
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get(SHA256_HEADER)).toBe(sha(result));
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(result);
    // Done, the lease holder may send nothing more under it.
    expect(await status(await put(url(base, task.id, 'result', lease), asStation('worker-b'), result, 0, result.length, sha(result)))).toBe(409);

    expect(farm.tasks.delivered(task.id, lease, 'rip-a', Date.now())).toBe(true);
    expect(await status(await fetch(url(base, task.id, 'result'), { headers: asStation('rip-a') }))).toBe(409);
  });

  it('lets a sender whose answer was lost with the connection see that the hub has the file whole, and sends nothing again', async () => {
    const { base, farm } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(64 * 1024);
    await stage(base, farm, task, rip);
    const file = join(dir as string, 'rip.mkv');
    writeFileSync(file, rip);
    const files = new HubFiles({ hubUrl: base, token: TOKEN, agentId: 'rip-a', tls: {}, logger: silentLogger });
    await files.upload(`${TASK_FILES_PATH}/${task.id}/source`, file, new AbortController().signal);
    expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
  });

  it('sends a file in chunks, each taken (202) before the next, and the file whole after the last', async () => {
    const { base, farm, spoolDir } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(4500);
    const file = join(dir as string, 'rip.mkv');
    writeFileSync(file, rip);
    await new HubFiles({ hubUrl: base, token: TOKEN, agentId: 'rip-a', tls: {}, logger: silentLogger, chunkBytes: 1000 })
      .upload(`${TASK_FILES_PATH}/${task.id}/source`, file, new AbortController().signal);
    expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
    expect(readFileSync(join(spoolDir, `task-${task.id}.source`))).toEqual(rip);
  });

  it('checks and takes a file whose bytes all arrived but whose answer was lost (a restart between), with an empty PUT', async () => {
    const { base, farm, spoolDir } = await start();
    const rip = fileOf(3000);
    const file = join(dir as string, 'rip.mkv');
    writeFileSync(file, rip);
    const files = new HubFiles({ hubUrl: base, token: TOKEN, agentId: 'rip-a', tls: {}, logger: silentLogger });
    // The part complete but never hashed, and the file renamed but never recorded: both are checked and taken.
    for (const [index, name] of [`.source.part`, `.source`].entries()) {
      farm.requested({
        type: 'transcode_request', agent_id: 'rip-a', job_id: 20 + index, profile: 'h264', keep_rip: true, root: 'output',
        titles: [{ title_id: 1, source: 'M/M_t01.mkv', output: 'M/M_t01.h264.mkv', duration_seconds: 60 }],
      });
      const task = farm.tasks.tasksOfJob('rip-a', 20 + index)[0] as TranscodeTask;
      mkdirSync(spoolDir, { recursive: true });
      writeFileSync(join(spoolDir, `task-${task.id}${name}`), rip);
      const head = await fetch(url(base, task.id, 'source'), { method: 'HEAD', headers: asStation('rip-a') });
      expect(head.headers.get(OFFSET_HEADER)).toBe(String(rip.length));
      await files.upload(`${TASK_FILES_PATH}/${task.id}/source`, file, new AbortController().signal);
      expect(farm.tasks.get(task.id)?.staged).toEqual({ sha256: sha(rip), bytes: rip.length });
      expect(readdirSync(spoolDir).filter((n) => n.startsWith(`task-${task.id}.`))).toEqual([`task-${task.id}.source`]);
    }
  });

  it('lets the shared token speak only for stations without a token of their own (403), as the link does', async () => {
    const { base, farm } = await start();
    const task = queueTitle(farm);
    const db = openDatabase(join(dir as string, 'hub.sqlite'));
    const own = new StationRegistry(db).add('rip-a', 'rip-a');
    db.close();
    const rip = fileOf(2000);
    const shared = await put(url(base, task.id, 'source'), asStation('rip-a'), rip, 0, rip.length, sha(rip));
    expect(shared.status).toBe(403);
    expect(await errorOf(shared)).toBe('rip-a has a token of its own: the shared token cannot speak for it');
    expect(farm.tasks.get(task.id)?.staged).toBeUndefined();
    expect(await status(await put(url(base, task.id, 'source'), { Authorization: `Bearer ${own}` }, rip, 0, rip.length, sha(rip)))).toBe(201);
  });

  it('fetches a rip into a part file, going on from what it holds, and again from the start when that was wrong', async () => {
    const { base, farm } = await start();
    const task = queueTitle(farm);
    const rip = fileOf(20_000);
    await stage(base, farm, task, rip);
    const lease = farm.tasks.lease(task.id, 'worker-b', Date.now(), 60_000, true) as string;
    const files = new HubFiles({ hubUrl: base, token: TOKEN, agentId: 'worker-b', tls: {}, logger: silentLogger });
    const path = `${TASK_FILES_PATH}/${task.id}/source?lease=${lease}`;
    const part = join(dir as string, 'fetched.part');
    // A right first half (a fetch cut off) is gone on from; a wrong one is found out by the hash and fetched anew.
    for (const held of [rip.subarray(0, 10_000), Buffer.alloc(10_000, 1)]) {
      writeFileSync(part, held);
      await files.download(path, part, sha(rip), rip.length, new AbortController().signal);
      expect(readFileSync(part).equals(rip)).toBe(true);
    }
  });
});
