// MusicBrainzProvider against a local HTTP server that answers in the web service's documented JSON shape
// (fixtures in test/fixtures/musicbrainz/, hand-written; see test/fixtures/SOURCES.md). The real server is never
// contacted.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DiscQuery } from '../../../agent/metadata/metadata-provider.js';
import { MusicBrainzProvider, cleanText, retryAfterMs } from '../../../agent/metadata/musicbrainz.js';
import { RipError } from '../../../agent/tools/rip-error.js';

const USER_AGENT = 'discbridge/0.1.0 ( https://github.com/discbridge/discbridge )';

function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/musicbrainz/${name}`, import.meta.url), 'utf8');
}

/** The fixtures' discs (their ids computed from these tables of contents with the MusicBrainz algorithm). */
const SINGLE: DiscQuery = {
  musicBrainzDiscId: '1eCEFAH2QndnjYjjWZNn3eKo154-',
  freedbDiscId: '2f03a704',
  firstTrack: 1,
  lastTrack: 4,
  leadOutOffset: 70318,
  trackOffsets: [150, 15608, 31240, 52477],
};
const AERIAL_DISC_2: DiscQuery = {
  musicBrainzDiscId: 'IeldkVfIh1wep_M8CMuDvA0nQ7Q-',
  freedbDiscId: '6309da09',
  firstTrack: 1,
  lastTrack: 9,
  leadOutOffset: 189343,
  trackOffsets: [150, 6614, 32287, 54041, 61236, 88129, 92729, 115276, 153877],
};
/** Another pressing of the same disc: every track 32 sectors later, so another disc id, unknown to the server. */
const AERIAL_OTHER_PRESSING: DiscQuery = {
  musicBrainzDiscId: 'KR1wCVZ923zzULIy3bqP_XY26Ko-',
  freedbDiscId: '6409db09',
  firstTrack: 1,
  lastTrack: 9,
  leadOutOffset: 189375,
  trackOffsets: [150, 6646, 32319, 54073, 61268, 88161, 92761, 115308, 153909],
};

interface Seen {
  url: string;
  path: string;
  query: URLSearchParams;
  userAgent: string | undefined;
  accept: string | undefined;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

interface TestServer {
  baseUrl: string;
  seen: Seen[];
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A server on 127.0.0.1:0 (each test its own, so each has its own 1 request/s limiter). */
async function serve(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    seen.push({
      url: req.url ?? '',
      path: url.pathname,
      query: url.searchParams,
      userAgent: req.headers['user-agent'],
      accept: req.headers.accept,
      at: performance.now(),
    });
    handler(req, res, seen.length - 1);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, seen };
}

function json(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(body);
}

const NOT_FOUND = '{"error":"Not Found","help":"For usage, please see: https://musicbrainz.org/development/mmd"}';
const RATE_LIMITED =
  '{"error":"Your requests are exceeding the allowable rate limit. Please see https://musicbrainz.org/doc/MusicBrainz_API/Rate_Limiting for more information.","help":"For usage, please see: https://musicbrainz.org/development/mmd"}';

function provider(server: TestServer, extra: { timeoutMs?: number; maxRetryWaitMs?: number } = {}): MusicBrainzProvider {
  return new MusicBrainzProvider({ baseUrl: server.baseUrl, userAgent: USER_AGENT, ...extra });
}

const signal = () => new AbortController().signal;

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the lookup to fail');
    },
    (error: unknown) => error,
  );
}

describe('MusicBrainzProvider', () => {
  it('looks a known disc up: album, artist, year, titles; the request the server saw', async () => {
    const server = await serve((_req, res) => json(res, 200, fixture('discid-single-disc.json')));
    const found = await provider(server).lookup(SINGLE, signal());

    expect(found).toEqual({
      provider: 'musicbrainz',
      album: 'Test Pressing',
      artist: 'The Loop Devices & Sector Sixteen',
      year: '2019',
      releaseId: '9cf227f0-b4c3-4877-a53c-cf9df3ccb499',
      tracks: [
        { number: 1, title: 'Spin-Up', artist: 'The Loop Devices & Sector Sixteen' },
        { number: 2, title: 'No Medium Found', artist: 'The Loop Devices & Sector Sixteen' },
        { number: 3, title: 'Lead-Out (Tray Open Mix)', artist: 'The Loop Devices feat. Rescue Pass' },
        { number: 4, title: 'Σ Sixteen Sectors', artist: 'The Loop Devices & Sector Sixteen' },
      ],
    });

    expect(server.seen).toHaveLength(1);
    const [request] = server.seen;
    expect(request!.userAgent).toBe(USER_AGENT);
    expect(request!.accept).toBe('application/json');
    expect(request!.path).toBe('/ws/2/discid/1eCEFAH2QndnjYjjWZNn3eKo154-');
    // As the documentation writes it: `+` between the includes and between the numbers of the TOC.
    expect(request!.url).toBe(
      '/ws/2/discid/1eCEFAH2QndnjYjjWZNn3eKo154-?inc=recordings+artist-credits&fmt=json&cdstubs=no&toc=1+4+70318+150+15608+31240+52477',
    );
    expect(request!.query.get('inc')).toBe('recordings artist-credits');
    expect(request!.query.get('toc')).toBe('1 4 70318 150 15608 31240 52477');
  });

  it('of a multi-disc release takes the medium that holds the disc id, from the first release that has it', async () => {
    const server = await serve((_req, res) => json(res, 200, fixture('discid-multi-disc.json')));
    const found = await provider(server).lookup(AERIAL_DISC_2, signal());

    expect(found).toMatchObject({ album: 'Aerial', artist: 'Kate Bush', year: '2005', releaseId: 'f205627f-b70a-409d-adbe-66289b614e80' });
    expect(found!.tracks.map((t) => t.title)).toEqual([
      'Prelude',
      'Prologue',
      "An Architect's Dream",
      "The Painter's Link",
      'Sunset',
      'Aerial Tal',
      'Somewhere in Between',
      'Nocturn',
      'Aerial',
    ]);
    expect(found!.tracks.map((t) => t.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('skips a release none of whose media lists the disc id', async () => {
    const answer = JSON.parse(fixture('discid-multi-disc.json')) as { releases: { media: { discs: unknown[] }[] }[] };
    for (const medium of answer.releases[0]!.media) medium.discs = [];
    const server = await serve((_req, res) => json(res, 200, JSON.stringify(answer)));
    const found = await provider(server).lookup(AERIAL_DISC_2, signal());
    expect(found).toMatchObject({ releaseId: '9b3d9383-3d2a-417f-bfbb-56f7c15f075b', year: '2008' });
    expect(found!.tracks).toHaveLength(9);
    expect(found!.tracks[0]).toEqual({ number: 1, title: 'Prelude' }); // that release credits no track artists
  });

  it('an unknown disc id with a TOC: the fuzzy answer is a release list; picks the medium with the disc’s track count', async () => {
    const server = await serve((_req, res) => json(res, 200, fixture('toc-fuzzy-release-list.json')));
    const found = await provider(server).lookup(AERIAL_OTHER_PRESSING, signal());
    expect(server.seen[0]!.query.get('toc')).toBe('1 9 189375 150 6646 32319 54073 61268 88161 92761 115308 153909');
    expect(found).toMatchObject({ album: 'Aerial', releaseId: '9b3d9383-3d2a-417f-bfbb-56f7c15f075b', year: '2008' });
    expect(found!.tracks.map((t) => t.title)).toEqual([
      'Prelude',
      'Prologue',
      "An Architect's Dream",
      "The Painter's Link",
      'Sunset',
      'Aerial Tal',
      'Somewhere in Between',
      'Nocturn',
      'Aerial',
    ]);
  });

  it('a fuzzy answer with no release is "not found"', async () => {
    const server = await serve((_req, res) => json(res, 200, '{"release-count":0,"release-offset":0,"releases":[]}'));
    expect(await provider(server).lookup(AERIAL_OTHER_PRESSING, signal())).toBeUndefined();
  });

  it('sends no TOC the server would refuse (first track not 1), and a 404 is "not found"', async () => {
    const server = await serve((_req, res) => json(res, 404, NOT_FOUND));
    const query = { ...SINGLE, firstTrack: 2, lastTrack: 5 };
    expect(await provider(server).lookup(query, signal())).toBeUndefined();
    expect(server.seen[0]!.url).toBe('/ws/2/discid/1eCEFAH2QndnjYjjWZNn3eKo154-?inc=recordings+artist-credits&fmt=json&cdstubs=no');
  });

  it('503, then success: waits what Retry-After says, then asks once more', async () => {
    const server = await serve((_req, res, index) => {
      if (index === 0) json(res, 503, RATE_LIMITED, { 'Retry-After': '2' });
      else json(res, 200, fixture('discid-single-disc.json'));
    });
    const found = await provider(server).lookup(SINGLE, signal());
    expect(found?.album).toBe('Test Pressing');
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(1950);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeLessThan(3000);
  });

  it('503 twice: a RipError; the retry waited the one second even when Retry-After said 0', async () => {
    const server = await serve((_req, res) => json(res, 503, RATE_LIMITED, { 'Retry-After': '0' }));
    const error = await failure(provider(server).lookup(SINGLE, signal()));
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe('MusicBrainz is busy (it turned the lookup down twice): look the disc up again in a minute');
    expect((error as RipError).detail).toContain('exceeding the allowable rate limit');
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('503 asking for a longer wait than allowed: a RipError at once, no second request', async () => {
    const server = await serve((_req, res) => json(res, 503, RATE_LIMITED, { 'Retry-After': '3600' }));
    const started = performance.now();
    const error = await failure(provider(server).lookup(SINGLE, signal()));
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe('MusicBrainz is busy and asked to wait 3600 s: look the disc up again later');
    expect(performance.now() - started).toBeLessThan(500);
    expect(server.seen).toHaveLength(1);
  });

  it('a server that does not answer: a RipError within the timeout', async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const started = performance.now();
    const error = await failure(provider(server, { timeoutMs: 300 }).lookup(SINGLE, signal()));
    const took = performance.now() - started;
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe('MusicBrainz did not answer within 0.3 s');
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1500);
  });

  it('an answer that starts and stalls: a RipError within the timeout too', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"id":"1eCEFAH2QndnjYjjWZNn3eKo154-","releases":[');
    });
    const started = performance.now();
    const error = await failure(provider(server, { timeoutMs: 300 }).lookup(SINGLE, signal()));
    expect((error as RipError).message).toBe('MusicBrainz did not answer within 0.3 s');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('nothing listening: a RipError saying so', async () => {
    const server = await serve(() => undefined);
    const closed = servers.pop()!;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(provider(server).lookup(SINGLE, signal()));
    expect(error).toBeInstanceOf(RipError);
    expect((error as RipError).message).toBe(`Could not reach MusicBrainz at ${new URL(server.baseUrl).host}`);
    expect((error as RipError).detail).toContain('ECONNREFUSED');
  });

  it('malformed JSON, or JSON of another shape: "cannot read"', async () => {
    for (const body of ['{"id":"1eCEFAH2QndnjYjjWZNn3eKo154-","releases":[{"title":"Aer', '<html>Service</html>', '[]', '{"releases":"none"}']) {
      const server = await serve((_req, res) => json(res, 200, body));
      const error = await failure(provider(server).lookup(SINGLE, signal()));
      expect(error).toBeInstanceOf(RipError);
      expect((error as RipError).message).toBe('MusicBrainz sent an answer discbridge cannot read');
    }
  });

  it('hostile strings are cut and cleaned; tracks with bad numbers are ignored', async () => {
    const answer = JSON.parse(fixture('discid-single-disc.json')) as {
      releases: { title: unknown; date: unknown; 'artist-credit': unknown; media: { tracks: Record<string, unknown>[] }[] }[];
    };
    const release = answer.releases[0]!;
    release.title = `Test\u0000Pressing\u001b[2J\r\n\u202e${'x'.repeat(10_000)}`;
    release['artist-credit'] = [{ name: 'Loop\u0007 Devices', joinphrase: 7 }];
    release.date = { year: 2019 };
    const tracks = release.media[0]!.tracks;
    tracks[0]!.title = 12345; // not a string: the track stays, untitled
    tracks[1]!.position = -1; // a bad position and…
    tracks[1]!.number = 'B'; // …no plain number: ignored
    tracks[2]!.position = 2; // moved up to the free number 2
    tracks[3]!.position = 1000;
    tracks[3]!.number = '1000'; // past the disc's last track: ignored
    tracks.push(
      { position: 9, number: '9', title: 'Not on this disc' }, // past the disc's last track: ignored
      { position: 1, number: '1', title: 'Duplicate' }, // the same number as another: the first one wins
      { position: '4', number: '4', title: 'Hidden\ttrack\u2028four' }, // a string position: its plain number counts
    );
    tracks.push('not a track' as unknown as Record<string, unknown>);
    const server = await serve((_req, res) => json(res, 200, JSON.stringify(answer)));

    const found = await provider(server).lookup(SINGLE, signal());

    expect(found!.album!.length).toBeLessThanOrEqual(256);
    expect(found!.album!.startsWith('Test Pressing [2J x')).toBe(true);
    expect(found!.album!.endsWith('…')).toBe(true);
    expect(found!.album).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(found!.artist).toBe('Loop Devices');
    expect(found!.year).toBeUndefined();
    expect(found!.tracks).toEqual([
      { number: 1, artist: 'The Loop Devices & Sector Sixteen' },
      { number: 2, title: 'Lead-Out (Tray Open Mix)', artist: 'The Loop Devices feat. Rescue Pass' },
      { number: 4, title: 'Hidden track four' },
    ]);
  });

  it('an answer too large to be one is not read whole', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"releases":[],"padding":"${' '.repeat(5 * 1024 * 1024)}"}`);
    });
    const error = await failure(provider(server).lookup(SINGLE, signal()));
    expect((error as RipError).message).toBe('MusicBrainz sent an answer discbridge cannot read');
    expect((error as RipError).detail).toMatch(/more than 4194304|longer than 4194304 bytes/);
  });

  it('keeps to one request a second: two lookups in a row are a second apart', async () => {
    const server = await serve((_req, res) => json(res, 404, NOT_FOUND));
    const musicBrainz = provider(server);
    await Promise.all([musicBrainz.lookup(SINGLE, signal()), musicBrainz.lookup(AERIAL_DISC_2, signal())]);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('a second provider for the same server shares the limiter', async () => {
    const server = await serve((_req, res) => json(res, 404, NOT_FOUND));
    await provider(server).lookup(SINGLE, signal());
    await provider(server).lookup(SINGLE, signal());
    expect(server.seen[1]!.at - server.seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it("the caller's signal cancels a lookup in flight with the signal's reason", async () => {
    const server = await serve(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    const error = await failure(provider(server).lookup(SINGLE, controller.signal));
    expect(error).toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("the caller's signal cancels the wait before a retry", async () => {
    const server = await serve((_req, res) => json(res, 503, RATE_LIMITED, { 'Retry-After': '5' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 200);
    const started = performance.now();
    const error = await failure(provider(server).lookup(SINGLE, controller.signal));
    expect((error as Error).message).toBe('job cancelled');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(server.seen).toHaveLength(1);
  });

  it('refuses a User-Agent MusicBrainz would not accept, and a disc id that is not one', async () => {
    expect(() => new MusicBrainzProvider({ baseUrl: 'https://musicbrainz.org', userAgent: 'node' })).toThrow(/User-Agent like/);
    expect(() => new MusicBrainzProvider({ baseUrl: 'https://musicbrainz.org', userAgent: 'discbridge/0.1.0' })).toThrow(/User-Agent like/);
    expect(() => new MusicBrainzProvider({ baseUrl: 'ftp://musicbrainz.org', userAgent: USER_AGENT })).toThrow(/http/);
    const server = await serve((_req, res) => json(res, 404, NOT_FOUND));
    const error = await failure(provider(server).lookup({ ...SINGLE, musicBrainzDiscId: '../../artist/x' }, signal()));
    expect(error).toBeInstanceOf(RipError);
    expect(server.seen).toHaveLength(0);
  });
});

describe('helpers', () => {
  it('retryAfterMs reads seconds and HTTP dates', () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('cleanText keeps one readable line and never splits a surrogate pair', () => {
    expect(cleanText('  a\u0000b\n\tc  ')).toBe('a b c');
    expect(cleanText('\u0001\u0002')).toBeUndefined();
    const cut = cleanText(`${'a'.repeat(254)}😀😀`)!;
    expect(cut.length).toBeLessThanOrEqual(256);
    expect(cut).toBe(`${'a'.repeat(254)}…`);
    expect(cleanText('\ud800x')).toBe('\ufffdx');
  });
});
