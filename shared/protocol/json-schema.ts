// The protocol published as JSON Schema (draft 2020-12), made from the zod schemas themselves so it cannot drift:
// checked in as docs/protocol.schema.json (npm run schema writes it; a test fails when it is out of date) and served
// at GET /api/schema, for clients written in other languages.
import { z } from 'zod';
import { AgentMessage, HubMessage } from './link.js';
import { DashboardMessage, DashboardRequest, SnapshotFields } from './dashboard.js';
import { AgentRecord, DriveRecord, JobDetail, JobPage, JobRecord, TranscodeTaskPage, TranscodeTaskRecord } from './records.js';
import { DASHBOARD_PROTOCOLS, LINK_PROTOCOL } from './version.js';

const PUBLISHED = {
  DashboardMessage, DashboardRequest, AgentMessage, HubMessage, SnapshotFields, AgentRecord, DriveRecord, JobRecord, JobDetail, JobPage,
  TranscodeTaskRecord, TranscodeTaskPage,
} satisfies Record<string, z.ZodType>;

export function protocolJsonSchema(): Record<string, unknown> {
  const defs = Object.fromEntries(Object.entries(PUBLISHED).map(([name, schema]) => {
    const { $schema: _draft, ...definition } = z.toJSONSchema(schema, { unrepresentable: 'any' });
    return [name, definition];
  }));
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'discbridge protocol',
    description: 'Dashboard socket /ws (hub to client: DashboardMessage; client to hub, protocol 3: DashboardRequest), '
      + 'agent link /agent (AgentMessage, HubMessage), and the REST records.',
    'x-dashboard-protocols': [...DASHBOARD_PROTOCOLS],
    'x-link-protocol': { ...LINK_PROTOCOL },
    $defs: defs,
  };
}
