// Which stations may connect: one token per station, created by `discbridge station add`, shown once, stored only
// as a hash, revocable. A token reads `<station id>:<secret>`, so the station a connection speaks for comes from its
// token, never from what it claims later.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.js';

export interface StationIdentity {
  agentId: string;
  /** true for the shared DISCBRIDGE_TOKEN: then the station's hello names it. */
  shared: boolean;
}

export interface StationEntry {
  agent_id: string;
  name: string;
  created_at: string;
  revoked_at?: string;
}

const hash = (secret: string) => createHash('sha256').update(secret).digest();

export class StationRegistry {
  constructor(private readonly db: Db, private readonly sharedToken?: string) {}

  /** Creates (or re-keys) a station and returns its token; only its hash is kept. */
  add(agentId: string, name: string): string {
    const secret = randomBytes(32).toString('base64url');
    this.db.prepare(
      `INSERT INTO stations (agent_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash, created_at = excluded.created_at, revoked_at = NULL`,
    ).run(agentId, name, hash(secret), Date.now());
    return `${agentId}:${secret}`;
  }

  revoke(agentId: string): boolean {
    return this.db.prepare('UPDATE stations SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL').run(Date.now(), agentId).changes > 0;
  }

  list(): StationEntry[] {
    const rows = this.db.prepare('SELECT agent_id, name, created_at, revoked_at FROM stations ORDER BY agent_id').all() as
      { agent_id: string; name: string; created_at: number; revoked_at: number | null }[];
    return rows.map((row) => ({
      agent_id: row.agent_id, name: row.name, created_at: new Date(row.created_at).toISOString(),
      ...(row.revoked_at !== null ? { revoked_at: new Date(row.revoked_at).toISOString() } : {}),
    }));
  }

  /** Whether a station has (or had) a token of its own. */
  isRegistered(agentId: string): boolean {
    return this.db.prepare('SELECT 1 FROM stations WHERE agent_id = ?').get(agentId) !== undefined;
  }

  /** Ids of stations whose token is revoked. */
  revoked(): Set<string> {
    return new Set((this.db.prepare('SELECT agent_id FROM stations WHERE revoked_at IS NOT NULL').all() as { agent_id: string }[]).map((r) => r.agent_id));
  }

  /** The station a presented token belongs to, or undefined. Secrets are compared in constant time. */
  verify(token: string | undefined): StationIdentity | undefined {
    if (!token) return undefined;
    if (this.sharedToken !== undefined && timingSafeEqual(hash(token), hash(this.sharedToken))) return { agentId: '', shared: true };
    const split = token.lastIndexOf(':');
    if (split <= 0) return undefined;
    const agentId = token.slice(0, split);
    const row = this.db.prepare('SELECT token_hash FROM stations WHERE agent_id = ? AND revoked_at IS NULL').get(agentId) as
      { token_hash: Buffer } | undefined;
    // Hash the secret even for an unknown station, so the answer takes as long either way.
    const presented = hash(token.slice(split + 1));
    const stored = row?.token_hash ?? Buffer.alloc(presented.length);
    return timingSafeEqual(presented, stored) && row ? { agentId, shared: false } : undefined;
  }
}
