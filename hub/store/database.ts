// Opens the hub's SQLite database (WAL, so REST reads never wait for the event writer) and brings its schema up to date.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode each commit is fsynced, and the hub acknowledges a batch (the station then deletes it from its
    // outbox) only after its commit; with NORMAL a power cut could take back what was already acknowledged. The store
    // commits in groups (one transaction per flush interval), so this costs one fsync per flush, not per event.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies the migrations this database has not seen yet, each in its own transaction; user_version counts them. */
export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`The database was written by a newer discbridge (schema ${current}, this one knows ${MIGRATIONS.length}); upgrade discbridge`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
