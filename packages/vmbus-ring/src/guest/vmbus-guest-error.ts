/** A guest-side failure: what the host answered, or that it did not. */
export class VmbusGuestError extends Error {
  override readonly name = 'VmbusGuestError';
}
