// What the hub sends to dashboard sockets at /ws: a hello, then station events and agent status as they happen.
import { z } from 'zod';
import { AgentId, HumanMessage, Label, Revision } from './fields.js';
import { StationEvent, DriveEvent, JobLog, TitlesDiscovered, TitleUpdate, JobUpdate } from './events.js';
import { AgentState } from './states.js';

export const DashboardHello = z.object({
  type: z.literal('hello'),
  server: Label,
  version: z.string().max(64),
  protocol: z.number().int().positive(),
  /** The hub's revision now: the next state change a client sees has rev + 1. */
  rev: Revision,
});
export type DashboardHello = z.infer<typeof DashboardHello>;

export const AgentUpdate = z.object({
  type: z.literal('agent_update'),
  agent_id: AgentId,
  state: AgentState,
  name: Label.optional(),
  version: z.string().max(64).optional(),
  /** Why the station is not connected, when it was refused (wrong protocol version). */
  error: HumanMessage.optional(),
  rev: Revision.optional(),
});
export type AgentUpdate = z.infer<typeof AgentUpdate>;

export const ErrorMessage = z.object({
  type: z.literal('error'),
  message: HumanMessage,
});
export type ErrorMessage = z.infer<typeof ErrorMessage>;

export const DashboardMessage = z.discriminatedUnion('type', [
  DashboardHello, AgentUpdate, ErrorMessage, DriveEvent, TitlesDiscovered, TitleUpdate, JobUpdate, JobLog,
]);
export type DashboardMessage = z.infer<typeof DashboardMessage>;
export type { StationEvent };

export const DASHBOARD_PATH = '/ws';
