import type { HypercallControlFields } from '../wire/control.js';
import { fastInputPairs } from '../wire/fast.js';
import { HV_PAGE_SIZE, HV_PARAMETER_ALIGNMENT } from '../wire/page.js';
import type { HypercallDescriptor } from './descriptor.js';
import { HostInvariantError } from './invariant.js';

/** The dispatcher's pure helpers: list sizes, register slots, staging views, descriptor checks. */

/** The cached view of the first `length` bytes of `buffer`. */
export function viewOf(cache: (DataView | undefined)[], buffer: ArrayBuffer, length: number): DataView {
  let view = cache[length];
  if (view === undefined) {
    view = new DataView(buffer, 0, length);
    cache[length] = view;
  }
  return view;
}

/** Rule 3: fixed header + 8 × VariableHeaderSize + RepCount × element size. */
export function inputLength(
  desc: { readonly rep: boolean; readonly fixedInputBytes: number; readonly inputElementBytes: number },
  c: HypercallControlFields,
): number {
  const reps = desc.rep ? c.repCount * desc.inputElementBytes : 0;
  return desc.fixedInputBytes + 8 * c.variableHeaderSize + reps;
}

/** Rule 11: fast output starts at the first register pair after the input, never in RDX:R8. */
export function firstFastOutputSlot(inLen: number): number {
  return Math.max(2 * fastInputPairs(inLen), 2);
}

export function validateDescriptor(d: HypercallDescriptor): void {
  const problems: string[] = [];
  if (!Number.isInteger(d.code) || d.code < 0 || d.code > 0xffff) problems.push('code is not a 16-bit value');
  if (d.fixedInputBytes % 8 !== 0 || d.fixedInputBytes < 0 || d.fixedInputBytes > HV_PAGE_SIZE) {
    problems.push('fixedInputBytes is not a multiple of 8 within a page');
  }
  if (d.kind === 'rep') {
    if (!Number.isInteger(d.inputElementBytes) || d.inputElementBytes < 0) {
      problems.push('inputElementBytes is not a byte count');
    }
    // Whole output elements land in whole fast-output slots.
    if (d.outputElementBytes % 8 !== 0 || d.outputElementBytes < 0) {
      problems.push('outputElementBytes is not a multiple of 8');
    }
  } else if (d.outputBytes % 8 !== 0 || d.outputBytes > HV_PAGE_SIZE) {
    problems.push('outputBytes is not a multiple of 8 within a page');
  }
  if (problems.length > 0) throw new HostInvariantError(`descriptor ${d.name}: ${problems.join('; ')}`);
}

/** Which parameter list a rule 4–5 check refused, and which check. */
export type ListName = 'input' | 'output';
export type ListCheck = 'align' | 'cross' | 'limit';

/** The reason for a list rules 4–5 refused (details only). */
export function listReason(
  list: ListName,
  check: ListCheck,
  len: number,
  physicalAddressBits: number,
): string {
  const why =
    check === 'align'
      ? `is not ${HV_PARAMETER_ALIGNMENT}-byte aligned (spec 01 rule 4)`
      : check === 'cross'
        ? `(${len} B) crosses a page boundary (spec 01 rule 4)`
        : `is beyond the ${physicalAddressBits}-bit GPA space (spec 01 rule 5)`;
  return `${list} list GPA ${why}`;
}
