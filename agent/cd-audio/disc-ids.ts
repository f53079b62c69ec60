// Computes a disc's MusicBrainz and freedb (CDDB) ids from its table of contents, offline, as libdiscid and cd-discid
// do: the keys to look a disc up by, which need only the TOC (and no network) to compute.
import { createHash } from 'node:crypto';
import { SECTORS_PER_SECOND, type CdToc } from './toc.js';

// TOC addresses count from the start of the program area; sector 0 is 2 s (150 sectors) after the disc's start.
const LEAD_IN_SECTORS = 150;
// An enhanced CD's data track is a second session: the first one's lead-out (6750 sectors), the second one's lead-in
// (4500) and its pregap (150) lie between the audio and the data. libdiscid's XA_INTERVAL (src/toc.c).
const SESSION_GAP_SECTORS = 11400;
const MUSICBRAINZ_SLOTS = 100;

/** The disc as MusicBrainz sees it: what its disc id is computed from, and what a lookup by TOC sends. */
export interface MusicBrainzToc {
  firstTrack: number;
  lastTrack: number;
  /** Sectors from the start of the disc (LSN + 150). */
  leadOutOffset: number;
  trackOffsets: number[];
}

/**
 * MusicBrainz counts the audio session only: the last track is the last audio track and, when a data track follows
 * it, the lead-out is that track's start minus the gap between sessions (libdiscid's mb_disc_load_toc). Data tracks
 * before or between audio tracks (mixed-mode CDs) stay in, since releases are numbered from track 1.
 */
export function musicBrainzToc(toc: CdToc): MusicBrainzToc {
  const lastAudio = toc.tracks.findLast((track) => track.audio);
  if (!lastAudio) throw new Error('a MusicBrainz disc id needs an audio track');
  const dataStart = toc.tracks.find((track) => track.number === lastAudio.number + 1)?.startLsn;
  const leadOut = dataStart === undefined ? toc.leadOutLsn : audioSessionEnd(lastAudio.startLsn, dataStart);
  return {
    firstTrack: toc.firstTrack,
    lastTrack: lastAudio.number,
    leadOutOffset: leadOut + LEAD_IN_SECTORS,
    trackOffsets: toc.tracks.filter((track) => track.number <= lastAudio.number).map((track) => track.startLsn + LEAD_IN_SECTORS),
  };
}

export function musicBrainzDiscId(toc: CdToc): string {
  const disc = musicBrainzToc(toc);
  const slots = new Array<number>(MUSICBRAINZ_SLOTS).fill(0);
  slots[0] = disc.leadOutOffset;
  disc.trackOffsets.forEach((offset, index) => { slots[disc.firstTrack + index] = offset; });
  const text = hex(disc.firstTrack, 2) + hex(disc.lastTrack, 2) + slots.map((offset) => hex(offset, 8)).join('');
  return createHash('sha1')
    .update(text, 'ascii')
    .digest('base64')
    .replace(/[+/=]/g, (character) => ({ '+': '.', '/': '_', '=': '-' })[character]!);
}

/** An image may hold an enhanced CD without the gap between its sessions: then the audio ends where the data begins. */
function audioSessionEnd(lastAudioStart: number, dataStart: number): number {
  const end = dataStart - SESSION_GAP_SECTORS;
  return end > lastAudioStart ? end : dataStart;
}

/** freedb counts every track, data tracks too, and the disc's real lead-out: 8 lower-case hex digits. */
export function freedbDiscId(toc: CdToc): string {
  const seconds = (lsn: number) => Math.floor((lsn + LEAD_IN_SECTORS) / SECTORS_PER_SECOND);
  const checksum = toc.tracks.reduce((sum, track) => sum + digitSum(seconds(track.startLsn)), 0) % 255;
  const length = seconds(toc.leadOutLsn) - seconds(toc.tracks[0]?.startLsn ?? 0);
  return (((checksum << 24) | (length << 8) | toc.tracks.length) >>> 0).toString(16).padStart(8, '0');
}

function digitSum(value: number): number {
  let sum = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 10)) sum += rest % 10;
  return sum;
}

function hex(value: number, digits: number): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}
