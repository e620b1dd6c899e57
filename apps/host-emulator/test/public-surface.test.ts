import type { GuestMemory, GuestPhysicalMemory } from '@pvlab/hypercall';
import type { PageListView } from '@pvlab/isolation';
import type { IsolatedGuestMemory } from '@pvlab/isolation/host';
import * as tlbIpiHost from '@pvlab/tlb-ipi/host';
import type { GuestBoundaryView } from '@pvlab/vmbus-ring/guest';
import * as vtlHost from '@pvlab/vtl/host';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as hostEmulator from '../src/index.ts';
import { createVm, type IsolationVm, Vm } from '../src/index.ts';

// The entry points name what users need; internal helpers and the VM's hooks for the app's own
// modules stay off the surface.
describe('public surface', () => {
  it('leaves internal helpers out of the package entry points', () => {
    expect(Object.keys(tlbIpiHost)).not.toContain('KvmFlushFifo');
    expect(Object.keys(tlbIpiHost)).not.toContain('TargetList');
    expect(Object.keys(vtlHost)).not.toContain('highestBelow');
    expect(Object.keys(tlbIpiHost)).toContain('tlbIpiExtension');
  });

  it('keeps the VM internals off the Vm type and out of the index', () => {
    const internal = ['partitionOpen', 'smcccCall', 'pvTimeOf', 'accountSteal', 'beforeRun'] as const;
    const more = ['onStolenTimeUpdate', 'recordSteal', 'restoreParts'] as const;
    const runnerNeeds = ['smcccFunctions', 'accountsStolenTime', 'restored'] as const;
    const vm = createVm();
    for (const name of [...internal, ...more, ...runnerNeeds]) expect(name in vm, name).toBe(false);
    expect(vm).toBeInstanceOf(Vm);
    expect(Object.keys(hostEmulator)).not.toContain('vmInternals');
    vm.close();
  });

  it('types vm.memory as the placed-memory interface, and as what it is where createVm knows', () => {
    expectTypeOf<Vm['memory']>().toEqualTypeOf<GuestPhysicalMemory>();
    expectTypeOf<IsolationVm['memory']>().toExtend<IsolatedGuestMemory>();
    const vm = createVm();
    expectTypeOf(vm.memory).toExtend<GuestMemory>();
    // An ordinary VM's guest view is its RAM.
    expect(vm.memory).toBe(vm.ram);
    vm.close();
  });

  it('has one placed-memory interface, GuestPhysicalMemory (checked by the typecheck)', () => {
    expectTypeOf<ConstructorParameters<typeof PageListView>[0]>().toEqualTypeOf<GuestPhysicalMemory>();
    expectTypeOf<GuestBoundaryView>().toExtend<GuestPhysicalMemory>();
    expectTypeOf<IsolatedGuestMemory>().toExtend<GuestBoundaryView>();
    expectTypeOf<GuestPhysicalMemory['read']>().parameter(2).toEqualTypeOf<string | undefined>();
  });
});
