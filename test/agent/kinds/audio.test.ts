// Audio CDs through the real plan (read toc → rip tracks) with the real cd-info, cd-paranoia, flac and metaflac, on
// CUE/BIN and cdrdao TOC images made by scripts/make-test-cd (libcdio reads an image as it reads a drive, so none of
// this needs root): exact FLAC files, their tags, the disc ids, CD-Text names or the fallback ones, a cancel mid-track.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobState, JobUpdate, LinkEvent, TitlesDiscovered, TitleUpdate } from '../../../shared/index.js';
import { CdInfo } from '../../../agent/cd-audio/cd-info.js';
import { CdParanoia } from '../../../agent/cd-audio/cd-paranoia.js';
import { FlacEncoder } from '../../../agent/cd-audio/flac.js';
import { JobRunner } from '../../../agent/jobs/job-runner.js';
import { AudioDiscs } from '../../../agent/kinds/audio.js';
import { DiscKinds } from '../../../agent/kinds/disc-kind.js';
import { makeTestCd, missingTools, type TestCd } from '../cd-audio/test-cd.js';

const logger = pino({ level: 'silent' });
const skip = await missingTools('cd-info', 'cd-paranoia', 'flac', 'metaflac', 'toc2cddb');
if (skip) console.warn(`Skipping audio CD job tests: ${skip}`);

let dir: string;
let cd: TestCd;
let bare: TestCd;
beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'discbridge-audio-'));
  cd = await makeTestCd(join(dir, 'cd'));
  bare = await makeTestCd(join(dir, 'bare'), ['--no-cd-text', '--track', '4', '--track', '3']);
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const kinds = () => new DiscKinds([new AudioDiscs({
  cdInfo: new CdInfo({ binary: 'cd-info' }), paranoia: new CdParanoia({ binary: 'cd-paranoia' }), flac: new FlacEncoder({ flac: 'flac', metaflac: 'metaflac' }),
})]);

function start(device: string, outputDir: string, onEvent?: (event: LinkEvent) => void): { runner: JobRunner; events: LinkEvent[]; done: Promise<JobState> } {
  const events: LinkEvent[] = [];
  const runner = new JobRunner(
    { agentId: 'st', jobId: 1, drive: 'import', device, volumeLabel: 'disc', discType: 'cd', autoRip: true },
    kinds().planFor('cd')!,
    { outputDir, minTitleSeconds: 120, progressIntervalMs: 0, stallMs: 60_000, logger, emit: (e) => { events.push(e); onEvent?.(e); }, eject: async () => undefined },
  );
  return { runner, events, done: runner.run() };
}

const final = (events: LinkEvent[]) => events.filter((e): e is JobUpdate => e.type === 'job_update').at(-1) as JobUpdate;
const flacMd5 = (file: string) => execFileSync('metaflac', ['--show-md5sum', file], { encoding: 'utf8' }).trim();
const tags = (file: string) => Object.fromEntries(execFileSync('metaflac', ['--export-tags-to=-', file], { encoding: 'utf8' }).trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)));

