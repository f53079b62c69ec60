// How a scanned title is told to the hub (titles_discovered) and printed by `discbridge scan --json`: one mapping,
// bounded to the protocol's limits, so a disc with absurd names or thousands of streams cannot break a message.
import type { DiscoveredTitle } from '../../shared/index.js';
import type { DiscTitle } from '../rippers/ripper.js';

export function discoveredTitle(title: DiscTitle, selected: boolean): DiscoveredTitle {
  return {
    title_id: title.titleId,
    duration_seconds: title.durationSeconds,
    chapters: title.chapters,
    expected_size_bytes: title.expectedSizeBytes,
    selected,
    ...(title.name ? { name: title.name.slice(0, 256) } : {}),
    ...(title.sourceFile ? { source_file: title.sourceFile.slice(0, 256) } : {}),
    ...(title.streams ? {
      streams: title.streams.slice(0, 256).map((s) => ({
        kind: s.kind, ...(s.language ? { language: s.language.slice(0, 16) } : {}), ...(s.codec ? { codec: s.codec.slice(0, 64) } : {}),
      })),
    } : {}),
  };
}
