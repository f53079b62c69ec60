// The hub's side of the command line: starting the hub, its stations and password, the notification test. Loaded
// only when a command needs it (see hubSide in discbridge.ts), so an agent-only install never loads better-sqlite3.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { sendTestNotification } from '../hub/consumers/notifications/notifications.js';
import { Hub } from '../hub/hub.js';
import { hubConsumers } from './hub-consumers.js';
import { hubTls, type Settings } from './settings.js';
import { VERSION } from './version.js';

export { localStationToken, passwordCommand, stationCommand } from './stations.js';

export async function startHub(settings: Settings, logger: Logger): Promise<Hub> {
  const dataDir = resolve(settings.dataDir);
  const hub = new Hub({
    host: settings.host, port: settings.port, dataDir, sharedToken: settings.token, serverName: 'discbridge', version: VERSION,
    heartbeatMs: settings.heartbeatMs, missedHeartbeats: settings.missedHeartbeats, viewRequiresLogin: settings.viewRequiresLogin,
    maxConnections: settings.maxConnections, maxConnectionsPerAddress: settings.maxConnectionsPerAddress, maxStationMessagesPerSecond: settings.maxStationMessages,
    tls: hubTls(settings),
    consumers: hubConsumers(settings), leaseMs: settings.leaseSeconds * 1000,
  }, logger.child({ side: 'hub' }));
  await hub.start();
  if (!settings.token) logger.info('Stations on other machines need a token: run "discbridge station add ID" on this machine');
  return hub;
}

/** `discbridge notify test`: one notification to every configured URL, and what each answered (exit 1 if any failed). */
export async function notifyCommand(args: string[], settings: Settings): Promise<number> {
  if (args[0] !== 'test') {
    process.stderr.write('Usage: discbridge notify test\n');
    return 2;
  }
  if (settings.notify.length === 0) {
    process.stderr.write('No notification URLs: set DISCBRIDGE_NOTIFY (for example ntfy://ntfy.sh/my-topic)\n');
    return 2;
  }
  const answers = await sendTestNotification(settings.notify, { secret: settings.notifySecret, version: VERSION });
  for (const answer of answers) process.stdout.write(`${answer.ok ? 'ok    ' : 'FAILED'}  ${answer.url}  ${answer.answer}\n`);
  return answers.every((answer) => answer.ok) ? 0 : 1;
}
