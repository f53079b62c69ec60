// Bundles the discbridge command with esbuild into one folder of ES modules: discbridge.mjs and the chunks it loads
// (the hub's code in a chunk of its own, which an agent never loads). The native modules stay outside, in
// node_modules beside it: koffi and better-sqlite3 load binaries that no bundle can hold. Used by the Windows zip
// (scripts/package-windows.mjs) and the container images (scripts/images/Containerfile).
// Usage as a command: node scripts/bundle-cli.mjs OUTDIR [NODE_TARGET]
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

export const NATIVE_MODULES = ['koffi', 'better-sqlite3'];

/** Writes OUTDIR/discbridge.mjs and its chunks, for Node `target` (node20, node22). */
export async function bundleCli(outdir, target) {
  await build({
    entryPoints: { discbridge: join(root, 'cli/discbridge.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target,
    outExtension: { '.js': '.mjs' },
    external: NATIVE_MODULES,
    // Some dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
    legalComments: 'none',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [outdir, target = 'node20'] = process.argv.slice(2);
  if (!outdir) {
    process.stderr.write('Usage: node scripts/bundle-cli.mjs OUTDIR [NODE_TARGET]\n');
    process.exit(2);
  }
  await bundleCli(outdir, target);
}
