// What dashboards receive: hello, agent_update, error and the four station events, all in one union.
import { describe, expect, it } from 'vitest';
import { AgentUpdate, DASHBOARD_PROTOCOL, DashboardHello, DashboardMessage, ErrorMessage } from '../../../shared/index.js';
import {
  REMOVE, agentEvent, agentUpdate, dashboardHello, driveEvent, errorMessage, jobUpdate, titleUpdate, titlesDiscovered, welcome,
  withField,
} from './examples.js';

describe('DashboardMessage', () => {
  it.each([
    ['hello', DashboardHello, dashboardHello],
    ['agent_update', AgentUpdate, agentUpdate],
    ['error', ErrorMessage, errorMessage],
  ] as const)('accepts %s unchanged', (_name, schema, example) => {
    expect(schema.parse(example)).toEqual(example);
    expect(DashboardMessage.parse(example)).toEqual(example);
  });

  it('accepts the four station events as they are', () => {
    for (const event of [driveEvent, titlesDiscovered, titleUpdate, jobUpdate]) expect(DashboardMessage.parse(event)).toEqual(event);
  });

  it('accepts an agent_update without name, version, error and rev, offline', () => {
    const minimal = { type: 'agent_update', agent_id: 'station-1', state: 'offline' };
    expect(DashboardMessage.parse(minimal)).toEqual(minimal);
  });

  it('protocol 2: a hello must say the revision; revisions and errors have bounds', () => {
    expect(DashboardMessage.safeParse(withField(dashboardHello, 'rev', REMOVE)).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(dashboardHello, 'rev', 0)).success).toBe(true);
    for (const bad of [-1, 0.5, '3', null]) {
      expect(DashboardMessage.safeParse(withField(dashboardHello, 'rev', bad)).success, String(bad)).toBe(false);
      expect(DashboardMessage.safeParse(withField(agentUpdate, 'rev', bad)).success, String(bad)).toBe(false);
    }
    expect(DashboardMessage.safeParse(withField(agentUpdate, 'error', 'e'.repeat(501))).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(agentUpdate, 'error', null)).success).toBe(false);
    expect(DASHBOARD_PROTOCOL).toBe(2);
  });

  it('refuses null optional fields, upper-case or unknown agent states, and bad agent ids', () => {
    expect(DashboardMessage.safeParse(withField(agentUpdate, 'name', null)).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(agentUpdate, 'version', null)).success).toBe(false);
    for (const state of ['ONLINE', 'Online', 'idle', 1]) {
      expect(DashboardMessage.safeParse(withField(agentUpdate, 'state', state)).success, String(state)).toBe(false);
    }
    for (const id of ['../x', '', 'a'.repeat(65)]) {
      expect(DashboardMessage.safeParse(withField(agentUpdate, 'agent_id', id)).success, id).toBe(false);
    }
  });

  it('refuses a hello without a whole positive protocol and an error without a short message', () => {
    expect(DashboardMessage.safeParse(withField(dashboardHello, 'protocol', 0)).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(dashboardHello, 'protocol', REMOVE)).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(errorMessage, 'message', REMOVE)).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(errorMessage, 'message', 'm'.repeat(501))).success).toBe(false);
    expect(DashboardMessage.safeParse(withField(errorMessage, 'message', null)).success).toBe(false);
  });

  it('refuses link envelopes and unknown types', () => {
    expect(DashboardMessage.safeParse(welcome).success).toBe(false);
    expect(DashboardMessage.safeParse(agentEvent).success).toBe(false);
    expect(DashboardMessage.safeParse({ type: 'HELLO', server: 'hub', version: '1', protocol: 1 }).success).toBe(false);
    expect(DashboardMessage.safeParse({ ...jobUpdate, state: 'RIPPING' }).success).toBe(false);
  });
});
