// The MQTT consumer against a real mosquitto broker and a real Hub, with a scripted station on the real agent socket:
// discovery, a drive's state through a rip, the hub's availability (last will), and eject presses with commands on
// and off. Skipped, saying why, where mosquitto is not installed.
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mqttConsumer } from '../../../../hub/consumers/mqtt/mqtt.js';
import type { StationEvent } from '../../../../shared/index.js';
import { connectAgent, eventEnvelope, getJson, hello, removeDir, startHub, tempDir, type Peer, type TestHub } from '../../helpers.js';
import { freePort } from '../../../tools/free-port.js';
import { Broker, CuttableProxy, Watcher, noMosquitto, type Seen } from './broker.js';

const broker = new Broker();
let proxy: CuttableProxy;
let watcher: Watcher;
let hub: TestHub | undefined;
let logLines: string[];
const peers: Peer[] = [];
const dirs: string[] = [];

const SR0 = 'discbridge/station_1/dev_sr0';
const sr0 = { drive_id: '/dev/sr0', has_disc: false, busy: false };
const driveD = { drive_id: 'D:', has_disc: false, busy: false };
const job = (state: string, extra: Record<string, unknown> = {}): StationEvent =>
  ({ type: 'job_update', agent_id: 'station-1', job_id: 7, state, ...extra }) as StationEvent;

async function startMqttHub(commands: boolean, dataDir = tempDir(), url = `mqtt://127.0.0.1:${proxy.port}`): Promise<TestHub> {
  logLines = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => { logLines.push(line); } });
  hub = await startHub(dataDir, { consumers: [mqttConsumer({ url, commands, logger })] });
  return hub;
}

async function station(drives = [sr0]): Promise<Peer> {
  const peer = await connectAgent(hub!.port, hello('station-1', drives));
  peers.push(peer);
  return peer;
}

const state = (message: Seen): Record<string, unknown> => JSON.parse(message.payload);
const stateIs = (value: string) => (m: Seen) => m.topic === `${SR0}/state` && state(m).state === value;

