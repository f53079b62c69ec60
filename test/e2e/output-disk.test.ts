// The output directory full or read-only, and a flapping tray: the job fails (or does not start twice) with a clear
// reason, the drive is freed, and nothing half-written is left behind as if done.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, DriveRecord, type JobUpdate } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'mount');
if (skipReason) console.warn(`Skipping output-disk tests: ${skipReason}`);

/** A small tmpfs as the station's output directory (root only, like the loop devices). */
function mountTmpfs(dir: string, sizeMb: number, readOnly = false): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m${readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
}

describe.skipIf(skipReason !== undefined)('output disk and tray faults', () => {
  let station: Station | undefined;
  let mounted: string | undefined;
  afterEach(async () => {
    await station?.agent?.stop();
    if (mounted) execFileSync('umount', ['-l', mounted]);
    await station?.stop();
    station = undefined;
    mounted = undefined;
  });

  it('a full output disk fails the job with that reason and leaves no partial file', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'disk-full' });
    mounted = station.outputDir;
    mountTmpfs(station.outputDir, 4);
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(makeDisc('e2e-long', ['--label', 'E2E_LONG', '--title', '150:5']));
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 120_000);
    expect(done.state).toBe('failed');
    expect(done.error_message).toMatch(/^No title could be finished: The output disk is full \(\d+ MB free\)$/);
    expect(readdirSync(station.outputDir)).toEqual([]);
    const drives = DriveRecord.array().parse(await station.get('/api/drives'));
    expect(drives[0]?.job_id).toBeUndefined();
  }, 180_000);

  it('a read-only output directory fails the job before ripping', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'read-only' });
    mounted = station.outputDir;
    mountTmpfs(station.outputDir, 4, true);
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(makeDisc('e2e-short', ['--label', 'E2E_SHORT', '--title', '15:1', '--size', '352x240']));
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 60_000);
    expect(done).toMatchObject({ state: 'failed', error_message: 'Cannot write to the output directory: the file system is read-only' });
  }, 120_000);

  it('a tray that flaps within the debounce time gives one insert and one job', async () => {
    station = new Station(VirtualDrive.reserve(), { name: 'flapping' });
    await station.start();
    const dashboard = await station.dashboard();
    const disc = makeDisc('e2e-short', ['--label', 'E2E_SHORT', '--title', '15:1', '--size', '352x240']);
    // In, out, in again, each faster than the 400 ms debounce: a bouncing tray or a slow spin-up.
    station.drive.insert(disc);
    await new Promise((r) => setTimeout(r, 150));
    station.drive.eject();
    await new Promise((r) => setTimeout(r, 150));
    station.drive.insert(disc);
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 60_000);
    expect(done.state).toBe('completed');
    // The drive may report the medium while the image is being attached again: the disc is still known by its label.
    expect(dashboard.messages('drive_event').map((m) => [m.event, m.volume_label])).toEqual([['inserted', 'E2E_SHORT']]);
    expect(new Set(dashboard.messages('job_update').map((m) => m.job_id)).size).toBe(1);
    expect(existsSync(join(station.outputDir, 'E2E_SHORT'))).toBe(true);
  }, 120_000);
});
