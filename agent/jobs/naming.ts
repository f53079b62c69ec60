// Turns what a disc supplies (its volume label, title names) into file and folder names that are safe on every OS,
// and guarantees that every path we build stays inside the output directory.
import { isAbsolute, relative, resolve, sep } from 'node:path';

const MAX_NAME_BYTES = 100;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** A single path component made from untrusted text; `fallback` when nothing usable is left. */
export function safeName(untrusted: string, fallback = 'disc'): string {
  let name = untrusted
    .normalize('NFC')
    // Control characters, path separators and the characters Windows forbids.
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"/\\|?*]/g, '_')
    // Bidirectional overrides and other invisible format characters can disguise a name.
    .replace(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    // Windows drops trailing dots and spaces; leading dots hide files on Unix and make '..'.
    .replace(/^[.\s]+|[.\s]+$/g, '');
  name = truncateUtf8(name, MAX_NAME_BYTES).replace(/[.\s]+$/g, '');
  if (name === '' || /^_+$/.test(name)) return fallback;
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  return name;
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
