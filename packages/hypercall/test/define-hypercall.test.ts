import { describe, expect, it } from 'vitest';
import { defineHypercall } from '../src/host/define-hypercall.ts';
import { requireFeatures } from '../src/host/descriptor.ts';
import { OUTPUT_GPA } from '../src/testing/constants.ts';
import { testPartition } from '../src/testing/partition.ts';
import { rawCall } from '../src/testing/raw-call.ts';
import { defineByteStruct } from '../src/wire/byte-struct.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { HvStatus } from '../src/wire/status.ts';

const Header = defineByteStruct('Header', [
  { name: 'partitionId', offset: 0, type: 'u64' },
  { name: 'vpIndex', offset: 8, type: 'u32' },
  { name: 'rsvd', offset: 12, type: 'u32', kind: 'reserved-zero' },
] as const);
const InElement = defineByteStruct('InElement', [{ name: 'name', offset: 0, type: 'u32' }] as const);
const OutElement = defineByteStruct('OutElement', [
  { name: 'low', offset: 0, type: 'u64' },
  { name: 'high', offset: 8, type: 'u64' },
] as const);

describe('defineHypercall: the sizes come from the structures, code and name from HvCallCode', () => {
  it('a rep call: fixedInputBytes, inputElementBytes and outputElementBytes are the structures’ sizes', () => {
    const handler = () => ({ status: HvStatus.SUCCESS, repsCompleted: 0 });
    const gate = requireFeatures('AccessVpRegisters');
    const d = defineHypercall({
      kind: 'rep',
      call: 'HvCallGetVpRegisters',
      input: Header,
      inputElement: InElement,
      outputElement: OutElement,
      fast: 'xmm',
      gate,
      handler,
    });
    // Exactly the descriptor a hand-written literal gives: no extra or undefined property.
    expect(d).toStrictEqual({
      kind: 'rep',
      code: HvCallCode.HvCallGetVpRegisters,
      name: 'HvCallGetVpRegisters',
      fixedInputBytes: 16,
      inputElementBytes: 4,
      outputElementBytes: 16,
      fast: 'xmm',
      gate,
      handler,
    });
  });

  it('a simple call without input or output: 0 bytes each; options given are kept as given', () => {
    const handler = () => HvStatus.SUCCESS;
    const d = defineHypercall({
      kind: 'simple',
      call: 'HvCallVtlCall',
      exactControl: true,
      variableHeader: false,
      handler,
    });
    expect(d).toStrictEqual({
      kind: 'simple',
      code: HvCallCode.HvCallVtlCall,
      name: 'HvCallVtlCall',
      fixedInputBytes: 0,
      outputBytes: 0,
      variableHeader: false,
      exactControl: true,
      handler,
    });
  });

  it('a simple call with an output structure, and a call outside the table with its own code and name', () => {
    const d = defineHypercall({
      kind: 'simple',
      call: { code: 0x7f40, name: 'TestTranslate' },
      input: Header,
      output: OutElement,
      handler: () => HvStatus.SUCCESS,
    });
    expect(d).toMatchObject({ code: 0x7f40, name: 'TestTranslate', fixedInputBytes: 16, outputBytes: 16 });
  });
});

describe('defineHypercall: the README example, registered and dispatched', () => {
  const SumInput = defineByteStruct('SUM_INPUT', [{ name: 'base', offset: 0, type: 'u64' }] as const);
  const SumElement = defineByteStruct('SUM_ELEMENT', [{ name: 'x', offset: 0, type: 'u64' }] as const);
  const { base } = SumInput.accessors;
  const { x } = SumElement.accessors;
  const sum = defineHypercall({
    kind: 'rep',
    call: { code: 0x7f01, name: 'MySum' },
    input: SumInput,
    inputElement: SumElement,
    outputElement: SumElement,
    fast: 'xmm',
    handler(call) {
      const b = base.get(call.input);
      for (let i = call.repStart; i < call.repEnd; i++) {
        const value = x.get(call.input, call.inputElementOffset(i));
        if (value === 0n)
          return { status: call.fail(HvStatus.INVALID_PARAMETER, `element ${i} is 0`), repsCompleted: i };
        x.set(call.output, b + value, call.outputElementOffset(i));
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  });

  it('the sizes it derived are the ones the dispatcher checks: header, then one u64 in and out per rep', () => {
    const partition = testPartition({ vcpus: 1 });
    partition.dispatcher.register(sum);
    const ok = rawCall(partition, 0, { callCode: 0x7f01, repCount: 2 }, [100n, 1n, 2n]);
    expect(ok).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 2 });
    expect([partition.memory.readU64(OUTPUT_GPA), partition.memory.readU64(OUTPUT_GPA + 8n)]).toEqual([
      101n,
      102n,
    ]);
    const fast = rawCall(partition, 0, { callCode: 0x7f01, repCount: 1, fast: true }, [7n, 0n]);
    expect(fast).toMatchObject({ status: HvStatus.INVALID_PARAMETER, repsCompleted: 0 });
  });
});
