// AccessControl on real SQLite with fake requests: cookies, sessions and their expiry, who may view and change
// (local or not, password or not), sign-in limits, and the Origin check.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccessControl, SESSION_COOKIE, isLocal, originAllowed, peerOf } from '../../../hub/auth/access.js';
import { openDatabase, type Db } from '../../../hub/store/database.js';
import { fakeRequest } from './fixtures.js';

const PASSWORD = 'a long passphrase';
const LAN = '192.168.1.20';
let db: Db;

beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => {
  vi.restoreAllMocks();
  db.close();
});

const access = (viewRequiresLogin = false, secure = false) => new AccessControl(db, { viewRequiresLogin, secure });
const withCookie = (cookie: string, address = '127.0.0.1') => fakeRequest(address, { cookie, host: '127.0.0.1:8000' });
/** A request from the hub machine, addressed to it by a loopback name (as its own browser or curl does). */
const fromHub = (address = '127.0.0.1', host = '127.0.0.1:8000') => fakeRequest(address, { host });

async function signedInSession(control: AccessControl, address = LAN): Promise<string> {
  const result = await control.login(fakeRequest(address), PASSWORD);
  if (!result.ok) throw new Error(`login failed: ${result.error}`);
  return result.session;
}

describe('isLocal and peerOf', () => {
  it.each([
    ['127.0.0.1', true], ['127.8.9.10', true], ['::1', true], ['::ffff:127.0.0.1', true],
    [LAN, false], ['::ffff:192.168.1.20', false], ['10.0.0.1', false], ['fe80::1', false], ['1270.0.0.1', false],
    ['::ffff:10.127.0.1', false], ['0.0.0.0', false], ['', false], [undefined, false],
  ])('%s is local: %s', (address, local) => {
    expect(isLocal(fakeRequest(address))).toBe(local);
  });

  it('names an unknown peer', () => {
    expect(peerOf(fakeRequest(undefined))).toBe('unknown');
    expect(peerOf(fakeRequest('10.1.2.3'))).toBe('10.1.2.3');
  });
});

describe('passwords and sign-in', () => {
  it('no password at first; sign-in then says how to set one (409)', async () => {
    const control = access();
    expect(control.passwordIsSet()).toBe(false);
    expect(await control.login(fakeRequest(LAN), PASSWORD)).toEqual({ ok: false, status: 409, error: expect.stringContaining('discbridge password') });
  });

  it('stores the password only as a scrypt hash', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    expect(control.passwordIsSet()).toBe(true);
    const rows = db.prepare('SELECT key, value FROM secrets').all() as { key: string; value: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]?.value).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(rows[0]?.value).not.toContain(PASSWORD);
  });

  it('the right password gives a 256-bit random session; a wrong one 401', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    expect(await control.login(fakeRequest(LAN), 'not the password')).toEqual({ ok: false, status: 401, error: 'Wrong password' });
    const session = await signedInSession(control, '10.0.0.9');
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await signedInSession(control, '10.0.0.10')).not.toBe(session);
  });

  it('limits sign-in per address: five attempts, the sixth is 429 even with the right password; other addresses are unaffected', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    for (let i = 0; i < 5; i++) expect((await control.login(fakeRequest(LAN), 'wrong password')).ok).toBe(false);
    expect(await control.login(fakeRequest(LAN), PASSWORD)).toEqual({ ok: false, status: 429, error: expect.stringContaining('Too many') });
    expect((await control.login(fakeRequest('192.168.1.21'), PASSWORD)).ok).toBe(true);
  });

  it('a new password set through another connection (the `discbridge password` process) ends the hub\'s sessions', async () => {
    const hub = access();
    await hub.setPassword(PASSWORD);
    const session = await signedInSession(hub);
    expect(hub.signedIn(withCookie(`${SESSION_COOKIE}=${session}`))).toBe(true);
    await new AccessControl(db, { viewRequiresLogin: false, secure: false }).setPassword('another long passphrase');
    expect(hub.signedIn(withCookie(`${SESSION_COOKIE}=${session}`))).toBe(false);
    expect(hub.changeRefusal(withCookie(`${SESSION_COOKIE}=${session}`))).toEqual({ status: 401, error: 'Sign in to make changes' });
  });

  it('setting a new password ends the sessions this AccessControl knows', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    const session = await signedInSession(control);
    await control.setPassword('another long passphrase');
    expect(control.signedIn(withCookie(`${SESSION_COOKIE}=${session}`))).toBe(false);
  });
});

