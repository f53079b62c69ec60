// Issue #5 figures: the dashboard page in Chromium against a hub with 20 stations × 4 drives, every drive ripping and
// sending a job and a title progress update once a second, and (second round) 10,000 jobs in history. Measures
// (1) time to first render: navigation start → the station list rendered (the page's own performance mark), with
// and without the history; (2) the page's main-thread busy time per second while the updates flow (Chrome DevTools
// Protocol Performance.getMetrics TaskDuration, over 10 s), against the same page idle; (3) paging through history.
import { describe, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ScriptedAgent, Station, VirtualDrive, loopDevicesUnavailable, waitFor } from '../test/e2e/harness.js';
import { browserUnavailable, launchBrowser } from '../test/e2e/browser.js';
import { median, report } from './report.js';

const skip = loopDevicesUnavailable() ?? browserUnavailable();
if (skip) console.warn(`Skipping the dashboard benchmark: ${skip}`);

const STATIONS = 20;
const DRIVES = 4;
const HISTORY = 10_000;
const BATCH = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Scripted {
  agent: ScriptedAgent;
  id: string;
  seq: number;
  nextJob: number;
}

type Event = Record<string, unknown>;

/** Sends events in batches of at most 1000 per message, as an agent replaying its outbox does. */
async function sendEvents(s: Scripted, events: { at: number; event: Event }[]): Promise<void> {
  for (let i = 0; i < events.length; i += BATCH) {
    s.agent.send({ kind: 'events', events: events.slice(i, i + BATCH).map(({ at, event }) => ({ seq: ++s.seq, at, event: { agent_id: s.id, ...event } })) });
    await s.agent.drain();
  }
}

/** A finished job as an agent reports it: identified, two titles, both ripped (or not), finished. */
function pastJob(jobId: number, at: number, n: number): { at: number; event: Event }[] {
  const label = `ARCHIVE_${String(n).padStart(5, '0')}`;
  const outcome = n % 23 === 0 ? 'failed' : n % 31 === 0 ? 'cancelled' : 'completed';
  const done = outcome === 'completed';
  return [
    { at, event: { type: 'job_update', job_id: jobId, state: 'identifying', drive_id: `/dev/sr${n % DRIVES}`, volume_label: label, disc_type: 'dvd' } },
    { at, event: { type: 'titles_discovered', job_id: jobId, titles: [
      { title_id: 1, duration_seconds: 2640, chapters: 8, expected_size_bytes: 1_300_000_000, selected: true },
      { title_id: 2, duration_seconds: 1320, chapters: 4, expected_size_bytes: 650_000_000, selected: true },
    ] } },
    ...(done ? [1, 2].map((t) => ({ at: at + 900_000, event: { type: 'title_update', job_id: jobId, title_id: t, state: 'completed', match_progress: 100, actual_size_bytes: 640_000_000 * t, output_filename: `${label}_t0${t}.mkv` } })) : []),
    { at: at + 1_000_000, event: { type: 'job_update', job_id: jobId, state: outcome, progress_percent: done ? 100 : 35, output_dir: label, ...(done ? {} : { error_message: outcome === 'failed' ? 'HandBrakeCLI could not read the disc (exit code 2)' : 'Cancelled by user' }) } },
  ];
}

/** Every drive of the station gets a disc and a running job with three titles. */
function runningJobs(s: Scripted): { at: number; event: Event }[] {
  const at = Date.now();
  return Array.from({ length: DRIVES }, (_, d) => {
    const jobId = s.nextJob++;
    const label = `${s.id.toUpperCase()}_DISC_${d}`;
    return [
      { at, event: { type: 'drive_event', drive_id: `/dev/sr${d}`, event: 'inserted', volume_label: label, disc_type: d % 2 ? 'bluray' : 'dvd' } },
      { at, event: { type: 'job_update', job_id: jobId, state: 'identifying', drive_id: `/dev/sr${d}`, volume_label: label, disc_type: d % 2 ? 'bluray' : 'dvd' } },
      { at, event: { type: 'titles_discovered', job_id: jobId, titles: [1, 2, 3].map((t) => ({ title_id: t, duration_seconds: 2400 + t * 60, chapters: 8, expected_size_bytes: 1_200_000_000, selected: t < 3 })) } },
      { at, event: { type: 'job_update', job_id: jobId, state: 'ripping', current_title: 1, total_titles: 2 } },
      { at, event: { type: 'title_update', job_id: jobId, title_id: 1, state: 'ripping' } },
    ];
  }).flat();
}

