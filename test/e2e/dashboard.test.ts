// The dashboard page in a real browser (Debian's Chromium through playwright-core) against a real hub and agent with
// loop-device drives: a disc goes in and the page follows the rip to history; a refused eject shows the station's
// words; a cancel from the page (with its confirmation) ends the job cancelled; the hub SIGKILLed and restarted
// shows as disconnected, then the page recovers the right state without a reload and without emptying itself; a wall
// display of one station (?station=) shows only it and acts over the socket.
// Screenshots of the page mid-rip (wide and phone-sized) go to test-artifacts/.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { ARTIFACTS, ROOT, ScriptedAgent, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, toolsUnavailable, waitFor } from './harness.js';
import { browserUnavailable, launchBrowser, type Browser } from './browser.js';
import { TcpProxy } from './tcp-proxy.js';

const skipReason = loopDevicesUnavailable() ?? toolsUnavailable('HandBrakeCLI', 'dvdauthor', 'genisoimage', 'isoinfo', 'blkid') ?? browserUnavailable();
if (skipReason) console.warn(`Skipping the dashboard browser tests: ${skipReason}`);

/** Long enough (a 5-minute title, about 40 s to rip here) for the page to act on it mid-rip. */
const LONG_DISC = ['--label', 'E2E_FEATURE', '--title', '300:8', '--title', '30:2'];

/** The job bar's value on a drive card, or undefined while the drive is not working or its bar has no value. */
async function jobPercent(drive: Locator): Promise<number | undefined> {
  if ((await drive.getAttribute('data-status', { timeout: 1000 }).catch(() => null)) !== 'working') return undefined;
  const value = await drive.locator('.job-bar').getAttribute('aria-valuenow', { timeout: 1000 }).catch(() => null);
  return value === null ? undefined : Number(value);
}

