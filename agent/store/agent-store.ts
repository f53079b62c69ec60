// The agent's own SQLite file: the counters that must survive a restart (job ids, event sequence numbers).
// Sequence numbers only ever grow, so the hub can tell a replayed event from a new one.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export class AgentStore {
  private db: Database.Database | undefined;

  constructor(private readonly dataDir: string) {}

  start(): void {
    mkdirSync(this.dataDir, { recursive: true });
    const db = new Database(join(this.dataDir, 'agent.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    this.db = db;
  }

  stop(): void {
    this.db?.close();
    this.db = undefined;
  }

  nextJobId(): number {
    return this.next('job');
  }

  nextSeq(): number {
    return this.next('seq');
  }

  private next(name: string): number {
    if (!this.db) throw new Error('AgentStore is not started');
    const row = this.db.prepare(
      'INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value',
    ).get(name) as { value: number };
    return row.value;
  }
}
