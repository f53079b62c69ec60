// The REST API: the hub's current view for dashboards that (re)connect, and the commands people send.
// Every answer is JSON; errors are short sentences for people, never internals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { originAllowed, type AccessControl } from '../auth/access.js';
import { AgentId, JobState, LoginBody, RipBody, SelectTitlesBody, TranscodeTaskState, decodeMessage } from '../../shared/index.js';
import { protocolJsonSchema } from '../../shared/protocol/json-schema.js';
import type { StationCommands } from '../commands/station-commands.js';
import type { DriveCommandName } from '../events/consumer.js';
import type { DashboardStatus } from '../dashboard/dashboard-server.js';
import type { CommandAnswer } from '../events/consumer.js';
import type { AgentServer } from '../link/agent-server.js';
import type { StationStore } from '../store/station-store.js';
import { NoSuchTask, TaskRefusal } from '../transcodes/transcode-queue.js';
import type { Transcodes } from '../transcodes/transcodes.js';
import type { Views } from './views.js';

/** What a person may do to a task of the transcode queue. */
type TaskAction = 'retry' | 'cancel' | 'prioritize';

export interface RestApiOptions {
  store: StationStore;
  agents: AgentServer;
  views: Views;
  commands: StationCommands;
  dashboards: { stats(): { clients: number; slow: number; dropped: number }; status(): DashboardStatus };
  access: AccessControl;
  limits: { open: number; refused: number };
  transcodes: Transcodes;
  logger: Logger;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Handler = (params: string[], url: URL, request: IncomingMessage, response: ServerResponse) => Promise<unknown> | unknown;

/** Who may call a route: anyone, whoever may view, or whoever may change state. */
type Guard = 'open' | 'view' | 'change';

const MAX_BODY_BYTES = 64 * 1024;

const MAX_PAGE = 500;

export class RestApi {
  private schema: Record<string, unknown> | undefined;
  private readonly routes: { method: string; pattern: RegExp; handler: Handler; guard?: Guard }[];

  constructor(private readonly options: RestApiOptions) {
    this.routes = [
      { method: 'GET', pattern: /^\/health$/, handler: () => this.health(), guard: 'open' },
      { method: 'GET', pattern: /^\/api\/session$/, handler: (_p, _u, request) => this.session(request), guard: 'open' },
      { method: 'POST', pattern: /^\/api\/login$/, handler: async (_p, _u, request, response) => this.login(request, response, await readBody(request, LoginBody)), guard: 'open' },
      { method: 'POST', pattern: /^\/api\/logout$/, handler: (_p, _u, request, response) => this.logout(request, response), guard: 'open' },
      { method: 'GET', pattern: /^\/api\/agents$/, handler: () => this.options.views.stations() },
      { method: 'GET', pattern: /^\/api\/drives$/, handler: () => this.options.views.drives() },
      { method: 'GET', pattern: /^\/api\/snapshot$/, handler: (_, url) => this.snapshot(url) },
      { method: 'GET', pattern: /^\/ws\/status$/, handler: () => this.options.dashboards.status() },
      { method: 'GET', pattern: /^\/api\/schema$/, handler: () => (this.schema ??= protocolJsonSchema()), guard: 'open' },
      { method: 'GET', pattern: /^\/api\/jobs$/, handler: (_, url) => this.jobs(url) },
      { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)$/, handler: ([id]) => this.job(id) },
      { method: 'GET', pattern: /^\/api\/jobs\/([^/]+)\/log$/, handler: ([id]) => this.jobLog(id) },
      { method: 'POST', pattern: /^\/api\/jobs\/([^/]+)\/cancel$/, handler: ([id]) => outcome(this.options.commands.cancel(jobIdOf(id))) },
      { method: 'POST', pattern: /^\/api\/jobs\/([^/]+)\/titles$/, handler: async ([id], _url, request) => {
        const body = await readBody(request, SelectTitlesBody);
        return outcome(this.options.commands.selectTitles(jobIdOf(id), body.selected));
      } },
      { method: 'POST', pattern: /^\/api\/drives\/([^/]+)\/([^/]+)\/eject$/, handler: ([agent, drive]) => this.driveCommand(agent, drive, 'eject') },
      { method: 'POST', pattern: /^\/api\/drives\/([^/]+)\/([^/]+)\/rip$/, handler: async ([agent, drive], _url, request) => {
        const body = await readBody(request, RipBody, true);
        return this.driveCommand(agent, drive, 'rip', body.titles);
      } },
      { method: 'POST', pattern: /^\/api\/drives\/([^/]+)\/([^/]+)\/rescan$/, handler: ([agent, drive]) => this.driveCommand(agent, drive, 'rescan') },
      { method: 'GET', pattern: /^\/api\/transcodes$/, handler: (_, url) => this.transcodes(url) },
      { method: 'POST', pattern: /^\/api\/transcodes\/([^/]+)\/(retry|cancel|prioritize)$/, handler: ([id, action]) => this.taskAction(id, action as TaskAction) },
    ];
  }

