// Looking an audio CD up in an online database: what a provider is given (the disc's table of contents and the ids
// computed from it) and what it answers (album, artist, year and per-track titles). Providers are tried in order;
// each is off unless configured, so a station without network access never waits on one.

/** An audio CD as the drive reports it: its disc ids and the table of contents they were computed from. */
export interface DiscQuery {
  /** MusicBrainz disc id: 28 characters, `[A-Za-z0-9._-]`, the last one `-`. */
  musicBrainzDiscId: string;
  /** FreeDB/CDDB disc id: 8 hex digits. */
  freedbDiscId: string;
  firstTrack: number;
  lastTrack: number;
  /** Lead-out start, in sectors, including the 150-sector (2 s) pre-gap, like `trackOffsets`. */
  leadOutOffset: number;
  /** LSN + 150 of each track, first to last. */
  trackOffsets: number[];
}

export interface TrackMetadata {
  /** The track's number on the disc (`firstTrack` … `lastTrack`). */
  number: number;
  title?: string;
  artist?: string;
}

export interface DiscMetadata {
  /** Which provider answered: `musicbrainz`, … */
  provider: string;
  album?: string;
  artist?: string;
  /** Four digits, when the provider knows the release date. */
  year?: string;
  /** The provider's own id of the release (MusicBrainz: the release MBID). */
  releaseId?: string;
  /** Only the tracks the provider named, in track order; a track it did not name is missing. */
  tracks: TrackMetadata[];
}

export interface MetadataProvider {
  readonly name: string;
  /**
   * `undefined`: the provider does not know the disc. Throws a `RipError` on a failure people should read (not
   * reachable, too slow, rate limited, an answer it cannot read); when `signal` aborts, throws its reason.
   */
  lookup(query: DiscQuery, signal: AbortSignal): Promise<DiscMetadata | undefined>;
}
