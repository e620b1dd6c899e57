/** Raised when a handler breaks the dispatcher's contract: a host bug, never a guest error. */
export class HostInvariantError extends Error {
  override readonly name = 'HostInvariantError';
}
