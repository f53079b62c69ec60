// What an image in the import folder is, read from the file itself: an ISO's file system (DVD, Blu-ray or data, and
// its label), or an audio CD's CUE sheet or cdrdao TOC (its CD-Text album), and the files a CUE or TOC names, which
// must all be there, inside the folder, before the image can be taken.
import { lstat, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { volumeInfo } from '../../disc-fs/disc-files.js';
import { cachedRead, openReadAt } from '../../disc-fs/read-at.js';
import type { DiscIdentity } from '../drive-source.js';
import { readVideoStructure, videoDiscType } from '../video-structure.js';

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
    const discType = videoDiscType(await readVideoStructure(read)) ?? (volume.fileSystem ? 'data' : 'unknown');
    return { volumeLabel: volume.label?.trim() || name, discType, ...(volume.fileSystem ? { fsType: volume.fileSystem } : {}) };
  } finally {
    await disc.close();
  }
}

export type ImageCheck = { ok: true } | { ok: false; waiting: boolean; reason: string };

/**
 * Whether an image can be taken: not a link, and a CUE sheet's or TOC's files all there. A name that leads out of the
 * folder (or a link, which could) is refused outright; a file not there yet may still be on its way (`waiting`).
 */
export async function checkImage(path: string, folder: string): Promise<ImageCheck> {
  // A link could lead anywhere the agent may read (its own keys, /etc/shadow for a root agent) into the output.
  if (await isLink(path)) return { ok: false, waiting: false, reason: 'It is a symbolic link: copy the image into the folder instead' };
  if (extname(path).toLowerCase() === '.iso') return { ok: true };
  const sheet = await readSheet(path);
  if (sheet === undefined) return { ok: false, waiting: false, reason: 'The CUE sheet or TOC cannot be read as text' };
  const root = resolve(folder);
  const files = referencedFiles(sheet);
  const outside = files.find((file) => isAbsolute(file) || dirname(resolve(dirname(path), file)) !== root);
  if (outside !== undefined) return { ok: false, waiting: false, reason: `It refers to a file outside the import folder ("${outside.slice(0, 100)}")` };
  const unreadable = extname(path).toLowerCase() === '.cue' ? libcdioCannotRead(path, files) : undefined;
  if (unreadable) return { ok: false, waiting: false, reason: unreadable };
  for (const file of files) {
    const target = resolve(dirname(path), file);
    if (await isLink(target)) return { ok: false, waiting: false, reason: `The file it names is a symbolic link ("${basename(file).slice(0, 100)}"): copy it into the folder instead` };
    if (!(await stat(target).then((s) => s.isFile(), () => false))) {
      return { ok: false, waiting: true, reason: `The file it names is missing: "${basename(file)}"` };
    }
  }
  return { ok: true };
}

async function isLink(path: string): Promise<boolean> {
  return lstat(path).then((s) => s.isSymbolicLink(), () => false);
}

/**
 * libcdio, which reads CUE images for cd-info and cd-paranoia, ignores a sheet's FILE line and opens the BIN named
 * like the sheet: anything else would rip nothing, so it is said at once.
 */
function libcdioCannotRead(sheet: string, files: readonly string[]): string | undefined {
  const expected = `${basename(sheet, extname(sheet))}.bin`;
  if (files.length > 1) return `It names ${files.length} files; only a CUE sheet with one BIN, named like the sheet (${expected}), can be ripped`;
  const named = files[0];
  if (named !== undefined && basename(named).toLowerCase() !== expected.toLowerCase()) {
    return `It names "${basename(named).slice(0, 100)}", but only a BIN named like the sheet can be read: rename it to "${expected}" (and its FILE line)`;
  }
  return undefined;
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
