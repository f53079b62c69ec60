// The ripping station's side of a streamed task, on real files with the hub's transfers faked: a result is put in
// place and said delivered, and only the hub's answer decides what goes (its yes the rip, its no the result); a
// refused fetch leaves nothing in the output folder; a rip that is gone is told as such.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { HubFiles } from '../../../agent/farm/hub-files.js';
import { TransferRefused } from '../../../agent/farm/hub-files.js';
import { RipExchange } from '../../../agent/farm/rip-exchange.js';
import type { ResultReady, SourceUnavailable, TaskReport } from '../../../shared/index.js';
import { silentLogger } from '../../hub/helpers.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const RESULT = Buffer.from('the transcoded title');

function setup(download: (file: string) => void = (file) => writeFileSync(file, RESULT)) {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-exchange-'));
  const output = join(dir, 'rips');
  mkdirSync(join(output, 'MOVIE'), { recursive: true });
  writeFileSync(join(output, 'MOVIE', 'MOVIE_t01.mkv'), 'the rip');
  const said: (TaskReport | SourceUnavailable)[] = [];
  const files = {
    upload: async () => undefined,
    download: async (_path: string, file: string) => download(file),
  } as unknown as HubFiles;
  const exchange = new RipExchange({ files, outputDir: output, report: (m) => { said.push(m); return true; }, logger: silentLogger });
  return { exchange, said, folder: join(output, 'MOVIE') };
}

const ready: ResultReady = {
  kind: 'result_ready', task_id: 3, lease_id: 'lease-0003-abcd', root: 'output', source: 'MOVIE/MOVIE_t01.mkv', output: 'MOVIE/MOVIE_t01.h264.mkv',
  duration_seconds: 60, keep_rip: false, sha256: createHash('sha256').update(RESULT).digest('hex'), size_bytes: RESULT.length,
};

describe('the ripping station\'s side of a streamed task', () => {
  it('puts the result in place, says delivered, and removes the rip only on the hub\'s yes', async () => {
    const { exchange, said, folder } = setup();
    await exchange.resultReady(ready);
    expect(said).toEqual([{ kind: 'task_report', task_id: 3, lease_id: ready.lease_id, status: 'delivered', size_bytes: RESULT.length }]);
    expect(readdirSync(folder).sort()).toEqual(['MOVIE_t01.h264.mkv', 'MOVIE_t01.mkv']);
    await exchange.verdict({ kind: 'task_verdict', task_id: 3, lease_id: 'another-lease', accepted: true });
    expect(existsSync(join(folder, 'MOVIE_t01.mkv'))).toBe(true);
    await exchange.verdict({ kind: 'task_verdict', task_id: 3, lease_id: ready.lease_id, accepted: true });
    expect(readdirSync(folder)).toEqual(['MOVIE_t01.h264.mkv']);
  });

  it('keeps the rip and removes the result when the hub says no (the task was cancelled or retried meanwhile)', async () => {
    const { exchange, folder } = setup();
    await exchange.resultReady(ready);
    await exchange.verdict({ kind: 'task_verdict', task_id: 3, lease_id: ready.lease_id, accepted: false, reason: 'The transcode was cancelled' });
    expect(readdirSync(folder)).toEqual(['MOVIE_t01.mkv']);
  });

  it('says delivered again, fetching nothing, when the result is in place already (a stop came before the word)', async () => {
    let fetched = 0;
    const { exchange, said, folder } = setup((file) => { fetched++; writeFileSync(file, RESULT); });
    writeFileSync(join(folder, 'MOVIE_t01.h264.mkv'), RESULT);
    await exchange.resultReady(ready);
    expect(fetched).toBe(0);
    expect(said.map((m) => m.kind === 'task_report' && m.status)).toEqual(['delivered']);
  });

  it('leaves nothing in the output folder when the hub refuses the fetch', async () => {
    const { exchange, said, folder } = setup((file) => {
      writeFileSync(file, 'half');
      throw new TransferRefused('Task 3 has no result waiting at the hub (HTTP 409)');
    });
    await exchange.resultReady(ready);
    expect(said).toEqual([]);
    expect(readdirSync(folder)).toEqual(['MOVIE_t01.mkv']);
  });

  it('tells the hub when a rip it wants is gone', async () => {
    const { exchange, said, folder } = setup();
    rmSync(join(folder, 'MOVIE_t01.mkv'));
    await exchange.sourceWanted({ kind: 'source_wanted', task_id: 3, root: 'output', source: 'MOVIE/MOVIE_t01.mkv' });
    expect(said).toEqual([{ kind: 'source_unavailable', task_id: 3, error: 'MOVIE_t01.mkv is not in the output folder' }]);
  });
});