describe('session cookies', () => {
  it('sets HttpOnly, SameSite=Strict, Path=/ and a 30-day Max-Age; Secure only under TLS', () => {
    expect(access().sessionCookie('abc')).toBe(`${SESSION_COOKIE}=abc; Max-Age=2592000; HttpOnly; SameSite=Strict; Path=/`);
    expect(access(false, true).sessionCookie('abc')).toBe(`${SESSION_COOKIE}=abc; Max-Age=2592000; HttpOnly; SameSite=Strict; Path=/; Secure`);
    expect(access().sessionCookie(undefined)).toBe(`${SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/`);
  });

  it('finds the session among other cookies, with or without spaces', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    const session = await signedInSession(control);
    for (const header of [
      `${SESSION_COOKIE}=${session}`, `a=1; ${SESSION_COOKIE}=${session}; b=2`, `a=1;${SESSION_COOKIE}=${session}`, `  ${SESSION_COOKIE}=${session}  `,
      `theme=dark=yes; ${SESSION_COOKIE}=${session}`,
    ]) {
      expect(control.signedIn(withCookie(header)), header).toBe(true);
    }
  });

  it('refuses cookies that are not exactly this session', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    const session = await signedInSession(control);
    for (const header of [
      '', `${SESSION_COOKIE}=`, `${SESSION_COOKIE}`, `x${SESSION_COOKIE}=${session}`, `${SESSION_COOKIE}x=${session}`, `${SESSION_COOKIE}=${session}x`,
      `${SESSION_COOKIE}=${session.slice(1)}`, `${SESSION_COOKIE}=${session.toUpperCase()}`, `other=${session}`, `${SESSION_COOKIE}=undefined`,
      `${SESSION_COOKIE}=__proto__`, `${SESSION_COOKIE}=constructor`, `${SESSION_COOKIE}="${session}"`,
    ]) {
      expect(control.signedIn(withCookie(header)), header).toBe(false);
    }
    expect(control.signedIn(fakeRequest('127.0.0.1'))).toBe(false);
  });

  it('an expired session no longer signs in, and is forgotten', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    const start = Date.now();
    const now = vi.spyOn(Date, 'now').mockReturnValue(start);
    const session = await signedInSession(control);
    const request = withCookie(`${SESSION_COOKIE}=${session}`);
    now.mockReturnValue(start + 30 * 24 * 3600 * 1000 - 1);
    expect(control.signedIn(request)).toBe(true);
    now.mockReturnValue(start + 30 * 24 * 3600 * 1000 + 1);
    expect(control.signedIn(request)).toBe(false);
    // Even if the clock came back, the session is gone.
    now.mockReturnValue(start);
    expect(control.signedIn(request)).toBe(false);
  });

  it('logout ends the session it is given and no other', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    const mine = await signedInSession(control, '10.0.0.1');
    const theirs = await signedInSession(control, '10.0.0.2');
    control.logout(withCookie(`${SESSION_COOKIE}=${mine}`));
    control.logout(withCookie('')); // nothing to end
    expect(control.signedIn(withCookie(`${SESSION_COOKIE}=${mine}`))).toBe(false);
    expect(control.signedIn(withCookie(`${SESSION_COOKIE}=${theirs}`))).toBe(true);
  });
});

