import { fc, test } from '@fast-check/vitest';
import { enableTestHypercalls } from '@pvlab/hypercall/testing';
import { describe, expect } from 'vitest';
import { createVm } from '../src/index.ts';

const RAM = 1 << 20;
const CODES = [0x0002, 0x0003, 0x0008, 0x000b, 0x0013, 0x0015, 0x0099];
const lo = (v: bigint) => Number(v & 0xffff_ffffn);
const hi = (v: bigint) => Number(v >> 32n);
const anyU64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const gpa = fc.oneof(
  fc.bigInt({ min: 0n, max: BigInt(RAM) + 0x2000n }).map((g) => g & ~7n),
  anyU64,
);

/** One call on a fresh 4-vCPU VM: what it returned or threw, RAM's first 64 KiB, VP 1's interrupts and the diagnostics. */
function outcome(call: (vp: ReturnType<ReturnType<typeof createVm>['vp']>) => bigint) {
  const vm = createVm({ vcpus: 4, memoryBytes: RAM });
  try {
    enableTestHypercalls(vm.vp(0));
    for (let i = 0; i < 0x1_0000; i += 8) vm.memory.view.setBigUint64(i, BigInt(i) * 0x9e37_79b9n, true);
    let result: string;
    try {
      result = `0x${call(vm.vp(0)).toString(16)}`;
    } catch (e) {
      result = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    // The diagnostics are part of what a call did (and taken, a strict VM closes without throwing).
    return {
      result,
      ram: vm.memory.bytes.slice(0, 0x1_0000),
      pending: vm.vp(1).takeInterrupts(),
      diagnostics: vm.takeDiagnostics(),
    };
  } finally {
    vm.close();
  }
}

describe('vm.vp(i).hypercallWords: the VMCALL a wasm guest makes, registers as u32 halves', () => {
  test.prop([fc.constantFrom(...CODES), fc.boolean(), fc.nat(3), anyU64, gpa, gpa, fc.boolean()], {
    numRuns: 60,
  })('does what hypercall does with the same registers', (code, fast, reps, noise, rdx, r8, signed) => {
    // Mostly well-formed controls; a quarter carry any bits (reserved ones included).
    const control =
      noise % 4n === 0n ? noise : BigInt(code) | (fast ? 1n << 16n : 0n) | (BigInt(reps) << 32n);
    const viaBigints = outcome((vp) => vp.hypercall(control, rdx, r8));
    // Halves as wasm passes them (signed i32) or unsigned: the same registers either way.
    const w = (v: number) => (signed ? v | 0 : v);
    const viaWords = outcome((vp) =>
      vp.hypercallWords(w(lo(control)), w(hi(control)), w(lo(rdx)), w(hi(rdx)), w(lo(r8)), w(hi(r8))),
    );
    expect(viaWords).toEqual(viaBigints);
  });
});
