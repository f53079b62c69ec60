// The software version, read from the package.json this build ships with.
import { readFileSync } from 'node:fs';

function findVersion(): string {
  // Source runs from cli/, the build from dist/cli/: look upward for our package.json.
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'discbridge' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export const VERSION = findVersion();
