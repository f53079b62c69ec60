// The station's side of the farm on a real journal (AgentStore's SQLite file) and real files: what a restart does
// with the tasks the last run left (a transcode cut short is told as failed and its partial file removed; a result
// the hub accepted is put in place and told as delivered), a refused result never reaching its final name, and an
// offer that names a file outside the library.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubFiles } from '../../../agent/farm/hub-files.js';
import { TranscodeWorker } from '../../../agent/farm/transcode-worker.js';
import { AgentStore, type HeldTask } from '../../../agent/store/agent-store.js';
import type { TranscodeRequest, Transcoder } from '../../../agent/transcoders/transcoder.js';
import type { TaskOffer, TaskReport } from '../../../shared/index.js';
import { silentLogger } from '../../hub/helpers.js';

const transcoder: Transcoder = {
  toolName: 'fake-ffmpeg',
  checkInstalled: async () => undefined,
  transcode: async (request: TranscodeRequest) => {
    writeFileSync(request.output, 'transcoded');
    request.onProgress({ fraction: 1 });
  },
};

let dir: string;
let store: AgentStore | undefined;
afterEach(() => {
  store?.stop();
  store = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function setup(held: HeldTask[] = []): { worker: TranscodeWorker; reports: TaskReport[]; library: string; store: AgentStore } {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-worker-'));
  const library = join(dir, 'library');
  mkdirSync(join(library, 'MOVIE'), { recursive: true });
  writeFileSync(join(library, 'MOVIE', 'MOVIE_t01.mkv'), 'the rip');
  store = new AgentStore(join(dir, 'data'));
  store.start();
  for (const task of held) store.holdTask(task);
  const reports: TaskReport[] = [];
  const worker = new TranscodeWorker({
    agentId: 'worker-b', slots: 1, libraryDir: library, outputDir: join(dir, 'rips'), transcoder, store, stallMs: 60_000, logger: silentLogger,
    spoolDir: join(dir, 'data', 'spool'), files: new HubFiles({ hubUrl: 'ws://127.0.0.1:9', token: 'x', agentId: 'worker-b', tls: {}, logger: silentLogger }),
    report: (report) => { reports.push(report); return true; },
  });
  return { worker, reports, library, store };
}

const offer: TaskOffer = {
  kind: 'task_offer', task_id: 7, lease_id: 'lease-0001-abcd', agent_id: 'rip-a', profile: 'h264', keep_rip: false, root: 'library',
  source: 'MOVIE/MOVIE_t01.mkv', output: 'MOVIE/MOVIE_t01.h264.mkv', duration_seconds: 60, lease_seconds: 60,
};
const partialName = 'MOVIE_t01.h264.mkv.lease-00.part';

describe('the transcode worker', () => {
  it('after a crash mid-transcode: removes the partial file and tells the hub the attempt failed', async () => {
    const { worker, reports, library, store: journal } = setup([{ offer, state: 'running' }]);
    writeFileSync(join(library, 'MOVIE', partialName), 'half');
    await worker.start();
    expect(readdirSync(join(library, 'MOVIE'))).toEqual(['MOVIE_t01.mkv']);
    expect(worker.held()).toEqual([{ task_id: 7, lease_id: offer.lease_id }]);
    await worker.connected();
    expect(reports).toEqual([expect.objectContaining({ task_id: 7, status: 'failed', error: expect.stringMatching(/stopped during this transcode/) })]);
    await worker.verdict({ kind: 'task_verdict', task_id: 7, lease_id: offer.lease_id, accepted: true });
    expect(journal.heldTasks()).toEqual([]);
  });

  it('after a crash between the hub\'s yes and the rename: puts the result in place, removes the rip, says delivered', async () => {
    const { worker, reports, library, store: journal } = setup([{ offer, state: 'accepted', size: 10 }]);
    writeFileSync(join(library, 'MOVIE', partialName), 'transcoded');
    await worker.start();
    expect(readdirSync(join(library, 'MOVIE'))).toEqual(['MOVIE_t01.h264.mkv']);
    await worker.connected();
    expect(reports.filter((r) => r.status === 'delivered').at(-1)).toMatchObject({ task_id: 7, lease_id: offer.lease_id, size_bytes: 10 });
    await worker.verdict({ kind: 'task_verdict', task_id: 7, lease_id: offer.lease_id, accepted: true });
    expect(journal.heldTasks()).toEqual([]);
  });

  it('does not say delivered when neither the partial file nor the result is there (the library not mounted yet)', async () => {
    const { worker, reports, store: journal } = setup([{ offer, state: 'accepted', size: 10 }]);
    await worker.start();
    await worker.connected();
    expect(reports.filter((r) => r.status === 'delivered')).toEqual([]);
    expect(journal.heldTasks().map((t) => t.state)).toEqual(['accepted']);
  });

  it('asks before delivering, and discards a result the hub refuses: it never takes the final name', async () => {
    const { worker, reports, library, store: journal } = setup();
    await worker.start();
    worker.offer(offer);
    const deadline = Date.now() + 5000;
    while (!reports.some((r) => r.status === 'finished') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(reports.map((r) => r.status)).toEqual(['running', 'running', 'finished']);
    expect(readdirSync(join(library, 'MOVIE')).sort()).toEqual([partialName, 'MOVIE_t01.mkv']);
    await worker.verdict({ kind: 'task_verdict', task_id: 7, lease_id: offer.lease_id, accepted: false, reason: 'The lease ran out and the task was given to another station' });
    expect(readdirSync(join(library, 'MOVIE'))).toEqual(['MOVIE_t01.mkv']);
    expect(journal.heldTasks()).toEqual([]);
  });

  it('refuses an offer naming a file outside the library, or of another station\'s output folder', async () => {
    const { worker, reports } = setup();
    await worker.start();
    worker.offer({ ...offer, source: '../../etc/passwd' });
    worker.offer({ ...offer, task_id: 8, root: 'output' });
    expect(reports.map((r) => [r.task_id, r.status, r.error])).toEqual([
      [7, 'failed', 'The task names a file outside the library'],
      [8, 'failed', 'The rip is in the output folder of rip-a, which this station cannot reach'],
    ]);
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });
});
