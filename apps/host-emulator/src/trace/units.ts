/** Rounds a time to 3 decimals (nanosecond precision in µs) so traces and reports serialise stably. */
export function round3(value: number): number {
  // Beyond 2^53 / 1000 there are no decimals left to round, and `value * 1000` could overflow.
  if (!Number.isFinite(value) || Math.abs(value) >= Number.MAX_SAFE_INTEGER / 1000) return value;
  return Math.round(value * 1000) / 1000 || 0;
}

/** Formats an interrupt vector as `0xNN` (lower-case, at least two digits). */
export function hexVector(vector: number): string {
  return `0x${vector.toString(16).padStart(2, '0')}`;
}

/** Formats a hypercall code as `0xNNNN`, the way the call names and the info command spell it. */
export function hexCallCode(code: number): string {
  return `0x${code.toString(16).padStart(4, '0')}`;
}

/** Compares two strings by UTF-16 code units: locale-independent, so sorting is reproducible. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
