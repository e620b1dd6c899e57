/**
 * Plain-text columns aligned for any content: each column as wide as its widest cell (by code
 * point, so `µ`, `×` and astral characters count once), two spaces between columns, no
 * trailing spaces.
 */

/** A cell's width in columns: its code points. */
export const cellWidth = (cell: string): number => [...cell].length;

/** Each column's width: its widest cell. */
export function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  return Array.from({ length: columns }, (_, i) => Math.max(0, ...rows.map((r) => cellWidth(r[i] ?? ''))));
}

/** The rows as aligned lines; `rightAligned[i]` right-aligns column i (numbers). */
export function alignColumns(
  rows: readonly (readonly string[])[],
  rightAligned: readonly boolean[] = [],
  indent = '',
): string[] {
  const widths = columnWidths(rows);
  return rows.map((cells) =>
    `${indent}${cells
      .map((cell, i) => {
        const pad = ' '.repeat(widths[i]! - cellWidth(cell));
        return rightAligned[i] ? pad + cell : cell + pad;
      })
      .join('  ')}`.trimEnd(),
  );
}
