// decodeMessage: never throws, and a bad frame becomes one short sentence naming the field at fault.
import { describe, expect, it } from 'vitest';
import { AgentMessage, DashboardMessage, HubMessage, decodeMessage } from '../../../shared/index.js';
import { agentEvent, agentHello, jobUpdate } from './examples.js';

function expectShortError(result: ReturnType<typeof decodeMessage>): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.length).toBeGreaterThan(0);
  expect(result.error.length).toBeLessThan(200);
  expect(result.error).not.toMatch(/\n|\bat .*:\d+:\d+|SyntaxError|ZodError|Unexpected token|position \d+/);
  return result.error;
}

describe('decodeMessage', () => {
  it('returns valid messages as their values', () => {
    expect(decodeMessage(AgentMessage, JSON.stringify(agentHello))).toEqual({ ok: true, value: agentHello });
    expect(decodeMessage(AgentMessage, JSON.stringify(agentEvent))).toEqual({ ok: true, value: agentEvent });
    expect(decodeMessage(DashboardMessage, JSON.stringify(jobUpdate))).toEqual({ ok: true, value: jobUpdate });
  });

  it.each(['', '{', '{"kind":', 'undefined', "{'kind':'hello'}", 'NaN', '\u0000', '{"kind":"hello"}}'])('refuses bad JSON %j', (raw) => {
    expect(expectShortError(decodeMessage(AgentMessage, raw))).toMatch(/JSON/);
  });

  it('refuses 10,000 nested arrays, as the whole frame and inside a field', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    expectShortError(decodeMessage(AgentMessage, deep));
    const inField = `{"kind":"event","seq":1,"at":1,"event":${deep}}`;
    expect(expectShortError(decodeMessage(AgentMessage, inField))).toContain('event');
    const deepObjects = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    expectShortError(decodeMessage(AgentMessage, deepObjects));
    const unknownDeepField = JSON.stringify(agentHello).replace(/}$/, `,"extra":${deep}}`);
    expect(() => decodeMessage(AgentMessage, unknownDeepField)).not.toThrow();
  });

  it('names the path of a field with the wrong type', () => {
    const wrongSeq = JSON.stringify({ ...agentEvent, seq: '12' });
    expect(expectShortError(decodeMessage(AgentMessage, wrongSeq))).toContain('seq');
    const wrongState = JSON.stringify({ ...agentEvent, event: { ...jobUpdate, state: 'RIPPING' } });
    expect(expectShortError(decodeMessage(AgentMessage, wrongState))).toContain('event.state');
    const wrongDrive = JSON.stringify({ ...agentHello, drives: [{ drive_id: '/dev/sr0', has_disc: 'yes', busy: false }] });
    expect(expectShortError(decodeMessage(AgentMessage, wrongDrive))).toContain('drives.0.has_disc');
    const nullOptional = JSON.stringify({ ...jobUpdate, progress_percent: null });
    expect(expectShortError(decodeMessage(DashboardMessage, nullOptional))).toContain('progress_percent');
    const badKind = JSON.stringify({ kind: 'hola' });
    expect(expectShortError(decodeMessage(AgentMessage, badKind))).toContain('kind');
  });

  it('refuses JSON values that are not objects', () => {
    for (const raw of ['null', '42', '"hello"', 'true', '[]', '[{"kind":"hello"}]']) expectShortError(decodeMessage(AgentMessage, raw));
  });

  it('never throws, whatever it is given', () => {
    const inputs = [
      '{"__proto__":{"kind":"welcome"}}', '{"constructor":{"prototype":{}}}', '"\\ud800"', '1e999', '-0',
      `{"kind":"hello","agent_id":"${'a'.repeat(100_000)}"}`, JSON.stringify({ kind: 'command', id: 'x', expires_at: 1, command: null }),
      '\uFEFF{}', '{"kind":"event","seq":1,"at":1,"event":{"type":"job_update","titles":[' + '{},'.repeat(5000) + '{}]}}',
    ];
    for (const raw of inputs) {
      for (const schema of [AgentMessage, HubMessage, DashboardMessage]) {
        let result: ReturnType<typeof decodeMessage> | undefined;
        expect(() => { result = decodeMessage(schema, raw); }).not.toThrow();
        if (result && !result.ok) expectShortError(result);
      }
    }
  });
});
