// Data discs and Blu-ray images through the whole station on loop devices: a data disc becomes a verified ISO with
// its SHA-256 on the dashboard and in REST, and the tray opens when done; a UDF 2.50 BDMV image is told as a Blu-ray;
// a damaged disc (a FUSE file failing chosen ranges, under a loop device) is rescued with the real ddrescue as far as
// it reads, keeps its image and map, and "rip now" continues in the same folder.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DriveRecord, FINISHED_JOB_STATES, JobDetail, type JobUpdate } from '../../shared/index.js';
import { DamagedDisc, damagedDiscsUnavailable } from './damaged-disc.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, makeMkvAgentEnv, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('genisoimage', 'isoinfo', 'blkid');
if (skipReason) console.warn(`Skipping data-disc end-to-end tests: ${skipReason}`);
const damagedSkip = skipReason ?? damagedDiscsUnavailable() ?? toolsUnavailable('ddrescue');
if (!skipReason && damagedSkip) console.warn(`Skipping the damaged-disc end-to-end test: ${damagedSkip}`);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const volumeBytesOf = (image: string) => Number(/Volume size is: (\d+)/.exec(execFileSync('isoinfo', ['-d', '-i', image], { encoding: 'utf8' }))?.[1]) * 2048;
const isFinal = (m: { type: string; state?: string }): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state as JobUpdate['state']);

