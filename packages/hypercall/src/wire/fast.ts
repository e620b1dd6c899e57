/**
 * Fast (register-based) hypercalls — spec 01 "Register mapping" and rule 11. The input is the
 * memory layout cut into 8-byte slots: RDX, R8, then XMM0[63:0], XMM0[127:64], … XMM5[127:64].
 */

/** Slots of the plain register form: RDX and R8. */
export const HV_FAST_REGISTER_SLOTS = 2;
/** XMM registers usable by XMM fast hypercalls (Linux `HV_HYPERCALL_MAX_XMM_REGISTERS`). */
export const HV_HYPERCALL_MAX_XMM_REGISTERS = 6;
/** All slots of the XMM fast form, shared by input and output: 2 GPRs + 6 XMM × 2 = 14. */
export const HV_XMM_FAST_SLOTS = HV_FAST_REGISTER_SLOTS + 2 * HV_HYPERCALL_MAX_XMM_REGISTERS;
/** Bytes carried by the XMM fast form (112). */
export const HV_XMM_FAST_BYTES = HV_XMM_FAST_SLOTS * 8;

/** The register behind slot `i` (`RDX`, `R8`, `XMM0.lo`, `XMM0.hi`, …). */
export function fastSlotName(i: number): string {
  if (i === 0) return 'RDX';
  if (i === 1) return 'R8';
  const x = i - HV_FAST_REGISTER_SLOTS;
  return `XMM${x >> 1}.${x & 1 ? 'hi' : 'lo'}`;
}

/**
 * Register pairs (RDX:R8 or one XMM) an input of `bytes` bytes occupies; XMM output starts at the
 * first pair after them.
 */
export function fastInputPairs(bytes: number): number {
  return Math.ceil(bytes / 16);
}
