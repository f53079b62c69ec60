// The agent↔hub link: station events and commands wrapped in one small envelope, told apart by `kind`.
// The agent speaks first with `hello`; the hub answers `welcome` or closes with a LinkCloseCode and a reason.
import { z } from 'zod';
import { AgentId, DriveId, HumanMessage, JobId, Label } from './fields.js';
import { StationEvent } from './events.js';
import { DiscType } from './states.js';

export const ProtocolRange = z.object({ min: z.number().int().positive(), max: z.number().int().positive() });

export const DriveSnapshot = z.object({
  drive_id: DriveId,
  has_disc: z.boolean(),
  volume_label: Label.optional(),
  disc_type: DiscType.optional(),
  busy: z.boolean(),
});
export type DriveSnapshot = z.infer<typeof DriveSnapshot>;

export const AgentHello = z.object({
  kind: z.literal('hello'),
  agent_id: AgentId,
  name: Label,
  version: z.string().max(64),
  protocol: ProtocolRange,
  drives: z.array(DriveSnapshot).max(64),
});
export type AgentHello = z.infer<typeof AgentHello>;

/** A station event with the agent's sequence number and the agent's clock at the time it happened. */
export const AgentEvent = z.object({
  kind: z.literal('event'),
  seq: z.number().int().positive(),
  at: z.number().int().nonnegative(),
  event: StationEvent,
});
export type AgentEvent = z.infer<typeof AgentEvent>;

export const CommandResult = z.object({
  kind: z.literal('command_result'),
  id: z.string().min(1).max(64),
  ok: z.boolean(),
  error: HumanMessage.optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

export const AgentMessage = z.discriminatedUnion('kind', [AgentHello, AgentEvent, CommandResult]);
export type AgentMessage = z.infer<typeof AgentMessage>;

export const Welcome = z.object({
  kind: z.literal('welcome'),
  server: Label,
  version: z.string().max(64),
  protocol: z.number().int().positive(),
});
export type Welcome = z.infer<typeof Welcome>;

export const StationCommand = z.discriminatedUnion('name', [
  z.object({ name: z.literal('cancel'), job_id: JobId }),
  z.object({ name: z.literal('eject'), drive_id: DriveId }),
]);
export type StationCommand = z.infer<typeof StationCommand>;

/** A command from the hub. It runs at most once and never after `expires_at` (epoch ms). */
export const HubCommand = z.object({
  kind: z.literal('command'),
  id: z.string().min(1).max(64),
  expires_at: z.number().int().nonnegative(),
  command: StationCommand,
});
export type HubCommand = z.infer<typeof HubCommand>;

export const HubMessage = z.discriminatedUnion('kind', [Welcome, HubCommand]);
export type HubMessage = z.infer<typeof HubMessage>;

/** WebSocket close codes of the link (4000–4999 is the range RFC 6455 leaves to applications). */
export const LinkCloseCode = {
  ProtocolMismatch: 4001,
  BadHello: 4002,
  Replaced: 4003,
  BadMessage: 4004,
} as const;

export const LINK_PATH = '/agent';
