// A disc kind: which disc types it takes, and the plan of phases a job for such a disc follows, with the backends
// it needs. Adding a kind (audio CDs) is a new file here, its phases and its backend; nothing else changes.
import type { DiscType } from '../../shared/index.js';
import type { Phase, Plan, Step, Tool } from '../jobs/phase.js';

export interface DiscKind {
  /** For logs: "video", "data". */
  readonly name: string;
  readonly discTypes: readonly DiscType[];
  /** The backends its jobs need, checked at start-up and before each job. */
  readonly tools: readonly Tool[];
  phases(): Phase[];
}

/** Which kind handles which disc. */
export class DiscKinds {
  constructor(private readonly kinds: readonly DiscKind[]) {}

  kindFor(discType: DiscType): DiscKind | undefined {
    return this.kinds.find((kind) => kind.discTypes.includes(discType));
  }

  /** The plan for a disc of this type, ending with `afterCompleted` when it completes; undefined when no kind takes it. */
  planFor(discType: DiscType, afterCompleted: readonly Step[] = []): Plan | undefined {
    const kind = this.kindFor(discType);
    return kind && { tools: kind.tools, phases: kind.phases(), afterCompleted };
  }

  get all(): readonly DiscKind[] {
    return this.kinds;
  }

  /** Every backend that cannot run, with the kind that needs it and the sentence saying why. */
  async missingTools(): Promise<{ kind: string; missing: string }[]> {
    const found: { kind: string; missing: string }[] = [];
    for (const kind of this.kinds) {
      for (const tool of kind.tools) {
        const missing = await tool.checkInstalled();
        if (missing) found.push({ kind: kind.name, missing });
      }
    }
    return found;
  }
}
