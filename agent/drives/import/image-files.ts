// What an image in the import folder is, read from the file itself: an ISO's file system (DVD, Blu-ray or data, and
// its label), or an audio CD's CUE sheet or cdrdao TOC (its CD-Text album), and the files a CUE or TOC names, which
// must all be there, inside the folder, before the image can be taken.
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve, sep } from 'node:path';
import { discHasFile, volumeInfo } from '../../disc-fs/disc-files.js';
import { cachedRead, openReadAt } from '../../disc-fs/read-at.js';
import type { DiscIdentity } from '../drive-source.js';

export const IMAGE_EXTENSIONS = ['.iso', '.cue', '.toc'] as const;

/** A CUE sheet or TOC is text of a few kilobytes; anything far larger is not one. */
const MAX_SHEET_BYTES = 1024 * 1024;

export function isImageFile(path: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

export async function identifyImage(path: string): Promise<DiscIdentity> {
  const name = basename(path, extname(path));
  if (extname(path).toLowerCase() !== '.iso') {
    const sheet = await readSheet(path);
    return { volumeLabel: (sheet && albumOf(sheet)) || name, discType: 'cd' };
  }
  const disc = await openReadAt(path).catch(() => undefined);
  if (!disc) return { volumeLabel: name, discType: 'unknown' };
  try {
    const read = cachedRead(disc.read);
    const volume = await volumeInfo(read);
    const discType = (await discHasFile(read, 'BDMV/index.bdmv')) ? 'bluray'
      : (await discHasFile(read, 'VIDEO_TS/VIDEO_TS.IFO')) ? 'dvd'
        : volume.fileSystem ? 'data' : 'unknown';
    return { volumeLabel: volume.label?.trim() || name, discType, ...(volume.fileSystem ? { fsType: volume.fileSystem } : {}) };
  } finally {
    await disc.close();
  }
}

export type SheetCheck = { ok: true } | { ok: false; waiting: boolean; reason: string };

/**
 * Whether the files a CUE sheet or TOC names are all there. A name that leads out of the folder is refused outright;
 * one not there yet may still be on its way (`waiting`).
 */
export async function checkSheetFiles(path: string, folder: string): Promise<SheetCheck> {
  if (extname(path).toLowerCase() === '.iso') return { ok: true };
  const sheet = await readSheet(path);
  if (sheet === undefined) return { ok: false, waiting: false, reason: 'The CUE sheet or TOC cannot be read as text' };
  const root = resolve(folder);
  for (const file of referencedFiles(sheet)) {
    const target = resolve(dirname(path), file);
    if (isAbsolute(file) || !target.startsWith(root + sep) || dirname(target) !== root) {
      return { ok: false, waiting: false, reason: `It refers to a file outside the import folder ("${file.slice(0, 100)}")` };
    }
    if (!(await stat(target).then((s) => s.isFile(), () => false))) {
      return { ok: false, waiting: true, reason: `The file it names is missing: "${basename(file)}"` };
    }
  }
  return { ok: true };
}

/** The files of the folder a CUE sheet or TOC names (none for an ISO): they move with it. */
export async function sheetFiles(path: string, folder: string): Promise<string[]> {
  if (extname(path).toLowerCase() === '.iso') return [];
  const root = resolve(folder);
  return referencedFiles((await readSheet(path)) ?? '').map((file) => resolve(dirname(path), file)).filter((file) => dirname(file) === root);
}

/** The FILE names of a CUE sheet (`FILE "disc.bin" BINARY`) or a cdrdao TOC (`FILE "disc.bin" 0 …`). */
export function referencedFiles(sheet: string): string[] {
  const files = new Set<string>();
  for (const line of sheet.split(/\r?\n/)) {
    const match = /^\s*(?:FILE|AUDIOFILE|DATAFILE)\s+(?:"((?:[^"\\]|\\.)*)"|(\S+))/i.exec(line);
    if (match) files.add((match[1] ?? match[2] ?? '').replace(/\\(.)/g, '$1'));
  }
  return [...files];
}

/** The disc's CD-Text album: the TITLE before the first TRACK, in a CUE sheet and a TOC alike. */
export function albumOf(sheet: string): string | undefined {
  const beforeTracks = sheet.split(/^\s*TRACK\s/im)[0] ?? '';
  const match = /^\s*TITLE\s+"((?:[^"\\]|\\.)*)"/im.exec(beforeTracks);
  return match?.[1]?.replace(/\\(.)/g, '$1').trim().slice(0, 256) || undefined;
}

async function readSheet(path: string): Promise<string | undefined> {
  const size = await stat(path).then((s) => s.size, () => Infinity);
  if (size > MAX_SHEET_BYTES) return undefined;
  return readFile(path, 'utf8').catch(() => undefined);
}
