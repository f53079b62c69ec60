// The hub's REST API as the page uses it: GETs validated with the shared zod schemas (so an answer that does not
// match the protocol is an error here, not a broken view), each with the stations' revisions it reflects
// (X-Discbridge-Revisions); signing in and out. Commands go over the socket (commands.ts), the first render's
// snapshot too.
import { z } from 'zod';
import { AgentId, ApiError, JobDetail, JobLogPage, JobPage, LoginBody, Revision, SessionInfo, TranscodeTaskPage, type JobState } from '../../../shared/index.js';
import type { Revisions } from './state.js';

/** A failed request, with the sentence to show a person. */
export class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Revisioned<T> {
  data: T;
  /** Each station's revision the answer reflects. */
  revisions: Revisions;
}

const GET_TIMEOUT_MS = 15_000;
const StationRevisions = z.record(AgentId, Revision);

async function request(path: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    return await fetch(path, { ...init, signal: controller.signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (error) {
    if (controller.signal.aborted) throw new RequestError(0, 'The hub did not answer in time');
    throw new RequestError(0, navigator.onLine === false ? 'This device is offline' : 'Cannot reach the hub');
  } finally {
    clearTimeout(timer);
  }
}

/** The hub's `{error}` sentence, or a plain description of the status. */
async function refusal(response: Response): Promise<RequestError> {
  const body = await response.json().catch(() => undefined);
  const parsed = ApiError.safeParse(body);
  if (parsed.success && parsed.data.error) return new RequestError(response.status, parsed.data.error);
  const plain: Record<number, string> = { 401: 'Sign in to do that', 403: 'Not allowed', 404: 'Not found', 503: 'The station is offline', 504: 'The station did not answer' };
  return new RequestError(response.status, plain[response.status] ?? `The hub answered ${response.status}`);
}

async function get<S extends z.ZodType>(path: string, schema: S): Promise<Revisioned<z.infer<S>>> {
  const response = await request(path, { headers: { Accept: 'application/json' } }, GET_TIMEOUT_MS);
  if (!response.ok) throw await refusal(response);
  const revisions = StationRevisions.safeParse(parseJson(response.headers.get('X-Discbridge-Revisions')));
  const result = schema.safeParse(await response.json().catch(() => undefined));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RequestError(response.status, `The hub's answer to ${path} does not match the protocol${issue ? ` (at ${issue.path.join('.') || 'the top'}: ${issue.message})` : ''}`);
  }
  if (!revisions.success) throw new RequestError(response.status, `The hub's answer to ${path} has no revisions`);
  return { data: result.data, revisions: revisions.data };
}

function parseJson(text: string | null): unknown {
  try {
    return text === null ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A GET whose answer needs no revision (who is signed in). */
async function getPlain<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  const response = await request(path, { headers: { Accept: 'application/json' } }, GET_TIMEOUT_MS);
  if (!response.ok) throw await refusal(response);
  const result = schema.safeParse(await response.json().catch(() => undefined));
  if (!result.success) throw new RequestError(response.status, `The hub's answer to ${path} does not match the protocol`);
  return result.data;
}

async function post(path: string, body?: unknown): Promise<void> {
  const response = await request(path, {
    method: 'POST',
    headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }, GET_TIMEOUT_MS);
  if (!response.ok) throw await refusal(response);
}

export interface JobFilter {
  agent_id?: string | undefined;
  drive_id?: string | undefined;
  state?: JobState | undefined;
  before?: number | undefined;
  limit?: number;
}

function query(filter: JobFilter): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export const api = {
  jobs: (filter: JobFilter) => get(`/api/jobs${query(filter)}`, JobPage),
  job: (jobId: number) => get(`/api/jobs/${jobId}`, JobDetail),
  jobLog: (jobId: number) => get(`/api/jobs/${jobId}/log`, JobLogPage),
  transcodes: () => getPlain('/api/transcodes?limit=100', TranscodeTaskPage),
  taskAction: (taskId: number, action: 'retry' | 'cancel' | 'prioritize') => post(`/api/transcodes/${taskId}/${action}`),

  /** Whether the hub answers at all (open to everyone, tiny). */
  alive: async (): Promise<boolean> => {
    try {
      return (await request('/health', { headers: { Accept: 'application/json' } }, 5000)).status < 500;
    } catch {
      return false;
    }
  },
  session: () => getPlain('/api/session', SessionInfo),
  login: (password: string) => post('/api/login', { password } satisfies z.infer<typeof LoginBody>),
  logout: () => post('/api/logout'),
};
