/** A guest module the runtime refuses: its message is one line naming what and what is accepted. */
export class WasmGuestLoadError extends Error {
  override readonly name = 'WasmGuestLoadError';
}
