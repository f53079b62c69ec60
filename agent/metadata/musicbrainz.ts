// MusicBrainz as a metadata provider: one GET of the web service's disc id lookup
// (`/ws/2/discid/<id>?inc=recordings+artist-credits&fmt=json&cdstubs=no&toc=…`), read defensively.
//
// What the server answers (musicbrainz-server, Controller/WS/2/DiscID.pm and the JSON serializers):
// - the disc id is known: a disc, `{ id, offsets, sectors, releases: [release…] }`, every release with its `media`,
//   each medium with `discs` (the disc ids attached to it) and `tracks` (`position`, `number`, `title`, `length`,
//   `artist-credit`). The release to use is the first whose medium lists our disc id, and of a multi-disc release
//   only that medium's tracks.
// - the disc id is not known but `toc` was sent: a fuzzy match on the track durations, a release *list*,
//   `{ "release-count", "release-offset", releases: [release…] }`, best match first, whose media list no disc id of
//   ours; the medium to use is the one with our number of tracks whose durations are closest.
// - neither: 404. `cdstubs=no` keeps CD stubs (anonymous track lists in another shape) out of the answer.
//
// Rules of the service (musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting): at most one request a second from a
// client, a meaningful User-Agent ("name/version ( contact )"), and 503 for a request over the limit. Requests to
// one server go through one limiter per process, however many providers point at it.
import { z } from 'zod';
import { RipError } from '../tools/rip-error.js';
import type { DiscMetadata, DiscQuery, MetadataProvider, TrackMetadata } from './metadata-provider.js';

export const MUSICBRAINZ_URL = 'https://musicbrainz.org';

export interface MusicBrainzOptions {
  /** The server, e.g. `https://musicbrainz.org` (a mirror works too). */
  baseUrl: string;
  /** "discbridge/0.1.0 ( https://… )": application/version, then a contact URL or e-mail in parentheses. */
  userAgent: string;
  /** How long one request may take, answer included (default 10 s). */
  timeoutMs?: number;
  /** The longest wait a 503's Retry-After is honoured for before the retry; longer ones fail at once (default 15 s). */
  maxRetryWaitMs?: number;
}

/** The User-Agent the MusicBrainz rules ask for. */
export function musicBrainzUserAgent(version: string, contact: string): string {
  return `discbridge/${version} ( ${contact} )`;
}

const MIN_INTERVAL_MS = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRY_WAIT_MS = 15_000;
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BYTES = 4096;
const MAX_TEXT = 256;
const MAX_RELEASES = 500;
const UNREADABLE = 'MusicBrainz sent an answer discbridge cannot read';
const DISC_ID = /^[A-Za-z0-9._-]{27}-$/;
const MBID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---- the answer, as far as discbridge reads it: anything else is ignored, a bad field is dropped, a bad track or
// medium or release is skipped; only an answer without a `releases` list is unreadable.

const Credit = z
  .array(z.object({ name: z.string(), joinphrase: z.string().optional().catch(undefined) }))
  .max(100)
  .optional()
  .catch(undefined);
type Credit = z.infer<typeof Credit>;

const Track = z.object({
  position: z.number().optional().catch(undefined),
  number: z.string().optional().catch(undefined),
  title: z.string().optional().catch(undefined),
  length: z.number().optional().catch(undefined),
  'artist-credit': Credit,
});
type Track = z.infer<typeof Track>;

const Medium = z.object({
  'track-count': z.number().int().nonnegative().optional().catch(undefined),
  discs: z.array(z.object({ id: z.string().optional().catch(undefined) }).catch({})).catch([]),
  tracks: z.array(z.unknown()).catch([]),
});
type Medium = z.infer<typeof Medium>;

const Release = z.object({
  id: z.string().regex(MBID).optional().catch(undefined),
  title: z.string().optional().catch(undefined),
  date: z.string().optional().catch(undefined),
  'artist-credit': Credit,
  media: z.array(z.unknown()).catch([]),
});
type Release = z.infer<typeof Release>;

/** A disc (has `id`) or a release list from a fuzzy `toc` match (has `release-count`): both carry `releases`. */
const Answer = z.object({
  id: z.string().optional().catch(undefined),
  releases: z.array(z.unknown()).max(MAX_RELEASES),
});

