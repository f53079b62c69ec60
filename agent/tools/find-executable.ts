// Finds a program the way execa will run it: a path with a slash is used as it is, a bare name is searched in PATH.
// Checking this up front lets the agent say "not installed" once at start-up instead of failing every job cryptically.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function findExecutable(program: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = program.includes('/') || program.includes('\\')
    ? [program]
    : path.split(delimiter).filter(Boolean).map((folder) => join(folder, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
