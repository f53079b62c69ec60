// Finds a program the way execa will run it: a path with a slash is used as it is, a bare name is searched in PATH.
// Checking this up front lets the agent say "not installed" once at start-up instead of failing every job cryptically.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { isScript } from './run-tool.js';

export async function findExecutable(program: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  // Windows finds "ffmpeg" as ffmpeg.exe, as CreateProcess does.
  const names = process.platform === 'win32' && !/\.[a-z0-9]+$/i.test(program) ? [program, `${program}.exe`] : [program];
  const candidates = program.includes('/') || program.includes('\\')
    ? names
    : path.split(delimiter).filter(Boolean).flatMap((folder) => names.map((name) => join(folder, name)));
  for (const candidate of candidates) {
    try {
      // A JavaScript tool runs through Node: it need only be readable.
      await access(candidate, isScript(candidate) ? constants.R_OK : constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What people read when a tool is not there: which one, where it was looked for, and how to install it. */
export function notFound(tool: string, binary: string, installHint: string): string {
  return `${tool} was not found at "${binary}": ${installHint}`;
}

/** A backend's checkInstalled: undefined when `binary` can run, else the sentence saying it cannot. */
export async function missingTool(tool: string, binary: string, installHint: string): Promise<string | undefined> {
  return (await findExecutable(binary)) ? undefined : notFound(tool, binary, installHint);
}
