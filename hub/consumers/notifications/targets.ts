// Where notifications go and how each URL scheme is sent: ntfy's JSON publish, Apprise's json:// body and a signed
// webhook over fetch, anything else through the Apprise CLI (execa, never a shell). Owns redaction too: a URL's
// secrets (user:password@, tokens in paths and queries) never leave this file; logs and answers get its origin only.
import { createHmac } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { execa } from 'execa';
import type { Notice } from './message.js';

export type TargetKind = 'ntfy' | 'json' | 'webhook' | 'apprise';

export interface Target {
  url: string;
  kind: TargetKind;
  /** scheme://host[:port], safe for logs. */
  origin: string;
}

export interface Delivery {
  /** accepted: done for good; rejected: the receiver refused it (a 4xx other than 429), retrying cannot help; retry: later. */
  outcome: 'accepted' | 'rejected' | 'retry';
  answer: string;
}

export interface SendOptions {
  secret?: string | undefined;
  /** The Apprise CLI's path or name. */
  apprise: string;
  version: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

const BUILT_IN: Record<string, TargetKind> = { ntfy: 'ntfy', ntfys: 'ntfy', json: 'json', jsons: 'json', webhook: 'webhook', webhooks: 'webhook' };

export function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase() ?? '';
}

/**
 * Schemes whose host part is a server's name. Many Apprise services put a token there instead (tgram://{bot_token}/…,
 * pbul://{access_token}), so for any other scheme only the scheme is shown.
 */
const HOST_SCHEMES = new Set(['ntfy', 'json', 'webhook', 'form', 'xml', 'apprise', 'gotify', 'mailto', 'matrix', 'mqtt', 'rocket', 'mmost', 'ncloud', 'nctalk']);

/** scheme://host[:port] with any user, password, path and query left out. */
export function redact(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url);
  if (!match) return '(not a URL)';
  const scheme = (match[1] ?? '').toLowerCase();
  return HOST_SCHEMES.has(scheme.replace(/s$/, '')) ? `${scheme}://${match[2]}` : `${scheme}://…`;
}

export function targetOf(url: string): Target {
  return { url, kind: BUILT_IN[schemeOf(url)] ?? 'apprise', origin: redact(url) };
}

/** Whether `command` is an executable file, on PATH when it is a bare name. */
export function isInstalled(command: string): boolean {
  const candidates = isAbsolute(command) || command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function deliver(target: Target, notice: Notice, options: SendOptions): Promise<Delivery> {
  if (target.kind === 'apprise') return viaApprise(target, notice, options);
  let parsed: URL;
  try {
    parsed = new URL(target.url);
  } catch {
    return { outcome: 'rejected', answer: `${target.origin} is not a valid URL` };
  }
  const secure = parsed.protocol.endsWith('s:');
  const auth = authorization(parsed);
  const base = `${secure ? 'https' : 'http'}://${parsed.host}`;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json', 'User-Agent': `discbridge/${options.version}`, 'X-Discbridge-Notification-Id': notice.id, ...auth,
  };
  let endpoint: string;
  let body: string;
  if (target.kind === 'ntfy') {
    // ntfy takes JSON only at its root; the topic is the path's last segment, anything before it a path prefix.
    const segments = parsed.pathname.split('/').filter(Boolean);
    const topic = decodeURIComponent(segments.pop() ?? '');
    if (topic === '') return { outcome: 'rejected', answer: `${target.origin}: the URL names no topic (ntfy://host/topic)` };
    endpoint = `${base}/${segments.map((s) => `${s}/`).join('')}`;
    body = JSON.stringify({ topic, title: notice.title, message: notice.message, ...NTFY_STYLE[notice.type] });
  } else if (target.kind === 'json') {
    endpoint = `${base}${parsed.pathname}${parsed.search}`;
    body = JSON.stringify({ version: '1.0', title: notice.title, message: notice.message, attachments: [], type: notice.type, id: notice.id });
  } else {
    endpoint = `${base}${parsed.pathname}${parsed.search}`;
    body = JSON.stringify({
      id: notice.id, event: notice.event, occurred_at: notice.occurredAt, station: { agent_id: notice.agentId, name: notice.stationName },
      drive: notice.driveId ?? null, job: notice.job ?? null,
    });
    if (options.secret) headers['X-Discbridge-Signature'] = `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`;
  }
  return post(endpoint, headers, body, target.origin, options);
}

/** ntfy's priority (3 default, 4 high) and emoji tags for each type. */
const NTFY_STYLE: Record<Notice['type'], { priority: number; tags: string[] }> = {
  info: { priority: 3, tags: ['cd'] },
  success: { priority: 3, tags: ['white_check_mark', 'cd'] },
  warning: { priority: 4, tags: ['warning'] },
  failure: { priority: 4, tags: ['x', 'cd'] },
};

function authorization(url: URL): Record<string, string> {
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (user && password) return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
  // A user part alone is a token (ntfys://tk_…@ntfy.example.com/topic, as Apprise writes ntfy access tokens).
  return user ? { Authorization: `Bearer ${user}` } : {};
}

async function post(endpoint: string, headers: Record<string, string>, body: string, origin: string, options: SendOptions): Promise<Delivery> {
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.any(signals) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { outcome: 'retry', answer: `${origin} did not answer (${cause})` };
  }
  const text = (await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
  const answer = `${origin} answered HTTP ${response.status}${text ? `: ${text}` : ''}`;
  if (response.status >= 200 && response.status < 300) return { outcome: 'accepted', answer };
  const retry = response.status >= 500 || response.status === 429;
  return { outcome: retry ? 'retry' : 'rejected', answer: response.status >= 300 && response.status < 400 ? `${answer} (redirects are not followed)` : answer };
}

async function viaApprise(target: Target, notice: Notice, options: SendOptions): Promise<Delivery> {
  const result = await execa(options.apprise, ['-t', notice.title, '-b', notice.message, '-n', notice.type, target.url], {
    reject: false, stdin: 'ignore', timeout: options.timeoutMs, ...(options.signal ? { cancelSignal: options.signal } : {}),
  });
  // Apprise's own log lines may repeat the URL: keep only its origin.
  const said = `${result.stderr}\n${result.stdout}`.split(target.url).join(target.origin).replace(/\s+/g, ' ').trim().slice(0, 300);
  if (result.exitCode === 0) return { outcome: 'accepted', answer: `apprise sent it to ${target.origin}` };
  // A URL Apprise cannot read never becomes readable by retrying.
  const outcome = /Unparseable URL|no service\(s\) to notify/i.test(said) ? 'rejected' : 'retry';
  return { outcome, answer: `apprise could not send to ${target.origin} (exit ${result.exitCode ?? result.signal ?? '?'}): ${said || 'no output'}` };
}
