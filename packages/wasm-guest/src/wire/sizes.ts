/** Byte sizes the memory map works in, and how its messages print them. */
import { HV_PAGE_SIZE } from '@pvlab/hypercall';

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** The page size of the page allocator and the alignment of every region: x86's 4 KiB page. */
export const WASM_GUEST_PAGE_BYTES = HV_PAGE_SIZE;

/** `n` rounded up to a multiple of `to`. */
export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** `n` bytes in the largest binary unit that holds it exactly: `16 MiB`, `28 KiB`, `1028 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  if (n !== 0 && n % MIB === 0) return `${n / MIB} MiB`;
  if (n !== 0 && n % KIB === 0) return `${n / KIB} KiB`;
  return `${n} bytes`;
}
