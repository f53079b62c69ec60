import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SETTINGS, SettingError, loadSettings, localHubOrigin, settingsHelp } from '../../cli/settings.js';
import { TOOL_OWNER_VARIABLE } from '../../agent/jobs/recovery.js';

const dir = mkdtempSync(join(tmpdir(), 'discbridge-settings-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
/** Writes a config file and returns its path. */
function configFile(content: unknown): string {
  const path = join(dir, `config-${++fileCount}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** An environment with an empty config file, so the test never reads ./discbridge.json. */
function env(vars: Record<string, string> = {}, config: unknown = {}): NodeJS.ProcessEnv {
  return { DISCBRIDGE_CONFIG: configFile(config), ...vars };
}

function settingError(run: () => unknown): SettingError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingError);
    return error as SettingError;
  }
  throw new Error('expected a SettingError');
}

const DEFAULTS = {
  port: 8000,
  host: '0.0.0.0',
  dataDir: './data',
  hubUrl: 'ws://localhost:8000',
  token: undefined,
  agentName: hostname(),
  drives: ['/dev/sr*'],
  outputDir: './rips',
  minTitleSeconds: 120,
  pollMs: 500,
  debounceMs: 1000,
  ripper: 'handbrake',
  handbrakeCli: 'HandBrakeCLI',
  handbrakePreset: 'Fast 1080p30',
  makemkvcon: 'makemkvcon',
  ffmpeg: 'ffmpeg',
  heartbeatMs: 5000,
  missedHeartbeats: 2,
  keepPartial: false,
  logLevel: 'info',
};

describe('loadSettings defaults', () => {
  it('uses every default with an empty config file', () => {
    const e = env();
    const settings = loadSettings(e);
    expect(settings).toMatchObject(DEFAULTS);
    expect(settings.config).toBe(e.DISCBRIDGE_CONFIG);
    expect(settings.agentId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(Object.keys(settings).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it.skipIf(existsSync('./discbridge.json'))('uses every default with an empty environment and no ./discbridge.json', () => {
    const settings = loadSettings({});
    expect(settings).toMatchObject(DEFAULTS);
    expect(settings.config).toBeUndefined();
  });

  it('ignores variables that are set but empty', () => {
    expect(loadSettings(env({ DISCBRIDGE_PORT: '', DISCBRIDGE_DRIVES: '' }))).toMatchObject({ port: 8000, drives: ['/dev/sr*'] });
  });

  it('derives a valid agent id from a host name', () => {
    expect(loadSettings(env()).agentId).toBe(hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'station');
  });
});

describe('loadSettings from the environment and the config file', () => {
  it('reads every kind of value from the environment', () => {
    const settings = loadSettings(
      env({
        DISCBRIDGE_PORT: ' 9000 ',
        DISCBRIDGE_HUB_URL: 'wss://hub.example:8443/agent',
        DISCBRIDGE_DRIVES: '/dev/sr0, /dev/sr1,,',
        DISCBRIDGE_RIPPER: 'handbrake',
        DISCBRIDGE_MIN_TITLE_SECONDS: '0',
        DISCBRIDGE_AGENT_ID: 'station-1.a_b',
        DISCBRIDGE_LOG_LEVEL: 'debug',
        DISCBRIDGE_TOKEN: '  secret  ',
        DISCBRIDGE_MISSED_HEARTBEATS: '5',
        DISCBRIDGE_KEEP_PARTIAL: 'true',
      }),
    );
    expect(settings).toMatchObject({
      port: 9000,
      hubUrl: 'wss://hub.example:8443/agent',
      drives: ['/dev/sr0', '/dev/sr1'],
      ripper: 'handbrake',
      minTitleSeconds: 0,
      agentId: 'station-1.a_b',
      logLevel: 'debug',
      token: 'secret',
      missedHeartbeats: 5,
      keepPartial: true,
    });
  });

  it('reads the config file by key, with JSON numbers and arrays', () => {
    const settings = loadSettings(env({}, { port: 8100, drives: ['/dev/sr2'], hub_url: 'http://hub:8000', min_title_seconds: '30', log_level: 'warn' }));
    expect(settings).toMatchObject({ port: 8100, drives: ['/dev/sr2'], hubUrl: 'http://hub:8000', minTitleSeconds: 30, logLevel: 'warn' });
  });

  it('lets the environment win over the config file', () => {
    const settings = loadSettings(env({ DISCBRIDGE_PORT: '9001', DISCBRIDGE_OUTPUT_DIR: '/srv/rips' }, { port: 8100, output_dir: '/mnt/x', host: '127.0.0.1' }));
    expect(settings).toMatchObject({ port: 9001, outputDir: '/srv/rips', host: '127.0.0.1' });
  });

  it('falls back to the file when the variable is empty', () => {
    expect(loadSettings(env({ DISCBRIDGE_PORT: '' }, { port: 8100 })).port).toBe(8100);
  });

  it('accepts the limits of a range', () => {
    expect(loadSettings(env({ DISCBRIDGE_PORT: '65535' })).port).toBe(65535);
    expect(loadSettings(env({ DISCBRIDGE_PORT: '0' })).port).toBe(0);
    expect(loadSettings(env({ DISCBRIDGE_POLL_MS: '50' })).pollMs).toBe(50);
  });
});

describe('loadSettings rejects bad values with a SettingError naming the variable and what it accepts', () => {
  it.each([
    ['DISCBRIDGE_PORT', 'abc', /whole number from 0 to 65535/],
    ['DISCBRIDGE_PORT', '70000', /whole number from 0 to 65535/],
    ['DISCBRIDGE_PORT', '-1', /whole number from 0 to 65535/],
    ['DISCBRIDGE_PORT', '80.5', /whole number from 0 to 65535/],
    ['DISCBRIDGE_PORT', '1e3', /whole number from 0 to 65535/],
    ['DISCBRIDGE_PORT', '99999999999999999999', /whole number from 0 to 65535/],
    ['DISCBRIDGE_DRIVES', 'relative/path', /absolute device path such as \/dev\/sr0/],
    ['DISCBRIDGE_DRIVES', 'D:', /"D:" is not an absolute device path.*drive letters are for Windows/],
    ['DISCBRIDGE_DRIVES', '*', /\* \(every CD-ROM drive\) is for Windows/],
    ['DISCBRIDGE_DRIVES', '/dev/sr0,sr1', /"sr1".*absolute device path/],
    ['DISCBRIDGE_DRIVES', ' , ', /comma-separated device paths/],
    ['DISCBRIDGE_RIPPER', 'vlc', /one of handbrake/],
    ['DISCBRIDGE_MIN_TITLE_SECONDS', '-1', /whole number from 0 to 86400/],
    ['DISCBRIDGE_HUB_URL', 'ftp://x', /ws:\/\/, wss:\/\/, http:\/\/ or https:\/\//],
    ['DISCBRIDGE_HUB_URL', 'not a url', /URL such as ws:\/\//],
    ['DISCBRIDGE_AGENT_ID', 'my station!', /letters, digits, dot, dash or underscore/],
    ['DISCBRIDGE_AGENT_ID', 'x'.repeat(65), /at most 64/],
    ['DISCBRIDGE_LOG_LEVEL', 'verbose', /one of fatal, error, warn, info, debug, trace/],
    ['DISCBRIDGE_POLL_MS', '10', /whole number from 50 to 60000/],
    ['DISCBRIDGE_DEBOUNCE_MS', '60001', /whole number from 0 to 60000/],
    ['DISCBRIDGE_HEARTBEAT_MS', '100', /whole number from 200 to 300000/],
    ['DISCBRIDGE_MISSED_HEARTBEATS', '0', /whole number from 1 to 100/],
    ['DISCBRIDGE_MISSED_HEARTBEATS', '101', /whole number from 1 to 100/],
    ['DISCBRIDGE_TOKEN', 't'.repeat(513), /at most 512 characters/],
    ['DISCBRIDGE_HOST', '   ', /non-empty text/],
  ])('%s=%j', (name, value, accepts) => {
    const error = settingError(() => loadSettings(env({ [name]: value })));
    expect(error.message).toContain(name);
    expect(error.message).toMatch(accepts);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('names the key and the file for a bad value in the config file', () => {
    const path = configFile({ port: 'abc' });
    const error = settingError(() => loadSettings({ DISCBRIDGE_CONFIG: path }));
    expect(error.message).toContain('"port"');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/whole number from 0 to 65535/);
  });

  it('rejects a wrong JSON type in the config file', () => {
    expect(() => loadSettings({ DISCBRIDGE_CONFIG: configFile({ port: true }) })).toThrow(SettingError);
    expect(() => loadSettings({ DISCBRIDGE_CONFIG: configFile({ drives: 42 }) })).toThrow(/"drives"/);
    expect(() => loadSettings({ DISCBRIDGE_CONFIG: configFile({ port: 80.5 }) })).toThrow(/whole number/);
    expect(() => loadSettings({ DISCBRIDGE_CONFIG: configFile({ host: { a: 1 } }) })).toThrow(/"host"/);
  });

  it('does not complain about a bad file value that the environment overrides', () => {
    expect(loadSettings(env({ DISCBRIDGE_PORT: '9000' }, { port: 'abc' })).port).toBe(9000);
  });
});

describe('config file errors', () => {
  it('rejects unknown keys, naming them', () => {
    const path = configFile({ port: 9000, prot: 1, DISCBRIDGE_HOST: 'x' });
    const error = settingError(() => loadSettings({ DISCBRIDGE_CONFIG: path }));
    expect(error.message).toMatch(/Unknown setting/);
    expect(error.message).toContain('prot');
    expect(error.message).toContain('DISCBRIDGE_HOST');
    expect(error.message).not.toMatch(/\bport\b,/);
  });

  it.each([
    ['not JSON', '{ port: 9000 '],
    ['an array', '[1, 2]'],
    ['null', 'null'],
    ['a string', '"x"'],
  ])('rejects a file that is %s', (_what, content) => {
    const path = configFile(content);
    const error = settingError(() => loadSettings({ DISCBRIDGE_CONFIG: path }));
    expect(error.message).toContain(path);
  });

  it('rejects a DISCBRIDGE_CONFIG that cannot be read', () => {
    const path = join(dir, 'missing.json');
    const error = settingError(() => loadSettings({ DISCBRIDGE_CONFIG: path }));
    expect(error.message).toContain('DISCBRIDGE_CONFIG');
    expect(error.message).toContain(path);
  });
});

describe('localHubOrigin: where this machine\'s own agent and health check reach its hub', () => {
  const origin = (vars: Record<string, string>, scheme: 'http' | 'ws') => localHubOrigin(loadSettings(env(vars)), scheme);

  it('is loopback for a hub on every address, and the one address a hub is bound to', () => {
    expect(origin({ DISCBRIDGE_PORT: '8123' }, 'ws')).toBe('ws://127.0.0.1:8123');
    expect(origin({ DISCBRIDGE_HOST: '::' }, 'http')).toBe('http://127.0.0.1:8000');
    expect(origin({ DISCBRIDGE_HOST: '192.168.1.20' }, 'http')).toBe('http://192.168.1.20:8000');
    expect(origin({ DISCBRIDGE_HOST: 'fd00::20' }, 'ws')).toBe('ws://[fd00::20]:8000');
  });

  it('uses TLS exactly when the hub serves it: a certificate and its key', () => {
    expect(origin({ DISCBRIDGE_TLS_CERT: '/etc/hub.pem', DISCBRIDGE_TLS_KEY: '/etc/hub.key' }, 'ws')).toBe('wss://127.0.0.1:8000');
    expect(origin({ DISCBRIDGE_TLS_CERT: '/etc/hub.pem', DISCBRIDGE_TLS_KEY: '/etc/hub.key' }, 'http')).toBe('https://127.0.0.1:8000');
    expect(origin({ DISCBRIDGE_TLS_CERT: '/etc/hub.pem' }, 'ws')).toBe('ws://127.0.0.1:8000');
  });
});

describe('settingsHelp', () => {
  const help = settingsHelp();

  it('lists every variable of SETTINGS, one line each, with its default and file key', () => {
    const lines = help.split('\n');
    expect(lines).toHaveLength(Object.keys(SETTINGS).length);
    for (const setting of Object.values(SETTINGS)) {
      const line = lines.find((l) => l.trimStart().startsWith(`${setting.env} `));
      expect(line, setting.env).toBeDefined();
      expect(line).toContain(setting.describe);
      expect(line).toContain(`default ${setting.defaultText}`);
      expect(line).toContain(`file key "${setting.key}"`);
      for (const role of setting.roles) expect(line).toContain(role);
    }
  });

  it('uses DISCBRIDGE_ names that are all different, and different file keys', () => {
    const envs = Object.values(SETTINGS).map((s) => s.env);
    const keys = Object.values(SETTINGS).map((s) => s.key);
    for (const name of envs) expect(name).toMatch(/^DISCBRIDGE_[A-Z0-9_]+$/);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('covers every DISCBRIDGE_* variable named in the source code', () => {
    const known = new Set(Object.values(SETTINGS).map((s) => s.env));
    const used = new Set<string>();
    for (const folder of ['agent', 'hub', 'cli', 'shared']) {
      const root = new URL(`../../${folder}/`, import.meta.url);
      for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts')) continue;
        for (const match of readFileSync(new URL(file, root), 'utf8').matchAll(/DISCBRIDGE_[A-Z0-9_]+/g)) used.add(match[0]);
      }
    }
    expect(used.size).toBeGreaterThan(0);
    // The tool-owner marker is not a setting: the agent sets it for the tools it starts (agent/jobs/recovery.ts).
    expect([...used].filter((name) => !known.has(name) && name !== TOOL_OWNER_VARIABLE)).toEqual([]);
    for (const name of known) expect(help).toContain(name);
  });
});
