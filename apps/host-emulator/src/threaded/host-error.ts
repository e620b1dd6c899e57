/** Raised when the threaded host itself breaks; carries what it knew. */
export class ThreadedHostError extends Error {
  override readonly name = 'ThreadedHostError';
}
