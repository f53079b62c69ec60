// Every setting discbridge reads, in one table: its environment variable (a public contract), its key in the
// config file, its default, what it accepts and what it is for. --help and the README are written from this table.
// The environment wins over the config file, which wins over the default.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { onWindows, programDataFolder, programFiles, stationLogFile, stationPath, toolDefault } from './platform.js';
import { DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENTS, isNotifyEvent, type NotifyEvent } from '../hub/consumers/notifications/events.js';

export type Role = 'hub' | 'agent';

interface Setting<T> {
  env: string;
  key: string;
  roles: readonly Role[];
  describe: string;
  defaultText: string;
  default: () => T | undefined;
  parse: (raw: unknown) => T;
}

export class SettingError extends Error {}

const text = (max = 4096) => (raw: unknown): string => {
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error('expected text');
  const value = String(raw).trim();
  if (value === '' || value.length > max) throw new Error(`expected non-empty text of at most ${max} characters`);
  return value;
};

const int = (min: number, max: number) => (raw: unknown): number => {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`expected a whole number from ${min} to ${max}`);
  return value;
};

/** Linux: device paths or globs (/dev/sr*). Windows: drive letters (D:, D:,E:) or * for every CD-ROM drive. */
const driveList = (windows: boolean) => (raw: unknown): string[] => {
  const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : [];
  const cleaned = items.map((item) => item.trim()).filter(Boolean);
  if (cleaned.length === 0) throw new Error(windows ? 'expected drive letters such as D: or D:,E:, or * for every CD-ROM drive' : 'expected one or more comma-separated device paths or globs');
  for (const item of cleaned) {
    if (windows && !/^[A-Za-z]:$/.test(item) && item !== '*') throw new Error(`"${item}" is not a drive letter such as D: (or * for every CD-ROM drive)`);
    if (!windows && item === '*') throw new Error('* (every CD-ROM drive) is for Windows; on Linux give device paths or globs such as /dev/sr*');
    if (!windows && !item.startsWith('/')) throw new Error(`"${item}" is not an absolute device path such as /dev/sr0 (drive letters are for Windows)`);
  }
  return cleaned;
};

const oneOf = <T extends string>(...values: T[]) => (raw: unknown): T => {
  if (typeof raw === 'string' && (values as string[]).includes(raw.trim())) return raw.trim() as T;
  throw new Error(`expected one of ${values.join(', ')}`);
};

const bool = (raw: unknown): boolean => {
  if (raw === true || raw === false) return raw;
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no'].includes(value)) return false;
  throw new Error('expected true or false');
};

const fingerprint = (raw: unknown): string => {
  const value = text(200)(raw).toUpperCase();
  if (!/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(value)) throw new Error('expected a SHA-256 fingerprint: 32 hex pairs separated by colons');
  return value;
};

const agentId = (raw: unknown): string => {
  const value = text(64)(raw);
  if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new Error('expected letters, digits, dot, dash or underscore (at most 64)');
  return value;
};

const url = (protocols: readonly string[], example: string) => (raw: unknown): string => {
  const value = text()(raw);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new Error(`expected a URL such as ${example}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    const names = protocols.map((protocol) => `${protocol}//`);
    throw new Error(`expected a ${names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0]} URL`);
  }
  return value;
};
const hubUrl = url(['ws:', 'wss:', 'http:', 'https:'], 'ws://hub.local:8000');
const webUrl = url(['http:', 'https:'], 'https://musicbrainz.org');

/** Apprise URLs may hold commas themselves (`mailto://…?to=a,b`): a list splits only where the next URL begins. */
const urlList = (raw: unknown): string[] => {
  const split = (text: string) => text.split(/[,\s]+(?=[a-z][a-z0-9+.-]*:\/\/)/i);
  const items = (Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? split(raw) : []).map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new Error('expected one or more comma-separated URLs');
  for (const item of items) if (!/^[a-z][a-z0-9+.-]*:\/\/./i.test(item)) throw new Error(`"${item.replace(/\/\/[^/@]*@/, '//…@')}" is not a URL such as ntfy://ntfy.sh/my-topic`);
  return items;
};

