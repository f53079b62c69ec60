// The one kind of failure every tool wrapper raises for people to read: short, plain, no internals. `detail` (the
// tool's own words) goes to the log only; `code` says it for machines when it is one of the known reasons. It lives
// with the tools so every layer above can raise and recognise it.
import type { ErrorCode } from '../../shared/index.js';

export class RipError extends Error {
  override name = 'RipError';
  constructor(message: string, readonly detail?: string, readonly code?: ErrorCode) {
    super(message);
  }
}
