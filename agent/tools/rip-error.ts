// The one kind of failure every tool wrapper raises for people to read: short, plain, no internals. `detail` (the
// tool's own words) goes to the log only. It lives with the tools so every layer above can raise and recognise it.
export class RipError extends Error {
  override name = 'RipError';
  constructor(message: string, readonly detail?: string) {
    super(message);
  }
}
