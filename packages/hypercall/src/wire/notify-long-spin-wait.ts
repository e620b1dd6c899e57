import { defineByteStruct } from './byte-struct.js';

/**
 * HvCallNotifyLongSpinWait input (8 bytes; the fast form's RDX) — TLFS: u32 SpinCount at 0, u32
 * RsvdZ at 4.
 */
export const NotifyLongSpinWaitInput = defineByteStruct('HV_INPUT_NOTIFY_LONG_SPIN_WAIT', [
  { name: 'spinCount', offset: 0, type: 'u32' },
  { name: 'rsvdZ', offset: 4, type: 'u32', kind: 'reserved-zero' },
] as const);
