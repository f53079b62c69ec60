// The quote-aware splitter and the line parser on hand-written edge cases; real captures are in the fixture tests.
import { describe, it, expect } from 'vitest';
import { splitRobotFields } from '../../../../agent/rippers/makemkv/split-fields.js';
import { parseRobotLine, parseRobotText } from '../../../../agent/rippers/makemkv/robot-line.js';

const values = (body: string) => splitRobotFields(body)?.map((field) => field.value);

describe('splitRobotFields', () => {
  it('keeps commas inside quotes', () => {
    expect(values('0,26,0,"0,1,2,3"')).toEqual(['0', '26', '0', '0,1,2,3']);
    expect(values('"Monsters, Inc.","x"')).toEqual(['Monsters, Inc.', 'x']);
  });

  it('keeps colons inside quotes', () => {
    expect(values('2,0,"Demon Slayer: Kimetsu no Yaiba"')).toEqual(['2', '0', 'Demon Slayer: Kimetsu no Yaiba']);
  });

  it('unescapes \\" and \\\\ and leaves other backslashes alone', () => {
    expect(values(String.raw`"Backing up disc into folder \"file://x\"",1`)).toEqual([
      'Backing up disc into folder "file://x"',
      '1',
    ]);
    expect(values(String.raw`"a\\b"`)).toEqual([String.raw`a\b`]);
    expect(values(String.raw`"C:\Users\x"`)).toEqual([String.raw`C:\Users\x`]);
  });

  it('keeps leading and trailing spaces inside quotes', () => {
    expect(values('"  padded  ","PGS English  (forced only)"')).toEqual(['  padded  ', 'PGS English  (forced only)']);
  });

  it('tells quoted fields from bare ones and keeps empty fields', () => {
    expect(splitRobotFields('1,"",,"2"')).toEqual([
      { value: '1', quoted: false },
      { value: '', quoted: true },
      { value: '', quoted: false },
      { value: '2', quoted: true },
    ]);
  });

  it('refuses unbalanced or misplaced quotes', () => {
    expect(splitRobotFields('1,"unterminated')).toBeUndefined();
    expect(splitRobotFields(String.raw`1,"ends in an escaped quote\"`)).toBeUndefined();
    expect(splitRobotFields('1,"a"b')).toBeUndefined();
    expect(splitRobotFields('1,a"b"')).toBeUndefined();
  });
});

describe('parseRobotLine', () => {
  it('splits the tag at the first colon only', () => {
    expect(parseRobotLine('CINFO:2,0,"Breaking Bad: Season 1: Disc 1"')).toEqual({
      kind: 'cinfo',
      id: 2,
      code: 0,
      value: 'Breaking Bad: Season 1: Disc 1',
    });
  });

  it('tolerates trailing spaces and CR after the last field', () => {
    expect(parseRobotLine('CINFO:1,6209,"Blu-ray disc" ')).toEqual({
      kind: 'cinfo',
      id: 1,
      code: 6209,
      value: 'Blu-ray disc',
    });
    expect(parseRobotLine('TCOUNT:12\r')).toEqual({ kind: 'tcount', count: 12 });
  });

  it('keeps trailing spaces inside a quoted value', () => {
    expect(parseRobotLine('TINFO:0,2,0,"Name with spaces   "  ')).toEqual({
      kind: 'tinfo',
      title: 0,
      id: 2,
      code: 0,
      value: 'Name with spaces   ',
    });
  });

  it('parses MSG parameters after the format', () => {
    expect(parseRobotLine('MSG:5005,128,1,"1 titles saved","%1 titles saved","1"')).toEqual({
      kind: 'msg',
      code: 5005,
      flags: 128,
      count: 1,
      message: '1 titles saved',
      format: '%1 titles saved',
      params: ['1'],
    });
  });

  it('turns malformed robot lines into text instead of throwing', () => {
    for (const line of [
      'TINFO:abc',
      'TINFO:0,2,0',
      'PRGV:1,2',
      'PRGV:1,2,"3"',
      'DRV:0,2,999,12,"a","b"',
      'MSG:5010,0,0,"Failed to open disc"',
      'TCOUNT:',
      'TCOUNT:-1',
      'CINFO:1,6209,"unterminated',
      'FOO:1,2,3',
      'MSG',
      '...',
    ]) {
      expect(parseRobotLine(line)).toEqual({ kind: 'text', text: line });
    }
  });

  it('calls empty and whitespace-only lines blank', () => {
    expect(parseRobotLine('')).toEqual({ kind: 'blank' });
    expect(parseRobotLine(' \r')).toEqual({ kind: 'blank' });
  });

  it('keeps the leading indentation of text lines', () => {
    expect(parseRobotLine('  info <source>')).toEqual({ kind: 'text', text: '  info <source>' });
  });
});

describe('parseRobotText', () => {
  it('does not invent a blank line after the final newline, and handles CRLF', () => {
    expect(parseRobotText('TCOUNT:1\r\n\r\nTCOUNT:2\n')).toEqual([
      { kind: 'tcount', count: 1 },
      { kind: 'blank' },
      { kind: 'tcount', count: 2 },
    ]);
  });
});
