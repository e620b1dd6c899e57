/** Plain-text tables and number formats the reports share. */

/** `12.3 M`: three significant digits with an SI prefix. */
export function si(value: number, unit = ''): string {
  const prefixes: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  const [scale, prefix] = prefixes.find(([s]) => Math.abs(value) >= s) ?? [1, ''];
  return `${(value / scale).toPrecision(3)} ${prefix}${unit}`.trimEnd();
}

/** ns with three significant digits below 100, whole ns above. */
export function ns(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Lines of a plain-text table: a header, a rule, the rows; columns padded to their widest cell. */
export function columns(head: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
