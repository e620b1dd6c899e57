import type { RingCorruptError } from '../wire/validate.js';

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
