// The agent↔hub envelope: hello, event, command_result from the agent; welcome and command from the hub.
import { describe, expect, it } from 'vitest';
import {
  AgentEvent, AgentHello, AgentMessage, CommandResult, HubCommand, HubMessage, LinkCloseCode, Welcome,
} from '../../../shared/index.js';
import {
  REMOVE, agentEvent, agentHello, cancelCommand, commandResultFailed, commandResultOk, driveEvent, ejectCommand,
  titleUpdate, titlesDiscovered, welcome, withField,
} from './examples.js';

describe('valid messages', () => {
  it.each([
    ['AgentHello', AgentHello, agentHello],
    ['AgentEvent', AgentEvent, agentEvent],
    ['CommandResult ok', CommandResult, commandResultOk],
    ['CommandResult failed', CommandResult, commandResultFailed],
  ] as const)('%s parses unchanged, alone and as an AgentMessage', (_name, schema, example) => {
    expect(schema.parse(example)).toEqual(example);
    expect(AgentMessage.parse(example)).toEqual(example);
  });

  it.each([
    ['Welcome', Welcome, welcome],
    ['HubCommand cancel', HubCommand, cancelCommand],
    ['HubCommand eject', HubCommand, ejectCommand],
  ] as const)('%s parses unchanged, alone and as a HubMessage', (_name, schema, example) => {
    expect(schema.parse(example)).toEqual(example);
    expect(HubMessage.parse(example)).toEqual(example);
  });

  it('an AgentEvent carries any of the four station events', () => {
    for (const event of [driveEvent, titlesDiscovered, titleUpdate]) {
      expect(AgentMessage.parse({ ...agentEvent, event })).toEqual({ ...agentEvent, event });
    }
  });

  it('a hello with no drives and drives without optional fields is fine', () => {
    expect(AgentHello.safeParse({ ...agentHello, drives: [] }).success).toBe(true);
    expect(AgentHello.safeParse({ ...agentHello, protocol: { min: 1, max: 3 } }).success).toBe(true);
  });
});

describe('AgentHello refusals', () => {
  it.each([REMOVE, '../x', '', 'a'.repeat(65), 'white space'])('agent id %s', (bad) => {
    expect(AgentMessage.safeParse(withField(agentHello, 'agent_id', bad)).success).toBe(false);
  });

  it('null in an optional drive field, a missing busy flag, or too many drives', () => {
    const drive = agentHello.drives[1];
    expect(AgentHello.safeParse({ ...agentHello, drives: [{ ...drive, volume_label: null }] }).success).toBe(false);
    expect(AgentHello.safeParse({ ...agentHello, drives: [{ ...drive, disc_type: null }] }).success).toBe(false);
    expect(AgentHello.safeParse({ ...agentHello, drives: [withField(drive, 'busy', REMOVE)] }).success).toBe(false);
    expect(AgentHello.safeParse({ ...agentHello, drives: [{ ...drive, disc_type: 'DVD' }] }).success).toBe(false);
    const many = Array.from({ length: 65 }, (_, i) => ({ ...drive, drive_id: `/dev/sr${i}` }));
    expect(AgentHello.safeParse({ ...agentHello, drives: many }).success).toBe(false);
    expect(AgentHello.safeParse({ ...agentHello, drives: many.slice(0, 64) }).success).toBe(true);
  });

  it('a protocol range that is not whole positive numbers', () => {
    for (const protocol of [{ min: 0, max: 1 }, { min: 1, max: 1.5 }, { min: 1 }, 1, '1', null]) {
      expect(AgentHello.safeParse({ ...agentHello, protocol }).success, JSON.stringify(protocol)).toBe(false);
    }
  });
});

describe('AgentEvent refusals', () => {
  it.each([0, -1, 1.5, '3', null])('seq %s', (seq) => {
    expect(AgentMessage.safeParse({ ...agentEvent, seq }).success).toBe(false);
  });

  it.each([-1, 1.5, '2024-01-01T00:00:00Z'])('at %s', (at) => {
    expect(AgentMessage.safeParse({ ...agentEvent, at }).success).toBe(false);
  });

  it('an event that is not a station event', () => {
    expect(AgentMessage.safeParse({ ...agentEvent, event: { type: 'reboot', agent_id: 'station-1' } }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEvent, event: { ...agentEvent.event, state: 'RIPPING' } }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEvent, event: { ...agentEvent.event, progress_percent: 101 } }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEvent, event: { ...agentEvent.event, job_id: 7.1 } }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEvent, event: { ...agentEvent.event, current_speed: 'fast' } }).success).toBe(false);
    expect(AgentMessage.safeParse(withField(agentEvent, 'event', REMOVE)).success).toBe(false);
  });
});

describe('CommandResult, Welcome and HubCommand refusals', () => {
  it('a command result with an empty or long id, a non-boolean ok, a null or long error', () => {
    expect(CommandResult.safeParse({ ...commandResultOk, id: '' }).success).toBe(false);
    expect(CommandResult.safeParse({ ...commandResultOk, id: 'i'.repeat(65) }).success).toBe(false);
    expect(CommandResult.safeParse({ ...commandResultOk, ok: 'true' }).success).toBe(false);
    expect(CommandResult.safeParse({ ...commandResultFailed, error: null }).success).toBe(false);
    expect(CommandResult.safeParse({ ...commandResultFailed, error: 'e'.repeat(501) }).success).toBe(false);
  });

  it('a welcome without a whole positive protocol', () => {
    for (const protocol of [0, 1.5, '1', null]) {
      expect(HubMessage.safeParse({ ...welcome, protocol }).success, String(protocol)).toBe(false);
    }
  });

  it('a command with an unknown name, the wrong argument, or a bad expiry', () => {
    expect(HubMessage.safeParse({ ...cancelCommand, command: { name: 'format', job_id: 7 } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, command: { name: 'CANCEL', job_id: 7 } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, command: { name: 'cancel', drive_id: '/dev/sr0' } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, command: { name: 'cancel', job_id: 7.5 } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...ejectCommand, command: { name: 'eject', drive_id: '' } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, expires_at: -1 }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, expires_at: null }).success).toBe(false);
    expect(HubMessage.safeParse({ ...cancelCommand, id: '' }).success).toBe(false);
  });

  it('each side refuses the other side\'s messages', () => {
    expect(AgentMessage.safeParse(welcome).success).toBe(false);
    expect(AgentMessage.safeParse(cancelCommand).success).toBe(false);
    expect(HubMessage.safeParse(agentHello).success).toBe(false);
    expect(HubMessage.safeParse(commandResultOk).success).toBe(false);
  });
});

describe('close codes', () => {
  it('are distinct and in the application range 4000-4999', () => {
    const codes = Object.values(LinkCloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code >= 4000 && code <= 4999).toBe(true);
  });
});
