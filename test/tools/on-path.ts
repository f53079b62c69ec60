// Whether a program can be run by name, as tests decide what they can prove on this machine.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