/** Polls a value on the page until it satisfies `ok`. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function open(page: Page, station: Station): Promise<void> {
  await page.goto(`${station.baseUrl}/`);
  await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
  await until(() => page.locator('.connection').getAttribute('data-kind'), (kind) => kind === 'live', 15_000, 'the page to be live');
}

describe.skipIf(skipReason !== undefined)('dashboard in a browser', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  describe('one station, one drive', () => {
    let station: Station;
    let drive: Locator;
    let page: Page;

    beforeAll(async () => {
      makeDisc('e2e-three-titles', ['--label', 'E2E_MOVIE', '--title', '40:4', '--title', '15:2', '--title', '4:1']);
      makeDisc('e2e-dashboard-long', LONG_DISC);
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard' });
      await station.start();
      page = browser!.page;
      await open(page, station);
      drive = page.locator(`.station[data-agent="${station.agentId}"] .drive[data-drive="${station.drive.device}"]`);
    }, 180_000);

    afterAll(async () => {
      await station?.stop();
    });

    afterEach(() => {
      expect(browser!.errors).toEqual([]);
    });

    it('shows the station, then a disc going in: label, progress advancing, and the job in history as completed', async () => {
      await expect.poll(() => page.locator(`.station[data-agent="${station.agentId}"] .station-state`).textContent()).toBe('Online');
      await expect.poll(() => drive.getAttribute('data-status')).toBe('empty');
      expect(await drive.locator('.drive-status').textContent()).toBe('Empty');

      station.drive.insert(makeDisc('e2e-three-titles', ['--label', 'E2E_MOVIE', '--title', '40:4', '--title', '15:2', '--title', '4:1']));
      await expect.poll(() => drive.locator('.disc-label').textContent(), { timeout: 15_000 }).toBe('E2E_MOVIE');
      expect(await drive.locator('.disc-type').textContent()).toBe('DVD');
      const jobId = Number(await until(() => drive.getAttribute('data-job'), (v) => v !== null, 15_000, 'the job on the drive card'));

      // The titles appear with their durations; the 4 s one is not selected.
      await expect.poll(() => drive.locator('.title').count(), { timeout: 30_000 }).toBe(3);
      expect(await drive.locator('.title[data-title="3"] input').isChecked()).toBe(false);
      expect(await drive.locator('.title[data-title="1"] .title-meta').textContent()).toMatch(/^40 s · /);

      // Progress advances on the page: several rising values of the job bar, with speed and a title position.
      const seen: number[] = [];
      await until(async () => {
        const percent = await jobPercent(drive);
        if (percent !== undefined && percent !== seen.at(-1)) seen.push(percent);
        return (await drive.getAttribute('data-status')) !== 'working' ? 'done' : percent;
      }, (v) => v === 'done', 120_000, 'the rip to finish');
      expect(seen.filter((v) => v > 0).length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);

      // The drive holds the ripped disc and says it is done (not a bare "Disc inserted" that looks like a new disc);
      // the job is in history, completed, with its two files and an average speed.
      await expect.poll(() => drive.getAttribute('data-status')).toBe('done');
      expect(await drive.locator('.drive-status').textContent()).toBe('Done: take the disc out');
      expect(await drive.getByRole('button', { name: 'Rip again' }).isVisible()).toBe(true);
      const row = page.locator(`tr.hrow[data-job="${jobId}"]`);
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 10_000 }).toBe('completed');
      expect(await row.locator('.outcome-name').textContent()).toBe('Completed');
      await expect.poll(() => row.locator('.h-files').textContent(), { timeout: 10_000 }).toBe('E2E_MOVIE/ · 2 files');
      expect(await row.locator('.c-speed').textContent()).toMatch(/^\d+\.\d×$/);

      // Its panel lists the files and the log.
      await row.getByRole('button', { name: `Details of job ${jobId}` }).click();
      const panel = page.locator('dialog.panel');
      await expect.poll(() => panel.isVisible()).toBe(true);
      await expect.poll(() => panel.locator('.panel-facts').textContent()).toContain('E2E_MOVIE_t01.mkv');
      await expect.poll(() => panel.locator('.log-line').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await page.keyboard.press('Escape');
      await expect.poll(() => panel.isVisible()).toBe(false);
    }, 240_000);

    it('mid-rip: a refused eject says "Drive is busy"; cancel asks first, then the job shows cancelled', async () => {
      station.drive.eject();
      await expect.poll(() => drive.getAttribute('data-status'), { timeout: 15_000 }).toBe('empty');
      station.drive.insert(makeDisc('e2e-dashboard-long', LONG_DISC));
      await expect.poll(() => drive.locator('.disc-label').textContent(), { timeout: 15_000 }).toBe('E2E_FEATURE');
      await until(() => jobPercent(drive), (v) => v !== undefined && v >= 8, 90_000, 'the rip to pass 8 %');
      const jobId = Number(await drive.getAttribute('data-job'));
      await until(() => drive.locator('.fact-sub').textContent(), (t) => t !== null && /left|any moment/.test(t), 20_000, 'an ETA');

      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-mid-rip.png'), fullPage: true });
      const phone = await browser!.context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await open(phone, station);
      await until(() => jobPercent(phone.locator('.drive')), (v) => v !== undefined && v > 0, 10_000, 'progress on the phone');
      await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-phone.png') });
      await phone.close();

      // Eject while it rips: the page asks first, then shows the station's refusal in its own words.
      await drive.getByRole('button', { name: 'Eject' }).click();
      const confirm = page.locator('dialog.confirm');
      await expect.poll(() => confirm.isVisible()).toBe(true);
      expect(await confirm.locator('.dialog-title').textContent()).toBe(`Eject ${station.drive.device} while it works?`);
      await confirm.getByRole('button', { name: 'Eject anyway' }).click();
      await expect.poll(() => drive.locator('.notice').textContent(), { timeout: 15_000 }).toBe('Could not eject: Drive is busy');
      expect(await drive.locator('.notice').getAttribute('role')).toBe('alert');
      expect(station.drive.hasDisc()).toBe(true);

      // Cancel: "Keep ripping" changes nothing; "Cancel rip" cancels.
      await drive.getByRole('button', { name: 'Cancel rip' }).click();
      await expect.poll(() => confirm.isVisible()).toBe(true);
      await confirm.getByRole('button', { name: 'Keep ripping' }).click();
      await expect.poll(() => confirm.isVisible()).toBe(false);
      expect(await drive.getAttribute('data-status')).toBe('working');
      await drive.getByRole('button', { name: 'Cancel rip' }).click();
      await confirm.getByRole('button', { name: 'Cancel rip' }).click();
      const row = page.locator(`tr.hrow[data-job="${jobId}"]`);
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('cancelled');
      expect(await row.locator('.outcome-name').textContent()).toBe('Cancelled');
      expect(await row.locator('.h-error').textContent()).toBe('Cancelled by user');
      await expect.poll(() => drive.getAttribute('data-status')).toBe('ended');
      expect(await drive.locator('.drive-status').textContent()).toBe('Cancelled');
      expect(await drive.locator('.job-error').textContent()).toBe('Cancelled by user');
      // The history, newest first: the cancelled job above the completed one.
      const states = await page.locator('tr.hrow').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
      expect(states).toEqual(['cancelled', 'completed']);
    }, 240_000);
  });

  describe('a station that waits for "rip now"', () => {
    let station: Station;

    afterAll(async () => {
      await station?.stop();
    });

    it('lets a person choose the titles, rips only those, and reads the disc again on "Rescan"', async () => {
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard-ready', agentEnv: { DISCBRIDGE_AUTO_RIP: 'false' } });
      await station.start();
      const page = await browser!.context.newPage();
      browser!.errors.length = 0;
      await open(page, station);
      const drive = page.locator('.drive');
      station.drive.insert(makeDisc('e2e-three-titles', ['--label', 'E2E_MOVIE', '--title', '40:4', '--title', '15:2', '--title', '4:1']));
      await expect.poll(() => drive.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
      expect(await drive.locator('.drive-status').textContent()).toBe('Ready to rip');
      await expect.poll(() => drive.locator('.title').count()).toBe(3);
      const rip = drive.locator('.drive-actions .btn.primary');
      expect(await rip.textContent()).toBe('Rip 2 titles now');
      const jobId = Number(await drive.getAttribute('data-job'));

      // Untick title 2 (keyboard: focus, space), then rip the one left.
      await drive.locator('.title[data-title="2"] input').focus();
      await page.keyboard.press('Space');
      await expect.poll(() => rip.textContent()).toBe('Rip 1 title now');
      await rip.click();
      await expect.poll(() => drive.locator('.notice').textContent(), { timeout: 15_000 }).toBe('Ripping E2E_MOVIE (1 title)');
      const row = page.locator(`tr.hrow[data-job="${jobId}"]`);
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 120_000, interval: 500 }).toBe('completed');
      await expect.poll(() => row.locator('.h-files').textContent(), { timeout: 10_000 }).toBe('E2E_MOVIE/E2E_MOVIE_t01.mkv');
      const job = await station.get<{ titles: { title_id: number; state: string }[] }>(`/api/jobs/${jobId}`);
      expect(job.titles.map((t) => [t.title_id, t.state])).toEqual([[1, 'completed'], [2, 'skipped'], [3, 'skipped']]);

      // Rescan: a new job reads the disc and waits again.
      await expect.poll(() => drive.getAttribute('data-status')).toBe('done');
      await drive.getByRole('button', { name: 'Rescan' }).click();
      await expect.poll(() => drive.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
      expect(Number(await drive.getAttribute('data-job'))).toBeGreaterThan(jobId);
      expect(browser!.errors).toEqual([]);
      await page.close();
    }, 180_000);
  });

  describe('a hub that asks for a password', () => {
    let station: Station;

    afterAll(async () => {
      await station?.stop();
    });

    it('asks for it, says plainly when it is wrong, and shows the hub once signed in', async () => {
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard-login', hubEnv: { DISCBRIDGE_VIEW_REQUIRES_LOGIN: 'true' } });
      execFileSync(process.execPath, [join(ROOT, 'dist/cli/discbridge.js'), 'password'], {
        input: 'a long enough password\n', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DISCBRIDGE_DATA_DIR: join(station.dir, 'hub') }, stdio: ['pipe', 'ignore', 'pipe'],
      });
      await station.startHub(); // (no agent: the harness could not see it come online without signing in)
      const page = await browser!.context.newPage();
      browser!.errors.length = 0;
      await page.goto(`${station.baseUrl}/`);
      const dialog = page.locator('dialog.sign-in');
      await expect.poll(() => dialog.isVisible(), { timeout: 15_000 }).toBe(true);
      expect(await dialog.locator('.dialog-message').textContent()).toBe('Sign in to view this hub');
      await dialog.getByLabel('Dashboard password').fill('not it');
      await dialog.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => dialog.locator('.form-error').textContent()).toBe('Wrong password');
      await dialog.getByLabel('Dashboard password').fill('a long enough password');
      await dialog.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => dialog.isVisible()).toBe(false);
      await until(() => page.locator('.connection').getAttribute('data-kind'), (kind) => kind === 'live', 30_000, 'the page to be live');
      await expect.poll(() => page.locator('.empty-state .empty-title').textContent()).toBe('No stations yet');
      expect(await page.locator('.summary').textContent()).toBe('0 stations · 0 drives');
      expect(await page.locator('.top-right').getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
      expect(browser!.errors).toEqual([]);
      await page.close();
    }, 120_000);
  });

  describe('a network that goes silent', () => {
    let station: Station;
    let proxy: TcpProxy | undefined;

    afterAll(async () => {
      await proxy?.stop();
      await station?.stop();
    });

    it('is noticed without any close (the page asks the hub itself), and the page comes back with it', async () => {
      // The hub pings only once a minute here: it must not be the hub's heartbeat that closes the socket.
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard-silent', hubEnv: { DISCBRIDGE_HEARTBEAT_MS: '60000' } });
      await station.startHub();
      proxy = new TcpProxy(station.port);
      await proxy.start();
      const page = await browser!.context.newPage();
      browser!.errors.length = 0;
      await page.goto(`http://127.0.0.1:${proxy.port}/`);
      await until(() => page.locator('.connection').getAttribute('data-kind'), (kind) => kind === 'live', 15_000, 'the page to be live');
      const stalledAt = Date.now();
      proxy.stall(); // no byte moves, nothing closes
      await until(() => page.locator('.connection').getAttribute('data-kind'), (kind) => kind === 'down', 45_000, 'the page to show it is disconnected');
      console.info(`silent network → "Disconnected" on the page: ${Date.now() - stalledAt} ms`);
      proxy.resume();
      await until(() => page.locator('.connection').getAttribute('data-kind'), (kind) => kind === 'live', 30_000, 'the page to be live again');
      expect(browser!.errors).toEqual([]);
      await page.close();
    }, 120_000);
  });

  describe('a wall display of one station', () => {
    let station: Station;
    const agents: ScriptedAgent[] = [];

    afterAll(async () => {
      for (const agent of agents) agent.close();
      await station?.stop();
    });

    it('?station= shows that station alone, follows only its events, and ejects over the socket', async () => {
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard-wall' });
      await station.startHub();
      const [mine, theirs] = [await ScriptedAgent.connect(station.port, station.token, 'wall-a'), await ScriptedAgent.connect(station.port, station.token, 'wall-b')];
      agents.push(mine, theirs);
      const page = await browser!.context.newPage();
      browser!.errors.length = 0;
      const posts: string[] = [];
      page.on('request', (request) => { if (request.method() === 'POST') posts.push(request.url()); });
      await page.goto(`${station.baseUrl}/?station=wall-a`);
      await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
      await expect.poll(() => page.locator('.station').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-agent')))).toEqual(['wall-a']);
      for (const [agent, label] of [[theirs, 'NOT_HERE'], [mine, 'ON_THE_WALL']] as const) {
        agent.send({ kind: 'event', seq: 1, at: Date.now(), event: { type: 'drive_event', agent_id: agent === mine ? 'wall-a' : 'wall-b', drive_id: '/dev/sr0', event: 'inserted', volume_label: label, disc_type: 'dvd' } });
      }
      const drive = page.locator('.station[data-agent="wall-a"] .drive');
      await expect.poll(() => drive.locator('.disc-label').textContent()).toBe('ON_THE_WALL');
      expect(await page.locator('.station').count()).toBe(1);

      await drive.getByRole('button', { name: 'Eject' }).click();
      await waitFor(() => mine.commands.length === 1, 10_000, 'the eject at the station');
      expect(mine.commands[0]?.command).toEqual({ name: 'eject', drive_id: '/dev/sr0' });
      mine.answer(mine.commands[0]!.id, true);
      await expect.poll(() => drive.locator('.notice').textContent(), { timeout: 10_000 }).toBe('Ejected ON_THE_WALL from /dev/sr0');
      expect(posts).toEqual([]); // the command went over the socket
      expect(browser!.errors).toEqual([]);
      await page.close();
    }, 120_000);
  });

  describe('the hub killed and restarted', () => {
    let station: Station;

    afterAll(async () => {
      await station?.stop();
    });

    it('shows disconnected, then recovers the right state without a reload and without emptying the page', async () => {
      station = new Station(VirtualDrive.reserve(), { name: 'dashboard-restart' });
      await station.start();
      const page = await browser!.context.newPage();
      browser!.errors.length = 0;
      await open(page, station);
      const drive = page.locator('.drive');
      station.drive.insert(makeDisc('e2e-long', ['--label', 'E2E_LONG', '--title', '150:5']));
      await until(() => jobPercent(drive), (v) => v !== undefined && v >= 5, 90_000, 'the rip to pass 5 %');
      const jobId = Number(await drive.getAttribute('data-job'));

      // Marks that a reload would lose, and a watch for the station list ever being emptied.
      await page.evaluate(`(() => {
        window.__sameDocument = true;
        window.__emptied = false;
        const list = document.querySelector('.stations');
        new MutationObserver(() => { if (!list.querySelector('.drive')) window.__emptied = true; }).observe(list, { childList: true, subtree: true });
      })()`);
      const before = (await jobPercent(drive)) as number;

      await station.hub!.stop('SIGKILL');
      await expect.poll(() => page.locator('.connection').getAttribute('data-kind'), { timeout: 15_000 }).toBe('down');
      expect(await page.locator('.connection').textContent()).toMatch(/Disconnected .* reconnecting/);
      expect(await page.locator('.banner').isVisible()).toBe(true);
      // The last known state stays on screen.
      expect(await drive.locator('.disc-label').textContent()).toBe('E2E_LONG');
      await new Promise((resolve) => setTimeout(resolve, 2000));

      await station.startHub();
      await expect.poll(() => page.locator('.connection').getAttribute('data-kind'), { timeout: 30_000 }).toBe('live');
      expect(await page.locator('.banner').isVisible()).toBe(false);
      // The rip went on meanwhile: the page shows it further along (once the agent is back), then completed.
      await until(() => jobPercent(drive), (v) => v === undefined || v > before, 60_000, 'progress beyond where it was');
      const row = page.locator(`tr.hrow[data-job="${jobId}"]`);
      await expect.poll(() => row.getAttribute('data-state'), { timeout: 150_000, interval: 500 }).toBe('completed');
      await expect.poll(() => drive.getAttribute('data-status')).toBe('done');
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      expect(await page.evaluate('window.__emptied')).toBe(false);
      const rest = await station.get<{ state: string }>(`/api/jobs/${jobId}`);
      expect(rest.state).toBe('completed');
      expect(browser!.errors).toEqual([]);
      await page.close();
    }, 300_000);
  });
});
