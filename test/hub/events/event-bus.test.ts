// The hub's event bus: listeners keyed by owner (off removes all of an owner's), a failing listener logged and never
// keeping an event from the others, applied and committed told apart; and on a real hub, a station event reaches a
// consumer as applied at once and as committed once the store has written it.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StationEvent } from '../../../shared/index.js';
import { EventBus, type BusPhase, type HubEvent } from '../../../hub/events/event-bus.js';
import { connectAgent, connectDashboard, eventEnvelope, hello, startHub, type TestHub } from '../helpers.js';

const event: HubEvent = { type: 'station_event', progressOnly: false, event: { type: 'drive_event', agent_id: 'a', drive_id: '/dev/sr0', event: 'removed', volume_label: '' } };

describe('EventBus', () => {
  it('tells each phase to its own listeners, in the order they were added', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    const seen: string[] = [];
    bus.on('one', 'applied', () => seen.push('one applied'));
    bus.on('two', 'applied', () => seen.push('two applied'));
    bus.on('one', 'committed', () => seen.push('one committed'));
    bus.publish('applied', event);
    bus.publish('committed', event);
    expect(seen).toEqual(['one applied', 'two applied', 'one committed']);
  });

  it('removes every listener of an owner at once, and only those', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    const seen: string[] = [];
    bus.on('metrics', 'applied', () => seen.push('metrics'));
    bus.on('metrics', 'committed', () => seen.push('metrics committed'));
    bus.on('dashboards', 'applied', () => seen.push('dashboards'));
    bus.off('metrics');
    for (const phase of ['applied', 'committed'] as BusPhase[]) bus.publish(phase, event);
    expect(seen).toEqual(['dashboards']);
  });

  it('a failing listener is logged with its owner and the others still get the event', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const bus = new EventBus(logger);
    const seen: string[] = [];
    bus.on('notifications', 'committed', () => { throw new Error('receiver down'); });
    bus.on('metrics', 'committed', () => seen.push('metrics'));
    bus.publish('committed', event);
    expect(seen).toEqual(['metrics']);
    expect(lines).toEqual([expect.objectContaining({ owner: 'notifications', phase: 'committed', msg: expect.stringMatching(/notifications/) })]);
  });
});

describe('the bus on a real hub', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.hub.stop();
    hub = undefined;
  });

  it('a station event is applied at once (the dashboard has it) and committed once written', async () => {
    hub = await startHub();
    const phases: { phase: BusPhase; type: string; rev?: number | undefined }[] = [];
    for (const phase of ['applied', 'committed'] as const) {
      hub.hub.bus.on('test', phase, (e) => phases.push({ phase, type: e.type === 'station_event' ? e.event.type : e.update.type, ...(e.type === 'station_event' ? { rev: e.event.rev } : {}) }));
    }
    const dashboard = await connectDashboard(hub.port);
    const agent = await connectAgent(hub.port, hello('station-1'));
    const inserted: StationEvent = { type: 'drive_event', agent_id: 'station-1', drive_id: '/dev/sr0', event: 'inserted', volume_label: 'DISC', disc_type: 'dvd' };
    agent.ws.send(JSON.stringify(eventEnvelope(1, inserted)));
    await dashboard.next((m) => m.type === 'drive_event');
    // The dashboard had it from the applied step; committed follows when the store's batch is written.
    for (const deadline = Date.now() + 5000; !phases.some((p) => p.phase === 'committed');) {
      if (Date.now() > deadline) throw new Error(`never committed: ${JSON.stringify(phases)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const applied = phases.find((p) => p.phase === 'applied' && p.type === 'drive_event');
    const committed = phases.find((p) => p.phase === 'committed' && p.type === 'drive_event');
    expect(applied).toBeDefined();
    expect(committed?.rev).toBe(applied?.rev);
    expect(phases.indexOf(applied!)).toBeLessThan(phases.indexOf(committed!));
    expect(phases.some((p) => p.phase === 'applied' && p.type === 'agent_update')).toBe(true);
    agent.ws.close();
    dashboard.ws.close();
  });
});
