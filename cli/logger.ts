// One pino logger per process: JSON lines for services and log collectors, pretty lines on a terminal.
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  if (process.stdout.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino({ level });
}
