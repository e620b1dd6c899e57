import { RingCorruptError } from '../wire/validate.js';

/** The ring is corrupt: stop using it (the channel is torn down). */
export interface RingCorrupt {
  readonly ok: false;
  readonly reason: 'corrupt';
  readonly error: RingCorruptError;
}

/** A corrupt-ring result. */
export function corrupt(error: RingCorruptError): RingCorrupt {
  return { ok: false, reason: 'corrupt', error };
}

/**
 * Runs a ring memory's access check (`RingMemory.check`): `null` when the ring may be used, the
 * refusal when the check threw a `RingCorruptError`; any other error propagates (a guest fault).
 */
export function refusedAccess(check: () => void): RingCorruptError | null {
  try {
    check();
    return null;
  } catch (error) {
    if (error instanceof RingCorruptError) return error;
    throw error;
  }
}
