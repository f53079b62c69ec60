import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathInside, safeName, titleFileName } from '../../../agent/jobs/naming.js';

const ROOT = join(tmpdir(), 'discbridge-naming-test', 'rips');

/** Labels a disc (or a HandBrake title name) could carry, chosen to break file names. */
const HOSTILE: Record<string, string> = {
  'parent traversal': '../../etc/passwd',
  'dot dot': '..',
  dot: '.',
  'absolute path': '/abs/path',
  'windows path': 'C:\\Windows\\System32',
  'UNC path': '\\\\server\\share',
  CON: 'CON',
  'con.txt': 'con.txt',
  LPT1: 'LPT1',
  COM9: 'COM9',
  nul: 'nul',
  'NUL.tar.gz': 'NUL.tar.gz',
  'aux with trailing dot': 'AUX.',
  'prn padded with spaces': '  prn  ',
  'con hidden by a zero-width space': 'c\u200bon',
  'COM superscript one': 'COM\u00b9',
  'NUL byte': 'a\u0000b',
  'ANSI escape': '\u001b[31mred\u001b[0m',
  CRLF: 'line1\r\nline2',
  DEL: 'x\u007fy',
  'C1 control': 'a\u0085b\u009bc',
  'only controls': '\u0000\u0001\u0002',
  'bidi override': '\u202egpj.exe',
  'bidi isolates': 'a\u2066b\u2069c',
  'zero-width chars': 'a\u200bb\u200cc\u200dd\ufeffe',
  'only zero-width chars': '\u200b\u200d\ufeff',
  'only dots': '.....',
  'only spaces': '     ',
  'tabs and newlines': '\t\n\t',
  empty: '',
  '300 ASCII chars': 'A'.repeat(300),
  '200 emoji': '\u{1F600}'.repeat(200),
  '2-byte chars past the limit': '\u00e9'.repeat(120),
  '3-byte chars past the limit': '\u6f22'.repeat(80),
  'reserved name with a long extension': `con.${'a'.repeat(200)}`,
  'forbidden windows chars': 'a<b>c:d"e|f?g*h',
  'only forbidden chars': '<>:"|?*',
  'trailing dots and spaces': 'name. . . ',
  'leading dots': '...hidden',
  'leading dash': '-rf --no-preserve-root',
  'NFD e acute': 'Ame\u0301lie',
  'line and paragraph separators': 'a\u2028b\u2029c',
  'long name ending in dots at the cut': `${'B'.repeat(99)}.....tail`,
  'long name with a space at the cut': `${'C'.repeat(99)} ${'D'.repeat(50)}`,
};

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI_AND_INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function expectSafe(result: string): void {
  expect(result).not.toBe('');
  expect(result).not.toMatch(/[/\\]/);
  expect(result).not.toMatch(CONTROL);
  expect(result).not.toMatch(BIDI_AND_INVISIBLE);
  expect(result).not.toMatch(/[<>:"|?*]/);
  expect(result).not.toMatch(LONE_SURROGATE);
  expect(Buffer.byteLength(result, 'utf8')).toBeLessThanOrEqual(100);
  expect(result).not.toBe('.');
  expect(result).not.toBe('..');
  expect(result).not.toMatch(WINDOWS_RESERVED);
  expect(result).not.toMatch(/[. ]$/);
  expect(result).not.toMatch(/^\./);
  expect(result).toBe(result.normalize('NFC'));
  const full = pathInside(ROOT, result);
  const rel = relative(ROOT, full);
  expect(rel).toBe(result);
  expect(full.startsWith(ROOT + sep)).toBe(true);
}

describe('safeName on hostile labels', () => {
  // The reserved-name entry is checked in its own test below.
  const entries = Object.entries(HOSTILE).filter(([name]) => name !== 'reserved name with a long extension');

  it.each(entries)('%s gives a safe single path component', (_name, label) => {
    expectSafe(safeName(label));
  });

  it.each(entries)('%s is also safe as a title file name', (_name, label) => {
    const file = titleFileName(label, 7);
    expect(file).toMatch(/_t07\.mkv$/);
    expect(file).not.toMatch(/[/\\]/);
    expect(file).not.toMatch(CONTROL);
    const full = pathInside(ROOT, file);
    expect(relative(ROOT, full)).toBe(file);
  });

  it('is idempotent: a safe name stays as it is', () => {
    for (const label of entries.map(([, label]) => label)) {
      const once = safeName(label);
      expect(safeName(once)).toBe(once);
    }
  });

  it('keeps a reserved name with a long extension within 100 bytes', () => {
    const result = safeName(HOSTILE['reserved name with a long extension'] as string);
    expect(result.startsWith('_con.')).toBe(true);
    expectSafe(result);
  });
});

describe('safeName results', () => {
  it.each([
    ['../../etc/passwd', '_.._etc_passwd'],
    ['..', 'disc'],
    ['.', 'disc'],
    ['/abs/path', '_abs_path'],
    ['C:\\Windows\\System32', 'C__Windows_System32'],
    ['\\\\server\\share', '__server_share'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['LPT1', '_LPT1'],
    ['COM9', '_COM9'],
    ['nul', '_nul'],
    ['AUX.', '_AUX'],
    ['a\u0000b', 'a_b'],
    ['\u202egpj.exe', 'gpj.exe'],
    ['a\u200bb\u200cc\u200dd\ufeffe', 'abcde'],
    ['.....', 'disc'],
    ['     ', 'disc'],
    ['', 'disc'],
    ['<>:"|?*', 'disc'],
    ['a<b>c:d"e|f?g*h', 'a_b_c_d_e_f_g_h'],
    ['name. . . ', 'name'],
    ['...hidden', 'hidden'],
    ['-rf', '-rf'],
    ['  The   Matrix  ', 'The Matrix'],
    ['Monsters, Inc.', 'Monsters, Inc'],
    ['DISCBRIDGE_TEST', 'DISCBRIDGE_TEST'],
  ])('safeName(%j) = %j', (input, expected) => {
    expect(safeName(input)).toBe(expected);
  });

  it('uses the given fallback when nothing usable is left', () => {
    expect(safeName('..', 'untitled')).toBe('untitled');
    expect(safeName('\u0000\u0001', 'untitled')).toBe('untitled');
  });

  it('normalizes NFD input to NFC', () => {
    const result = safeName('Ame\u0301lie');
    expect(result).toBe('Am\u00e9lie');
    expect(result).toHaveLength(6);
  });

  it('cuts 300 ASCII characters to 100', () => {
    expect(safeName('A'.repeat(300))).toBe('A'.repeat(100));
  });

  it('cuts 200 emoji on a character boundary: 25 whole emoji, 100 bytes', () => {
    const result = safeName('\u{1F600}'.repeat(200));
    expect(result).toBe('\u{1F600}'.repeat(25));
    expect(Buffer.byteLength(result)).toBe(100);
    expect(result).not.toMatch(LONE_SURROGATE);
    expect(Buffer.from(result, 'utf8').toString('utf8')).toBe(result);
  });

  it('cuts multi-byte characters without splitting them', () => {
    expect(safeName('\u00e9'.repeat(120))).toBe('\u00e9'.repeat(50));
    // 3-byte characters: 33 fit in 99 bytes, a 34th would need 102.
    expect(safeName('\u6f22'.repeat(80))).toBe('\u6f22'.repeat(33));
  });

  it('drops dots and spaces left at the end by the cut', () => {
    expect(safeName(`${'B'.repeat(99)}.....tail`)).toBe('B'.repeat(99));
    expect(safeName(`${'C'.repeat(99)} ${'D'.repeat(50)}`)).toBe('C'.repeat(99));
  });
});

describe('titleFileName', () => {
  it('pads the title number to two digits', () => {
    expect(titleFileName('DISCBRIDGE_TEST', 1)).toBe('DISCBRIDGE_TEST_t01.mkv');
    expect(titleFileName('DISCBRIDGE_TEST', 12)).toBe('DISCBRIDGE_TEST_t12.mkv');
    expect(titleFileName('DISCBRIDGE_TEST', 123)).toBe('DISCBRIDGE_TEST_t123.mkv');
  });

  it('takes another extension', () => {
    expect(titleFileName('X', 3, 'm4v')).toBe('X_t03.m4v');
  });

  it('uses the fallback for an unusable label', () => {
    expect(titleFileName('..', 1)).toBe('disc_t01.mkv');
    expect(titleFileName('../../etc/passwd', 2)).toBe('_.._etc_passwd_t02.mkv');
  });

  it('makes no reserved name even from a reserved label', () => {
    expect(titleFileName('CON', 1)).toBe('_CON_t01.mkv');
  });
});

describe('pathInside', () => {
  it('joins components under the root', () => {
    expect(pathInside(ROOT, 'a')).toBe(join(ROOT, 'a'));
    expect(pathInside(ROOT, 'a', 'b.mkv')).toBe(join(ROOT, 'a', 'b.mkv'));
    expect(pathInside('relative/root', 'x')).toBe(resolve('relative/root', 'x'));
  });

  it('accepts names that only start with two dots', () => {
    expect(pathInside(ROOT, '..foo')).toBe(join(ROOT, '..foo'));
    expect(pathInside(ROOT, '...')).toBe(join(ROOT, '...'));
  });

  it('accepts ".." that stays inside', () => {
    expect(pathInside(ROOT, 'a', '..', 'b')).toBe(join(ROOT, 'b'));
  });

  it.each([
    [['..']],
    [['../x']],
    [['..', 'x']],
    [['a', '..', '..', 'x']],
    [['/etc/passwd']],
    [['/']],
    [[ROOT + '-sibling']],
    [['../rips-sibling']],
    [[]],
    [['.']],
    [['']],
    [['a', '..']],
    [[ROOT]],
  ])('refuses %j', (components) => {
    expect(() => pathInside(ROOT, ...components)).toThrow(/outside the output directory/);
  });

  it('returns an absolute path strictly inside the root for every safeName result', () => {
    for (const label of Object.values(HOSTILE)) {
      const full = pathInside(ROOT, safeName(label));
      expect(isAbsolute(full)).toBe(true);
      const rel = relative(ROOT, full);
      expect(rel).not.toBe('');
      expect(rel.startsWith('..')).toBe(false);
      expect(rel.includes(sep)).toBe(false);
    }
  });
});