describe.skipIf(skipReason !== undefined)('data discs and Blu-ray images end to end', () => {
  let station: Station | undefined;
  let damaged: DamagedDisc | undefined;
  let dataDisc: string;

  beforeAll(() => {
    dataDisc = makeDisc('e2e-data', ['--data', '--label', 'E2E_PHOTOS', '--size-mb', '24']);
  }, 60_000);

  afterEach(async () => {
    await station?.stop();
    station = undefined;
    await damaged?.destroy();
    damaged = undefined;
  });

  it('backs a data disc up to a verified ISO with its SHA-256, then opens the tray', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'data-disc', agentEnv: { DISCBRIDGE_EJECT_WHEN_DONE: 'true' } });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(dataDisc);
    const inserted = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 10_000);
    expect(inserted).toMatchObject({ volume_label: 'E2E_PHOTOS', disc_type: 'data' });
    const done = await dashboard.waitFor(isFinal, 60_000);
    const volumeBytes = volumeBytesOf(dataDisc);
    const image = readFileSync(join(station.outputDir, 'E2E_PHOTOS', 'E2E_PHOTOS.iso'));
    expect(image.length).toBe(volumeBytes);
    expect(image.equals(readFileSync(dataDisc).subarray(0, volumeBytes))).toBe(true);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100, sha256: sha256(image) });

    const job = JobDetail.parse(await station.get(`/api/jobs/${done.job_id}`));
    expect(job).toMatchObject({ disc_type: 'data', output_dir: 'E2E_PHOTOS', sha256: sha256(image), total_titles: 1 });
    expect(job.titles).toEqual([expect.objectContaining({ title_id: 1, name: 'E2E_PHOTOS.iso', state: 'completed', output_filename: 'E2E_PHOTOS.iso', actual_size_bytes: volumeBytes })]);
    expect(job).not.toHaveProperty('bytes_per_second');

    // Done: the tray opens by itself (for a loop device, the image is detached).
    await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'removed', 10_000);
    expect(station.drive.hasDisc()).toBe(false);
    expect(dashboard.contractViolations).toEqual([]);
  }, 120_000);

  it('tells a UDF 2.50 BDMV image as a Blu-ray, and rips it (MakeMKV stand-in replaying a real Blu-ray capture)', async () => {
    const bluray = makeDisc('e2e-bluray', ['--bluray', '--label', 'E2E_BLURAY']);
    station = new Station(VirtualDrive.reserve(), {
      name: 'bluray-image',
      agentEnv: { ...makeMkvAgentEnv({ info: 'bluray_info_pipeline-mkv_demonslayer_v1.18.1.txt', mkv: 'bluray_mkv_rip_progress_pipeline-mkv_howls_v1.18.1.txt', saveSeconds: 2 }), DISCBRIDGE_MIN_TITLE_SECONDS: '600' },
    });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(bluray);
    const inserted = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 10_000);
    expect(inserted).toMatchObject({ volume_label: 'E2E_BLURAY', disc_type: 'bluray' });
    const done = await dashboard.waitFor(isFinal, 60_000);
    expect(done.state).toBe('completed');
    expect(JobDetail.parse(await station.get(`/api/jobs/${done.job_id}`))).toMatchObject({ disc_type: 'bluray', volume_label: 'E2E_BLURAY' });
  }, 120_000);

  it.skipIf(damagedSkip !== undefined)('rescues a damaged disc with ddrescue as far as it reads, keeps image and map, and "rip now" goes on in the same folder', async () => {
    const bad = [{ offset: 8 * 1024 * 1024, length: 65_536 }, { offset: 12 * 1024 * 1024 + 1000, length: 100_000 }];
    damaged = await DamagedDisc.create(dataDisc, bad);
    // The damaged disc's loop device is the station's drive; it is in when the agent starts, so nothing rips until asked.
    station = new Station(VirtualDrive.reserve(), { name: 'damaged-disc', agentEnv: { DISCBRIDGE_DRIVES: damaged.device } });
    await station.start();
    const dashboard = await station.dashboard();
    const ripNow = () => station!.post(`/api/drives/${encodeURIComponent(station!.agentId)}/${encodeURIComponent(damaged!.device)}/rip`);

    expect((await ripNow()).status).toBe(200);
    const first = await dashboard.waitFor(isFinal, 60_000);
    // Bad ranges grow to whole 2048-byte sectors: 65,536 bytes at a sector boundary, 100,000 bytes across 50 sectors.
    const unreadable = 65_536 + 50 * 2048;
    expect(first).toMatchObject({ state: 'failed', unreadable_bytes: unreadable });
    expect(first.error_message).toBe(`${unreadable} bytes could not be read; the image and ddrescue's map file are kept, and "rip now" tries the unread parts again`);
    const folder = join(station.outputDir, 'E2E_PHOTOS');
    expect(readdirSync(folder).sort()).toEqual(['E2E_PHOTOS.iso', 'E2E_PHOTOS.iso.map']);
    // Everything that reads is in the image, byte for byte.
    const image = readFileSync(join(folder, 'E2E_PHOTOS.iso'));
    const source = readFileSync(dataDisc);
    expect(image.subarray(0, bad[0]!.offset).equals(source.subarray(0, bad[0]!.offset))).toBe(true);
    const log = await station.get<{ lines: { text: string }[] }>(`/api/jobs/${first.job_id}/log`);
    expect(log.lines.map((l) => l.text).join('\n')).toMatch(/Read error at 8\.4 MB: ddrescue copies the rest/);
    const drive = DriveRecord.array().parse(await station.get('/api/drives')).find((d) => d.drive_id === damaged!.device);
    expect(drive).toMatchObject({ has_disc: true, last_job_id: first.job_id });

    // Rip now: the next job finds the earlier try of this disc and continues it there, reading only the bad areas.
    const before = dashboard.received.length;
    expect((await ripNow()).status).toBe(200);
    const second = await dashboard.waitFor(isFinal, 60_000, before);
    expect(second).toMatchObject({ state: 'failed', unreadable_bytes: unreadable });
    expect(second.job_id).not.toBe(first.job_id);
    expect(readdirSync(station.outputDir)).toEqual(['E2E_PHOTOS']);
    const secondLog = await station.get<{ lines: { text: string }[] }>(`/api/jobs/${second.job_id}/log`);
    expect(secondLog.lines.map((l) => l.text).join('\n')).toMatch(/Continuing the earlier try in E2E_PHOTOS/);
    expect(existsSync(join(folder, 'E2E_PHOTOS.iso.part'))).toBe(false);
    expect(dashboard.contractViolations).toEqual([]);
  }, 180_000);
});