describe.skipIf(skip !== undefined)('an audio CD job', () => {
  for (const image of ['cue', 'toc'] as const) {
    it(`rips every track of a ${image.toUpperCase()} image to exact, tagged FLAC named from its CD-Text`, async () => {
      const out = mkdtempSync(join(dir, 'out-'));
      const { events, done } = start(image === 'cue' ? cd.cue : cd.toc, out);
      expect(await done).toBe('completed');
      const discovered = events.find((e): e is TitlesDiscovered => e.type === 'titles_discovered');
      // Every audio track, each its CD-Text title; even a 5 s track is selected (the minimum is for video).
      expect(discovered?.titles.map((t) => [t.title_id, t.name, t.duration_seconds, t.selected])).toEqual([
        [1, 'Concert A', 12, true], [2, 'Seven and a Bit', 7, true], [3, 'Five Seconds', 5, true],
      ]);
      // cdrdao's own reading of the TOC, an independent check of the freedb id.
      const freedb = /^DISCID=([0-9a-f]{8})$/m.exec(execFileSync('toc2cddb', [cd.toc], { encoding: 'utf8', cwd: cd.folder }))?.[1];
      expect(discovered).toMatchObject({ freedb_disc_id: freedb, detected_title: 'The Sine Waves - Discbridge Test Tones' });
      expect(discovered?.musicbrainz_disc_id).toMatch(/^[A-Za-z0-9._-]{27}-$/);
      expect(events).toContainEqual(expect.objectContaining({ type: 'job_update', volume_label: 'The Sine Waves - Discbridge Test Tones' }));

      const folder = join(out, 'The Sine Waves - Discbridge Test Tones');
      expect(readdirSync(folder).sort()).toEqual(['01 - Concert A.flac', '02 - Seven and a Bit.flac', '03 - Five Seconds.flac']);
      for (const [number, name] of [[1, '01 - Concert A.flac'], [2, '02 - Seven and a Bit.flac'], [3, '03 - Five Seconds.flac']] as const) {
        expect(flacMd5(join(folder, name)), `track ${number}`).toBe(cd.md5.get(number));
      }
      expect(tags(join(folder, '02 - Seven and a Bit.flac'))).toEqual({
        TRACKNUMBER: '2', TRACKTOTAL: '3', TITLE: 'Seven and a Bit', ARTIST: 'The Sine Waves', ALBUM: 'Discbridge Test Tones',
        ALBUMARTIST: 'The Sine Waves', MUSICBRAINZ_DISCID: discovered?.musicbrainz_disc_id,
      });
      expect(final(events)).toMatchObject({ state: 'completed', progress_percent: 100 });
      const ripping = events.filter((e): e is TitleUpdate => e.type === 'title_update' && e.title_id === 1 && e.state === 'ripping').map((e) => e.match_progress ?? 0);
      expect(ripping).toEqual([...ripping].sort((a, b) => a - b));
    });
  }

  it('without CD-Text, names the folder by the freedb id and the files by track number', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const { events, done } = start(bare.cue, out);
    expect(await done).toBe('completed');
    const { freedb_disc_id: freedb } = events.find((e): e is TitlesDiscovered => e.type === 'titles_discovered')!;
    expect(readdirSync(join(out, `Audio CD ${freedb}`)).sort()).toEqual(['Track 01.flac', 'Track 02.flac']);
    expect(flacMd5(join(out, `Audio CD ${freedb}`, 'Track 02.flac'))).toBe(bare.md5.get(2));
    expect(tags(join(out, `Audio CD ${freedb}`, 'Track 01.flac'))).toMatchObject({ TRACKNUMBER: '1', TRACKTOTAL: '2' });
  });

  it('cancelled once a track is read, as its encode begins: no WAV, no partial FLAC, the finished tracks stay', async () => {
    // 1,200 s: its encode takes over two seconds, so a stop that a loaded machine (CI, beside the end-to-end tests)
    // carries out late still comes while it runs; with 600 s it once came after the encode had finished.
    const long = await makeTestCd(join(dir, 'long'), ['--track', '3:Short', '--track', '1200:Long']);
    const out = mkdtempSync(join(dir, 'out-'));
    let stopping = false;
    // Stopped from the event itself, not a poll that a busy machine may run late.
    const { runner, done } = start(long.cue, out, (event) => {
      if (stopping || event.type !== 'title_update' || event.title_id !== 2 || (event.match_progress ?? 0) < 95) return;
      stopping = true;
      setImmediate(() => runner.stop({ state: 'cancelled', message: 'Cancelled by user' }));
    });
    expect(await done).toBe('cancelled');
    const folder = join(out, 'The Sine Waves - Discbridge Test Tones');
    expect(readdirSync(folder)).toEqual(['01 - Short.flac']);
    expect(existsSync(join(folder, '02 - Long.flac'))).toBe(false);
  }, 60_000);
});