describe.skipIf(noMosquitto !== undefined)(`MQTT consumer${noMosquitto ? ` (skipped: ${noMosquitto})` : ''}`, () => {
  beforeAll(async () => {
    await broker.start();
  });
  afterAll(async () => {
    await broker.stop();
  });
  beforeEach(async () => {
    proxy = new CuttableProxy(broker.port);
    await proxy.start();
    watcher = await Watcher.connect(broker.url);
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.close()));
    if (hub) {
      await hub.hub.stop();
      dirs.push(hub.dataDir);
      hub = undefined;
    }
    await watcher.close();
    // Retained messages of one test must not show up in the next.
    const cleaner = await Watcher.connect(broker.url, []);
    for (const topic of new Set(watcher.seen.filter((m) => m.retain || m.topic.endsWith('/config') || m.topic.endsWith('/state') || m.topic.endsWith('status')).map((m) => m.topic))) {
      await cleaner.client.publishAsync(topic, '', { retain: true, qos: 1 });
    }
    await cleaner.close();
    await proxy.stop();
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  it('publishes the transcode queue\'s counts, and its device for Home Assistant', async () => {
    await startMqttHub(false);
    await watcher.next((m) => m.topic === 'discbridge/transcodes/state');
    const config = await watcher.next((m) => m.topic === 'homeassistant/sensor/discbridge_transcode_queue/queued/config');
    expect(JSON.parse(config.payload)).toMatchObject({ state_topic: 'discbridge/transcodes/state', value_template: '{{ value_json.queued }}', device: { name: 'discbridge transcode queue' } });
    const from = watcher.seen.length;
    // Three titles handed to the queue, and no station to take them: three waiting, said once (not once per task).
    hub!.hub.transcodes?.requested({
      type: 'transcode_request', agent_id: 'station-1', job_id: 3, profile: 'h264', keep_rip: true, root: 'output',
      titles: [1, 2, 3].map((title_id) => ({ title_id, source: `D/D_t0${title_id}.mkv`, output: `D/D_t0${title_id}.h264.mkv`, duration_seconds: 60 })),
    });
    const counts = await watcher.next((m) => m.topic === 'discbridge/transcodes/state', 5000, from);
    expect(state(counts)).toEqual({ queued: 3, transcoding: 0, done: 0, failed: 0, cancelled: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(watcher.seen.slice(from).filter((m) => m.topic === 'discbridge/transcodes/state')).toHaveLength(1);
  });

  it('publishes discovery for known and new drives, and the drive state through a rip', async () => {
    // A first hub, without MQTT, learns of drive D:; the MQTT hub then starts knowing it.
    const dataDir = tempDir();
    const first = await startHub(dataDir);
    const early = await connectAgent(first.port, hello('station-1', [driveD]));
    await first.hub.stop();
    await early.closed;
    await startMqttHub(false, dataDir);

    expect(await watcher.next((m) => m.topic === 'discbridge/status')).toMatchObject({ payload: 'online' });
    const knownAtStart = await watcher.next((m) => m.topic === 'homeassistant/button/discbridge_station_1_d/eject/config');
    expect(JSON.parse(knownAtStart.payload)).toMatchObject({
      command_topic: 'discbridge/station_1/d/eject', availability_topic: 'discbridge/status',
      device: { identifiers: ['discbridge_station_1_d'], name: 'Station station-1 D:', manufacturer: 'discbridge' },
    });
    expect(state(await watcher.next((m) => m.topic === 'discbridge/station_1/d/state'))).toMatchObject({ state: 'empty' });

    const agent = await station([sr0, driveD]);
    const configs: Seen[] = [];
    for (const object of ['sensor/discbridge_station_1_dev_sr0/state', 'sensor/discbridge_station_1_dev_sr0/label', 'sensor/discbridge_station_1_dev_sr0/progress',
      'sensor/discbridge_station_1_dev_sr0/eta', 'button/discbridge_station_1_dev_sr0/eject']) {
      configs.push(await watcher.next((m) => m.topic === `homeassistant/${object}/config`));
    }
    // Retained: a client that comes later (HA after a restart) gets them all at once.
    const late = await Watcher.connect(broker.url, ['homeassistant/#']);
    for (const config of configs) await late.next((m) => m.topic === config.topic && m.retain && m.payload === config.payload);
    await late.close();
    for (const config of configs) {
      const parsed = JSON.parse(config.payload);
      expect(parsed).toMatchObject({ availability_topic: 'discbridge/status', device: { identifiers: ['discbridge_station_1_dev_sr0'], name: 'Station station-1 /dev/sr0' } });
      if (parsed.state_topic) expect(parsed.state_topic).toBe(`${SR0}/state`);
    }
    expect(JSON.parse(configs[4]!.payload)).toMatchObject({ command_topic: `${SR0}/eject` });

    let seq = 0;
    const from = watcher.seen.length;
    agent.send(eventEnvelope(++seq, { type: 'drive_event', agent_id: 'station-1', drive_id: '/dev/sr0', event: 'inserted', volume_label: 'THE_MOVIE', disc_type: 'dvd' }));
    expect(state(await watcher.next(stateIs('inserted'), 5000, from))).toEqual({ state: 'inserted', label: 'THE_MOVIE', disc_type: 'dvd', progress: null, eta: null, title: null });
    agent.send(eventEnvelope(++seq, job('identifying', { drive_id: '/dev/sr0', volume_label: 'THE_MOVIE', disc_type: 'dvd' })));
    await watcher.next(stateIs('identifying'), 5000, from);
    agent.send(eventEnvelope(++seq, job('ripping', { progress_percent: 0, current_title: 1 })));
    await watcher.next(stateIs('ripping'), 5000, from);
    // A burst of progress: coalesced to a few messages, the newest always among them.
    const burst = watcher.seen.length;
    for (let percent = 1; percent <= 50; percent++) {
      agent.send({ kind: 'progress', after_seq: seq, at: Date.now(), event: job('ripping', { progress_percent: percent, eta_seconds: 100 - percent, current_title: 1 }) });
    }
    const last = await watcher.next((m) => m.topic === `${SR0}/state` && state(m).progress === 50, 5000, burst);
    expect(state(last)).toEqual({ state: 'ripping', label: 'THE_MOVIE', disc_type: 'dvd', progress: 50, eta: 50, title: 1 });
    const progressMessages = watcher.seen.slice(burst).filter((m) => m.topic === `${SR0}/state`);
    expect(progressMessages.length).toBeLessThanOrEqual(3);
    agent.send(eventEnvelope(++seq, job('completed', { progress_percent: 100 })));
    expect(state(await watcher.next(stateIs('completed'), 5000, from))).toEqual({ state: 'completed', label: 'THE_MOVIE', disc_type: 'dvd', progress: 100, eta: null, title: 1 });
    expect(watcher.seen.slice(from).filter((m) => m.topic === `${SR0}/state`).map((m) => state(m).state))
      .toEqual(expect.arrayContaining(['inserted', 'identifying', 'ripping', 'completed']));
  });

  it('says online on connect, offline as the last will when the connection is cut, online again, offline on a clean stop', async () => {
    await startMqttHub(false);
    await watcher.next((m) => m.topic === 'discbridge/status' && m.payload === 'online');
    let from = watcher.seen.length;
    proxy.cut();
    await watcher.next((m) => m.topic === 'discbridge/status' && m.payload === 'offline', 5000, from);
    // mqtt.js reconnects by itself.
    await watcher.next((m) => m.topic === 'discbridge/status' && m.payload === 'online', 8000, from);
    from = watcher.seen.length;
    await hub!.hub.stop();
    dirs.push(hub!.dataDir);
    hub = undefined;
    await watcher.next((m) => m.topic === 'discbridge/status' && m.payload === 'offline', 5000, from);
  });

  it('with commands on, a press ejects through the station and the answer comes back on the result topic', async () => {
    await startMqttHub(true);
    const agent = await station();
    await watcher.next((m) => m.topic === 'homeassistant/button/discbridge_station_1_dev_sr0/eject/config');
    const answers = [{ ok: true }, { ok: false, error: 'Drive is busy' }];
    for (const answer of answers) {
      const from = watcher.seen.length;
      await watcher.client.publishAsync(`${SR0}/eject`, 'PRESS', { qos: 1 });
      const command = await agent.next<{ kind: string; id: string; command: unknown }>((m) => m.kind === 'command');
      expect(command.command).toEqual({ name: 'eject', drive_id: '/dev/sr0' });
      agent.send({ kind: 'command_result', id: command.id, ...answer });
      const result = await watcher.next((m) => m.topic === `${SR0}/eject/result`, 5000, from);
      expect({ ...result, payload: JSON.parse(result.payload) }).toEqual({ topic: `${SR0}/eject/result`, payload: answer, retain: false });
    }
  });

  it('with commands off, a press does nothing and the log says so once per topic', async () => {
    await startMqttHub(false);
    const agent = await station();
    await watcher.next((m) => m.topic === 'homeassistant/button/discbridge_station_1_dev_sr0/eject/config');
    await watcher.client.publishAsync(`${SR0}/eject`, 'PRESS', { qos: 1 });
    await watcher.client.publishAsync(`${SR0}/eject`, 'PRESS', { qos: 1 });
    await expect.poll(() => logLines.filter((line) => line.includes('MQTT commands are off')).length, { timeout: 3000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const said = JSON.parse(logLines.find((line) => line.includes('MQTT commands are off'))!);
    expect(said.msg).toMatch(/^MQTT commands are off \(DISCBRIDGE_MQTT_COMMANDS=false\): ignored an eject press for \/dev\/sr0 on station-1/);
    expect(logLines.filter((line) => line.includes('MQTT commands are off'))).toHaveLength(1);
    expect(agent.pending().filter((m) => (m as { kind: string }).kind === 'command')).toEqual([]);
    expect(watcher.seen.filter((m) => m.topic.endsWith('/eject/result'))).toEqual([]);
  });

  it('a broker that is down does not stop the hub, and its password never reaches the log', async () => {
    const port = await freePort();
    await startMqttHub(true, tempDir(), `mqtt://hub-user:s3cret-pass@127.0.0.1:${port}`);
    expect((await getJson(`${hub!.base}/health`)).status).toBe(200);
    await expect.poll(() => logLines.some((line) => line.includes('cannot be reached')), { timeout: 5000 }).toBe(true);
    expect(logLines.join('\n')).toContain(`mqtt://127.0.0.1:${port}`);
    expect(logLines.join('\n')).not.toContain('s3cret-pass');
  });
});