const notifyEvents = (raw: unknown): NotifyEvent[] => {
  const items = (Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : []).map((item) => item.trim()).filter(Boolean);
  if (items.length === 0 || !items.every(isNotifyEvent)) throw new Error(`expected a comma-separated list of ${NOTIFY_EVENTS.join(', ')}`);
  return items;
};

const hostId = () => hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'station';

export const SETTINGS = {
  config: { env: 'DISCBRIDGE_CONFIG', key: 'config', roles: ['hub', 'agent'], describe: 'JSON config file with any of these settings by key', defaultText: './discbridge.json if it exists (on Windows, else %ProgramData%\\discbridge\\discbridge.json)', default: () => undefined, parse: text() },
  port: { env: 'DISCBRIDGE_PORT', key: 'port', roles: ['hub'], describe: 'TCP port of the hub (REST, dashboard socket /ws, agent socket /agent)', defaultText: '8000', default: () => 8000, parse: int(0, 65535) },
  host: { env: 'DISCBRIDGE_HOST', key: 'host', roles: ['hub'], describe: 'Address the hub listens on', defaultText: '0.0.0.0 (all)', default: () => '0.0.0.0', parse: text(255) },
  dataDir: { env: 'DISCBRIDGE_DATA_DIR', key: 'data_dir', roles: ['hub', 'agent'], describe: 'Folder for the SQLite files and the generated token', defaultText: './data (Windows: %ProgramData%\\discbridge\\data)', default: () => stationPath('data', './data'), parse: text() },
  hubUrl: { env: 'DISCBRIDGE_HUB_URL', key: 'hub_url', roles: ['agent'], describe: 'Hub the agent reports to', defaultText: 'ws://localhost:8000', default: () => 'ws://localhost:8000', parse: hubUrl },
  token: { env: 'DISCBRIDGE_TOKEN', key: 'token', roles: ['hub', 'agent'], describe: 'Agent: its station token (from "discbridge station add"). Hub: an optional token any station may use', defaultText: 'none', default: () => undefined, parse: text(512) },
  tlsCert: { env: 'DISCBRIDGE_TLS_CERT', key: 'tls_cert', roles: ['hub'], describe: 'PEM certificate: with DISCBRIDGE_TLS_KEY the hub serves https and wss', defaultText: 'none (plain http)', default: () => undefined, parse: text() },
  tlsKey: { env: 'DISCBRIDGE_TLS_KEY', key: 'tls_key', roles: ['hub'], describe: 'PEM private key of DISCBRIDGE_TLS_CERT', defaultText: 'none', default: () => undefined, parse: text() },
  tlsCa: { env: 'DISCBRIDGE_TLS_CA', key: 'tls_ca', roles: ['agent'], describe: 'PEM file of the CA (or the self-signed certificate) the agent trusts for a wss:// hub', defaultText: 'the system CAs', default: () => undefined, parse: text() },
  tlsPin: { env: 'DISCBRIDGE_TLS_PIN', key: 'tls_pin', roles: ['agent'], describe: 'SHA-256 fingerprint the hub certificate must have (AA:BB:…), on top of the CA check', defaultText: 'none', default: () => undefined, parse: fingerprint },
  notify: { env: 'DISCBRIDGE_NOTIFY', key: 'notify', roles: ['hub'], describe: 'Where to send notifications: comma-separated Apprise-style URLs (ntfy://, json://, webhook://; others through the apprise CLI)', defaultText: 'none', default: () => [] as string[], parse: urlList },
  notifyEvents: { env: 'DISCBRIDGE_NOTIFY_EVENTS', key: 'notify_events', roles: ['hub'], describe: `What to notify: comma-separated, from ${NOTIFY_EVENTS.join(', ')}`, defaultText: DEFAULT_NOTIFY_EVENTS.join(','), default: () => [...DEFAULT_NOTIFY_EVENTS], parse: notifyEvents },
  notifySecret: { env: 'DISCBRIDGE_NOTIFY_SECRET', key: 'notify_secret', roles: ['hub'], describe: 'Signs webhook:// notifications: X-Discbridge-Signature: sha256=<HMAC-SHA256 of the body>', defaultText: 'none (unsigned)', default: () => undefined, parse: text(1024) },
  notifyOfflineAfterS: { env: 'DISCBRIDGE_NOTIFY_OFFLINE_AFTER_S', key: 'notify_offline_after_s', roles: ['hub'], describe: 'A station offline this long (and still offline) is notified as station_offline', defaultText: '300', default: () => 300, parse: int(1, 86_400) },
  metricsToken: { env: 'DISCBRIDGE_METRICS_TOKEN', key: 'metrics_token', roles: ['hub'], describe: 'Bearer token for GET /metrics (Prometheus); without it /metrics is guarded like viewing the dashboard', defaultText: 'none', default: () => undefined, parse: text(512) },
  mqttUrl: { env: 'DISCBRIDGE_MQTT_URL', key: 'mqtt_url', roles: ['hub'], describe: 'MQTT broker for Home Assistant (mqtt:// or mqtts://, user:password allowed): drive states and discovery', defaultText: 'none (off)', default: () => undefined, parse: url(['mqtt:', 'mqtts:'], 'mqtt://user:password@broker.local:1883') },
  mqttCommands: { env: 'DISCBRIDGE_MQTT_COMMANDS', key: 'mqtt_commands', roles: ['hub'], describe: 'Act on MQTT commands (the Eject button in Home Assistant); the broker\'s ACLs then decide who may press', defaultText: 'false', default: () => false, parse: bool },
  viewRequiresLogin: { env: 'DISCBRIDGE_VIEW_REQUIRES_LOGIN', key: 'view_requires_login', roles: ['hub'], describe: 'Require sign-in to view the dashboard too (changes always need it)', defaultText: 'false', default: () => false, parse: bool },
  maxConnections: { env: 'DISCBRIDGE_MAX_CONNECTIONS', key: 'max_connections', roles: ['hub'], describe: 'WebSocket connections the hub holds at most (stations and dashboards)', defaultText: '500', default: () => 500, parse: int(1, 100_000) },
  maxStationMessages: { env: 'DISCBRIDGE_MAX_STATION_MESSAGES', key: 'max_station_messages', roles: ['hub'], describe: 'Messages a second one station may send (bursts up to ten times that); a station over it is disconnected', defaultText: '2000', default: () => 2000, parse: int(10, 1_000_000) },
  maxConnectionsPerAddress: { env: 'DISCBRIDGE_MAX_CONNECTIONS_PER_ADDRESS', key: 'max_connections_per_address', roles: ['hub'], describe: 'WebSocket connections from one address at most', defaultText: '50', default: () => 50, parse: int(1, 100_000) },
  agentId: { env: 'DISCBRIDGE_AGENT_ID', key: 'agent_id', roles: ['agent'], describe: 'Unique id of this station', defaultText: 'the host name', default: hostId, parse: agentId },
  agentName: { env: 'DISCBRIDGE_AGENT_NAME', key: 'agent_name', roles: ['agent'], describe: 'Display name of this station', defaultText: 'the host name', default: () => hostname(), parse: text(256) },
  drives: { env: 'DISCBRIDGE_DRIVES', key: 'drives', roles: ['agent'], describe: 'Drives to watch: comma-separated device paths or globs (Windows: drive letters, or * for every CD-ROM drive)', defaultText: '/dev/sr* (Windows: *)', default: () => (onWindows ? ['*'] : ['/dev/sr*']), parse: driveList(onWindows) },
  importDir: { env: 'DISCBRIDGE_IMPORT_DIR', key: 'import_dir', roles: ['agent'], describe: 'A folder watched for disc images (.iso, .cue with its files, cdrdao .toc): each one goes through a job on the drive "import", then to done/ or failed/', defaultText: 'none (off)', default: () => undefined, parse: text() },
  outputDir: { env: 'DISCBRIDGE_OUTPUT_DIR', key: 'output_dir', roles: ['agent'], describe: 'Where ripped files go, one folder per disc', defaultText: './rips (Windows: %ProgramData%\\discbridge\\rips)', default: () => stationPath('rips', './rips'), parse: text() },
  minTitleSeconds: { env: 'DISCBRIDGE_MIN_TITLE_SECONDS', key: 'min_title_seconds', roles: ['agent'], describe: 'Shorter titles are skipped', defaultText: '120', default: () => 120, parse: int(0, 86_400) },
  pollMs: { env: 'DISCBRIDGE_POLL_MS', key: 'poll_ms', roles: ['agent'], describe: 'How often each drive is checked for a disc', defaultText: '500', default: () => 500, parse: int(50, 60_000) },
  debounceMs: { env: 'DISCBRIDGE_DEBOUNCE_MS', key: 'debounce_ms', roles: ['agent'], describe: 'How long a removal, or a disc whose data does not read yet (spinning up), must last before it counts; a disc that reads counts at once', defaultText: '1000', default: () => 1000, parse: int(0, 60_000) },
  ripper: { env: 'DISCBRIDGE_RIPPER', key: 'ripper', roles: ['agent'], describe: 'Ripping backend: makemkv copies titles losslessly, handbrake encodes them', defaultText: 'handbrake', default: () => 'handbrake' as const, parse: oneOf('handbrake', 'makemkv') },
  handbrakeCli: { env: 'DISCBRIDGE_HANDBRAKECLI', key: 'handbrakecli', roles: ['agent'], describe: 'Path or name of HandBrakeCLI', defaultText: 'HandBrakeCLI (Windows: HandBrakeCLI.exe in Program Files\\HandBrake, else on PATH)', default: () => toolDefault('HandBrakeCLI', 'HandBrakeCLI.exe', programFiles('HandBrake')), parse: text() },
  handbrakePreset: { env: 'DISCBRIDGE_HANDBRAKE_PRESET', key: 'handbrake_preset', roles: ['agent'], describe: 'HandBrake preset used to rip', defaultText: 'Fast 1080p30', default: () => 'Fast 1080p30', parse: text(256) },
  makemkvcon: { env: 'DISCBRIDGE_MAKEMKVCON', key: 'makemkvcon', roles: ['agent'], describe: 'Path or name of makemkvcon (MakeMKV backend)', defaultText: 'makemkvcon (Windows: makemkvcon64.exe in Program Files (x86)\\MakeMKV, else on PATH)', default: () => toolDefault('makemkvcon', 'makemkvcon64.exe', programFiles('MakeMKV')), parse: text() },
  ffmpeg: { env: 'DISCBRIDGE_FFMPEG', key: 'ffmpeg', roles: ['agent'], describe: 'Path or name of ffmpeg (transcoding)', defaultText: 'ffmpeg (Windows: ffmpeg.exe on PATH)', default: () => toolDefault('ffmpeg', 'ffmpeg.exe'), parse: text() },
  ffprobe: { env: 'DISCBRIDGE_FFPROBE', key: 'ffprobe', roles: ['agent'], describe: 'Path or name of ffprobe (checking transcoded files)', defaultText: 'ffprobe (Windows: ffprobe.exe on PATH)', default: () => toolDefault('ffprobe', 'ffprobe.exe'), parse: text() },
  transcode: { env: 'DISCBRIDGE_TRANSCODE', key: 'transcode', roles: ['agent'], describe: 'Transcode each ripped title with ffmpeg: none, h264, h265 or h264-aac', defaultText: 'none', default: () => 'none' as const, parse: oneOf('none', 'h264', 'h265', 'h264-aac') },
  keepRip: { env: 'DISCBRIDGE_KEEP_RIP', key: 'keep_rip', roles: ['agent'], describe: 'Keep the ripped file after a successful transcode', defaultText: 'true', default: () => true, parse: bool },
  cdParanoia: { env: 'DISCBRIDGE_CD_PARANOIA', key: 'cd_paranoia', roles: ['agent'], describe: 'Path or name of cd-paranoia (libcdio): rips audio CD tracks', defaultText: 'cd-paranoia', default: () => 'cd-paranoia', parse: text() },
  cdInfo: { env: 'DISCBRIDGE_CD_INFO', key: 'cd_info', roles: ['agent'], describe: 'Path or name of cd-info (libcdio): reads an audio CD\'s table of contents and CD-Text', defaultText: 'cd-info', default: () => 'cd-info', parse: text() },
  flac: { env: 'DISCBRIDGE_FLAC', key: 'flac', roles: ['agent'], describe: 'Path or name of flac: encodes audio CD tracks', defaultText: 'flac', default: () => 'flac', parse: text() },
  metaflac: { env: 'DISCBRIDGE_METAFLAC', key: 'metaflac', roles: ['agent'], describe: 'Path or name of metaflac: checks each FLAC file holds the ripped audio', defaultText: 'metaflac', default: () => 'metaflac', parse: text() },
  cdFormat: { env: 'DISCBRIDGE_CD_FORMAT', key: 'cd_format', roles: ['agent'], describe: 'What audio CD tracks become: flac (lossless, tagged, checked)', defaultText: 'flac', default: () => 'flac' as const, parse: oneOf('flac') },
  musicbrainzUrl: { env: 'DISCBRIDGE_MUSICBRAINZ_URL', key: 'musicbrainz_url', roles: ['agent'], describe: 'MusicBrainz server to look audio CD disc ids up on (e.g. https://musicbrainz.org); unset: no lookup, CD-Text only', defaultText: 'none (off)', default: () => undefined, parse: webUrl },
  ddrescue: { env: 'DISCBRIDGE_DDRESCUE', key: 'ddrescue', roles: ['agent'], describe: 'Path or name of GNU ddrescue: when installed, a damaged data disc is copied as far as it reads, then its bad areas retried', defaultText: 'ddrescue', default: () => 'ddrescue', parse: text() },
  ejectWhenDone: { env: 'DISCBRIDGE_EJECT_WHEN_DONE', key: 'eject_when_done', roles: ['agent'], describe: 'Open the tray when a job has completed ("insert the next one"); never after a failed one', defaultText: 'false', default: () => false, parse: bool },
  autoRip: { env: 'DISCBRIDGE_AUTO_RIP', key: 'auto_rip', roles: ['agent'], describe: 'Rip each inserted disc at once; false: wait in "ready" for "rip now" (to choose titles first)', defaultText: 'true', default: () => true, parse: bool },
  maxJobs: { env: 'DISCBRIDGE_MAX_JOBS', key: 'max_jobs', roles: ['agent'], describe: 'Jobs that may rip at once on this station; over it a disc gets "busy", never a silent queue (0: one per drive)', defaultText: '0', default: () => 0, parse: int(0, 64) },
  keepPartial: { env: 'DISCBRIDGE_KEEP_PARTIAL', key: 'keep_partial', roles: ['agent'], describe: 'Keep the partial files of jobs cut short by a crash (default: remove them at the next start)', defaultText: 'false', default: () => false, parse: bool },
  stallSeconds: { env: 'DISCBRIDGE_STALL_SECONDS', key: 'stall_seconds', roles: ['agent'], describe: 'A scan, rip or transcode that makes no progress for this long is stopped and fails', defaultText: '300', default: () => 300, parse: int(5, 86_400) },
  transcodeSlots: { env: 'DISCBRIDGE_TRANSCODE_SLOTS', key: 'transcode_slots', roles: ['agent'], describe: 'Transcode tasks of the hub\'s queue this station runs at once (its own rips and other stations\'); 0: none', defaultText: '1', default: () => 1, parse: int(0, 64) },
  libraryDir: { env: 'DISCBRIDGE_LIBRARY_DIR', key: 'library_dir', roles: ['agent'], describe: 'This station\'s mount point of the library every station shares (a NAS): rips in it can be transcoded by any station that mounts it', defaultText: 'none', default: () => undefined, parse: text() },
  leaseSeconds: { env: 'DISCBRIDGE_LEASE_SECONDS', key: 'lease_seconds', roles: ['hub'], describe: 'A transcode task leased to a station goes back to the queue after this long without a report from it', defaultText: '60', default: () => 60, parse: int(5, 86_400) },
  heartbeatMs: { env: 'DISCBRIDGE_HEARTBEAT_MS', key: 'heartbeat_ms', roles: ['hub', 'agent'], describe: 'Ping interval on every socket; an agent reconnects when its hub has been silent for two intervals', defaultText: '5000', default: () => 5000, parse: int(200, 300_000) },
  missedHeartbeats: { env: 'DISCBRIDGE_MISSED_HEARTBEATS', key: 'missed_heartbeats', roles: ['hub'], describe: 'Pings a station or dashboard may leave unanswered before the hub drops it (a station then shows offline)', defaultText: '2', default: () => 2, parse: int(1, 100) },
  healthPort: { env: 'DISCBRIDGE_HEALTH_PORT', key: 'health_port', roles: ['agent'], describe: 'Serve the agent\'s GET /health on 127.0.0.1 at this port (for a container HEALTHCHECK or a monitor; "discbridge health agent" asks it)', defaultText: 'none (off; the agent image sets 8001)', default: () => undefined, parse: int(1, 65535) },
  logFile: { env: 'DISCBRIDGE_LOG_FILE', key: 'log_file', roles: ['hub', 'agent'], describe: 'Also write the log (JSON lines) to this file, rotated daily and at 10 MB, the newest 7 kept', defaultText: 'none (Windows: %ProgramData%\\discbridge\\logs\\discbridge.log)', default: () => (onWindows ? stationLogFile() : undefined), parse: text() },
  logLevel: { env: 'DISCBRIDGE_LOG_LEVEL', key: 'log_level', roles: ['hub', 'agent'], describe: 'Log detail', defaultText: 'info', default: () => 'info' as const, parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace') },
} satisfies Record<string, Setting<unknown>>;

type Optional = 'config' | 'healthPort' | 'libraryDir' | 'logFile' | 'token' | 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsPin' | 'importDir' | 'musicbrainzUrl' | 'notifySecret' | 'metricsToken' | 'mqttUrl';
export type Settings = { [K in keyof typeof SETTINGS]: ReturnType<(typeof SETTINGS)[K]['parse']> | (K extends Optional ? undefined : never) };

/** Reads every setting from the environment and the config file, or throws a SettingError naming the bad one. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const configPath = env[SETTINGS.config.env] ?? defaultConfigFile(env);
  const file = readConfigFile(configPath, env[SETTINGS.config.env] !== undefined);
  const result: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const fromEnv = env[setting.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : file[setting.key];
    if (raw === undefined) {
      result[name] = setting.default();
      continue;
    }
    try {
      result[name] = setting.parse(raw);
    } catch (error) {
      const source = fromEnv !== undefined && fromEnv !== '' ? setting.env : `"${setting.key}" in ${configPath}`;
      throw new SettingError(`Bad setting ${source}=${JSON.stringify(raw)}: ${(error as Error).message}`);
    }
  }
  return result as Settings;
}

/** ./discbridge.json; on Windows, where a service's working folder is System32, the station folder's when there is none. */
function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  const local = './discbridge.json';
  if (!onWindows || existsSync(local)) return local;
  return join(programDataFolder(env), 'discbridge.json');
}

