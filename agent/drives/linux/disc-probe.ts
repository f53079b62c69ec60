// Identifies the disc in a drive before any ripper runs: its volume label, filesystem and kind (DVD, Blu-ray, CD, data).
// Sources, best first: udev's media properties (real optical drives), blkid's low-level probe (any block device),
// and a look for the DVD-Video and Blu-ray structure on the disc's filesystem (read in-process, UDF or ISO 9660).
import type { DiscType } from '../../../shared/index.js';

import { runTool } from '../../tools/run-tool.js';
import type { DiscIdentity } from '../drive-source.js';
import { readDiscStructure, videoDiscType, type DiscStructure } from '../video-structure.js';


/** How often, and how far apart, a disc that shows nothing is read again before it is taken as blank or unreadable. */
export const BLANK_PROBE_RETRIES = { attempts: 4, delayMs: 500 };

/**
 * Probes until the disc shows a file system, a label or a kind. A drive reports a medium before it can read it (a disc
 * spinning up; a tray closed again at once; an image attached anew), and a first look then finds nothing: taken at its
 * word, the job would be named "disc" and ripped as unknown. A disc that is truly blank costs the retries, 1.5 s.
 */
export async function probeSettledDisc(
  devicePath: string,
  probe: (devicePath: string) => Promise<DiscIdentity> = probeDisc,
  retries = BLANK_PROBE_RETRIES,
): Promise<DiscIdentity> {
  for (let attempt = 1; ; attempt++) {
    const identity = await probe(devicePath);
    const blank = identity.discType === 'unknown' && !identity.fsType && !identity.volumeLabel;
    if (!blank || attempt >= retries.attempts) return identity;
    await new Promise((resolve) => setTimeout(resolve, retries.delayMs));
  }
}

export async function probeDisc(devicePath: string): Promise<DiscIdentity> {
  const [blkid, udev, structure] = await Promise.all([
    readProperties('blkid', ['-p', '-o', 'export', devicePath]),
    readProperties('udevadm', ['info', '--query=property', `--name=${devicePath}`]),
    readDiscStructure(devicePath),
  ]);
  const label = blkid.LABEL ?? decodeUdevLabel(udev.ID_FS_LABEL_ENC) ?? udev.ID_FS_LABEL ?? '';
  const fsType = blkid.TYPE ?? udev.ID_FS_TYPE;
  return {
    volumeLabel: label,
    ...(fsType ? { fsType } : {}),
    discType: classifyDisc(udev, fsType, structure),
  };
}

/** `found` says which entry files the disc holds. */
export function classifyDisc(udev: Record<string, string>, fsType: string | undefined, found: Partial<DiscStructure>): DiscType {
  const media = (suffix: string) => Object.keys(udev).some((key) => key.startsWith(`ID_CDROM_MEDIA_${suffix}`) && udev[key] === '1');
  if (media('BD')) return 'bluray';
  const video = videoDiscType(found);
  if (video) return video;
  // An enhanced CD's data session has a file system too; its audio is what it is for.
  if (Number(udev.ID_CDROM_MEDIA_TRACK_COUNT_AUDIO ?? 0) > 0) return 'cd';
  if (fsType) return 'data';
  return 'unknown';
}

/**
 * Parses `KEY=value` lines as printed by `blkid -o export` and `udevadm info` (with or without its `E: ` prefix).
 * blkid escapes a space, \\ " ' $ ` < and > with a backslash (`LABEL=MY\ DISC`); udev never writes those sequences
 * (its _ENC values use \xNN), so undoing exactly those escapes is right for both.
 */
export function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^E: /, '').replace(/(?<!\\)\s+$/, '');
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!/^[A-Z0-9_]+$/.test(key)) continue;
    properties[key] = line.slice(eq + 1).replace(/\\([\\ "'$`<>])/g, '$1');
  }
  return properties;
}

/** udev escapes unsafe label bytes as \xNN in ID_FS_LABEL_ENC ("Monsters\x2c\x20Inc."). */
export function decodeUdevLabel(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  // The escapes are bytes of UTF-8, so decode to bytes first and read the whole as UTF-8.
  const parts = encoded.split(/(\\x[0-9a-fA-F]{2})/);
  const bytes = parts.map((part) => (/^\\x[0-9a-fA-F]{2}$/.test(part) ? Buffer.from([parseInt(part.slice(2), 16)]) : Buffer.from(part, 'utf8')));
  return Buffer.concat(bytes).toString('utf8');
}

async function readProperties(tool: string, args: string[]): Promise<Record<string, string>> {
  try {
    const run = await runTool(tool, args, { collectStdout: true });
    return run.exitCode === 0 ? parseProperties(run.stdout) : {};
  } catch {
    return {};
  }
}
