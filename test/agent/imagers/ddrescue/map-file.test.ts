// Map files: parsing the ones ddrescue 1.27 wrote (test/fixtures/ddrescue/), and the continuation map we write.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesByStatus, continuationMap, MapFileError, parseMapFile, type MapFile } from '../../../../agent/imagers/ddrescue/map-file.js';

const FIXTURES = new URL('../../../fixtures/ddrescue/', import.meta.url);
const readMap = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const DISC_BYTES = 52_428_800;

function expectContiguousFromZero(map: MapFile, size: number): void {
  let next = 0;
  for (const block of map.blocks) {
    expect(block.pos).toBe(next);
    next += block.size;
  }
  expect(next).toBe(size);
}

describe('parseMapFile on maps written by ddrescue 1.27', () => {
  it('reads the copy pass map: trimmed edges bad, the middles left for scraping', () => {
    const map = parseMapFile(readMap('copy-pass_ddrescue-1.27.map'));
    expect(map).toMatchObject({ currentPos: 0x01323000, currentStatus: '+', currentPass: 1 });
    expect(map.blocks).toHaveLength(13);
    expect(map.blocks.slice(0, 3)).toEqual([
      { pos: 0, size: 0x100000, status: '+' },
      { pos: 0x100000, size: 0x800, status: '-' },
      { pos: 0x100800, size: 0xf000, status: '/' },
    ]);
    expectContiguousFromZero(map, DISC_BYTES);
    // The same numbers as the last status block on screen: "non-scraped: 251904 B", "bad-sector: 12288 B".
    expect(bytesByStatus(map)).toEqual({ '?': 0, '*': 0, '/': 251_904, '-': 12_288, '+': 52_164_608 });
  });

  it('reads the final map: the bad ranges, rounded out to whole 2048-byte sectors', () => {
    const map = parseMapFile(readMap('retry-pass_ddrescue-1.27.map'));
    expectContiguousFromZero(map, DISC_BYTES);
    expect(map.blocks.filter((block) => block.status !== '+')).toEqual([
      { pos: 1_048_576, size: 65_536, status: '-' },
      { pos: 5_242_880, size: 131_072, status: '-' },
      // The bad range 20_000_000 + 65_536 lies in sectors 9765 to 9797.
      { pos: 9765 * 2048, size: 33 * 2048, status: '-' },
    ]);
    expect(bytesByStatus(map)['-']).toBe(264_192);
  });

  it('reads a map saved when ddrescue was interrupted while trimming', () => {
    const map = parseMapFile(readMap('interrupted_ddrescue-1.27.map'));
    expect(map).toMatchObject({ currentPos: 0x00520000, currentStatus: '*', currentPass: 1 });
    expectContiguousFromZero(map, DISC_BYTES);
    expect(bytesByStatus(map)['*']).toBe(0x1f800 + 0x20000);
  });
});

describe('parseMapFile on hand-edited maps', () => {
  it('accepts decimal and octal numbers and comments after the fields', () => {
    const map = parseMapFile('# edited\n0  ?  1\n0 010 +  # eight bytes\n8 4096 ?\n');
    expect(map.blocks).toEqual([{ pos: 0, size: 8, status: '+' }, { pos: 8, size: 4096, status: '?' }]);
  });

  it('rejects what ddrescue would reject', () => {
    expect(() => parseMapFile('garbage\n')).toThrow(MapFileError);
    expect(() => parseMapFile('# only comments\n')).toThrow(MapFileError);
    expect(() => parseMapFile('0x0 ? 1\n0x0 0x800 x\n')).toThrow(MapFileError);
    expect(() => parseMapFile('0x0 ? 1\n0x0 0xZZ +\n')).toThrow(MapFileError);
    expect(() => parseMapFile('0x0 ?* 1\n')).toThrow(MapFileError);
  });
});

describe('continuationMap', () => {
  it('round-trips: [0, copied) finished, the rest untried, the position where the copy stopped', () => {
    const map = parseMapFile(continuationMap(1 << 20, DISC_BYTES));
    expect(map).toEqual({
      currentPos: 1 << 20,
      currentStatus: '?',
      currentPass: 1,
      blocks: [{ pos: 0, size: 1 << 20, status: '+' }, { pos: 1 << 20, size: DISC_BYTES - (1 << 20), status: '?' }],
    });
  });

  it('lays its lines out as ddrescue does', () => {
    const statusLine = /^0x[0-9A-F]{8}     [?*/\-+]               \d+$/;
    const blockLine = /^0x[0-9A-F]{8}  0x[0-9A-F]{8}  [?*/\-+]$/;
    for (const text of [continuationMap(1 << 20, DISC_BYTES), readMap('copy-pass_ddrescue-1.27.map')]) {
      const lines = text.split('\n');
      const header = lines.indexOf('# current_pos  current_status  current_pass');
      expect(lines[header + 1]).toMatch(statusLine);
      expect(lines[header + 2]).toBe('#      pos        size  status');
      for (const line of lines.slice(header + 3, -1)) expect(line).toMatch(blockLine);
      expect(lines.at(-1)).toBe('');
    }
  });

  it('rounds a partly copied sector down, since ddrescue -d reads whole sectors', () => {
    expect(parseMapFile(continuationMap(1_000_000, 4_194_304)).blocks[0]).toEqual({ pos: 0, size: 488 * 2048, status: '+' });
  });

  it('covers the edges: nothing copied, everything copied, more than asked', () => {
    expect(parseMapFile(continuationMap(0, 4096))).toMatchObject({ currentStatus: '?', blocks: [{ pos: 0, size: 4096, status: '?' }] });
    expect(parseMapFile(continuationMap(4096, 4096))).toMatchObject({ currentStatus: '+', blocks: [{ pos: 0, size: 4096, status: '+' }] });
    expect(parseMapFile(continuationMap(8192, 4096)).blocks).toEqual([{ pos: 0, size: 4096, status: '+' }]);
  });
});
