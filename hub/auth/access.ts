// Who may see and who may change. Viewing is open on the LAN unless the hub is told otherwise; anything that changes
// state needs a signed-in person, or, until a password is set, a request from the hub machine itself. Browsers also
// have to come from the hub's own origin. Sessions are random ids in an HttpOnly, SameSite=Strict cookie.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Db } from '../store/database.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { KeyedLimiter } from './rate-limit.js';

export const SESSION_COOKIE = 'discbridge_session';
const SESSION_MS = 30 * 24 * 3600 * 1000;
const PASSWORD_KEY = 'dashboard_password';

export type LoginResult = { ok: true; session: string } | { ok: false; status: number; error: string };

export interface AccessOptions {
  viewRequiresLogin: boolean;
  /** Cookies get the Secure flag when the hub serves https. */
  secure: boolean;
}

export class AccessControl {
  /** Session id → expiry and the password hash it was opened with (a new password ends old sessions). */
  private readonly sessions = new Map<string, { expires: number; password: string }>();
  /** Five attempts, then one every 12 s, per address. */
  private readonly logins = new KeyedLimiter(5 / 60, 5);

  constructor(private readonly db: Db, readonly options: AccessOptions) {}

  passwordIsSet(): boolean {
    return this.storedPassword() !== undefined;
  }

  async setPassword(password: string): Promise<void> {
    const hashed = await hashPassword(password);
    this.db.prepare('INSERT INTO secrets (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(PASSWORD_KEY, hashed);
    this.sessions.clear();
  }

  async login(request: IncomingMessage, password: string): Promise<LoginResult> {
    if (!this.logins.take(peerOf(request))) return { ok: false, status: 429, error: 'Too many sign-in attempts; wait a minute' };
    const stored = this.storedPassword();
    if (!stored) return { ok: false, status: 409, error: 'No password is set yet: run "discbridge password" on the hub' };
    if (!(await verifyPassword(password, stored))) return { ok: false, status: 401, error: 'Wrong password' };
    const session = randomBytes(32).toString('base64url');
    this.sessions.set(session, { expires: Date.now() + SESSION_MS, password: stored });
    return { ok: true, session };
  }

  logout(request: IncomingMessage): void {
    const session = cookie(request, SESSION_COOKIE);
    if (session) this.sessions.delete(session);
  }

  sessionCookie(session: string | undefined): string {
    const attributes = `HttpOnly; SameSite=Strict; Path=/${this.options.secure ? '; Secure' : ''}`;
    return session ? `${SESSION_COOKIE}=${session}; Max-Age=${SESSION_MS / 1000}; ${attributes}` : `${SESSION_COOKIE}=; Max-Age=0; ${attributes}`;
  }

  signedIn(request: IncomingMessage): boolean {
    const session = cookie(request, SESSION_COOKIE);
    const entry = session ? this.sessions.get(session) : undefined;
    if (!entry) return false;
    // The password may have been changed by `discbridge password` in another process: its hash says so.
    if (entry.expires < Date.now() || entry.password !== this.storedPassword()) {
      this.sessions.delete(session as string);
      return false;
    }
    return true;
  }

  canView(request: IncomingMessage): boolean {
    return !this.options.viewRequiresLogin || this.signedIn(request) || (!this.passwordIsSet() && fromHubMachine(request));
  }

  /** undefined when the request may change state, else why not (for a 401/403). */
  changeRefusal(request: IncomingMessage): { status: number; error: string } | undefined {
    if (this.signedIn(request)) return undefined;
    if (this.passwordIsSet()) return { status: 401, error: 'Sign in to make changes' };
    if (fromHubMachine(request)) return undefined;
    return { status: 403, error: 'No password is set, so changes are allowed only from the hub machine: run "discbridge password" on the hub' };
  }

  private storedPassword(): string | undefined {
    return (this.db.prepare('SELECT value FROM secrets WHERE key = ?').get(PASSWORD_KEY) as { value: string } | undefined)?.value;
  }
}

/** A browser's request must come from a page of this hub: its Origin's host is the Host it asked for. */
export function originAllowed(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser, or a same-origin GET: credentials still apply
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * Whether the request comes from the hub machine and was addressed to it by a loopback name. Without it, a page on another site whose name
 * is re-pointed at 127.0.0.1 (DNS rebinding) would count as "from the hub machine".
 */
function fromHubMachine(request: IncomingMessage): boolean {
  const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return isLocal(request) && (host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host));
}

export function isLocal(request: IncomingMessage): boolean {
  const address = request.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function peerOf(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

function cookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}
