/** Setting up a ring's control page (what the side that allocates the ring does). */
import { RING_FEATURE_PENDING_SEND_SIZE, RingControlWord } from '../wire/control-page.js';
import type { RingMemory } from './ring-memory.js';

/** How a fresh ring starts. */
export interface RingInitOptions {
  /** feature_bits (default feat_pending_send_sz, as Linux sets on every ring it creates). */
  readonly featureBits?: number;
  /** interrupt_mask (default 0; openvmm starts its inbound rings masked, 1). */
  readonly interruptMask?: number;
}

/** Resets the control page: both indices 0, no pending send size, the given mask and feature bits. */
export function initRingControl(memory: RingMemory, options: RingInitOptions = {}): void {
  const c = memory.control;
  Atomics.store(c, RingControlWord.WRITE_INDEX, 0);
  Atomics.store(c, RingControlWord.READ_INDEX, 0);
  Atomics.store(c, RingControlWord.PENDING_SEND_SIZE, 0);
  Atomics.store(c, RingControlWord.INTERRUPT_MASK, options.interruptMask ?? 0);
  Atomics.store(c, RingControlWord.FEATURE_BITS, options.featureBits ?? RING_FEATURE_PENDING_SEND_SIZE);
}
