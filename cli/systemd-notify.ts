// Telling systemd how the process is (Type=notify): READY=1 once it serves, WATCHDOG=1 at half the WatchdogSec
// interval for as long as the event loop turns (a stuck loop sends nothing, and systemd restarts the process), and
// STOPPING=1 when it shuts down. Through libsystemd's own sd_notify, called with koffi: Node cannot send to a Unix
// datagram socket by itself. Off where systemd did not ask for it (no NOTIFY_SOCKET): a terminal, a container.
import type { Logger } from 'pino';
import { nativeLibrary } from '../agent/tools/native-library.js';

export class SystemdNotifier {
  private send: ((state: string) => void) | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger, private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Says the process is ready, and starts the watchdog heartbeat when systemd set one for this process. */
  ready(status: string): void {
    if (!this.env.NOTIFY_SOCKET) return;
    try {
      const sdNotify = nativeLibrary('libsystemd.so.0').func('int sd_notify(int unset_environment, const char *state)');
      this.send = (state) => {
        const result = sdNotify(0, state) as number;
        if (result < 0) this.logger.warn({ state, errno: -result }, 'systemd did not take a notification');
      };
    } catch (error) {
      this.logger.warn({ err: error }, 'systemd asked to be notified (NOTIFY_SOCKET) but libsystemd cannot be loaded: run the unit with Type=simple');
      return;
    }
    this.send(`READY=1\nSTATUS=${status}`);
    const usec = Number(this.env.WATCHDOG_USEC);
    const forUs = this.env.WATCHDOG_PID === undefined || Number(this.env.WATCHDOG_PID) === process.pid;
    if (usec > 0 && forUs) {
      this.watchdog = setInterval(() => this.send?.('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000)));
      this.watchdog.unref();
    }
  }

  stopping(): void {
    clearInterval(this.watchdog);
    this.send?.('STOPPING=1');
  }
}
