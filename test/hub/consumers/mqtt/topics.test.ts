// The MQTT consumer's naming: every station and drive id becomes one safe topic level, and the discovery configs
// point at the topics the consumer publishes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discoveryMessages, driveTopics, topicSafe } from '../../../../hub/consumers/mqtt/topics.js';

describe('topicSafe', () => {
  it('makes device paths and drive letters topic-safe', () => {
    expect(topicSafe('/dev/sr0')).toBe('dev_sr0');
    expect(topicSafe('D:')).toBe('d');
    expect(topicSafe('Station-1.local')).toBe('station_1_local');
    expect(topicSafe('import')).toBe('import');
  });

  it('never lets MQTT wildcards, separators or nothing through', () => {
    expect(topicSafe('+/#')).toMatch(/^id_[0-9a-f]{8}$/);
    expect(topicSafe('')).toMatch(/^id_[0-9a-f]{8}$/);
    expect(topicSafe('光盘')).not.toBe(topicSafe('ドライブ'));
    expect(topicSafe('a/../../b')).toBe('a_b');
    expect(topicSafe('sr0\u0000#\n+x')).toBe('sr0_x');
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (id) => {
      expect(topicSafe(id)).toMatch(/^[a-z0-9_]+$/);
      expect(topicSafe(id)).not.toMatch(/^_|_$/);
      expect(topicSafe(topicSafe(id))).toBe(topicSafe(id));
    }));
  });
});

describe('discoveryMessages', () => {
  it('describes a drive as a device with four sensors on its state topic and an Eject button', () => {
    const messages = discoveryMessages('station-1', '/dev/sr0', 'Living room', '1.2.3');
    expect(messages.map((m) => m.topic)).toEqual([
      'homeassistant/sensor/discbridge_station_1_dev_sr0/state/config',
      'homeassistant/sensor/discbridge_station_1_dev_sr0/label/config',
      'homeassistant/sensor/discbridge_station_1_dev_sr0/progress/config',
      'homeassistant/sensor/discbridge_station_1_dev_sr0/eta/config',
      'homeassistant/button/discbridge_station_1_dev_sr0/eject/config',
    ]);
    const topics = driveTopics('station-1', '/dev/sr0');
    for (const { config } of messages) {
      expect(config).toMatchObject({
        availability_topic: 'discbridge/status',
        device: { identifiers: ['discbridge_station_1_dev_sr0'], name: 'Living room /dev/sr0', manufacturer: 'discbridge', via_device: 'discbridge_station_1' },
      });
      expect(config.command_topic ?? config.state_topic).toBe(config.command_topic ? topics.eject : topics.state);
    }
    expect(new Set(messages.map((m) => m.config.unique_id)).size).toBe(5);
  });
});
