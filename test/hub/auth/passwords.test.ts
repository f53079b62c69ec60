// The dashboard password: a scrypt hash with its parameters and a per-hash salt, verified in constant time.
import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../../../hub/auth/passwords.js';

describe('hashPassword', () => {
  it('writes "scrypt$N$r$p$salt$hash" with N=2^15, r=8, p=1, a 16-byte salt and a 32-byte key in base64url', async () => {
    const stored = await hashPassword('a long passphrase');
    const parts = stored.split('$');
    expect(parts).toHaveLength(6);
    const [scheme, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
    expect([scheme, n, r, p]).toEqual(['scrypt', '32768', '8', '1']);
    expect(salt).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(hash).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(hash, 'base64url')).toHaveLength(32);
    expect(stored).not.toContain('a long passphrase');
  });

  it('gives two different hashes for the same password (fresh salt), both of which verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses near misses', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    for (const wrong of ['correct horse batter', 'correct horse battery ', 'Correct horse battery', '', 'correct horse battery\n', 'correct\u0000horse battery']) {
      expect(await verifyPassword(wrong, stored), JSON.stringify(wrong)).toBe(false);
    }
  });

  it('handles unicode passwords by their exact characters', async () => {
    const stored = await hashPassword('pässwörd—🔑—ok');
    expect(await verifyPassword('pässwörd—🔑—ok', stored)).toBe(true);
    // The same text in another normalization form is another password.
    expect(await verifyPassword('pässwörd—🔑—ok'.normalize('NFD'), stored)).toBe(false);
  });

  it('never accepts against a stored value that is not a well-formed hash', async () => {
    const good = await hashPassword('a long passphrase');
    const [, n, r, p, salt, hash] = good.split('$');
    const tampered = [
      '', 'plain text', 'a long passphrase', `bcrypt$${n}$${r}$${p}$${salt}$${hash}`, `scrypt$${n}$${r}$${p}$$${hash}`,
      `scrypt$${n}$${r}$${p}$${salt}$`, `scrypt$${n}$${r}$${p}$${salt}$${hash?.slice(0, 20)}`, `scrypt$${n}$${r}$${p}$${salt}`,
      // Weaker or absurd parameters: scrypt refuses them (a rejection) or derives another key; never a match.
      `scrypt$2$1$1$${salt}$${hash}`, `scrypt$3$8$1$${salt}$${hash}`, `scrypt$1099511627776$8$1$${salt}$${hash}`, `scrypt$x$y$z$${salt}$${hash}`,
    ];
    for (const stored of tampered) {
      const outcome = await verifyPassword('a long passphrase', stored).catch(() => 'rejected');
      expect(outcome, stored).not.toBe(true);
    }
  });
});

describe('passwordProblem', () => {
  it.each([
    ['', 'Use at least 10 characters'],
    ['123456789', 'Use at least 10 characters'],
    ['x'.repeat(1025), 'Use at most 1024 characters'],
  ])('refuses %j', (password, problem) => {
    expect(passwordProblem(password)).toBe(problem);
  });

  it.each([['1234567890'], ['a long passphrase'], ['x'.repeat(1024)], ['ünïcödé—pw']])('accepts %j', (password) => {
    expect(passwordProblem(password)).toBeUndefined();
  });
});
