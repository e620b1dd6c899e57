/** GUIDs as VMBus offers carry them: 16 bytes, the first three groups little-endian (Windows GUID layout). */

const GUID_RE = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/** The 16 wire bytes of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. Throws a RangeError for anything else. */
export function guidBytes(text: string): Uint8Array {
  const m = GUID_RE.exec(text);
  if (m === null)
    throw new RangeError(`GUID '${text}' is not accepted: use xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  const hex = (s: string) =>
    Array.from({ length: s.length / 2 }, (_, i) => Number.parseInt(s.slice(2 * i, 2 * i + 2), 16));
  return Uint8Array.from([
    ...hex(m[1]!).reverse(),
    ...hex(m[2]!).reverse(),
    ...hex(m[3]!).reverse(),
    ...hex(m[4]!),
    ...hex(m[5]!),
  ]);
}

/** The text form of 16 GUID wire bytes. */
export function guidString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a GUID is 16 bytes, got ${bytes.length}`);
  const h = (from: number, to: number, reverse: boolean) => {
    const part = Array.from(bytes.subarray(from, to));
    if (reverse) part.reverse();
    return part.map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}
