// StationRegistry on real SQLite: tokens are `<id>:<secret>`, only a SHA-256 hash of the secret is stored, verify
// answers only for a known, unrevoked station with the exact secret, re-adding re-keys, the shared token names no
// station.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StationRegistry } from '../../../hub/auth/station-registry.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { removeDir, tempDir } from './fixtures.js';

let dir: string;
let db: Db;

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(join(dir, 'hub.sqlite'));
});
afterEach(() => {
  if (db.open) db.close();
  removeDir(dir);
});

const secretOf = (token: string) => token.slice(token.lastIndexOf(':') + 1);

describe('add', () => {
  it('returns "id:secret" with 256 random bits of secret, different every time', () => {
    const registry = new StationRegistry(db);
    const a = registry.add('studio-3', 'Studio 3');
    const b = registry.add('studio-4', 'Studio 4');
    expect(a).toMatch(/^studio-3:[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secretOf(a), 'base64url')).toHaveLength(32);
    expect(secretOf(a)).not.toBe(secretOf(b));
    expect(registry.list()).toEqual([
      { agent_id: 'studio-3', name: 'Studio 3', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { agent_id: 'studio-4', name: 'Studio 4', created_at: expect.any(String) },
    ]);
  });

  it('stores only the SHA-256 hash of the secret: not in the row, not anywhere in the database files', () => {
    const registry = new StationRegistry(db);
    const token = registry.add('studio-3', 'Studio 3');
    const secret = secretOf(token);
    const row = db.prepare('SELECT * FROM stations WHERE agent_id = ?').get('studio-3') as Record<string, unknown>;
    expect(Object.keys(row).sort()).toEqual(['agent_id', 'created_at', 'name', 'revoked_at', 'token_hash']);
    expect(Buffer.isBuffer(row.token_hash)).toBe(true);
    expect(row.token_hash).toEqual(createHash('sha256').update(secret).digest());
    for (const value of Object.values(row)) {
      const text = Buffer.isBuffer(value) ? value.toString('latin1') + value.toString('base64url') + value.toString('hex') : String(value);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(token);
    }
    // Nor in any byte of the files SQLite wrote (main file and WAL), in any of the encodings a leak could take.
    db.close();
    const bytes = ['hub.sqlite', 'hub.sqlite-wal'].map((f) => join(dir, f)).filter(existsSync).map((f) => readFileSync(f));
    expect(bytes.length).toBeGreaterThan(0);
    for (const file of bytes) {
      expect(file.includes(Buffer.from(secret))).toBe(false);
      expect(file.includes(Buffer.from(secret, 'base64url'))).toBe(false);
    }
  });

  it('re-adding a station re-keys it: the old token stops working, the new one works, a revoked station is active again', () => {
    const registry = new StationRegistry(db);
    const first = registry.add('studio-3', 'Studio 3');
    expect(registry.revoke('studio-3')).toBe(true);
    const second = registry.add('studio-3', 'Studio Three');
    expect(second).not.toBe(first);
    expect(registry.verify(first)).toBeUndefined();
    expect(registry.verify(second)).toEqual({ agentId: 'studio-3', shared: false });
    expect(registry.list()).toEqual([{ agent_id: 'studio-3', name: 'Studio Three', created_at: expect.any(String) }]);
    expect(registry.revoked().size).toBe(0);
  });
});

describe('verify', () => {
  it('knows the station of a right token', () => {
    const registry = new StationRegistry(db);
    const token = registry.add('studio-3', 'Studio 3');
    registry.add('studio-4', 'Studio 4');
    expect(registry.verify(token)).toEqual({ agentId: 'studio-3', shared: false });
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['no colon', 'studio-3'],
    ['empty id', ':secret'],
    ['empty secret', 'studio-3:'],
    ['only a colon', ':'],
    ['unknown station', 'nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['whitespace', '   '],
    ['NUL bytes', 'studio-3\u0000:\u0000'],
    ['SQL in the id', "x' OR '1'='1:secret"],
    ['a 100 kB token', `studio-3:${'A'.repeat(100_000)}`],
  ])('refuses a malformed or unknown token: %s', (_what, token) => {
    const registry = new StationRegistry(db);
    registry.add('studio-3', 'Studio 3');
    expect(registry.verify(token)).toBeUndefined();
  });

  it('refuses a wrong secret: one changed character, a prefix, a suffix, another station\'s secret', () => {
    const registry = new StationRegistry(db);
    const token = registry.add('studio-3', 'Studio 3');
    const other = registry.add('studio-4', 'Studio 4');
    const secret = secretOf(token);
    const flipped = `studio-3:${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
    for (const wrong of [flipped, token.slice(0, -1), `${token}A`, `studio-3:${secretOf(other)}`, `studio-4:${secret}`, token.toUpperCase(), ` ${token}`]) {
      expect(registry.verify(wrong), wrong).toBeUndefined();
    }
  });

  it('refuses a revoked station, and revoke says whether anything was active', () => {
    const registry = new StationRegistry(db);
    const token = registry.add('studio-3', 'Studio 3');
    expect(registry.revoke('studio-3')).toBe(true);
    expect(registry.revoke('studio-3')).toBe(false);
    expect(registry.revoke('never-added')).toBe(false);
    expect(registry.verify(token)).toBeUndefined();
    expect([...registry.revoked()]).toEqual(['studio-3']);
    expect(registry.list()[0]).toMatchObject({ agent_id: 'studio-3', revoked_at: expect.any(String) });
  });

  it('sees stations added and revoked through another connection to the same file (the CLI beside a running hub)', () => {
    const hubSide = new StationRegistry(db);
    const cliDb = openDatabase(join(dir, 'hub.sqlite'));
    try {
      const token = new StationRegistry(cliDb).add('studio-3', 'Studio 3');
      expect(hubSide.verify(token)).toEqual({ agentId: 'studio-3', shared: false });
      new StationRegistry(cliDb).revoke('studio-3');
      expect(hubSide.verify(token)).toBeUndefined();
    } finally {
      cliDb.close();
    }
  });
});

describe('the shared token', () => {
  it('names no station (the hello does), and is compared exactly', () => {
    const registry = new StationRegistry(db, 'shared-secret-token');
    expect(registry.verify('shared-secret-token')).toEqual({ agentId: '', shared: true });
    for (const wrong of ['shared-secret-toke', 'shared-secret-tokenx', 'SHARED-SECRET-TOKEN', '']) expect(registry.verify(wrong)).toBeUndefined();
  });

  it('does not stop per-station tokens from working', () => {
    const registry = new StationRegistry(db, 'shared-secret-token');
    const token = registry.add('studio-3', 'Studio 3');
    expect(registry.verify(token)).toEqual({ agentId: 'studio-3', shared: false });
  });

  it('without one configured, no token is shared', () => {
    const registry = new StationRegistry(db);
    expect(registry.verify('shared-secret-token')).toBeUndefined();
  });
});
