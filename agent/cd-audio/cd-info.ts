// Reads an audio CD's table of contents and CD-Text with libcdio's cd-info, from a drive or from an image, and parses
// what it prints: the track list with each track's LSN, the lead-out (track 170), the catalog number and CD-Text.
import { missingTool, notFound } from '../tools/find-executable.js';
import { RipError } from '../tools/rip-error.js';
import { runTool, ToolMissingError, type ToolRun } from '../tools/run-tool.js';
import { discName, locateDisc } from './disc-source.js';
import type { CdToc, CdTrack } from './toc.js';

const INSTALL_HINT = 'install the Debian package libcdio-utils (apt-get install libcdio-utils), or set DISCBRIDGE_CD_INFO to its path';

const TRACK_LIST = /^CD-ROM Track List \((\d+) - (\d+)\)/;
// "  3: 00:21:23  001448 audio  false  no    2        no", "170: 00:26:23  001823 leadout (4 MB raw, …)"
const TRACK_LINE = /^\s*(\d+): \d\d:\d\d:\d\d\s+(\d+) (\S+)/;
const LEAD_OUT_TRACK = 170;
const DISC_MODE = /^Disc mode is listed as: (.*)$/;
const CATALOG = /^Media Catalog Number \(MCN\): (\d{13})\s*$/;
const NO_CATALOG = /^0+$/;
const CD_TEXT_LANGUAGE = /^Language \d+/;
const CD_TEXT_DISC = /^CD-TEXT for Disc:/;
const CD_TEXT_TRACK = /^CD-TEXT for Track\s+(\d+):/;
const CD_TEXT_FIELD = /^\t(TITLE|PERFORMER): (.*)$/;
// LSNs past 99 minutes are what a broken TOC or a broken image gives (libcdio prints 2^64 - 150 for some).
const MAX_LSN = 99 * 60 * 75;

interface CdText {
  title?: string;
  performer?: string;
}

/** Parses `cd-info --no-header --no-device-info` output. Throws a RipError when it lists no sensible table of contents. */
export function parseCdInfo(text: string): CdToc {
  const entries: { number: number; startLsn: number; audio: boolean }[] = [];
  let range: { first: number; last: number } | undefined;
  let leadOutLsn: number | undefined;
  let discMode: string | undefined;
  let catalog: string | undefined;
  const cdText = new Map<number | 'disc', CdText>();
  let textTarget: CdText | undefined;
  let languages = 0;
  let inTrackList = false;

  for (const line of text.split('\n')) {
    const listed = TRACK_LIST.exec(line);
    if (listed) {
      range = { first: Number(listed[1]), last: Number(listed[2]) };
      inTrackList = true;
      continue;
    }
    const track = inTrackList ? TRACK_LINE.exec(line) : null;
    if (track) {
      const [number, startLsn] = [Number(track[1]), Number(track[2])];
      if (number === LEAD_OUT_TRACK) {
        leadOutLsn = startLsn;
        inTrackList = false;
      } else {
        entries.push({ number, startLsn, audio: track[3] === 'audio' });
      }
      continue;
    }
    discMode ??= DISC_MODE.exec(line)?.[1];
    const mcn = CATALOG.exec(line)?.[1];
    if (mcn && !NO_CATALOG.test(mcn)) catalog = mcn;

    // Only the first CD-Text language: it is the one a player shows.
    if (CD_TEXT_LANGUAGE.test(line)) {
      languages += 1;
      textTarget = undefined;
      continue;
    }
    if (languages > 1) continue;
    if (CD_TEXT_DISC.test(line)) {
      textTarget = textFor(cdText, 'disc');
      continue;
    }
    const textTrack = CD_TEXT_TRACK.exec(line);
    if (textTrack) {
      textTarget = textFor(cdText, Number(textTrack[1]));
      continue;
    }
    const field = textTarget ? CD_TEXT_FIELD.exec(line) : null;
    if (field && textTarget) {
      const value = field[2]!.trim();
      if (value !== '') textTarget[field[1] === 'TITLE' ? 'title' : 'performer'] = value;
      continue;
    }
    if (!line.startsWith('\t')) textTarget = undefined;
  }

  if (!range || leadOutLsn === undefined || entries.length === 0) {
    throw new RipError('cd-info found no table of contents on the disc', discMode && `Disc mode is listed as: ${discMode}`);
  }
  checkOrder(entries, range, leadOutLsn);
  const tracks: CdTrack[] = entries.map((entry, index) => ({
    ...entry,
    lengthSectors: (entries[index + 1]?.startLsn ?? leadOutLsn) - entry.startLsn,
    ...cdText.get(entry.number),
  }));
  const disc = cdText.get('disc');
  return {
    firstTrack: range.first,
    lastTrack: range.last,
    leadOutLsn,
    tracks,
    ...(disc?.title !== undefined ? { album: disc.title } : {}),
    ...(disc?.performer !== undefined ? { performer: disc.performer } : {}),
    ...(catalog !== undefined ? { catalog } : {}),
  };
}