// ---- the limiter: one request a second to each server, first come first served.

class Limiter {
  private nextAt = 0;
  /** Waits for this request's turn (its slot is taken at once, so callers queue in order). */
  async take(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const now = performance.now();
    const slot = Math.max(now, this.nextAt);
    this.nextAt = slot + MIN_INTERVAL_MS;
    if (slot > now) await sleep(slot - now, signal);
  }
}

const limiters = new Map<string, Limiter>();

function limiterFor(origin: string): Limiter {
  let limiter = limiters.get(origin);
  if (!limiter) {
    limiter = new Limiter();
    limiters.set(origin, limiter);
  }
  return limiter;
}

interface HttpAnswer {
  status: number;
  retryAfterMs: number | undefined;
  text: string;
}

export class MusicBrainzProvider implements MetadataProvider {
  readonly name = 'musicbrainz';
  private readonly base: string;
  private readonly host: string;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly maxRetryWaitMs: number;
  private readonly limiter: Limiter;

  constructor(options: MusicBrainzOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new Error(`MusicBrainz address "${options.baseUrl}" is not a URL`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
      throw new Error(`MusicBrainz address "${options.baseUrl}" must be a plain http:// or https:// URL`);
    }
    checkUserAgent(options.userAgent);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxRetryWaitMs = options.maxRetryWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new Error('MusicBrainz timeout must be a positive number of ms');
    if (!(maxRetryWaitMs >= 0 && Number.isFinite(maxRetryWaitMs))) throw new Error('MusicBrainz retry wait must be a number of ms');
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.host = url.host;
    this.userAgent = options.userAgent;
    this.timeoutMs = timeoutMs;
    this.maxRetryWaitMs = maxRetryWaitMs;
    this.limiter = limiterFor(url.origin);
  }

  async lookup(query: DiscQuery, signal: AbortSignal): Promise<DiscMetadata | undefined> {
    signal.throwIfAborted();
    if (!DISC_ID.test(query.musicBrainzDiscId)) {
      throw new RipError('This disc has no valid MusicBrainz disc id to look up', `disc id ${JSON.stringify(query.musicBrainzDiscId.slice(0, 64))}`);
    }
    const toc = tocParameter(query);
    let url = `${this.base}/ws/2/discid/${encodeURIComponent(query.musicBrainzDiscId)}?inc=recordings+artist-credits&fmt=json&cdstubs=no`;
    if (toc) url += `&toc=${toc}`;

    let answer = await this.attempt(url, signal);
    if (isBusy(answer.status)) {
      // The rules: one request a second; a Retry-After asks for longer (MusicBrainz has been seen sending 0: never
      // less than the second).
      const waitMs = Math.max(MIN_INTERVAL_MS, answer.retryAfterMs ?? 0);
      if (waitMs > this.maxRetryWaitMs) {
        throw new RipError(`MusicBrainz is busy and asked to wait ${seconds(waitMs)} s: look the disc up again later`, busyDetail(answer));
      }
      await sleep(waitMs, signal);
      answer = await this.attempt(url, signal);
      if (isBusy(answer.status)) {
        throw new RipError('MusicBrainz is busy (it turned the lookup down twice): look the disc up again in a minute', busyDetail(answer));
      }
    }
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) {
      const detail = `HTTP ${answer.status}: ${answer.text.slice(0, 300)}`;
      if (answer.status === 403) throw new RipError('MusicBrainz refused the lookup (HTTP 403): check the User-Agent discbridge sends', detail);
      if (answer.status === 400) throw new RipError('MusicBrainz refused the lookup as malformed (HTTP 400)', detail);
      throw new RipError(`MusicBrainz answered with an error (HTTP ${answer.status})`, detail);
    }
    return readAnswer(answer.text, query, toc !== undefined);
  }

  /** One request in its turn, bounded by the timeout and the caller's signal. */
  private async attempt(url: string, signal: AbortSignal): Promise<HttpAnswer> {
    await this.limiter.take(signal);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    try {
      const response = await fetch(url, {
        headers: { 'User-Agent': this.userAgent, Accept: 'application/json' },
        signal: both,
      });
      const ok = response.status === 200;
      const text = await readBody(response, ok ? MAX_ANSWER_BYTES : MAX_ERROR_BYTES, ok);
      return { status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')), text };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) throw new RipError(`MusicBrainz did not answer within ${seconds(this.timeoutMs)} s`);
      if (error instanceof RipError) throw error;
      throw new RipError(`Could not reach MusicBrainz at ${this.host}`, describe(error));
    }
  }
}

