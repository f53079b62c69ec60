// The shared library's check: a NAS not mounted, a file where the folder should be, and a folder that works.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { libraryProblem } from '../../../agent/farm/library.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the shared library check', () => {
  it('says what is wrong with the library, and nothing when it can be used', async () => {
    dir = mkdtempSync(join(tmpdir(), 'discbridge-library-'));
    expect(await libraryProblem(join(dir, 'nas'))).toBe(`The shared library ${join(dir, 'nas')} (DISCBRIDGE_LIBRARY_DIR) is not there: mount the NAS there, or point DISCBRIDGE_LIBRARY_DIR at its mount point`);
    writeFileSync(join(dir, 'file'), '');
    expect(await libraryProblem(join(dir, 'file'))).toBe(`The shared library ${join(dir, 'file')} (DISCBRIDGE_LIBRARY_DIR) is a file, not a folder`);
    expect(await libraryProblem(dir)).toBeUndefined();
  });
});
