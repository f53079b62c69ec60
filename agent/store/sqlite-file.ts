// The agent's SQLite file behind the few calls the agent makes of it, on whichever driver this Node can load:
// better-sqlite3 where its native binary is installed (Linux, and Windows installs made with npm, which download
// it), else Node's own node:sqlite (Node ≥ 22.13: the Windows zip, whose node.exe needs neither a compiler nor a
// binary from outside the npm registry). Both are the same SQLite library underneath, so the file, its WAL and its
// synchronous=FULL durability are the same.
import { createRequire } from 'node:module';

export type SqlValue = string | number | bigint | null;

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}

export type SqliteDriver = 'better-sqlite3' | 'node:sqlite';

export interface SqliteFile {
  readonly driver: SqliteDriver;
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  /** Runs `work` in one transaction: all of it is written, or (it threw) none. */
  transaction<T>(work: () => T): T;
  close(): void;
}

interface BetterSqlite3 {
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  transaction<T>(work: () => T): () => T;
  close(): void;
}

interface NodeSqlite {
  DatabaseSync: new (path: string) => { prepare(sql: string): SqlStatement; exec(sql: string): void; close(): void };
}

/** Opens (creating) the file with the first driver this Node has. */
export function openSqliteFile(path: string): SqliteFile {
  let betterSqlite3: string;
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => BetterSqlite3;
    const db = new Database(path);
    return { driver: 'better-sqlite3', prepare: (sql) => db.prepare(sql), exec: (sql) => db.exec(sql), transaction: (work) => db.transaction(work)(), close: () => db.close() };
  } catch (error) {
    betterSqlite3 = (error as Error).message.split('\n')[0] ?? '';
  }
  const sqlite = process.getBuiltinModule?.('node:sqlite') as NodeSqlite | undefined;
  if (sqlite) return nodeSqliteFile(new sqlite.DatabaseSync(path));
  throw new Error(`No SQLite driver can open the agent's store (better-sqlite3: ${betterSqlite3}; node:sqlite: not in Node ${process.versions.node}, it needs 22.13 or later): run npm install, or use Node 22.13 or later`);
}

/** better-sqlite3 waits this long for a lock by default; node:sqlite would not wait at all. */
const BUSY_TIMEOUT_MS = 5000;

function nodeSqliteFile(db: InstanceType<NodeSqlite['DatabaseSync']>): SqliteFile {
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Statements are compiled once per SQL text, as better-sqlite3's callers here expect to be cheap.
  const statements = new Map<string, SqlStatement>();
  return {
    driver: 'node:sqlite',
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    exec: (sql) => db.exec(sql),
    transaction(work) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = work();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    close: () => db.close(),
  };
}
