// What durability costs the hub's ingest, in one run, rounds alternated: the hub's store (the part the choice changes)
// takes a station's events as the link hands them over and commits them, timed to the acknowledgement of the last.
// "before" is synchronous = NORMAL (not durable across a power cut), "now" is FULL with the store's group commit (one
// transaction, so one fsync, per flush interval), and the third row commits every event on its own, which is what the
// grouping saves. The database sits on this machine's own disk, as a hub's would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, it } from 'vitest';
import { openDatabase } from '../hub/store/database.js';
import { StationStore } from '../hub/store/station-store.js';
import { median, report } from './report.js';
import { jobEvents } from './station-events.js';

const ROUNDS = 3;
const AGENT = 'bench-station';

interface Setup {
  name: string;
  synchronous: 'NORMAL' | 'FULL';
  commitEachEvent: boolean;
  jobs: number;
}

const SETUPS: Setup[] = [
  { name: 'before: synchronous NORMAL, a commit per 100 ms flush', synchronous: 'NORMAL', commitEachEvent: false, jobs: 2000 },
  { name: 'now: synchronous FULL, a commit per 100 ms flush', synchronous: 'FULL', commitEachEvent: false, jobs: 2000 },
  { name: 'FULL, a commit per event (no grouping)', synchronous: 'FULL', commitEachEvent: true, jobs: 100 },
];

/** Events per second until the last is acknowledged, and the median time from an event's arrival to its acknowledgement. */
async function ingest(setup: Setup): Promise<{ rate: number; ackMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'discbridge-bench-durability-'));
  const db = openDatabase(join(dir, 'hub.sqlite'));
  db.pragma(`synchronous = ${setup.synchronous}`);
  const store = new StationStore(db, pino({ level: 'silent' }));
  try {
    store.start();
    store.registerAgent({ kind: 'hello', agent_id: AGENT, name: AGENT, version: 'bench', protocol: { min: 2, max: 2 }, drives: [] }, Date.now());
    const events = Array.from({ length: setup.jobs }, (_, job) => jobEvents(AGENT, job + 1)).flat();
    const arrived: number[] = [];
    const ackDelays: number[] = [];
    let acked = 0;
    const allAcked = new Promise<void>((resolve) => store.onCommit((seqs) => {
      const now = performance.now();
      const seq = seqs.get(AGENT) ?? 0;
      for (; acked < seq; acked++) ackDelays.push(now - (arrived[acked] as number));
      if (acked === events.length) resolve();
    }));
    const start = performance.now();
    // As the link hands them over: a socket's worth of messages per turn of the event loop.
    for (let index = 0; index < events.length; index += 200) {
      for (const [offset, event] of events.slice(index, index + 200).entries()) {
        arrived.push(performance.now());
        store.apply(AGENT, { seq: index + offset + 1, at: Date.now(), event });
        if (setup.commitEachEvent) store.flush();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await allAcked;
    return { rate: events.length / ((performance.now() - start) / 1000), ackMs: median(ackDelays) };
  } finally {
    store.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('hub durability', () => {
  it('events per second: synchronous NORMAL against FULL with group commit, and against a commit per event', async () => {
    const results = new Map<Setup, { rates: number[]; acks: number[] }>(SETUPS.map((setup) => [setup, { rates: [], acks: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const setup of SETUPS) {
        const { rate, ackMs } = await ingest(setup);
        results.get(setup)?.rates.push(rate);
        results.get(setup)?.acks.push(ackMs);
      }
    }
    const before = median(results.get(SETUPS[0] as Setup)?.rates ?? []);
    report(`Hub store ingest until acknowledged, NORMAL against FULL (median of ${ROUNDS}, same run)`, SETUPS.map((setup) => {
      const { rates, acks } = results.get(setup) as { rates: number[]; acks: number[] };
      return {
        setup: setup.name, events: setup.jobs * jobEvents(AGENT, 1).length, 'events/s': Math.round(median(rates)),
        ratio: median(rates) / before, 'arrival → ack ms (median)': median(acks), runs: rates.map(Math.round).join(' / '),
      };
    }));
  });
});
