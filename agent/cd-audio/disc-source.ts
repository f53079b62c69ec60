// Where the libcdio tools (cd-info, cd-paranoia) read a disc from: a drive, or an image (.cue or .toc) that stands in
// for one in tests and for discs already copied. Owns how an image is named to them and the folder they run in.
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { RipError } from '../tools/rip-error.js';

export type DiscSource =
  | { kind: 'drive'; path: string }
  | {
      kind: 'cue' | 'toc';
      /** The image's base name, as the tool is given it. */
      path: string;
      /** The image's folder: libcdio resolves a TOC's FILE against the current directory, so the tool runs there. */
      cwd: string;
    };

const IMAGE_KINDS: Record<string, 'cue' | 'toc'> = { '.cue': 'cue', '.toc': 'toc' };

/** The disc as people are told of it: a drive by its device, an image by its file name (not the station's paths). */
export function discName(source: string): string {
  return IMAGE_KINDS[extname(source).toLowerCase()] ? basename(source) : source;
}

export async function locateDisc(source: string): Promise<DiscSource> {
  const kind = IMAGE_KINDS[extname(source).toLowerCase()];
  if (!kind) return { kind: 'drive', path: source };
  const file = resolve(source);
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) throw new RipError(`The disc image ${discName(source)} does not exist`);
  // "./" so that a name beginning with "-" cannot be read as an option.
  return { kind, path: `./${basename(file)}`, cwd: dirname(file) };
}
