// Reads GNU ddrescue's screen as it reaches a pipe: a block of counters redrawn about once a second with \r and
// cursor-up escapes (ESC [ A), between phase lines ("Copying non-tried blocks... Pass 1 (forwards)") and messages.
export type DdrescueLine =
  /** A lower bound: ddrescue truncates the count to its unit ("52164 kB" for 52,164,608 bytes). */
  | { kind: 'rescued'; rescuedBytes: number }
  /** The rest of the status block: redrawn every second, so not worth a log line each time. */
  | { kind: 'counters' }
  /** Phases, "Finished", "Interrupted by user", errors: worth logging. */
  | { kind: 'message'; text: string };

const ESCAPE_SEQUENCE = /\x1b\[[0-9;]*[A-Za-z]/g;
// "  rescued:   52164 kB,   bad areas: ..." in the block, "rescued: 52164 kB, tried: ..." after "Initial status".
const RESCUED = /^rescued:\s+(\d+) ([kMGTPEZY]i?)?B\b/;
const COUNTERS = /^(ipos|opos|non-tried|pct rescued|slow reads|time since last successful read):/;
const PREFIXES = 'kMGTPEZY';

export function parseStatusLine(line: string): DdrescueLine {
  const text = line.replace(ESCAPE_SEQUENCE, '').trim();
  const rescued = RESCUED.exec(text);
  if (rescued) return { kind: 'rescued', rescuedBytes: Number(rescued[1]) * multiplier(rescued[2]) };
  if (text === '' || COUNTERS.test(text)) return { kind: 'counters' };
  return { kind: 'message', text };
}

/** "k" = 1000, "Mi" = 1024² (the binary prefixes ddrescue shows with -B). */
function multiplier(prefix: string | undefined): number {
  if (prefix === undefined) return 1;
  const base = prefix.endsWith('i') ? 1024 : 1000;
  return base ** (PREFIXES.indexOf(prefix.charAt(0)) + 1);
}
