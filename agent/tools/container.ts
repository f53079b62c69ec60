// Whether the agent runs inside a container: its advice then names compose settings and mounts instead of
// packages and groups on the host.
import { existsSync } from 'node:fs';

/** Docker writes /.dockerenv, podman /run/.containerenv. */
export function inContainer(): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv');
}
