// The notification outbox in the hub's SQLite file (table notification_outbox, see hub/store/migrations.ts): one row
// per notification and URL, written in the same step as the decision to notify, so a crash loses none and a replayed
// event (same kind, station and subject) finds its row already there and adds nothing.
import type { Db } from '../../store/database.js';
import type { Notice } from './message.js';

export type RowState = 'pending' | 'sent' | 'rejected' | 'expired' | 'dropped';

export interface OutboxRow {
  id: string;
  urlIndex: number;
  notice: Notice;
  attempts: number;
  createdAt: number;
}

/** A notice to send, and what it is about: one decision per (kind, station, subject), ever. */
export interface Decision {
  notice: Notice;
  subject: string;
}

export class Outbox {
  constructor(private readonly db: Db) {}

  /**
   * Adds each notice for every URL, all in one transaction (one fsync however many a replay decides at once); the
   * UNIQUE (event, agent_id, subject, url_index) makes a second decision about the same thing a no-op. Returns how
   * many rows were added.
   */
  add(decisions: readonly Decision[], urlCount: number, now: number): number {
    const insert = this.db.prepare(
      `INSERT OR IGNORE INTO notification_outbox (id, url_index, event, agent_id, subject, body, state, attempts, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    );
    let added = 0;
    this.db.transaction(() => {
      for (const { notice, subject } of decisions) {
        const body = JSON.stringify(notice);
        for (let index = 0; index < urlCount; index++) {
          added += insert.run(notice.id, index, notice.event, notice.agentId, subject, body, now, now).changes;
        }
      }
    })();
    return added;
  }

  /** Pending rows whose next attempt is due, oldest first. */
  due(now: number, limit = 50): OutboxRow[] {
    const rows = this.db.prepare(
      `SELECT id, url_index, body, attempts, created_at FROM notification_outbox
       WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?`,
    ).all(now, limit) as { id: string; url_index: number; body: string; attempts: number; created_at: number }[];
    return rows.map((row) => ({ id: row.id, urlIndex: row.url_index, notice: JSON.parse(row.body) as Notice, attempts: row.attempts, createdAt: row.created_at }));
  }

  /** Makes every pending row due now: a restart (often after fixing the receiver) tries at once what was waiting. */
  resume(now: number): void {
    this.db.prepare(`UPDATE notification_outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?`).run(now, now);
  }

  /** When the next pending row is due, if any. */
  nextDue(): number | undefined {
    const row = this.db.prepare(`SELECT MIN(next_attempt_at) AS at FROM notification_outbox WHERE state = 'pending'`).get() as { at: number | null };
    return row.at ?? undefined;
  }

  retryAt(row: OutboxRow, at: number, error: string): void {
    this.db.prepare('UPDATE notification_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND url_index = ?')
      .run(at, error, row.id, row.urlIndex);
  }

  /** Ends the row: sent (accepted), rejected (a 4xx), expired (gave up after retrying), dropped (its URL is gone). */
  finish(row: OutboxRow, state: Exclude<RowState, 'pending'>, answer: string): void {
    this.db.prepare(`UPDATE notification_outbox SET state = ?, attempts = attempts + (CASE WHEN ? = 'dropped' THEN 0 ELSE 1 END), last_error = ? WHERE id = ? AND url_index = ?`)
      .run(state, state, state === 'sent' ? null : answer, row.id, row.urlIndex);
  }
}
