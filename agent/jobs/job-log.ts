// A job's log as people read it on the dashboard: what the station did, in words, and what its tools said.
// Lines are batched (one job_log event a second at most, 100 lines at most) so a chatty tool cannot flood the link,
// and a job keeps at most a few hundred tool lines; the station's own log has everything.
import type { LogLevel, LogLine } from '../../shared/index.js';

const FLUSH_MS = 1000;
const MAX_LINES_PER_EVENT = 100;
const MAX_TOOL_LINES = 300;
const MAX_TEXT = 500;

export class JobLog {
  private buffer: LogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  private toolLines = 0;

  constructor(private readonly send: (lines: LogLine[]) => void) {}

  write(level: LogLevel, text: string): void {
    this.buffer.push({ at: Date.now(), level, text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text });
    if (this.buffer.length >= MAX_LINES_PER_EVENT) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** A line of a tool's own output; after the cap, one note says the rest is in the station's log. */
  tool(tool: string, text: string): void {
    this.toolLines++;
    if (this.toolLines <= MAX_TOOL_LINES) this.write('info', `${tool}: ${text.trim()}`);
    else if (this.toolLines === MAX_TOOL_LINES + 1) this.write('info', `${tool}: further output is only in the station's log`);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.buffer.length > 0) this.send(this.buffer.splice(0, MAX_LINES_PER_EVENT));
  }
}
