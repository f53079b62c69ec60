// The MQTT topic names and Home Assistant discovery payloads of the hub's MQTT consumer: pure, so the naming rules
// (what a hostile station or drive id may become) are tested without a broker.
import { createHash } from 'node:crypto';

export const ROOT = 'discbridge';
export const STATUS_TOPIC = `${ROOT}/status`;
export const DISCOVERY_PREFIX = 'homeassistant';
/** Every drive's eject button: `+` stands for the station and the drive. */
export const EJECT_FILTER = `${ROOT}/+/+/eject`;

/**
 * An id as one topic level and HA object id: lower case, every run of anything but `a-z0-9_` one `_`, none at the
 * ends (`/dev/sr0` → `dev_sr0`, `D:` → `d`). MQTT's `+`, `#` and `/` can never pass; an id with nothing left gets a
 * name from its hash, so it still has a topic of its own.
 */
export function topicSafe(id: string): string {
  const safe = id.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return safe === '' ? `id_${createHash('sha256').update(id).digest('hex').slice(0, 8)}` : safe;
}

export interface DriveTopics {
  /** `discbridge_<station>_<drive>`: the HA device identifier and discovery node id. */
  node: string;
  state: string;
  eject: string;
  ejectResult: string;
}

export function driveTopics(agentId: string, driveId: string): DriveTopics {
  const station = topicSafe(agentId);
  const drive = topicSafe(driveId);
  const base = `${ROOT}/${station}/${drive}`;
  return { node: `${ROOT}_${station}_${drive}`, state: `${base}/state`, eject: `${base}/eject`, ejectResult: `${base}/eject/result` };
}

/** What the state topic carries: null for what is not known (HA shows it as unknown). */
export interface DriveStatePayload {
  state: string;
  label: string | null;
  disc_type: string | null;
  progress: number | null;
  eta: number | null;
  title: number | null;
}

export interface DiscoveryMessage {
  topic: string;
  config: Record<string, unknown>;
}

/** The HA discovery configs of one drive: a device with four sensors on its state topic and an Eject button. */
export function discoveryMessages(agentId: string, driveId: string, stationName: string, version: string): DiscoveryMessage[] {
  const topics = driveTopics(agentId, driveId);
  const common = {
    availability_topic: STATUS_TOPIC,
    device: {
      identifiers: [topics.node],
      name: `${stationName} ${driveId}`,
      manufacturer: 'discbridge',
      model: 'Optical drive',
      sw_version: version,
      via_device: `${ROOT}_${topicSafe(agentId)}`,
    },
    origin: { name: 'discbridge', sw_version: version },
  };
  const sensor = (object: string, name: string, extra: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${DISCOVERY_PREFIX}/sensor/${topics.node}/${object}/config`,
    config: { name, unique_id: `${topics.node}_${object}`, state_topic: topics.state, ...extra, ...common },
  });
  return [
    sensor('state', 'State', { value_template: '{{ value_json.state }}', icon: 'mdi:disc-player' }),
    sensor('label', 'Disc label', { value_template: '{{ value_json.label }}', icon: 'mdi:disc' }),
    sensor('progress', 'Progress', { value_template: '{{ value_json.progress }}', unit_of_measurement: '%', state_class: 'measurement' }),
    sensor('eta', 'ETA', { value_template: '{{ value_json.eta }}', unit_of_measurement: 's', device_class: 'duration' }),
    {
      topic: `${DISCOVERY_PREFIX}/button/${topics.node}/eject/config`,
      config: { name: 'Eject', unique_id: `${topics.node}_eject`, command_topic: topics.eject, icon: 'mdi:eject', ...common },
    },
  ];
}

/** The transcode queue's state topic: how many tasks are in each state (retained). */
export const QUEUE_TOPIC = `${ROOT}/transcodes/state`;
const QUEUE_NODE = `${ROOT}_transcode_queue`;

/** The HA discovery configs of the transcode queue: one device, a sensor per state that a farm is watched by. */
export function queueDiscoveryMessages(version: string): DiscoveryMessage[] {
  const common = {
    availability_topic: STATUS_TOPIC,
    device: { identifiers: [QUEUE_NODE], name: 'discbridge transcode queue', manufacturer: 'discbridge', model: 'Transcode queue', sw_version: version },
    origin: { name: 'discbridge', sw_version: version },
  };
  const sensor = (state: string, name: string, icon: string): DiscoveryMessage => ({
    topic: `${DISCOVERY_PREFIX}/sensor/${QUEUE_NODE}/${state}/config`,
    config: {
      name, unique_id: `${QUEUE_NODE}_${state}`, state_topic: QUEUE_TOPIC, value_template: `{{ value_json.${state} }}`, unit_of_measurement: 'tasks',
      state_class: 'measurement', icon, ...common,
    },
  });
  return [
    sensor('queued', 'Waiting', 'mdi:tray-full'),
    sensor('transcoding', 'Transcoding', 'mdi:cog-transfer'),
    sensor('failed', 'Failed', 'mdi:alert-circle'),
  ];
}
