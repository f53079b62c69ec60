// pino-roll ships no types: what cli/logger.ts calls of it (https://github.com/mcollina/pino-roll#options).
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';

  interface RollOptions {
    file: string;
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    mkdir?: boolean;
    limit?: { count: number };
  }

  export default function roll(options: RollOptions): Promise<DestinationStream & { flushSync(): void }>;
}
