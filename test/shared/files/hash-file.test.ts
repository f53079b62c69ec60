// The one reader of a file's SHA-256: the whole file, its first bytes, and a hash carried on from where it stopped.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashFile, hashInto } from '../../../shared/files/hash-file.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('hashing a file', () => {
  it('gives the whole file\'s SHA-256, and the same when its first bytes were hashed before and the rest after', async () => {
    dir = mkdtempSync(join(tmpdir(), 'discbridge-hash-'));
    const bytes = Buffer.from(Array.from({ length: 9 * 1024 * 1024 + 17 }, (_, i) => (i * 31 + 7) % 251));
    const file = join(dir, 'f');
    writeFileSync(file, bytes);
    expect(await hashFile({ file })).toBe(sha(bytes));
    const cut = 5 * 1024 * 1024 + 3;
    expect((await hashInto({ file, to: cut })).digest('hex')).toBe(sha(bytes.subarray(0, cut)));
    const prefix = await hashInto({ file, to: cut });
    expect(await hashFile({ file, from: cut, hash: prefix })).toBe(sha(bytes));
  });

  it('hashes nothing, and opens nothing, for no bytes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'discbridge-hash-'));
    expect((await hashInto({ file: join(dir, 'not-there'), to: 0 })).digest('hex')).toBe(sha(Buffer.alloc(0)));
  });
});
