/**
 * Where a tree's get_vtl() puts HvCallGetVpRegisters' output relative to its input, read from
 * the function's text: Linux has had several versions (the output on the input itself, in the
 * same page at an offset, or in the per-CPU output page). The test compares this reading with
 * the GPAs the host saw and with pvlab's strict overlap diagnostic.
 */

/** The input list the host reads for one register (16-byte header + a 4-byte name, 8-aligned) and the output it writes. */
export const GET_VTL_INPUT_BYTES = 24;
export const GET_VTL_OUTPUT_BYTES = 16;

export type GetVtlLayout =
  | { readonly kind: 'offset'; readonly offset: number; readonly overlaps: boolean; readonly text: string }
  | { readonly kind: 'output-page'; readonly overlaps: false; readonly text: string };

const PAGE = 4096;

/** `N`, `0xN`, `HV_HYP_PAGE_SIZE` or `HV_HYP_PAGE_SIZE / N` as a number, else undefined. */
function constant(expr: string): number | undefined {
  const e = expr.replace(/\s+/g, '').replace(/^\((.*)\)$/, '$1');
  if (/^(0x[0-9a-f]+|\d+)$/i.test(e)) return Number(e);
  if (e === 'HV_HYP_PAGE_SIZE') return PAGE;
  const half = /^HV_HYP_PAGE_SIZE\/(\d+)$/.exec(e);
  return half ? PAGE / Number(half[1]) : undefined;
}

/**
 * The layout of the get_vtl() in `text`, or `undefined` when its output assignment has a form
 * this reader does not know (then the test says so rather than guess).
 */
export function readGetVtlLayout(text: string): GetVtlLayout | undefined {
  const call = /hv_do_hypercall\s*\(\s*\w+\s*,\s*(\w+)\s*,\s*(\w+)\s*\)/.exec(text);
  if (!call) return undefined;
  const [, input, output] = call as unknown as [string, string, string];
  const assign = new RegExp(`\\b${output}\\s*=\\s*([^;]+);`).exec(text);
  if (!assign) return undefined;
  const rhs = assign[1]!.trim();
  const line = `${output} = ${rhs};`;
  if (/hyperv_pcpu_output_arg/.test(rhs)) return { kind: 'output-page', overlaps: false, text: line };
  // Drop pointer casts: `(struct hv_get_vp_registers_output *)`, `(void *)`, `(u8 *)`.
  const bare = rhs.replace(/\(\s*(?:struct\s+\w+|void|u8|char|unsigned\s+char)\s*\*\s*\)/g, '').trim();
  let offset: number | undefined;
  if (bare === input) offset = 0;
  else {
    const plus = new RegExp(`^${input}\\s*\\+\\s*(.+)$`).exec(bare);
    if (plus) offset = constant(plus[1]!);
  }
  if (offset === undefined) return undefined;
  const overlaps = offset < GET_VTL_INPUT_BYTES && offset + GET_VTL_OUTPUT_BYTES > 0;
  return { kind: 'offset', offset, overlaps, text: line };
}
