// `discbridge scan DEVICE [--json]`: what the configured ripper sees on a disc, without ripping it.
import { discoveredTitle } from '../agent/jobs/discovered-title.js';
import { initialSelection } from '../agent/jobs/title-selection.js';
import { clock, humanBytes } from '../agent/measure/human-units.js';
import type { Ripper } from '../agent/rippers/ripper.js';

export async function scanCommand(ripper: Ripper, device: string, json: boolean, minTitleSeconds: number): Promise<number> {
  const missing = await ripper.checkInstalled();
  if (missing) {
    process.stderr.write(`${missing}\n`);
    return 1;
  }
  const scan = await ripper.scan({ device, signal: new AbortController().signal });
  const selected = new Set(initialSelection(scan.titles, minTitleSeconds));
  const titles = scan.titles.map((title) => discoveredTitle(title, selected.has(title.titleId)));
  if (json) {
    process.stdout.write(`${JSON.stringify({
      device, ripper: ripper.name,
      ...(scan.discName ? { disc_name: scan.discName } : {}),
      disc_type: scan.discType ?? 'unknown',
      titles,
    }, null, 2)}\n`);
    return 0;
  }
  const lines = [`${scan.discName ?? '(no name)'} — ${scan.discType ?? 'unknown'} disc in ${device}, ${titles.length} title(s), read by ${ripper.toolName}`];
  for (const title of titles) {
    const streams = (title.streams ?? []).map((s) => [s.kind, s.language, s.codec].filter(Boolean).join(' ')).join(', ');
    lines.push([
      `  #${title.title_id}`,
      title.selected ? 'rip ' : 'skip',
      clock(title.duration_seconds),
      `${title.chapters} ch`,
      humanBytes(title.expected_size_bytes),
      title.name ?? '',
      title.source_file ?? '',
    ].filter(Boolean).join('  '));
    if (streams) lines.push(`      ${streams}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
