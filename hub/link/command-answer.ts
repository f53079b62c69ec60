// Sending a command to a station and saying how it went in one shape, for every door a command comes through (REST,
// MQTT): the station's own refusal (409), an offline station (503), no answer in time (504).
import type { StationCommand } from '../../shared/index.js';
import type { CommandAnswer } from '../events/consumer.js';
import { AgentUnavailableError, CommandTimeoutError, type AgentServer } from './agent-server.js';

export async function answerCommand(agents: AgentServer, agentId: string, command: StationCommand, timeoutMs: number): Promise<CommandAnswer> {
  try {
    const result = await agents.sendCommand(agentId, command, timeoutMs);
    return result.ok ? { ok: true } : { ok: false, status: 409, error: result.error ?? 'The station refused the command' };
  } catch (error) {
    if (error instanceof AgentUnavailableError) return { ok: false, status: 503, error: error.message };
    if (error instanceof CommandTimeoutError) return { ok: false, status: 504, error: error.message };
    throw error;
  }
}