function readConfigFile(path: string, required: boolean): Record<string, unknown> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch {
    if (required) throw new SettingError(`Bad setting DISCBRIDGE_CONFIG: cannot read ${path}`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const known = new Set(Object.values(SETTINGS).map((s) => s.key));
    const unknown = Object.keys(parsed).filter((key) => !known.has(key));
    if (unknown.length > 0) throw new SettingError(`Unknown setting(s) in ${path}: ${unknown.join(', ')}`);
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SettingError) throw error;
    throw new SettingError(`Config file ${path} is not a JSON object of settings`);
  }
}

/** The hub's certificate and key: it serves https and wss only with both. */
export function hubTls(settings: Settings): { cert: string; key: string } | undefined {
  return settings.tlsCert && settings.tlsKey ? { cert: settings.tlsCert, key: settings.tlsKey } : undefined;
}

/**
 * Where this machine's own hub answers, for the agent `discbridge start` runs beside it and for `discbridge health`:
 * over TLS exactly when the hub serves it, and on loopback unless the hub listens on one address only.
 */
export function localHubOrigin(settings: Settings, scheme: 'http' | 'ws'): string {
  const host = ['0.0.0.0', '::', ''].includes(settings.host) ? '127.0.0.1' : settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${scheme}${hubTls(settings) ? 's' : ''}://${host}:${settings.port}`;
}

/** The settings table as --help prints it. */
export function settingsHelp(): string {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>)
    .map((s) => `  ${s.env.padEnd(30)} ${s.describe} [${s.roles.join(', ')}; default ${s.defaultText}; file key "${s.key}"]`)
    .join('\n');
}