function textFor(texts: Map<number | 'disc', CdText>, key: number | 'disc'): CdText {
  let text = texts.get(key);
  if (!text) texts.set(key, (text = {}));
  return text;
}

/** Track numbers one after another, starts rising, all before the lead-out: anything else would mislead the rip. */
function checkOrder(entries: { number: number; startLsn: number }[], range: { first: number; last: number }, leadOutLsn: number): void {
  const sensible =
    entries[0]!.number === range.first &&
    entries.at(-1)!.number === range.last &&
    leadOutLsn <= MAX_LSN &&
    entries.every((entry, index) => {
      const next = entries[index + 1];
      return next ? next.number === entry.number + 1 && next.startLsn > entry.startLsn : entry.startLsn < leadOutLsn;
    });
  if (!sensible) {
    const listed = entries.map((entry) => `${entry.number}@${entry.startLsn}`).join(' ');
    throw new RipError("The disc's table of contents makes no sense", `tracks ${listed}, lead-out @${leadOutLsn}`);
  }
}

export class CdInfo {
  readonly toolName = 'cd-info';

  constructor(private readonly options: { binary: string }) {}

  checkInstalled(): Promise<string | undefined> {
    return missingTool(this.toolName, this.options.binary, INSTALL_HINT);
  }

  /** `source`: a drive (/dev/sr0) or an image (.cue, .toc). Throws a RipError when the disc has no audio track. */
  async readToc({ source, signal }: { source: string; signal: AbortSignal }): Promise<CdToc> {
    signal.throwIfAborted();
    const disc = await locateDisc(source);
    const input = disc.kind === 'drive' ? `--cdrom-device=${disc.path}` : `--${disc.kind}-file=${disc.path}`;
    let run: ToolRun;
    try {
      run = await runTool(this.options.binary, ['--no-header', '--no-device-info', input], {
        signal,
        collectStdout: true,
        installHint: INSTALL_HINT,
        ...(disc.kind === 'drive' ? {} : { cwd: disc.cwd }),
      });
    } catch (error) {
      if (error instanceof ToolMissingError) throw new RipError(notFound(this.toolName, this.options.binary, INSTALL_HINT));
      throw error;
    }
    if (run.cancelled) throw signal.reason;
    // libcdio writes its warnings ("++ WARN: …") to stdout: they are the reason as much as stderr is.
    const detail = [...run.stdout.split('\n').filter((line) => line.startsWith('++ ')), ...run.stderrTail].join('\n');
    if (run.exitCode !== 0) throw new RipError(`cd-info could not read the disc in ${discName(source)}`, detail);
    const toc = parseCdInfo(run.stdout);
    if (!toc.tracks.some((track) => track.audio)) throw new RipError(`The disc in ${discName(source)} has no audio tracks`);
    return toc;
  }
}
