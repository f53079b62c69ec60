// Issue #4 figures: how long after a hub comes back a dashboard shows what it missed; how long a silent station
// takes to show offline; the hub's memory through long bursts, with and without a dashboard that stopped reading.
import { describe, it } from 'vitest';
import WebSocket from 'ws';
import type { AgentUpdate } from '../shared/index.js';
import { ScriptedAgent, Station, VirtualDrive, loopDevicesUnavailable, makeDisc, residentBytes } from '../test/e2e/harness.js';
import { median, report } from './report.js';

const skip = loopDevicesUnavailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip !== undefined)('link', () => {
  it('hub back → dashboard shows the missed events', async () => {
    const disc = makeDisc('bench-small', ['--label', 'BENCH_SMALL', '--title', '12:1', '--size', '352x240']);
    const rows: Record<string, string | number>[] = [];
    for (const downSeconds of [2, 8]) {
      const delays: number[] = [];
      for (let round = 0; round < 3; round++) {
        const station = new Station(VirtualDrive.reserve(), { name: 'bench-comeback', agentEnv: { DISCBRIDGE_MIN_TITLE_SECONDS: '3600', DISCBRIDGE_LOG_LEVEL: 'info' } });
        try {
          await station.start();
          await station.hub!.stop('SIGKILL');
          station.drive.insert(disc); // the agent records the insert and a failed job while the hub is away
          await sleep(downSeconds * 1000);
          await station.startHub();
          const back = Date.now();
          const dashboard = await station.dashboard();
          const inserted = await dashboard.waitFor((m) => m.type === 'drive_event' && m.event === 'inserted', 30_000);
          delays.push(dashboard.receivedAt(inserted) - back);
        } finally {
          await station.stop();
        }
      }
      rows.push({ 'hub down for': `${downSeconds} s`, 'median ms': median(delays), 'max ms': Math.max(...delays), runs: delays.join(' / ') });
    }
    report('Hub back (/health answers) to the dashboard receiving the replayed events (agent backoff 0.5 s doubling, full jitter, cap 10 s)', rows);
  });

  it('silent station → offline at the dashboard', async () => {
    const rows: Record<string, string | number>[] = [];
    for (const [heartbeat, missed] of [[5000, 2], [1000, 2]] as const) {
      const times: number[] = [];
      const station = new Station(VirtualDrive.reserve(), {
        name: 'bench-offline', hubEnv: { DISCBRIDGE_HEARTBEAT_MS: String(heartbeat), DISCBRIDGE_MISSED_HEARTBEATS: String(missed), DISCBRIDGE_LOG_LEVEL: 'info' },
      });
      try {
        await station.startHub();
        const dashboard = await station.dashboard();
        for (let round = 0; round < 3; round++) {
          const agent = await ScriptedAgent.connect(station.port, station.token, `silent-${round}`);
          const mark = dashboard.received.length;
          // From now on the station reads nothing: no pong, no close.
          agent.freeze();
          const silentAt = Date.now();
          const offline = await dashboard.waitFor((m): m is AgentUpdate => m.type === 'agent_update' && m.agent_id === `silent-${round}` && m.state === 'offline', 60_000, mark);
          times.push(dashboard.receivedAt(offline) - silentAt);
          agent.close();
        }
      } finally {
        await station.stop();
      }
      rows.push({ heartbeat: `${heartbeat} ms, ${missed} missed`, 'median ms': median(times), 'max ms': Math.max(...times), runs: times.join(' / ') });
    }
    report('Station goes silent to agent_update offline at a dashboard', rows);
  });

  it('hub memory through bursts, with and without a stuck dashboard', async () => {
    const rows: Record<string, string | number>[] = [];
    for (const stuckClient of [false, true]) {
      const station = new Station(VirtualDrive.reserve(), { name: 'bench-memory', hubEnv: { DISCBRIDGE_LOG_LEVEL: 'info', DISCBRIDGE_MAX_STATION_MESSAGES: '1000000' } });
      try {
        await station.startHub();
        const good = await station.dashboard();
        const stuck = stuckClient ? new WebSocket(`ws://127.0.0.1:${station.port}/ws`) : undefined;
        if (stuck) {
          await new Promise((resolve) => stuck.once('open', resolve));
          (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
        }
        const agent = await ScriptedAgent.connect(station.port, station.token, 'burst');
        agent.send({ kind: 'event', seq: 1, at: Date.now(), event: { type: 'job_update', agent_id: 'burst', job_id: 1, state: 'ripping', drive_id: '/dev/sr0' } });
        const padding = 'p'.repeat(400);
        let seq = 1;
        const pid = station.hub!.child.pid!;
        const row: Record<string, string | number> = { 'stuck dashboard': stuckClient ? 'yes' : 'no', 'RSS at start MB': residentBytes(pid) / 1e6 };
        for (let burst = 1; burst <= 3; burst++) {
          const start = performance.now();
          for (let i = 1; i <= 30_000; i++) {
            if (i % 1000 === 0) {
              seq++;
              agent.send({ kind: 'event', seq, at: Date.now(), event: { type: 'title_update', agent_id: 'burst', job_id: 1, title_id: seq, state: 'ripping' } });
            } else {
              agent.send({ kind: 'progress', after_seq: seq, at: Date.now(), event: { type: 'job_update', agent_id: 'burst', job_id: 1, state: 'ripping', progress_percent: (i % 1000) / 10, error_message: padding } });
            }
            if (i % 500 === 0) await agent.drain();
          }
          await good.waitFor((m) => m.type === 'title_update' && m.title_id === seq, 60_000);
          row[`burst ${burst}: events/s`] = Math.round(30_000 / ((performance.now() - start) / 1000));
          row[`RSS after burst ${burst} MB`] = residentBytes(pid) / 1e6;
        }
        const health = await station.get<{ dashboards: { dropped: number } }>('/health');
        row['dropped dashboards'] = health.dashboards.dropped;
        rows.push(row);
        agent.close();
        stuck?.terminate();
      } finally {
        await station.stop();
      }
    }
    report('Hub memory through three bursts of 30,000 events (~16 MB of frames each)', rows);
  });
});
