import * as tlbIpiHost from '@pvlab/tlb-ipi/host';
import * as vtlHost from '@pvlab/vtl/host';
import { describe, expect, it } from 'vitest';
import * as hostEmulator from '../src/index.ts';
import { createVm, Vm } from '../src/index.ts';

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
    const vm = createVm();
    for (const name of [...internal, ...more]) expect(name in vm, name).toBe(false);
    expect(vm).toBeInstanceOf(Vm);
    expect(Object.keys(hostEmulator)).not.toContain('vmInternals');
    vm.close();
  });
});
