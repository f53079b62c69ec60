// Reads the real makemkvcon captures copied into test/fixtures/makemkv (provenance in its SOURCES.md).
import { readdirSync, readFileSync } from 'node:fs';
import { parseRobotText, type RobotLine } from '../../../../agent/rippers/makemkv/robot-line.js';

const FIXTURE_DIR = new URL('../../../fixtures/makemkv/', import.meta.url);

export function readFixture(name: string): string {
  return readFileSync(new URL(name, FIXTURE_DIR), 'utf8');
}

export function fixtureLines(name: string): RobotLine[] {
  return parseRobotText(readFixture(name));
}

/** Every capture in the folder, `raw/` included, so a test can prove none was left untested. */
export function allFixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(txt|log)$/.test(name))
    .sort();
}
