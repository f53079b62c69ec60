// The hub's Home Assistant / MQTT consumer: each drive's state, retained, on `discbridge/<station>/<drive>/state`, HA
// discovery so every drive is a device with sensors and an Eject button, the hub's availability as `discbridge/status`
// (the MQTT last will), eject presses sent through the same command path as REST when commands are on, and the
// transcode queue's counts on `discbridge/transcodes/state` (a device of its own in HA: waiting, transcoding, failed).
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { FINISHED_JOB_STATES, type StationEvent } from '../../../shared/index.js';
import type { ConsumerFactory, HubConsumer, HubContext } from '../../events/consumer.js';
import type { HubEvent } from '../../events/event-bus.js';
import {
  EJECT_FILTER, QUEUE_TOPIC, STATUS_TOPIC, discoveryMessages, driveTopics, queueDiscoveryMessages, type DriveStatePayload, type DriveTopics,
} from './topics.js';

export interface MqttOptions {
  /** mqtt:// or mqtts://, user:password allowed. */
  url: string;
  /** Whether a press on an Eject button ejects (DISCBRIDGE_MQTT_COMMANDS). */
  commands: boolean;
  logger?: Logger;
}

const OWNER = 'mqtt';
/** Progress comes many times a second; HA needs a few updates a second per drive at most. */
const PROGRESS_INTERVAL_MS = 250;
const QUEUE_INTERVAL_MS = 1000;
const RECONNECT_MS = 2000;

interface Drive {
  agentId: string;
  driveId: string;
  topics: DriveTopics;
  payload: DriveStatePayload;
  /** The station name its discovery was published with: a renamed station renames the device. */
  discoveredAs?: string | undefined;
  lastSent: number;
  timer?: NodeJS.Timeout | undefined;
}

/** Scheme, host and port only: the URL may carry a password, which never goes into a log. */
function originOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

const driveKey = (agentId: string, driveId: string): string => `${agentId}\u0000${driveId}`;

class MqttConsumer implements HubConsumer {
  readonly name = OWNER;
  private client: MqttClient | undefined;
  private readonly drives = new Map<string, Drive>();
  /** Eject topics to their drive: the topic-safe names cannot be turned back into ids. */
  private readonly byEjectTopic = new Map<string, Drive>();
  /** Hub job id to its drive: only a job's first update names the drive. */
  private readonly jobDrives = new Map<number, Drive>();
  private readonly stationNames = new Map<string, string>();
  private readonly ignoredPressesLogged = new Set<string>();
  private readonly origin: string;
  private readonly logger: Logger;
  private reachable = true;
  /** The transcode queue's counts are published at most once a second: a busy farm changes them many times. */
  private queueTimer: NodeJS.Timeout | undefined;

  constructor(private readonly context: HubContext, private readonly options: MqttOptions) {
    this.origin = originOf(options.url);
    this.logger = options.logger ?? context.logger.child({ component: 'mqtt' });
  }

