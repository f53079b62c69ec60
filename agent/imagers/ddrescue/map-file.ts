// Reads and writes GNU ddrescue map files ("Mapfile structure" in `info ddrescue`): comments, a status line
// (position, phase, pass), then one block per line (position, size, status), numbers written in hex.
export type BlockStatus = '?' | '*' | '/' | '-' | '+';

export interface MapBlock {
  pos: number;
  size: number;
  status: BlockStatus;
}

export interface MapFile {
  currentPos: number;
  /** The phase ddrescue was in: '?' copying, '*' trimming, '/' scraping, '-' retrying, 'F' filling, 'G' generating, '+' finished. */
  currentStatus: string;
  currentPass: number;
  blocks: MapBlock[];
}

export class MapFileError extends Error {
  override name = 'MapFileError';
}

const SECTOR_BYTES = 2048;
const PHASE = /^[?*/\-FG+]$/;
const BLOCK_STATUS = /^[?*/\-+]$/;

export function parseMapFile(text: string): MapFile {
  const lines = text.split('\n').map(withoutComment).filter((line) => line !== '');
  const [statusLine, ...blockLines] = lines;
  if (statusLine === undefined) throw new MapFileError('the map file has no status line');
  const [pos, phase, pass] = threeFields(statusLine);
  if (!PHASE.test(phase) || !/^\d+$/.test(pass)) throw new MapFileError(`bad status line "${statusLine}"`);
  return {
    currentPos: parseInteger(pos),
    currentStatus: phase,
    currentPass: Number(pass),
    blocks: blockLines.map(parseBlock),
  };
}

export function bytesByStatus(map: MapFile): Record<BlockStatus, number> {
  const totals: Record<BlockStatus, number> = { '?': 0, '*': 0, '/': 0, '-': 0, '+': 0 };
  for (const block of map.blocks) totals[block.status] += block.size;
  return totals;
}

/**
 * A map saying that [0, copiedBytes) is finished and the rest of [0, sizeBytes) untried, so ddrescue picks up where
 * a copy made without it stopped. The finished part ends on a sector boundary: ddrescue reads with O_DIRECT, which
 * fails on an unaligned position, so a partly copied last sector is read again.
 */
export function continuationMap(copiedBytes: number, sizeBytes: number): string {
  const finished = Math.min(sizeBytes, Math.floor(copiedBytes / SECTOR_BYTES) * SECTOR_BYTES);
  const blocks: MapBlock[] = [];
  if (finished > 0) blocks.push({ pos: 0, size: finished, status: '+' });
  if (finished < sizeBytes) blocks.push({ pos: finished, size: sizeBytes - finished, status: '?' });
  const phase = finished < sizeBytes ? '?' : '+';
  return [
    '# Mapfile. Created by discbridge: the bytes it copied itself are finished, ddrescue reads the rest.',
    '# current_pos  current_status  current_pass',
    `${hex(finished)}     ${phase}               1`,
    '#      pos        size  status',
    ...blocks.map((block) => `${hex(block.pos)}  ${hex(block.size)}  ${block.status}`),
    '',
  ].join('\n');
}

function parseBlock(line: string): MapBlock {
  const [pos, size, status] = threeFields(line);
  if (!BLOCK_STATUS.test(status)) throw new MapFileError(`bad block line "${line}"`);
  return { pos: parseInteger(pos), size: parseInteger(size), status: status as BlockStatus };
}

/** '#' starts a comment at the start of a line or after whitespace. */
function withoutComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '').trim();
}

function threeFields(line: string): [string, string, string] {
  const parts = line.split(/\s+/);
  if (parts.length !== 3) throw new MapFileError(`expected three fields in "${line}"`);
  return parts as [string, string, string];
}

/** Numbers are C++ integer constants: 0x… hex (what ddrescue writes), 0… octal, else decimal (hand-edited maps). */
function parseInteger(text: string): number {
  if (/^0x[0-9a-f]+$/i.test(text)) return parseInt(text.slice(2), 16);
  if (/^0[0-7]*$/.test(text)) return parseInt(text, 8);
  if (/^[1-9]\d*$/.test(text)) return Number(text);
  throw new MapFileError(`bad number "${text}"`);
}

function hex(value: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(8, '0')}`;
}
