// The agent's /health on loopback: what it answers, what it refuses, and the sentence for a port already taken.
import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from '../../../agent/health/health-server.js';
import type { AgentHealth } from '../../../agent/agent.js';
import { silentLogger } from '../../hub/helpers.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function serve(health: () => AgentHealth, port = 0): Promise<HealthServer> {
  const server = new HealthServer({ port, health, logger: silentLogger });
  servers.push(server);
  await server.start();
  return server;
}

const offline: AgentHealth = { hub_connected: false, drives: [{ drive_id: '/dev/sr0', has_disc: true, busy: true }], jobs_running: 1, transcodes_running: 0, transcode_slots: 0, outbox: 7 };

describe('the agent health server', () => {
  it('answers GET /health with what the agent reports at that moment', async () => {
    let current = offline;
    const server = await serve(() => current);
    const first = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: 'ok', hub_connected: false, jobs_running: 1, outbox: 7, drives: [{ drive_id: '/dev/sr0', busy: true }] });
    current = { ...offline, hub_connected: true, jobs_running: 0, outbox: 0 };
    expect(await (await fetch(`http://127.0.0.1:${server.port}/health?x=1`)).json()).toMatchObject({ hub_connected: true, outbox: 0 });
  });

  it('answers 500 when the agent cannot tell its health, and keeps serving', async () => {
    let broken = true;
    const server = await serve(() => {
      if (broken) throw new Error('store closed');
      return offline;
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(500);
    broken = false;
    expect((await fetch(`http://127.0.0.1:${server.port}/health`)).status).toBe(200);
  });

  it('serves nothing else', async () => {
    const server = await serve(() => offline);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/health`, { method: 'POST' })).status).toBe(404);
  });

  it('says which setting to change when its port is taken', async () => {
    const first = await serve(() => offline);
    await expect(serve(() => offline, first.port)).rejects.toThrow(`DISCBRIDGE_HEALTH_PORT ${first.port} is already in use on 127.0.0.1: choose another port`);
  });
});
