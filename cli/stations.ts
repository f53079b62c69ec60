// The hub's administration commands, run on the hub machine against its database: stations and their tokens,
// and the dashboard password. The running hub notices changes within a second (a revoked station is cut off).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccessControl } from '../hub/auth/access.js';
import { passwordProblem } from '../hub/auth/passwords.js';
import { StationRegistry } from '../hub/auth/station-registry.js';
import { openDatabase, type Db } from '../hub/store/database.js';
import { AgentId } from '../shared/index.js';

function withDatabase<T>(dataDir: string, work: (db: Db) => T): T {
  const db = openDatabase(join(resolve(dataDir), 'hub.sqlite'));
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** `discbridge station add|revoke|list …`; returns the exit code. */
export function stationCommand(args: string[], dataDir: string): number {
  const [action, id, ...rest] = args;
  const nameAt = rest.indexOf('--name');
  const name = nameAt >= 0 ? rest[nameAt + 1] : undefined;
  if (action === 'list') {
    const stations = withDatabase(dataDir, (db) => new StationRegistry(db).list());
    if (stations.length === 0) process.stdout.write('No stations yet: add one with "discbridge station add ID"\n');
    for (const s of stations) process.stdout.write(`${s.agent_id}\t${s.name}\tcreated ${s.created_at}${s.revoked_at ? `\trevoked ${s.revoked_at}` : ''}\n`);
    return 0;
  }
  if ((action !== 'add' && action !== 'revoke') || !id) {
    process.stderr.write('Usage: discbridge station add ID [--name NAME] | discbridge station revoke ID | discbridge station list\n');
    return 2;
  }
  if (!AgentId.safeParse(id).success) {
    process.stderr.write(`"${id}" is not a station id: use letters, digits, dot, dash and underscore (at most 64)\n`);
    return 2;
  }
  if (action === 'add') {
    const token = withDatabase(dataDir, (db) => new StationRegistry(db).add(id, name ?? id));
    process.stdout.write(`${token}\n`);
    process.stderr.write(`Station ${id} added. Give it this token as DISCBRIDGE_TOKEN; it is shown only once.\n`);
    return 0;
  }
  const revoked = withDatabase(dataDir, (db) => new StationRegistry(db).revoke(id));
  process.stderr.write(revoked ? `Station ${id} revoked; a running hub disconnects it within a second.\n` : `No active station ${id}.\n`);
  return revoked ? 0 : 1;
}

/** `discbridge password`: reads the new dashboard password from standard input. */
export async function passwordCommand(dataDir: string): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  const problem = passwordProblem(password);
  if (problem) {
    process.stderr.write(`${problem}. Usage: discbridge password < file, or: echo 'new password' | discbridge password\n`);
    return 2;
  }
  const db = openDatabase(join(resolve(dataDir), 'hub.sqlite'));
  try {
    await new AccessControl(db, { viewRequiresLogin: false, secure: false }).setPassword(password);
  } finally {
    db.close();
  }
  process.stderr.write('Dashboard password set. Changes from the dashboard now need sign-in.\n');
  return 0;
}

/**
 * The token of the agent that `discbridge start` runs beside the hub: created once as a station of its own,
 * kept in the data folder, readable by its owner only.
 */
export function localStationToken(dataDir: string, agentId: string, name: string): string {
  const file = join(resolve(dataDir), 'local-station-token');
  return withDatabase(dataDir, (db) => {
    const registry = new StationRegistry(db);
    try {
      const stored = readFileSync(file, 'utf8').trim();
      if (registry.verify(stored)?.agentId === agentId) return stored;
    } catch {
      // not created yet
    }
    const token = registry.add(agentId, name);
    mkdirSync(resolve(dataDir), { recursive: true });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return token;
  });
}
