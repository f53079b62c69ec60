// Which consumers of the hub's events run, from the settings: metrics always (GET /metrics, guarded), notifications
// when DISCBRIDGE_NOTIFY names somewhere to send them, MQTT when DISCBRIDGE_MQTT_URL names a broker.
import { metricsConsumer } from '../hub/consumers/metrics/metrics.js';
import { mqttConsumer } from '../hub/consumers/mqtt/mqtt.js';
import { notificationsConsumer } from '../hub/consumers/notifications/notifications.js';
import type { ConsumerFactory } from '../hub/events/consumer.js';
import type { Settings } from './settings.js';

export function hubConsumers(settings: Settings): ConsumerFactory[] {
  return [
    metricsConsumer({ ...(settings.metricsToken ? { token: settings.metricsToken } : {}) }),
    ...(settings.notify.length > 0 ? [notificationsConsumer({
      urls: settings.notify, events: settings.notifyEvents, secret: settings.notifySecret, offlineAfterMs: settings.notifyOfflineAfterS * 1000,
    })] : []),
    ...(settings.mqttUrl ? [mqttConsumer({ url: settings.mqttUrl, commands: settings.mqttCommands })] : []),
  ];
}
