// What a dashboard client may ask over the socket (protocol 3), one handler per request: subscribe and unsubscribe,
// ping, snapshot, and commands with the same authorization and station refusals as REST, answered by the client's id.
// Every error is a short sentence for people; what went wrong inside goes to the hub's log.
import type { Logger } from 'pino';
import {
  DashboardRequest, MAX_TOPICS, decodeMessage, parseTopic,
  type DashboardCommand, type DashboardMessage, type Reply, type Topic,
} from '../../shared/index.js';
import type { Views } from '../api/views.js';
import type { AccessControl } from '../auth/access.js';
import type { StationCommands } from '../commands/station-commands.js';
import type { CommandAnswer } from '../events/consumer.js';
import type { DashboardClient } from './dashboard-client.js';

/** Commands one client may have waiting for stations at once; more are answered "busy", never queued. */
const MAX_COMMANDS_IN_FLIGHT = 4;
const REQUEST_TYPES = new Set<string>(DashboardRequest.options.map((option) => option.shape.type.value));

export interface DashboardRequestsOptions {
  views: Views;
  commands: StationCommands;
  access: AccessControl;
  logger: Logger;
}

export class DashboardRequests {
  constructor(private readonly options: DashboardRequestsOptions) {}

  /** Answers one frame from a client; a valid request makes it a protocol-3 client. */
  handle(client: DashboardClient, text: string): void {
    const decoded = decodeMessage(DashboardRequest, text);
    if (!decoded.ok) {
      this.answer(client, { type: 'error', message: unknownType(text) ?? decoded.error });
      return;
    }
    client.protocol = 3;
    const request = decoded.value;
    switch (request.type) {
      case 'subscribe': {
        const topics = this.topics(client, request.topics);
        if (!topics) return;
        if (client.topicCountWith(topics) > MAX_TOPICS) {
          this.answer(client, { type: 'error', message: `A client may follow at most ${MAX_TOPICS} topics` });
          return;
        }
        client.subscribe(topics);
        if (request.progress_interval_ms !== undefined) client.progressIntervalMs = request.progress_interval_ms;
        this.answer(client, { type: 'subscribed', topics: request.topics });
        return;
      }
      case 'unsubscribe': {
        const topics = this.topics(client, request.topics);
        if (!topics) return;
        client.unsubscribe(topics);
        this.answer(client, { type: 'unsubscribed', topics: request.topics });
        return;
      }
      case 'ping':
        this.answer(client, { type: 'pong' });
        return;
      case 'snapshot':
        this.answer(client, { type: 'snapshot', ...this.options.views.snapshot(client.stations()) });
        return;
      case 'command':
        void this.command(client, request);
        return;
    }
  }

  /** The topics named, or undefined after telling the client which name is not a topic. */
  private topics(client: DashboardClient, names: readonly string[]): Topic[] | undefined {
    const topics: Topic[] = [];
    for (const name of names) {
      const topic = parseTopic(name);
      if (!topic) {
        this.answer(client, {
          type: 'error', message: `Not a topic: "${name.slice(0, 80)}" (use all, jobs, station:<id>, drive:<id>:<drive> or logs:<job id>)`,
        });
        return undefined;
      }
      topics.push(topic);
    }
    return topics;
  }

  private async command(client: DashboardClient, request: DashboardCommand): Promise<void> {
    const reply = (answer: CommandAnswer) => this.answer(client, (answer.ok
      ? { type: 'reply', id: request.id, result: { ok: true } }
      : { type: 'reply', id: request.id, error: answer.error }) satisfies Reply);
    const refusal = this.options.access.changeRefusal(client.request);
    if (refusal) return reply({ ok: false, status: refusal.status, error: refusal.error });
    if (client.commandsInFlight >= MAX_COMMANDS_IN_FLIGHT) return reply({ ok: false, status: 429, error: 'Server is busy. Please try again later.' });
    client.commandsInFlight++;
    try {
      reply(await this.run(request));
    } catch (error) {
      this.options.logger.error({ err: error, command: request.command }, 'A dashboard command failed');
      reply({ ok: false, status: 500, error: 'Internal error; the hub log has the details' });
    } finally {
      client.commandsInFlight--;
    }
  }

  private run(request: DashboardCommand): Promise<CommandAnswer> {
    const { commands } = this.options;
    switch (request.command) {
      case 'cancel':
        if (request.job_id === undefined) return missing('cancel needs job_id');
        return commands.cancel(request.job_id);
      case 'select_titles':
        if (request.job_id === undefined || request.titles === undefined) return missing('select_titles needs job_id and titles');
        return commands.selectTitles(request.job_id, request.titles);
      case 'eject':
      case 'rip':
      case 'rescan':
        if (request.agent_id === undefined || request.drive_id === undefined) return missing(`${request.command} needs agent_id and drive_id`);
        return commands.drive(request.agent_id, request.drive_id, request.command, request.command === 'rip' ? request.titles : undefined);
    }
  }

  private answer(client: DashboardClient, message: DashboardMessage): void {
    client.send(JSON.stringify(message));
  }
}

function missing(error: string): Promise<CommandAnswer> {
  return Promise.resolve({ ok: false, status: 400, error });
}

/** "Unknown message type" for a JSON object whose type is not a request, so a client learns the names it may use. */
function unknownType(text: string): string | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    if (typeof type === 'string' && !REQUEST_TYPES.has(type)) {
      return `Unknown message type "${type.slice(0, 40)}" (use ${[...REQUEST_TYPES].join(', ')})`;
    }
  } catch {
    // not JSON: decodeMessage said so
  }
  return undefined;
}
