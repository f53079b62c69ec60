// Parse and validate one inbound frame. Never throws: a bad frame becomes a short reason a person can read,
// naming the field at fault, with no parser internals.
import type { z } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export function decodeMessage<S extends z.ZodType>(schema: S, raw: string): Decoded<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'Message is not valid JSON' };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  const why = issue?.message ?? 'does not match the protocol';
  // A long list of the values a field may take says less than the field's name: kept to one short sentence.
  return { ok: false, error: `Invalid message${where}: ${why.length > 150 ? `${why.slice(0, 149)}…` : why}` };
}