/** Once a second, per drive: a job_update and a title_update with new progress (progress-only: latest wins). */
function startProgress(stations: Scripted[], firstJob: Map<string, number>): () => void {
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const s of stations) {
      for (let d = 0; d < DRIVES; d++) {
        const jobId = (firstJob.get(s.id) as number) + d;
        const percent = (tick * 0.37 + d * 11) % 100;
        const at = Date.now();
        s.agent.send({ kind: 'progress', after_seq: s.seq, at, event: { type: 'job_update', agent_id: s.id, job_id: jobId, state: 'ripping', progress_percent: percent, current_speed: `${(2 + (tick % 7) / 10).toFixed(1)}x`, eta_seconds: 3000 - tick } });
        s.agent.send({ kind: 'progress', after_seq: s.seq, at, event: { type: 'title_update', agent_id: s.id, job_id: jobId, title_id: 1, state: 'ripping', match_progress: Math.min(100, percent * 1.8), actual_size_bytes: Math.round(percent * 10_000_000) } });
      }
    }
  }, 1000);
  return () => clearInterval(timer);
}

interface FirstRender {
  /** Navigation start → the station list rendered (the page's own mark). */
  ms: number;
  /** → app.js loaded. */
  script: number;
  /** → the first snapshot's REST answers in. */
  snapshot: number;
  nodes: number;
  historyRows: number;
}

async function firstRender(page: Page, url: string): Promise<FirstRender> {
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
  const mark = async (expression: string) => (await page.evaluate(expression)) as number;
  const ms = await mark(`performance.getEntriesByName('discbridge:stations-rendered')[0].startTime`);
  const snapshot = await mark(`performance.getEntriesByName('discbridge:snapshot-loaded')[0].startTime`);
  const script = await mark(`performance.getEntriesByType('resource').find((e) => e.name.endsWith('/app.js')).responseEnd`);
  await sleep(1500);
  const nodes = (await page.evaluate(`document.getElementsByTagName('*').length`)) as number;
  const historyRows = await page.locator('tr.hrow').count();
  return { ms, script, snapshot, nodes, historyRows };
}

