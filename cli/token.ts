// The hub's shared station token: from the settings, or generated once into the data folder (readable by its owner only).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function hubToken(dataDir: string, configured: string | undefined): { token: string; file?: string } {
  if (configured) return { token: configured };
  const file = join(dataDir, 'hub-token');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing) return { token: existing, file };
  } catch {
    // not generated yet
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}
