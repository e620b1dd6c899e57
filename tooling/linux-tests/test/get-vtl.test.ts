// get_vtl() from the tree's arch/x86/hyperv/hv_init.c, verbatim (extracted at build time), run
// in a strict VM: pvlab's overlap diagnostic (spec01.rule6.overlap) must appear exactly when that
// tree's version puts the output on top of the input. Which it does is read from the function's
// text, and checked against the GPAs the host saw.
import { describe, expect, it } from 'vitest';
import { type GetVtlLayout, readGetVtlLayout } from '../src/get-vtl-layout.ts';
import { bootLinux, extracted, linux } from '../src/suite.ts';

const OVERLAP = 'spec01.rule6.overlap';

describe('reading get_vtl() layouts from their text', () => {
  const fn = (assign: string) =>
    `static u8 get_vtl(void) {\n\t${assign}\n\tret = hv_do_hypercall(control, input, output);\n}`;
  it.each([
    ['output = (struct hv_get_vp_registers_output *)input;', { kind: 'offset', offset: 0, overlaps: true }],
    ['output = (void *)input + 16;', { kind: 'offset', offset: 16, overlaps: true }],
    ['output = (void *)input + 24;', { kind: 'offset', offset: 24, overlaps: false }],
    ['output = (void *)input + HV_HYP_PAGE_SIZE / 2;', { kind: 'offset', offset: 2048, overlaps: false }],
    ['output = *this_cpu_ptr(hyperv_pcpu_output_arg);', { kind: 'output-page', overlaps: false }],
  ])('%s', (assign, expected) => {
    expect(readGetVtlLayout(fn(assign))).toMatchObject(expected);
  });

  it('an output assignment of another form is not guessed', () => {
    expect(readGetVtlLayout(fn('output = pick_output(input);'))).toBeUndefined();
  });
});

describe.skipIf(linux === null)(`get_vtl() of Linux ${linux?.tree.version} in a strict VM`, () => {
  it('reports the overlap diagnostic exactly when the tree overlaps input and output', () => {
    const text = extracted('arch/x86/hyperv/hv_init.c', 'get_vtl');
    const layout = readGetVtlLayout(text);
    if (layout === undefined) {
      throw new Error(
        `cannot tell where this tree's get_vtl() puts its output; extend src/get-vtl-layout.ts:\n${text}`,
      );
    }
    const lvm = bootLinux('get-vtl', 2);
    try {
      expect(lvm.call(1, 'lt_get_vtl')).toBe(0);
      const calls = lvm.takeExits().filter((e) => e.kind === 'hypercall');
      expect(calls).toHaveLength(1);
      const call = calls[0]!;
      if (call.kind !== 'hypercall') throw new Error('unreachable');
      // The GPAs the host saw are the ones the text says.
      expect(call.inputGpa).toBe(BigInt(lvm.call(0, 'lt_input_page', 1)));
      expectGpas(layout, call.inputGpa, call.outputGpa);
      const overlaps = lvm.vm.takeDiagnostics().filter((d) => d.rule === OVERLAP);
      expect(overlaps.map((d) => d.vp)).toEqual(layout.overlaps ? [1] : []);
    } finally {
      lvm.close();
    }
  });
});

function expectGpas(layout: GetVtlLayout, input: bigint, output: bigint): void {
  if (layout.kind === 'offset') expect(output - input).toBe(BigInt(layout.offset));
  else expect(output >> 12n).not.toBe(input >> 12n);
}