  start(): void {
    const { store } = this.context;
    for (const agent of store.listAgents()) this.stationNames.set(agent.agent_id, agent.name);
    this.loadDrives();
    this.context.bus.on(OWNER, 'applied', (event) => this.onEvent(event));
    const clientOptions: IClientOptions = {
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: 10_000,
      will: { topic: STATUS_TOPIC, payload: Buffer.from('offline'), retain: true, qos: 1 },
    };
    // Not awaited: a broker that is down must not keep the hub from starting; mqtt.js keeps reconnecting.
    const client = connect(this.options.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.reachable = true;
      this.logger.info({ broker: this.origin, commands: this.options.commands }, `Connected to the MQTT broker ${this.origin}`);
      // Subscribed before anything is published, so a press right after `online` is never missed.
      client.subscribe(EJECT_FILTER, { qos: 1 }, (error) => {
        if (error) this.logger.warn({ broker: this.origin, err: error.message }, 'Could not subscribe to the eject buttons');
      });
      this.publishAll();
    });
    client.on('offline', () => {
      // Once per outage: mqtt.js retries every RECONNECT_MS and would otherwise fill the log.
      if (!this.reachable) return;
      this.reachable = false;
      this.logger.warn({ broker: this.origin }, `The MQTT broker ${this.origin} cannot be reached; retrying every ${RECONNECT_MS / 1000} s`);
    });
    client.on('error', (error) => this.logger.warn({ broker: this.origin, err: error.message }, `MQTT error from ${this.origin}: ${error.message}`));
    client.on('message', (topic, _payload, packet) => {
      // A retained press would eject again on every reconnect: only live presses count.
      if (!packet.retain) void this.onPress(topic);
    });
  }

  async stop(): Promise<void> {
    this.context.bus.off(OWNER);
    for (const drive of this.drives.values()) clearTimeout(drive.timer);
    clearTimeout(this.queueTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      // A clean stop says offline itself: the broker sends the last will only when the connection is lost.
      await client.publishAsync(STATUS_TOPIC, 'offline', { retain: true, qos: 1 }).catch(() => undefined);
      await client.endAsync();
    } else {
      await client.endAsync(true);
    }
  }

  /** Adds the drives the store knows that this consumer does not yet: at start and when a station says hello. */
  private loadDrives(): void {
    const { store } = this.context;
    for (const record of store.listDrives()) {
      if (this.drives.has(driveKey(record.agent_id, record.drive_id))) continue;
      const drive = this.drive(record.agent_id, record.drive_id);
      const jobId = record.job_id ?? (record.has_disc ? record.last_job_id : undefined);
      const job = jobId === undefined ? undefined : store.getJob(jobId);
      if (job && record.job_id !== undefined) this.jobDrives.set(job.job_id, drive);
      drive.payload = {
        state: job?.state ?? (record.has_disc ? 'inserted' : 'empty'),
        label: record.volume_label ?? job?.volume_label ?? null,
        disc_type: record.disc_type ?? job?.disc_type ?? null,
        progress: job?.progress_percent ?? null,
        eta: job && !FINISHED_JOB_STATES.has(job.state) ? job.eta_seconds ?? null : null,
        title: job?.current_title ?? null,
      };
      this.publishDiscovery(drive);
      this.publishState(drive);
    }
  }

  private drive(agentId: string, driveId: string): Drive {
    const key = driveKey(agentId, driveId);
    const known = this.drives.get(key);
    if (known) return known;
    const drive: Drive = {
      agentId, driveId, topics: driveTopics(agentId, driveId), lastSent: 0,
      payload: { state: 'empty', label: null, disc_type: null, progress: null, eta: null, title: null },
    };
    const clash = this.byEjectTopic.get(drive.topics.eject);
    if (clash) this.logger.warn({ agent: agentId, drive: driveId, other: clash.driveId }, `Drives ${clash.driveId} and ${driveId} have the same MQTT topics; the later one is used`);
    this.drives.set(key, drive);
    this.byEjectTopic.set(drive.topics.eject, drive);
    return drive;
  }

  private onEvent(hubEvent: HubEvent): void {
    if (hubEvent.type === 'station_state') {
      const { update } = hubEvent;
      if (update.state !== 'online') return;
      if (update.name !== undefined) this.stationNames.set(update.agent_id, update.name);
      this.loadDrives();
      // A renamed station renames its drives' devices.
      for (const drive of this.drives.values()) if (drive.agentId === update.agent_id) this.publishDiscovery(drive);
      return;
    }
    if (hubEvent.type === 'station_event') this.onStationEvent(hubEvent.event, hubEvent.progressOnly);
    if (hubEvent.type === 'task_update') this.queueTimer ??= setTimeout(() => this.publishQueue(), QUEUE_INTERVAL_MS);
  }

  /** The queue's counts now, for the HA sensors of the farm. */
  private publishQueue(): void {
    clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    this.publish(QUEUE_TOPIC, JSON.stringify(this.context.stats().transcodes.tasks), true);
  }

  private onStationEvent(event: StationEvent, progressOnly: boolean): void {
    if (event.type === 'drive_event') {
      if (event.event === 'waiting_changed') return;
      const drive = this.drive(event.agent_id, event.drive_id);
      this.publishDiscovery(drive);
      drive.payload = event.event === 'inserted'
        ? { state: 'inserted', label: event.volume_label, disc_type: event.disc_type ?? null, progress: null, eta: null, title: null }
        : { state: 'empty', label: null, disc_type: null, progress: null, eta: null, title: null };
      return this.publishState(drive);
    }
    if (event.type !== 'job_update') return;
    const drive = this.jobDrive(event.agent_id, event.job_id, event.drive_id);
    if (!drive) return;
    const previous = drive.payload;
    // A job naming its drive is a new job there: what the last one reached no longer applies.
    const fresh = event.drive_id !== undefined && event.state === 'identifying';
    const finished = FINISHED_JOB_STATES.has(event.state);
    drive.payload = {
      state: event.state,
      label: event.volume_label ?? previous.label,
      disc_type: event.disc_type ?? previous.disc_type,
      progress: event.progress_percent ?? (fresh ? null : previous.progress),
      eta: finished ? null : event.eta_seconds ?? (fresh ? null : previous.eta),
      title: event.current_title ?? (fresh ? null : previous.title),
    };
    if (finished) this.jobDrives.delete(event.job_id);
    if (progressOnly && previous.state === drive.payload.state) this.publishSoon(drive);
    else this.publishState(drive);
  }

  private jobDrive(agentId: string, jobId: number, driveId: string | undefined): Drive | undefined {
    if (driveId !== undefined) {
      const drive = this.drive(agentId, driveId);
      this.publishDiscovery(drive);
      this.jobDrives.set(jobId, drive);
      return drive;
    }
    const known = this.jobDrives.get(jobId);
    if (known) return known;
    // A job that began before this consumer started: the store knows its drive.
    const ref = this.context.store.jobRef(jobId);
    if (ref?.drive_id === undefined) return undefined;
    const drive = this.drive(agentId, ref.drive_id);
    this.publishDiscovery(drive);
    this.jobDrives.set(jobId, drive);
    return drive;
  }

  /** Latest wins: at most one state message a PROGRESS_INTERVAL_MS per drive, and the newest always goes out. */
  private publishSoon(drive: Drive): void {
    if (drive.timer) return;
    const wait = drive.lastSent + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.publishState(drive);
    drive.timer = setTimeout(() => this.publishState(drive), wait);
  }

  private publishState(drive: Drive): void {
    clearTimeout(drive.timer);
    drive.timer = undefined;
    drive.lastSent = Date.now();
    this.publish(drive.topics.state, JSON.stringify(drive.payload), true);
  }

  /** Publishes a drive's discovery unless it went out already under this station name. */
  private publishDiscovery(drive: Drive): void {
    const stationName = this.stationNames.get(drive.agentId) ?? drive.agentId;
    if (drive.discoveredAs === stationName) return;
    drive.discoveredAs = stationName;
    for (const message of discoveryMessages(drive.agentId, drive.driveId, stationName, this.context.version)) {
      this.publish(message.topic, JSON.stringify(message.config), true);
    }
  }

  /** What a new connection needs: the broker may have lost its retained messages, and HA may have restarted. */
  private publishAll(): void {
    this.publish(STATUS_TOPIC, 'online', true);
    for (const message of queueDiscoveryMessages(this.context.version)) this.publish(message.topic, JSON.stringify(message.config), true);
    this.publishQueue();
    for (const drive of this.drives.values()) {
      drive.discoveredAs = undefined;
      this.publishDiscovery(drive);
      this.publishState(drive);
    }
  }

  /** Drops what is published while the broker is away: publishAll sends the newest of everything on reconnect. */
  private publish(topic: string, payload: string, retain: boolean): void {
    const client = this.client;
    if (!client?.connected) return;
    client.publish(topic, payload, { retain, qos: 1 }, (error) => {
      if (error) this.logger.debug({ topic, err: error.message }, 'An MQTT message was not delivered; it is sent again on reconnect');
    });
  }

  private async onPress(topic: string): Promise<void> {
    const drive = this.byEjectTopic.get(topic);
    if (!drive) return;
    if (!this.options.commands) {
      if (this.ignoredPressesLogged.has(topic)) return;
      this.ignoredPressesLogged.add(topic);
      this.logger.info({ topic, agent: drive.agentId, drive: drive.driveId },
        `MQTT commands are off (DISCBRIDGE_MQTT_COMMANDS=false): ignored an eject press for ${drive.driveId} on ${drive.agentId} (${topic}); later presses there are ignored without a word`);
      return;
    }
    let result: { ok: boolean; error?: string };
    try {
      const answer = await this.context.commands.drive(drive.agentId, drive.driveId, 'eject');
      result = answer.ok ? { ok: true } : { ok: false, error: answer.error };
    } catch (error) {
      result = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    this.logger.info({ agent: drive.agentId, drive: drive.driveId, ...result }, `Eject from MQTT for ${drive.driveId} on ${drive.agentId}: ${result.ok ? 'done' : result.error}`);
    this.publish(drive.topics.ejectResult, JSON.stringify(result), false);
  }
}

export function mqttConsumer(options: MqttOptions): ConsumerFactory {
  return (context) => new MqttConsumer(context, options);
}
