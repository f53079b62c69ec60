// The published JSON Schema: the checked-in docs/protocol.schema.json is what the zod schemas make now, and the hub
// serves the same at /api/schema.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { protocolJsonSchema } from '../../../shared/protocol/json-schema.js';
import { HubFixture, getJson } from '../../hub/helpers.js';

const CHECKED_IN = new URL('../../../docs/protocol.schema.json', import.meta.url);

describe('the protocol as JSON Schema', () => {
  const fx = new HubFixture();
  beforeEach(async () => { await fx.start(); });
  afterEach(async () => { await fx.stop(); });

  it('docs/protocol.schema.json is up to date (npm run schema writes it)', () => {
    expect(JSON.parse(readFileSync(CHECKED_IN, 'utf8'))).toEqual(protocolJsonSchema());
  });

  it('describes every message both sockets carry, protocol 3 requests included', () => {
    const schema = protocolJsonSchema() as { $defs: Record<string, { oneOf?: { properties: { type?: { const?: string } } }[] }> };
    const dashboardTypes = schema.$defs.DashboardMessage?.oneOf?.map((option) => option.properties.type?.const);
    expect(dashboardTypes).toEqual(expect.arrayContaining(['hello', 'job_update', 'title_update', 'subscribed', 'reply', 'snapshot', 'pong']));
    expect(schema.$defs.DashboardRequest?.oneOf?.map((option) => option.properties.type?.const)).toEqual(['subscribe', 'unsubscribe', 'ping', 'snapshot', 'command']);
  });

  it('is served at /api/schema without signing in', async () => {
    const answer = await getJson(`${fx.hub.base}/api/schema`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(protocolJsonSchema());
  });
});