// ---- reading the answer

function readAnswer(text: string, query: DiscQuery, fuzzy: boolean): DiscMetadata | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RipError(UNREADABLE, `not JSON: ${describe(error)}`);
  }
  const answer = Answer.safeParse(json);
  if (!answer.success) {
    const issue = answer.error.issues[0];
    throw new RipError(UNREADABLE, `${issue?.path.join('.') || 'answer'}: ${issue?.message ?? 'unexpected shape'}`);
  }
  const releases = answer.data.releases.flatMap((raw) => {
    const release = Release.safeParse(raw);
    return release.success ? [release.data] : [];
  });
  const pick = holdingDisc(releases, query.musicBrainzDiscId) ?? (fuzzy && answer.data.id === undefined ? closestMedium(releases, query) : undefined);
  return pick ? metadata(pick.release, pick.medium, query) : undefined;
}

interface Pick {
  release: Release;
  medium: Medium;
}

function mediaOf(release: Release): Medium[] {
  return release.media.flatMap((raw) => {
    const medium = Medium.safeParse(raw);
    return medium.success ? [medium.data] : [];
  });
}

/** The first release with a medium that lists the disc id, and that medium. */
function holdingDisc(releases: Release[], discId: string): Pick | undefined {
  for (const release of releases) {
    const medium = mediaOf(release).find((m) => m.discs.some((d) => d.id === discId));
    if (medium) return { release, medium };
  }
  return undefined;
}

/** A fuzzy match: the first release with a medium of the disc's track count; of several, the closest in durations. */
function closestMedium(releases: Release[], query: DiscQuery): Pick | undefined {
  const durations = trackDurationsMs(query);
  for (const release of releases) {
    let best: { medium: Medium; distance: number } | undefined;
    for (const medium of mediaOf(release)) {
      if ((medium['track-count'] ?? medium.tracks.length) !== durations.length) continue;
      const distance = durationDistance(medium, durations);
      if (!best || distance < best.distance) best = { medium, distance };
    }
    if (best) return { release, medium: best.medium };
  }
  return undefined;
}

function trackDurationsMs(query: DiscQuery): number[] {
  const offsets = [...query.trackOffsets, query.leadOutOffset];
  return query.trackOffsets.map((offset, i) => (((offsets[i + 1] ?? offset) - offset) * 1000) / 75);
}

function durationDistance(medium: Medium, durations: number[]): number {
  const lengths = new Map<number, number>();
  for (const raw of medium.tracks) {
    const track = Track.safeParse(raw);
    if (!track.success) continue;
    const position = trackPosition(track.data);
    if (position !== undefined && typeof track.data.length === 'number' && Number.isFinite(track.data.length)) {
      lengths.set(position, track.data.length);
    }
  }
  // A track without a length counts as far off as the track is long.
  return durations.reduce((sum, duration, i) => sum + Math.abs((lengths.get(i + 1) ?? 0) - duration), 0);
}

function metadata(release: Release, medium: Medium, query: DiscQuery): DiscMetadata {
  const tracks: TrackMetadata[] = [];
  const seen = new Set<number>();
  for (const raw of medium.tracks) {
    const track = Track.safeParse(raw);
    if (!track.success) continue;
    const position = trackPosition(track.data);
    if (position === undefined) continue;
    // Positions count from 1 on the medium; the disc's first track may not be 1.
    const number = query.firstTrack - 1 + position;
    if (number < query.firstTrack || number > query.lastTrack || seen.has(number)) continue;
    seen.add(number);
    const title = cleanText(track.data.title);
    const artist = creditText(track.data['artist-credit']);
    tracks.push({ number, ...(title !== undefined && { title }), ...(artist !== undefined && { artist }) });
  }
  tracks.sort((a, b) => a.number - b.number);

  const album = cleanText(release.title);
  const artist = creditText(release['artist-credit']);
  const year = /^(\d{4})(?:-|$)/.exec(release.date ?? '')?.[1];
  return {
    provider: 'musicbrainz',
    ...(album !== undefined && { album }),
    ...(artist !== undefined && { artist }),
    ...(year !== undefined && { year }),
    ...(release.id !== undefined && { releaseId: release.id }),
    tracks,
  };
}