describe('who may view and change', () => {
  it('no password: viewing is open; changes only from the hub machine, with a 403 that says how to set a password', () => {
    const control = access();
    expect(control.canView(fakeRequest(LAN))).toBe(true);
    expect(control.changeRefusal(fromHub('127.0.0.1'))).toBeUndefined();
    expect(control.changeRefusal(fromHub('127.0.0.1', 'localhost:8000'))).toBeUndefined();
    expect(control.changeRefusal(fromHub('127.0.0.1', 'LOCALHOST'))).toBeUndefined();
    expect(control.changeRefusal(fromHub('::1', '[::1]:8000'))).toBeUndefined();
    expect(control.changeRefusal(fromHub('::ffff:127.0.0.1'))).toBeUndefined();
    for (const address of [LAN, '::ffff:192.168.1.20', undefined]) {
      expect(control.changeRefusal(fakeRequest(address, { host: '192.168.1.10:8000' }))).toEqual({ status: 403, error: expect.stringContaining('run "discbridge password" on the hub') });
    }
  });

  it('no password: a request from 127.0.0.1 addressed to another name (DNS rebinding) is not "from the hub machine"', () => {
    const control = access(true);
    for (const host of ['attacker.example:8000', 'attacker.example', 'localhost.attacker.example:8000', '127.0.0.1.attacker.example', '', '192.168.1.10:8000']) {
      expect(control.changeRefusal(fakeRequest('127.0.0.1', { host })), host).toEqual({ status: 403, error: expect.any(String) });
      expect(control.canView(fakeRequest('127.0.0.1', { host })), host).toBe(false);
    }
    expect(control.changeRefusal(fakeRequest('127.0.0.1'))).toMatchObject({ status: 403 }); // no Host at all
  });

  it('with a password: changes need the session, from anywhere, the hub machine included (401)', async () => {
    const control = access();
    await control.setPassword(PASSWORD);
    for (const address of ['127.0.0.1', '::1', LAN]) {
      expect(control.changeRefusal(fakeRequest(address))).toEqual({ status: 401, error: 'Sign in to make changes' });
    }
    const session = await signedInSession(control);
    expect(control.changeRefusal(withCookie(`${SESSION_COOKIE}=${session}`, LAN))).toBeUndefined();
    expect(control.changeRefusal(withCookie(`${SESSION_COOKIE}=${session}`, '127.0.0.1'))).toBeUndefined();
    expect(control.canView(fakeRequest(LAN))).toBe(true);
  });

  it('viewRequiresLogin: only a session may view once a password is set; before that, only the hub machine', async () => {
    const control = access(true);
    expect(control.canView(fromHub())).toBe(true);
    expect(control.canView(fakeRequest(LAN))).toBe(false);
    await control.setPassword(PASSWORD);
    expect(control.canView(fromHub())).toBe(false);
    expect(control.canView(fakeRequest(LAN))).toBe(false);
    const session = await signedInSession(control);
    expect(control.canView(withCookie(`${SESSION_COOKIE}=${session}`, LAN))).toBe(true);
  });
});

describe('originAllowed', () => {
  const request = (headers: Record<string, string>) => fakeRequest(LAN, headers);

  it('lets requests without Origin through (not a browser: credentials still apply)', () => {
    expect(originAllowed(request({ host: 'hub:8000' }))).toBe(true);
    expect(originAllowed(request({}))).toBe(true);
  });

  it('allows the hub\'s own origin', () => {
    expect(originAllowed(request({ host: 'hub:8000', origin: 'http://hub:8000' }))).toBe(true);
    expect(originAllowed(request({ host: '192.168.1.10:8000', origin: 'http://192.168.1.10:8000' }))).toBe(true);
    expect(originAllowed(request({ host: '[::1]:8000', origin: 'http://[::1]:8000' }))).toBe(true);
    expect(originAllowed(request({ host: 'hub', origin: 'http://hub' }))).toBe(true);
    expect(originAllowed(request({ host: 'hub:8000', origin: 'http://HUB:8000' }))).toBe(true);
  });

  it.each([
    ['another host', 'http://evil.example:8000', 'hub:8000'],
    ['another port', 'http://hub:8001', 'hub:8000'],
    ['a suffix of the host', 'http://hub:8000.evil.example', 'hub:8000'],
    ['a host that ends like it', 'http://evilhub:8000', 'hub:8000'],
    ['userinfo that names the host', 'http://hub:8000@evil.example', 'hub:8000'],
    ['the opaque origin "null"', 'null', 'hub:8000'],
    ['garbage', 'not a url', 'hub:8000'],
    ['empty', '', 'hub:8000'],
    ['file:', 'file://', 'hub:8000'],
    ['no Host header', 'http://hub:8000', undefined],
  ])('refuses %s', (_what, origin, host) => {
    expect(originAllowed(request({ origin, ...(host !== undefined ? { host } : {}) }))).toBe(false);
  });
});
