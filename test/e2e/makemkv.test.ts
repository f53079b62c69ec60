// MakeMKV through the whole station: the agent runs the makemkvcon stand-in exactly as it would run the real binary,
// and the stand-in replays real captured runs (test/fixtures/makemkv). The loop-device disc only triggers the job.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, JobDetail, type JobUpdate, type TitlesDiscovered } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, makeMkvAgentEnv } from './harness.js';

const skipReason = loopDevicesUnavailable();
if (skipReason) console.warn(`Skipping MakeMKV end-to-end tests: ${skipReason}`);

const BLURAY_INFO = 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt';
const DVD_INFO = 'dvd_info_automakemkv_mrpoppers_v1.16.5.txt';
const BLURAY_RIP = 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt';
/** TINFO 11 of the Demon Slayer title, read from the capture. */
const BLURAY_TITLE_BYTES = 31_843_694_592;
const SAVE_SECONDS = 6;

describe.skipIf(skipReason !== undefined)('MakeMKV backend end to end (stand-in replaying real captures)', () => {
  let station: Station | undefined;
  let disc: string;

  beforeAll(() => {
    disc = makeDisc('e2e-makemkv-trigger', ['--label', 'E2E_BD', '--title', '12:1', '--size', '352x240']);
  }, 60_000);

  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  async function ripWith(name: string, scenario: Record<string, unknown>, env: Record<string, string> = {}) {
    station = new Station(VirtualDrive.reserve(), { name, agentEnv: { ...makeMkvAgentEnv(scenario), DISCBRIDGE_MIN_TITLE_SECONDS: '600', ...env } });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(disc);
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 120_000);
    expect(dashboard.contractViolations).toEqual([]);
    return { dashboard, done, station };
  }

  it('rips a replayed Blu-ray: progress only while saving, monotonic to 100, plausible speed and ETA, one file', async () => {
    const { dashboard, done, station: s } = await ripWith('makemkv-bluray', { info: BLURAY_INFO, mkv: BLURAY_RIP, saveSeconds: SAVE_SECONDS });
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });
    const discovered = dashboard.messages('titles_discovered')[0] as TitlesDiscovered;
    expect(discovered.titles).toEqual([expect.objectContaining({
      title_id: 0, duration_seconds: 5848, chapters: 21, expected_size_bytes: BLURAY_TITLE_BYTES, selected: true, source_file: '00000.mpls',
    })]);
    expect(discovered.titles[0]?.streams?.filter((st) => st.kind === 'audio').map((st) => st.language)).toEqual(['eng', 'jpn']);
    expect(dashboard.messages('job_update').find((m) => m.disc_type === 'bluray')).toBeDefined();

    const progress = dashboard.messages('title_update').flatMap((m) => (m.state === 'ripping' && m.match_progress !== undefined ? [m.match_progress] : []));
    expect(progress.length).toBeGreaterThan(5);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1] as number);
    // Nothing before the saving stage counts: the first reports are near 0, not the 34 % where "Opening" stopped.
    expect(progress[1]).toBeLessThan(34);

    // Speed: the title's bytes over the pacing, as a multiple of Blu-ray 1× (4.5 MB/s).
    const expectedSpeed = BLURAY_TITLE_BYTES / SAVE_SECONDS / 4_500_000;
    const speeds = dashboard.messages('job_update').flatMap((m) => (m.current_speed ? [Number.parseFloat(m.current_speed)] : []));
    expect(speeds.length).toBeGreaterThan(0);
    const lastSpeed = speeds.at(-1) as number;
    expect(lastSpeed).toBeGreaterThan(expectedSpeed * 0.5);
    expect(lastSpeed).toBeLessThan(expectedSpeed * 1.5);
    const etas = dashboard.messages('job_update').flatMap((m) => (m.eta_seconds !== undefined && m.state === 'ripping' ? [m.eta_seconds] : []));
    expect(etas.length).toBeGreaterThan(0);
    for (const eta of etas) expect(eta).toBeLessThanOrEqual(SAVE_SECONDS + 2);

    const completed = dashboard.messages('title_update').find((m) => m.state === 'completed');
    expect(completed).toMatchObject({ title_id: 0, output_filename: 'E2E_BD_t00.mkv', actual_size_bytes: BLURAY_TITLE_BYTES });
    const folder = join(s.outputDir, 'E2E_BD');
    expect(readdirSync(folder)).toEqual(['E2E_BD_t00.mkv']);
    expect(statSync(join(folder, 'E2E_BD_t00.mkv')).size).toBe(BLURAY_TITLE_BYTES);
    const job = JobDetail.parse(await s.get(`/api/jobs/${done.job_id}`));
    expect(job.titles[0]?.streams?.length).toBe(7);
  }, 120_000);

  it('rips a replayed DVD: only the long title is selected and saved', async () => {
    const { dashboard, done, station: s } = await ripWith('makemkv-dvd', { info: DVD_INFO, mkv: BLURAY_RIP, saveSeconds: 2 });
    expect(done.state).toBe('completed');
    const discovered = dashboard.messages('titles_discovered')[0] as TitlesDiscovered;
    expect(discovered.titles.map((t) => [t.title_id, t.selected])).toEqual([
      [0, false], [1, false], [2, false], [3, false], [4, false], [5, false], [6, true], [7, false],
    ]);
    expect(readdirSync(join(s.outputDir, 'E2E_BD'))).toEqual(['E2E_BD_t06.mkv']);
  }, 120_000);

  it.each([
    ['region-locked drive', { info: 'error_dvd_info_region-rpc_read-errors_rakemkv_v1.8.3.txt', mkv: BLURAY_RIP, exitCode: 0 },
      /^The disc's region does not match the drive's region \(RPC\)/],
    ['expired key', { info: 'error_nodrives_version-too-old_jlesage-docker-makemkv-issue163_v1.17.1.txt', mkv: BLURAY_RIP, exitCodes: { info: 253 } },
      /^MakeMKV's key has expired or this version is too old: update MakeMKV or enter a registration key/],
    ['read errors while saving', { info: BLURAY_INFO, mkv: 'fragment_error_read_medium-error_arm-issue810.txt', exitCode: 0 },
      /^No title could be finished: .*read error/i],
    ['exit 0 with "1 titles saved" but an empty file', { info: BLURAY_INFO, mkv: BLURAY_RIP, saveSeconds: 1, maxFileBytes: 0 },
      /^No title could be finished: MakeMKV reported title 0 saved but wrote no file/],
  ])('fails cleanly on %s', async (name, scenario, message) => {
    const { done, station: s } = await ripWith(`makemkv-error-${name.replace(/\W+/g, '-')}`, scenario);
    expect(done.state).toBe('failed');
    expect(done.error_message).toMatch(message);
    // Nothing half-written is left as if done: no file, and no folder for this disc.
    expect(existsSync(s.outputDir) ? readdirSync(s.outputDir) : []).toEqual([]);
  }, 120_000);

  it('stops a rip that stalls and fails the title with that reason', async () => {
    const { dashboard, done } = await ripWith('makemkv-stall', { info: BLURAY_INFO, mkv: BLURAY_RIP, saveSeconds: 4, stallAtFraction: 0.3 },
      { DISCBRIDGE_STALL_SECONDS: '5' });
    expect(done.state).toBe('failed');
    expect(done.error_message).toBe('No title could be finished: Ripping title 0 made no progress for 5 s and was stopped');
    expect(dashboard.messages('title_update').find((m) => m.state === 'failed')?.error).toBe('Ripping title 0 made no progress for 5 s and was stopped');
  }, 120_000);
});