/** Main-thread time the page spent over `seconds`, per second, from the DevTools Protocol's metrics. */
async function busyPerSecond(page: Page, seconds: number): Promise<Record<string, number>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const read = async () => Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }).metrics.map((m) => [m.name, m.value]));
  const before = await read();
  const start = performance.now();
  await sleep(seconds * 1000);
  const after = await read();
  const wall = (performance.now() - start) / 1000;
  await cdp.detach();
  const per = (name: string) => (((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / wall;
  return { task: per('TaskDuration'), script: per('ScriptDuration'), layout: per('LayoutDuration'), style: per('RecalcStyleDuration') };
}

describe.skipIf(skip !== undefined)('dashboard', () => {
  it('20 stations × 4 drives updating every second, 10,000 jobs in history', async () => {
    const station = new Station(VirtualDrive.reserve(), { name: 'bench-dashboard', hubEnv: { DISCBRIDGE_LOG_LEVEL: 'warn', DISCBRIDGE_HEARTBEAT_MS: '5000' } });
    const browser = await launchBrowser({ width: 1920, height: 1080 });
    const stations: Scripted[] = [];
    let stop = () => {};
    try {
      await station.startHub();
      for (let i = 0; i < STATIONS; i++) {
        const id = `station-${String(i + 1).padStart(2, '0')}`;
        stations.push({ agent: await ScriptedAgent.connect(station.port, station.token, id), id, seq: 0, nextJob: 1 });
      }
      // Running jobs first, at agent job numbers past the history's, so both rounds show the same drives.
      const perStation = HISTORY / STATIONS;
      const firstJob = new Map<string, number>();
      for (const s of stations) {
        s.nextJob = perStation + 1;
        firstJob.set(s.id, s.nextJob);
        await sendEvents(s, runningJobs(s));
      }
      await waitFor(async () => (await station.get<{ job_id?: number }[]>('/api/drives')).filter((d) => d.job_id !== undefined).length === STATIONS * DRIVES, 60_000, 'every drive ripping');
      stop = startProgress(stations, firstJob);
      const url = `${station.baseUrl}/`;
      const page = browser.page;

      const rounds: Record<string, string | number>[] = [];
      const measure = async (label: string) => {
        const renders = [];
        for (let i = 0; i < 3; i++) renders.push(await firstRender(page, url));
        const busy = await busyPerSecond(page, 10);
        stop();
        await sleep(1500);
        const idle = await busyPerSecond(page, 5);
        stop = startProgress(stations, firstJob);
        rounds.push({
          history: label,
          'first render ms (median of 3)': median(renders.map((r) => r.ms)),
          'runs ms': renders.map((r) => Math.round(r.ms)).join(' / '),
          'of which app.js loaded at': median(renders.map((r) => r.script)),
          'snapshot in at': median(renders.map((r) => r.snapshot)),
          'DOM elements': renders.at(-1)!.nodes,
          'history rows': renders.at(-1)!.historyRows,
          'busy ms/s, updating': busy.task as number,
          'script ms/s': busy.script as number,
          'layout+style ms/s': (busy.layout as number) + (busy.style as number),
          'busy ms/s, idle': idle.task as number,
        });
      };

      await measure('empty');

      // 10,000 finished jobs, 500 per station, sent as batched events like an agent's replay.
      const start = Date.now() - HISTORY * 60_000;
      for (const [index, s] of stations.entries()) {
        const events: { at: number; event: Event }[] = [];
        for (let j = 1; j <= perStation; j++) events.push(...pastJob(j, start + (j * STATIONS + index) * 60_000, (j - 1) * STATIONS + index + 1));
        // The history's job numbers are below the running ones: the agent numbered them first.
        await sendEvents(s, events);
      }
      await waitFor(async () => {
        const page = await station.get<{ jobs: unknown[]; next_before?: number }>(`/api/jobs?limit=1&before=${HISTORY + 1}`);
        return page.jobs.length === 1;
      }, 120_000, 'the history at the hub');
      await waitFor(async () => (await station.get<{ jobs: { state: string }[] }>('/api/jobs?limit=500&state=completed')).jobs.length === 500, 120_000, 'the history applied');
      // The progress loop must follow the new sequence numbers.
      stop();
      stop = startProgress(stations, firstJob);
      await measure(`${HISTORY.toLocaleString('en')} jobs`);

      // Paging: "Older" ten times, each until the next page is on screen.
      await firstRender(page, url);
      const pageTimes: number[] = [];
      for (let i = 2; i <= 11; i++) {
        const t0 = performance.now();
        await page.getByRole('button', { name: 'Older →' }).click();
        await page.waitForFunction((n) => {
          const doc = (globalThis as { document?: any }).document; // the page's document (these types know no DOM)
          return doc.querySelector('.page-number')?.textContent === `Page ${n}` && !doc.querySelector('.history[aria-busy]');
        }, i, { timeout: 10_000 });
        pageTimes.push(performance.now() - t0);
      }
      const filterStart = performance.now();
      await page.locator('select[name="outcome"]').selectOption('failed');
      await page.waitForFunction(() => {
        const rows = [...(globalThis as { document?: any }).document.querySelectorAll('tr.hrow')] as { dataset: { state?: string } }[];
        return rows.length > 0 && rows.every((row) => row.dataset.state === 'failed');
      }, undefined, { timeout: 10_000 });
      const filterMs = performance.now() - filterStart;

      report(`Dashboard page: ${STATIONS} stations × ${DRIVES} drives, each drive sending a job and a title update every second (${STATIONS * DRIVES * 2} messages/s), Chromium 1920×1080`, rounds);
      report('Dashboard history with 10,000 jobs: a page of 50 at a time', [
        { action: '"Older →" (next page of 50)', 'median ms': median(pageTimes), 'max ms': Math.max(...pageTimes) },
        { action: 'filter by outcome (failed)', 'median ms': filterMs, 'max ms': filterMs },
      ]);
      if (browser.errors.length) throw new Error(`The page logged errors: ${browser.errors.join('; ')}`);
    } finally {
      stop();
      for (const s of stations) s.agent.close();
      await browser.close();
      await station.stop();
    }
  });
});
