/**
 * The XMM fast hypercall's register image in guest memory: u64[14] = RDX, R8, XMM0.lo, XMM0.hi …
 * XMM5.hi, little-endian. The first `inCount` slots are input; the output slots start at the
 * 16-byte pair after the input (slot max(2 × ⌈inCount / 2⌉, 2), as the dispatcher places them)
 * and are written back in place.
 */

/** RDX, R8 and XMM0..XMM5 as 64-bit halves. */
export const FAST_REGISTER_SLOTS = 14;

/** The slot of the first output value when `inCount` slots are input. */
export function firstOutputSlot(inCount: number): number {
  return Math.max(2 * Math.ceil(inCount / 2), 2);
}

/** The first `count` slots of the image at byte `offset`. */
export function readRegisterImage(view: DataView, offset: number, count: number): bigint[] {
  const slots: bigint[] = [];
  for (let i = 0; i < count; i++) slots.push(view.getBigUint64(offset + 8 * i, true));
  return slots;
}

/** Writes `output` into the image at byte `offset` from the slot after `inCount` input slots (the rest is dropped). */
export function writeRegisterOutput(
  view: DataView,
  offset: number,
  inCount: number,
  output: readonly bigint[],
): void {
  const first = firstOutputSlot(inCount);
  const n = Math.min(output.length, FAST_REGISTER_SLOTS - first);
  for (let i = 0; i < n; i++)
    view.setBigUint64(offset + 8 * (first + i), BigInt.asUintN(64, output[i]!), true);
}
