import { decodeHypercallResult, encodeHypercallControl, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { enableTestHypercalls, INPUT_GPA } from '@pvlab/hypercall/testing';
import { decodeIsolationConfig, encodeModifyVisibilityInput, HostVisibility } from '@pvlab/isolation';
import { describe, expect, it } from 'vitest';
import { createVm, HostAccessError, IsolationFault, type IsolationVm, restoreVm } from '../src/index.ts';

const BITS = 36;
const BOUNDARY = 1n << 36n;
const PAGE = 0x40n; // PFN of the page the tests convert
const GPA = PAGE << 12n;

function isolationVm(): IsolationVm {
  const vm = createVm({ vcpus: 2, isolation: { sharedGpaBoundaryBits: BITS } });
  enableTestHypercalls(vm.vp(0));
  return vm;
}

/** HvCallModifySparseGpaPageHostVisibility of `pfns` from VP 0 (input on a private page). */
function setVisibility(vm: IsolationVm, visibility: number, pfns: bigint[]): number {
  vm.ram.write(INPUT_GPA, encodeModifyVisibilityInput(visibility, pfns));
  const control = encodeHypercallControl({
    callCode: HvCallCode.HvCallModifySparseGpaPageHostVisibility,
    repCount: pfns.length,
  });
  return decodeHypercallResult(vm.vp(0).hypercall(control, INPUT_GPA, 0n)).status;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('createVm({ isolation: { sharedGpaBoundaryBits: 36 } })', () => {
  it('reports the boundary in CPUID 0x4000000C behind the Isolation privilege', () => {
    const vm = isolationVm();
    expect((vm.cpuid(0x4000_0003).ebx >>> 22) & 1).toBe(1);
    const leaf = vm.cpuid(0x4000_000c);
    expect(decodeIsolationConfig(leaf)).toMatchObject({
      paravisorPresent: true,
      sharedGpaBoundaryActive: true,
      sharedGpaBoundaryBits: BITS,
    });
    expect(vm.partition.packages).toContain('isolation');
    const plain = createVm();
    expect(plain.cpuid(0x4000_000c)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    expect(plain.hostMemory).toBeUndefined();
  });

  it('the self-test matrix: a private page is readable below the boundary only, a shared page through its alias only — for the guest and for the host', () => {
    const vm = isolationVm();
    vm.ram.write(GPA, Uint8Array.of(1, 2, 3, 4));
    // Private: the guest reads it below the boundary; the alias faults; the host may not touch it.
    expect([...vm.memory.read(GPA, 4)]).toEqual([1, 2, 3, 4]);
    expect(thrown(() => vm.memory.read(GPA | BOUNDARY, 4))).toBeInstanceOf(IsolationFault);
    expect(thrown(() => vm.hostMemory.read(GPA | BOUNDARY, 4))).toBeInstanceOf(HostAccessError);
    expect(thrown(() => vm.hostMemory.read(GPA, 4))).toBeInstanceOf(HostAccessError);
    // Made host-visible by the guest's hypercall: the reverse.
    expect(setVisibility(vm, HostVisibility.READ_WRITE, [PAGE])).toBe(HvStatus.SUCCESS);
    expect(thrown(() => vm.memory.read(GPA, 4))).toBeInstanceOf(IsolationFault);
    vm.memory.write(GPA | BOUNDARY, Uint8Array.of(9, 8, 7, 6));
    expect([...vm.hostMemory.read(GPA | BOUNDARY, 4)]).toEqual([9, 8, 7, 6]);
    vm.hostMemory.write(GPA | BOUNDARY, Uint8Array.of(5));
    expect(vm.memory.readU8(GPA | BOUNDARY)).toBe(5);
    expect(thrown(() => vm.hostMemory.read(GPA, 4))).toBeInstanceOf(HostAccessError);
    // The page next to it stayed private.
    expect(thrown(() => vm.hostMemory.read((GPA + 0x1000n) | BOUNDARY, 4))).toBeInstanceOf(HostAccessError);
  });

  it('a conversion does not preserve the contents (the other side sees garbage)', () => {
    const vm = isolationVm();
    const secret = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
    vm.memory.write(GPA, secret);
    expect(setVisibility(vm, HostVisibility.READ_WRITE, [PAGE])).toBe(HvStatus.SUCCESS);
    expect([...vm.hostMemory.read(GPA | BOUNDARY, 64)]).not.toEqual([...secret]);
  });

  it('host refusals name the GPA, the page and its visibility', () => {
    const vm = isolationVm();
    const e = thrown(() => vm.hostMemory.write(GPA | BOUNDARY, Uint8Array.of(1))) as HostAccessError;
    expect(e).toBeInstanceOf(HostAccessError);
    expect(e.message).toMatch(/0x1000040000/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('saves and restores the visibility with the VM', () => {
    const vm = isolationVm();
    expect(setVisibility(vm, HostVisibility.READ_WRITE, [PAGE, PAGE + 2n])).toBe(HvStatus.SUCCESS);
    vm.memory.write(GPA | BOUNDARY, Uint8Array.of(42));
    const snapshot = JSON.parse(JSON.stringify(vm.save()));
    expect(Object.keys(snapshot.parts)).toContain('isolation');
    const restored = restoreVm(snapshot) as IsolationVm;
    expect(restored.hostMemory.read(GPA | BOUNDARY, 1)[0]).toBe(42);
    expect(thrown(() => restored.hostMemory.read((GPA + 0x1000n) | BOUNDARY, 1))).toBeInstanceOf(
      HostAccessError,
    );
    expect(restored.hostMemory.read((GPA + 0x2000n) | BOUNDARY, 1)).toHaveLength(1);
  });

  it.each([
    [
      { isolation: { sharedGpaBoundaryBits: 20 } },
      /isolation.sharedGpaBoundaryBits = 20: the boundary 2\^20 is below the end of RAM \(memoryBytes 16777216\): use at least 24/,
    ],
    [
      { isolation: { sharedGpaBoundaryBits: 48 } },
      /isolation.sharedGpaBoundaryBits = 48: the shared alias window .* does not fit in physicalAddressBits 48: use at most 47/,
    ],
    [{ isolation: { sharedGpaBoundaryBits: 36 }, arch: 'arm64' }, /isolation VMs are x64 here/],
    [{ isolation: { sharedGpaBoundaryBits: 36, isolationType: 'SEV' } }, /isolation.isolationType = 'SEV'/],
    [{ isolation: { bits: 36 } }, /isolation/],
  ])('refuses %j with one line', (options, message) => {
    const e = thrown(() => createVm(options as never)) as Error;
    expect(e.message).toMatch(message);
    expect(e.message.split('\n')).toHaveLength(1);
  });
});

// The plain VM type (what createVm gives without isolation) still has raw memory helpers; `Vm`
// itself types `memory` as the placed-memory interface an isolation VM's view shares.
const plainVm = () => createVm({ vcpus: 1 });
export type _PlainVmMemory = ReturnType<typeof plainVm>['memory']['view'];