/** A track's position on its medium (1–99): `position`, else a plain-digits `number`; anything else is no track. */
function trackPosition(track: Track): number | undefined {
  const position = track.position;
  if (typeof position === 'number' && Number.isInteger(position) && position >= 1 && position <= 99) return position;
  if (track.number !== undefined && /^\d{1,2}$/.test(track.number)) {
    const number = Number(track.number);
    if (number >= 1) return number;
  }
  return undefined;
}

function creditText(credit: Credit): string | undefined {
  if (!credit || credit.length === 0) return undefined;
  return cleanText(credit.map((c) => c.name + (c.joinphrase ?? '')).join(''));
}

// Control characters (C0, DEL, C1), line and paragraph separators, bidi embeddings/overrides/isolates and BOMs.
const UNWANTED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]+/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A name as people may see it: one line, no control characters, at most 256 UTF-16 units; empty is none. */
export function cleanText(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // Bound the work before the regular expressions: nothing past a few times the cap can survive anyway.
  let clean = (text.length > MAX_TEXT * 8 ? text.slice(0, MAX_TEXT * 8) : text)
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(UNWANTED, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean.length > MAX_TEXT) {
    let cut = MAX_TEXT - 1;
    const last = clean.charCodeAt(cut - 1);
    if (last >= 0xd800 && last <= 0xdbff) cut -= 1; // do not split a surrogate pair
    clean = `${clean.slice(0, cut)}…`;
  }
  return clean === '' ? undefined : clean;
}

// ---- the request

/** `first last lead-out offset…` joined with `+`, when the server would accept it (first track 1, 1–99 tracks). */
function tocParameter(query: DiscQuery): string | undefined {
  const offsets = query.trackOffsets;
  const count = offsets.length;
  if (query.firstTrack !== 1 || query.lastTrack !== count || count < 1 || count > 99) return undefined;
  const numbers = [query.leadOutOffset, ...offsets];
  if (!numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  for (let i = 1; i < count; i++) if (offsets[i]! <= offsets[i - 1]!) return undefined;
  if (query.leadOutOffset <= offsets[count - 1]!) return undefined;
  return [query.firstTrack, query.lastTrack, query.leadOutOffset, ...offsets].join('+');
}

function isBusy(status: number): boolean {
  return status === 503 || status === 429;
}

function busyDetail(answer: HttpAnswer): string {
  return `HTTP ${answer.status}${answer.retryAfterMs !== undefined ? `, Retry-After ${seconds(answer.retryAfterMs)} s` : ''}: ${answer.text.slice(0, 300)}`;
}

/** Retry-After as delay-seconds or an HTTP date, in ms; `undefined` when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** The body as text, at most `maxBytes` of it: past that, an unreadable answer (`strict`) or a cut one. */
async function readBody(response: Response, maxBytes: number, strict: boolean): Promise<string> {
  if (!response.body) return '';
  const declared = Number(response.headers.get('content-length'));
  if (strict && declared > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw new RipError(UNREADABLE, `answer of ${declared} bytes, more than ${maxBytes}`);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => undefined);
      if (strict) throw new RipError(UNREADABLE, `answer longer than ${maxBytes} bytes`);
      chunks.push(value.subarray(0, maxBytes - size));
      break;
    }
    size += value.byteLength;
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function checkUserAgent(userAgent: string): void {
  const looksRight =
    userAgent.length <= 256 &&
    !/[\u0000-\u001f\u007f]/.test(userAgent) &&
    /^[A-Za-z0-9][\w.+-]*\/[\w.+-]+ /.test(userAgent) &&
    /\(\s*[^()\s][^()]*\)/.test(userAgent);
  if (!looksRight) {
    throw new Error(
      `MusicBrainz asks for a User-Agent like "discbridge/0.1.0 ( https://example.org/contact )": ` +
        `application/version, then a contact URL or e-mail address in parentheses (got ${JSON.stringify(userAgent.slice(0, 80))})`,
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? `${String(cause.code)} ` : '';
  return cause ? `${error.message}: ${code}${cause.message}` : error.message;
}