  /** Answers the request if it is an API route; returns false to let another handler try. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    const url = new URL(request.url ?? '/', 'http://hub');
    const matching = this.routes.filter((route) => route.pattern.test(url.pathname));
    if (matching.length === 0) return false;
    const route = matching.find((candidate) => candidate.method === request.method);
    try {
      if (!route) {
        const allowed = matching.map((r) => r.method).join(', ');
        response.setHeader('Allow', allowed);
        throw new HttpError(405, `Use ${allowed} here`);
      }
      if (!originAllowed(request)) throw new HttpError(403, 'Cross-origin request refused');
      this.authorize(route.guard ?? (route.method === 'GET' ? 'view' : 'change'), request);
      const params = (route.pattern.exec(url.pathname) ?? []).slice(1).map(decodePathPart);
      // The revisions this answer reflects, the hub's and each station's: live events with a higher one come after it.
      response.setHeader('X-Discbridge-Revision', String(this.options.store.revision));
      response.setHeader('X-Discbridge-Revisions', JSON.stringify(this.options.store.stationRevisions()));
      send(response, 200, await route.handler(params, url, request, response));
    } catch (error) {
      if (error instanceof HttpError) {
        send(response, error.status, { error: error.message });
      } else {
        this.options.logger.error({ err: error, path: url.pathname }, 'REST request failed');
        send(response, 500, { error: 'Internal error; the hub log has the details' });
      }
    }
    return true;
  }

  private authorize(guard: Guard, request: IncomingMessage): void {
    if (guard === 'view' && !this.options.access.canView(request)) throw new HttpError(401, 'Sign in to view this hub');
    if (guard === 'change') {
      const refusal = this.options.access.changeRefusal(request);
      if (refusal) throw new HttpError(refusal.status, refusal.error);
    }
  }

  private session(request: IncomingMessage) {
    const { access } = this.options;
    return {
      signed_in: access.signedIn(request),
      password_set: access.passwordIsSet(),
      can_view: access.canView(request),
      can_change: access.changeRefusal(request) === undefined,
      view_requires_login: access.options.viewRequiresLogin,
    };
  }

  private async login(request: IncomingMessage, response: ServerResponse, body: { password: string }) {
    const result = await this.options.access.login(request, body.password);
    if (!result.ok) {
      this.options.logger.warn({ peer: request.socket.remoteAddress, status: result.status }, `Sign-in refused: ${result.error}`);
      throw new HttpError(result.status, result.error);
    }
    response.setHeader('Set-Cookie', this.options.access.sessionCookie(result.session));
    this.options.logger.info({ peer: request.socket.remoteAddress }, 'Signed in');
    return { signed_in: true };
  }

  private logout(request: IncomingMessage, response: ServerResponse) {
    this.options.access.logout(request);
    response.setHeader('Set-Cookie', this.options.access.sessionCookie(undefined));
    return { signed_in: false };
  }

  private health() {
    const memory = process.memoryUsage();
    return {
      status: 'ok',
      uptime_seconds: Math.round(process.uptime()),
      revision: this.options.store.revision,
      stations_online: this.options.agents.onlineCount,
      dashboards: this.options.dashboards.stats(),
      connections: { open: this.options.limits.open, refused: this.options.limits.refused },
      memory: { rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed },
    };
  }

  private jobs(url: URL) {
    const limit = optionalInt(url, 'limit') ?? 50;
    if (limit < 1 || limit > MAX_PAGE) throw new HttpError(400, `limit must be between 1 and ${MAX_PAGE}`);
    const before = optionalInt(url, 'before');
    const state = url.searchParams.get('state');
    if (state !== null && !JobState.safeParse(state).success) throw new HttpError(400, `state must be one of ${JobState.options.join(', ')}`);
    const agent = url.searchParams.get('agent_id');
    const drive = url.searchParams.get('drive_id');
    return this.options.views.jobs({
      limit,
      ...(before !== undefined ? { before } : {}),
      ...(agent !== null ? { agent_id: agent } : {}),
      ...(drive !== null ? { drive_id: drive } : {}),
      ...(state !== null ? { state: state as JobState } : {}),
    });
  }

  private job(id: string | undefined) {
    const job = this.options.views.job(jobIdOf(id));
    if (!job) throw new HttpError(404, 'No such job');
    return job;
  }

  /** `?agent_id=a&agent_id=b` keeps those stations only (a wall display of one station). */
  private snapshot(url: URL) {
    const only = url.searchParams.getAll('agent_id');
    const bad = only.find((id) => !AgentId.safeParse(id).success);
    if (bad !== undefined) throw new HttpError(400, 'agent_id must be a station id (letters, digits, dot, dash and underscore)');
    return this.options.views.snapshot(only.length > 0 ? new Set(only) : undefined);
  }

