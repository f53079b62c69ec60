// One pino logger per process: JSON lines for services and log collectors, pretty lines on a terminal, and, where a
// log file is set (by default on Windows, where a service has no journal), the same JSON lines in a file rotated
// daily and at 10 MB, the newest 7 kept. Every stream is written in-process: no worker thread, no transport.
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import roll from 'pino-roll';

export async function createLogger(level: string, file?: string): Promise<Logger> {
  const console = process.stdout.isTTY
    ? pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination(1);
  if (!file) return pino({ level }, console);
  const rotated = await roll({ file, size: '10m', frequency: 'daily', mkdir: true, limit: { count: 7 } });
  // The file is written asynchronously: what is still buffered when the process exits (its last words) goes out now.
  process.once('exit', () => {
    try {
      rotated.flushSync();
    } catch {
      // a write in flight: the buffer goes with it
    }
  });
  return pino({ level }, pino.multistream([{ level: level as pino.Level, stream: console }, { level: level as pino.Level, stream: rotated }]));
}
