// The agent↔hub envelope: hello, event, events (replay), progress, command_result from the agent; welcome, ack and
// command from the hub (link protocol 2).
import { describe, expect, it } from 'vitest';
import {
  Ack, AgentEvent, AgentEventBatch, AgentHello, AgentMessage, AgentProgress, CommandResult, HubCommand, HubMessage, AGENT_LINK_PROTOCOL, LINK_PROTOCOL,
  LinkCloseCode, Welcome,
} from '../../../shared/index.js';
import {
  REMOVE, ack, agentEvent, agentEventBatch, agentHello, agentProgress, cancelCommand, commandResultFailed, commandResultOk, driveEvent,
  ejectCommand, jobUpdate, titleUpdate, titlesDiscovered, welcome, withField,
} from './examples.js';

describe('valid messages', () => {
  it.each([
    ['AgentHello', AgentHello, agentHello],
    ['AgentEvent', AgentEvent, agentEvent],
    ['AgentEventBatch', AgentEventBatch, agentEventBatch],
    ['AgentProgress of a title', AgentProgress, agentProgress],
    ['AgentProgress of a job', AgentProgress, { ...agentProgress, event: jobUpdate }],
    ['CommandResult ok', CommandResult, commandResultOk],
    ['CommandResult failed', CommandResult, commandResultFailed],
  ] as const)('%s parses unchanged, alone and as an AgentMessage', (_name, schema, example) => {
    expect(schema.parse(example)).toEqual(example);
    expect(AgentMessage.parse(example)).toEqual(example);
  });

  it.each([
    ['Welcome', Welcome, welcome],
    ['Ack', Ack, ack],
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

  it('a hello without last_seq, or with 0 (nothing recorded yet), is fine', () => {
    expect(AgentHello.safeParse(withField(agentHello, 'last_seq', REMOVE)).success).toBe(true);
    expect(AgentHello.safeParse(withField(agentHello, 'last_seq', 0)).success).toBe(true);
  });

  it('a welcome and an ack for a station the hub has never heard from carry 0', () => {
    expect(Welcome.safeParse({ ...welcome, last_seq: 0, last_job_id: 0 }).success).toBe(true);
    expect(HubMessage.safeParse({ ...ack, seq: 0 }).success).toBe(true);
  });

  it('a progress update may come before any event (after_seq 0)', () => {
    expect(AgentMessage.safeParse({ ...agentProgress, after_seq: 0 }).success).toBe(true);
  });

  it('the hub takes link 2 and 3; agents speak 3, the transcode farm\'s', () => {
    expect(LINK_PROTOCOL).toEqual({ min: 2, max: 3 });
    expect(AGENT_LINK_PROTOCOL).toEqual({ min: 3, max: 3 });
  });
});

describe('the transcode farm\'s messages', () => {
  const request = {
    type: 'transcode_request', agent_id: 'rip-a', job_id: 4, profile: 'h264', keep_rip: false, root: 'library',
    titles: [{ title_id: 1, source: 'rips/MOVIE/MOVIE_t01.mkv', output: 'rips/MOVIE/MOVIE_t01.h264.mkv', duration_seconds: 5400 }],
  };
  const offer = {
    kind: 'task_offer', task_id: 7, lease_id: 'a1b2', agent_id: 'rip-a', profile: 'h264', keep_rip: true, root: 'output',
    source: 'MOVIE/MOVIE_t01.mkv', output: 'MOVIE/MOVIE_t01.h264.mkv', duration_seconds: 5400, lease_seconds: 60,
  };

  it('a hand-off is an outbox event, and the hub\'s offer and verdict and the worker\'s report are link messages', () => {
    expect(AgentMessage.safeParse({ kind: 'event', seq: 9, at: 1, event: request }).success).toBe(true);
    expect(HubMessage.safeParse(offer).success).toBe(true);
    expect(HubMessage.safeParse({ kind: 'task_verdict', task_id: 7, lease_id: 'a1b2', accepted: false, reason: 'The transcode was cancelled' }).success).toBe(true);
    for (const status of ['running', 'finished', 'failed', 'declined']) {
      expect(AgentMessage.safeParse({ kind: 'task_report', task_id: 7, lease_id: 'a1b2', status, progress_percent: 42.5, current_speed: '3.1x' }).success).toBe(true);
    }
  });

  it.each(['../etc/passwd', '/etc/passwd', 'C:\\Windows\\x.mkv', 'rips/../../x.mkv', 'rips\\..\\x.mkv', ''])('refuses the path %j, which would leave the library', (path) => {
    expect(AgentMessage.safeParse({ kind: 'event', seq: 9, at: 1, event: { ...request, titles: [{ ...request.titles[0], source: path }] } }).success).toBe(false);
    expect(HubMessage.safeParse({ ...offer, output: path }).success).toBe(false);
  });

  it('refuses a report of no known status, and a task id of 0', () => {
    expect(AgentMessage.safeParse({ kind: 'task_report', task_id: 7, lease_id: 'a1b2', status: 'done' }).success).toBe(false);
    expect(AgentMessage.safeParse({ kind: 'task_report', task_id: 0, lease_id: 'a1b2', status: 'running' }).success).toBe(false);
  });
});

describe('protocol 2 refusals', () => {
  it.each([-1, 1.5, '3', null])('hello last_seq %s', (bad) => {
    expect(AgentMessage.safeParse(withField(agentHello, 'last_seq', bad)).success).toBe(false);
  });

  it('a welcome without last_seq or last_job_id, or with bad ones', () => {
    for (const key of ['last_seq', 'last_job_id']) {
      for (const bad of [REMOVE, -1, 2.5, '1', null]) {
        expect(HubMessage.safeParse(withField(welcome, key, bad)).success, `${key} ${String(bad)}`).toBe(false);
      }
    }
  });

  it.each([REMOVE, -1, 1.5, '3', null])('an ack with seq %s', (bad) => {
    expect(HubMessage.safeParse(withField(ack, 'seq', bad)).success).toBe(false);
  });

  it('a batch that is empty, over 1000 events, or holds a bad seq or event', () => {
    const one = agentEventBatch.events[0];
    expect(AgentMessage.safeParse({ ...agentEventBatch, events: [] }).success).toBe(false);
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...one, seq: i + 1 }));
    expect(AgentMessage.safeParse({ ...agentEventBatch, events: many }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEventBatch, events: many.slice(0, 1000) }).success).toBe(true);
    for (const seq of [0, -1, 1.5, null]) {
      expect(AgentMessage.safeParse({ ...agentEventBatch, events: [{ ...one, seq }] }).success, String(seq)).toBe(false);
    }
    expect(AgentMessage.safeParse({ ...agentEventBatch, events: [{ ...one, event: { ...jobUpdate, state: 'RIPPING' } }] }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentEventBatch, events: [withField(one, 'at', REMOVE)] }).success).toBe(false);
  });

  it('progress of anything but a job or title update, or without after_seq', () => {
    expect(AgentMessage.safeParse({ ...agentProgress, event: driveEvent }).success).toBe(false);
    expect(AgentMessage.safeParse({ ...agentProgress, event: titlesDiscovered }).success).toBe(false);
    for (const bad of [REMOVE, -1, 1.5, '2', null]) {
      expect(AgentMessage.safeParse(withField(agentProgress, 'after_seq', bad)).success, String(bad)).toBe(false);
    }
    expect(AgentMessage.safeParse({ ...agentProgress, event: { ...titleUpdate, match_progress: 101 } }).success).toBe(false);
    // A progress update has no seq of its own.
    expect(AgentProgress.safeParse({ ...agentProgress, seq: 14 })).toMatchObject({ success: true, data: agentProgress });
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
    expect(AgentMessage.safeParse(ack).success).toBe(false);
    expect(HubMessage.safeParse(agentHello).success).toBe(false);
    expect(HubMessage.safeParse(commandResultOk).success).toBe(false);
    expect(HubMessage.safeParse(agentEventBatch).success).toBe(false);
    expect(HubMessage.safeParse(agentProgress).success).toBe(false);
  });
});

describe('close codes', () => {
  it('are distinct and in the application range 4000-4999', () => {
    const codes = Object.values(LinkCloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code >= 4000 && code <= 4999).toBe(true);
  });
});
