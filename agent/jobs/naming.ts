// Turns what a disc supplies (its volume label, title names) into file and folder names that are safe on every OS,
// and guarantees that every path we build stays inside the output directory.
import { isAbsolute, relative, resolve, sep } from 'node:path';

const MAX_NAME_BYTES = 100;
// Windows ignores spaces before the extension, so "CON .txt" is the console too.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\s*\..*)?$/i;

/** A single path component made from untrusted text; `fallback` when nothing usable is left. */
export function safeName(untrusted: string, fallback = 'disc'): string {
  let name = untrusted
    // Bidirectional overrides, zero-width and other invisible characters can disguise a name; lone surrogates are not text.
    .replace(/[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\p{Cs}/gu, '')
    .normalize('NFC')
    // Control characters, path separators and the characters Windows forbids.
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"/\\|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    // Windows drops trailing dots and spaces; leading dots hide files on Unix and make '..'.
    .replace(/^[.\s]+|[.\s]+$/g, '');
  const prefix = WINDOWS_RESERVED.test(name) ? '_' : '';
  name = truncateUtf8(name, MAX_NAME_BYTES - prefix.length).replace(/[.\s]+$/g, '');
  if (name === '' || /^_+$/.test(name)) return fallback;
  return prefix + name;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** Joins safe components under `root`, refusing anything that would land outside it. */
export function pathInside(root: string, ...components: string[]): string {
  const base = resolve(root);
  const full = resolve(base, ...components);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new Error(`Refusing a path outside the output directory: ${JSON.stringify(components.join(sep))}`);
  }
  return full;
}

/** The file name of one ripped title: "<label>_t01.mkv". */
export function titleFileName(volumeLabel: string, titleId: number, extension = 'mkv'): string {
  return `${safeName(volumeLabel)}_t${String(titleId).padStart(2, '0')}.${extension}`;
}
