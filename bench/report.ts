// Prints benchmark figures as an aligned table on stdout, and keeps them in test-artifacts/bench/ as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS } from '../test/e2e/harness.js';

export function report(name: string, rows: Record<string, string | number>[]): void {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: string | number | undefined) => (typeof value === 'number' ? format(value) : value ?? '');
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((row) => cell(row[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  const text = [`\n== ${name}`, line(columns), ...rows.map((row) => line(columns.map((c) => cell(row[c]))))].join('\n');
  process.stdout.write(`${text}\n`);
  mkdirSync(join(ARTIFACTS, 'bench'), { recursive: true });
  writeFileSync(join(ARTIFACTS, 'bench', `${name.replace(/[^a-z0-9]+/gi, '-')}.json`), JSON.stringify(rows, null, 2));
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 3 : 1);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