  private jobLog(id: string | undefined) {
    const lines = this.options.store.getJobLog(jobIdOf(id));
    if (!lines) throw new HttpError(404, 'No such job');
    return { lines };
  }

  /** GET /api/transcodes?state=queued&limit=N: the queue's tasks, newest first. */
  private transcodes(url: URL) {
    const limit = optionalInt(url, 'limit') ?? 100;
    if (limit < 1 || limit > MAX_PAGE) throw new HttpError(400, `limit must be between 1 and ${MAX_PAGE}`);
    const state = url.searchParams.get('state');
    if (state !== null && !TranscodeTaskState.safeParse(state).success) throw new HttpError(400, `state must be one of ${TranscodeTaskState.options.join(', ')}`);
    return { tasks: this.options.transcodes.list({ limit, ...(state !== null ? { state: state as TranscodeTaskState } : {}) }) };
  }

  private taskAction(id: string | undefined, action: TaskAction) {
    const taskId = wholeNumber(id);
    if (taskId === undefined) throw new HttpError(400, 'Task id must be a whole number');
    try {
      return this.options.transcodes[action](taskId);
    } catch (error) {
      if (error instanceof TaskRefusal) throw new HttpError(error instanceof NoSuchTask ? 404 : 409, error.message);
      throw error;
    }
  }

  private driveCommand(agentId: string | undefined, driveId: string | undefined, name: DriveCommandName, titles?: number[]) {
    if (!agentId || !driveId) throw new HttpError(404, 'No such drive');
    return outcome(this.options.commands.drive(agentId, driveId, name, titles));
  }
}

/** A command's answer as REST gives it: `{"ok":true}`, or its status with its sentence. */
async function outcome(answer: Promise<CommandAnswer>): Promise<{ ok: true }> {
  const settled = await answer;
  if (!settled.ok) throw new HttpError(settled.status, settled.error);
  return { ok: true };
}

/** Reads and validates a JSON body; an empty body is `{}` when `optional`. */
async function readBody<S extends z.ZodType>(request: IncomingMessage, schema: S, optional = false): Promise<z.infer<S>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `The request body is over ${MAX_BODY_BYTES / 1024} KiB`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '' && optional) return schema.parse({});
  const decoded = decodeMessage(schema, text);
  if (!decoded.ok) throw new HttpError(400, decoded.error.replace('Invalid message', 'Invalid request body'));
  return decoded.value;
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'The path has a malformed %-escape');
  }
}

/** Digits only: Number() would also take "0x2", "1e0" and " 1". */
function wholeNumber(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,15}$/.test(raw)) return undefined;
  return Number(raw);
}

function jobIdOf(id: string | undefined): number {
  const value = wholeNumber(id);
  if (value === undefined) throw new HttpError(400, 'Job id must be a whole number');
  return value;
}

function optionalInt(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const value = wholeNumber(raw);
  if (value === undefined) throw new HttpError(400, `${name} must be a whole number`);
  return value;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  response.end(text);
}
