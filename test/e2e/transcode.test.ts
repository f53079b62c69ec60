// A real ffmpeg transcode after a real HandBrake rip: the job goes ripping → transcoding → completed, with live
// progress, and the lossless rip is removed only after the transcoded file checked out.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINISHED_JOB_STATES, type JobUpdate } from '../../shared/index.js';
import { Station, VirtualDrive, loopDevicesUnavailable, makeDisc, probeDuration, toolsUnavailable } from './harness.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'ffmpeg', 'ffprobe');
if (skipReason) console.warn(`Skipping transcode end-to-end tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('rip then transcode with ffmpeg', () => {
  let station: Station | undefined;
  afterEach(async () => {
    await station?.stop();
    station = undefined;
  });

  it('transcodes each ripped title with live progress and removes the rip only after the check', async () => {
    const disc = makeDisc('e2e-transcode', ['--label', 'E2E_TRANSCODE', '--title', '25:2', '--title', '12:1', '--size', '352x240']);
    station = new Station(VirtualDrive.reserve(), {
      name: 'transcode', agentEnv: { DISCBRIDGE_TRANSCODE: 'h265', DISCBRIDGE_KEEP_RIP: 'false' },
    });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(disc);
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 180_000);
    expect(done).toMatchObject({ state: 'completed', progress_percent: 100 });

    const states = dashboard.messages('job_update').map((m) => m.state);
    expect(states.indexOf('transcoding')).toBeGreaterThan(states.lastIndexOf('ripping'));
    const transcoding = dashboard.messages('job_update').filter((m) => m.state === 'transcoding' && m.progress_percent !== undefined);
    expect(transcoding.length).toBeGreaterThan(2);
    const percents = transcoding.map((m) => m.progress_percent as number);
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1] as number);
    expect(transcoding.some((m) => m.current_speed !== undefined && m.eta_seconds !== undefined)).toBe(true);
    expect(dashboard.messages('title_update').filter((m) => m.state === 'transcoding').length).toBeGreaterThan(2);

    const folder = join(station.outputDir, 'E2E_TRANSCODE');
    expect(readdirSync(folder).sort()).toEqual(['E2E_TRANSCODE_t01.h265.mkv', 'E2E_TRANSCODE_t02.h265.mkv']);
    expect(Math.abs(probeDuration(join(folder, 'E2E_TRANSCODE_t01.h265.mkv')) - 25)).toBeLessThan(1);
    expect(Math.abs(probeDuration(join(folder, 'E2E_TRANSCODE_t02.h265.mkv')) - 12)).toBeLessThan(1);
    const completed = dashboard.messages('title_update').filter((m) => m.state === 'completed' && m.output_filename?.endsWith('.h265.mkv'));
    expect(completed.map((m) => m.title_id).sort()).toEqual([1, 2]);
    expect(dashboard.contractViolations).toEqual([]);
  }, 240_000);

  it('keeps the rip and fails the job when the transcode fails its check', async () => {
    const disc = makeDisc('e2e-transcode-small', ['--label', 'E2E_BADTRANSCODE', '--title', '15:1', '--size', '352x240']);
    station = new Station(VirtualDrive.reserve(), {
      // An ffmpeg that is not ffmpeg: /bin/false exits 1 at once.
      name: 'transcode-fail', agentEnv: { DISCBRIDGE_TRANSCODE: 'h264', DISCBRIDGE_KEEP_RIP: 'false', DISCBRIDGE_FFMPEG: '/bin/false' },
    });
    await station.start();
    const dashboard = await station.dashboard();
    station.drive.insert(disc);
    const done = await dashboard.waitFor((m): m is JobUpdate => m.type === 'job_update' && FINISHED_JOB_STATES.has(m.state), 120_000);
    expect(done.state).toBe('failed');
    expect(done.error_message).toMatch(/ffmpeg/);
    const folder = join(station.outputDir, 'E2E_BADTRANSCODE');
    // The source survives a failed transcode, and no partial transcoded file is left.
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual(['E2E_BADTRANSCODE_t01.mkv']);
  }, 120_000);
});
