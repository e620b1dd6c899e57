/**
 * Plain-text columns aligned for any content: each column as wide as its widest cell (by code
 * point, so `µ` and `×` count once), two spaces between columns, no trailing spaces.
 */
export function alignColumns(
  rows: readonly (readonly string[])[],
  rightAligned: readonly boolean[] = [],
  indent = '',
): string[] {
  const width = (s: string) => [...s].length;
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...rows.map((r) => width(r[i] ?? ''))),
  );
  return rows.map((cells) =>
    `${indent}${cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - width(cell));
        return rightAligned[i] ? pad + cell : cell + pad;
      })
      .join('  ')}`.trimEnd(),
  );
}
