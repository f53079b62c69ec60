#!/usr/bin/env node
// Builds the dashboard page the hub serves: bundles hub/web/src/main.ts (with the shared zod schemas and
// reconnecting-websocket) into dist/hub/web/app.js (ESM, minified, with a source map) and copies index.html and
// styles.css beside it. Type-checking is tsc's job (hub/web/tsconfig.json); esbuild only strips types.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = `${root}hub/web/`;
const out = `${root}dist/hub/web/`;

/**
 * zod re-exports every one of its ~50 message translations as `z.locales`, which keeps them all in the bundle
 * (about 250 KiB minified). The page uses none of them (English messages are built in, set by zod itself from
 * locales/en.js), so that index is replaced by an empty module.
 */
const noZodLocales = {
  name: 'no-zod-locales',
  setup(builder) {
    builder.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      (args.importer.includes(`${'node_modules'}/zod/`) ? { path: 'zod-locales', namespace: 'empty' } : undefined));
    builder.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: [`${source}src/main.ts`],
  outfile: `${out}app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  plugins: [noZodLocales],
});
await Promise.all(['index.html', 'styles.css'].map((file) => copyFile(`${source}${file}`, `${out}${file}`)));
const app = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('app.js'));
console.error(`build-web: dist/hub/web/app.js, ${Math.round((app?.[1].bytes ?? 0) / 1024)} KiB`);
