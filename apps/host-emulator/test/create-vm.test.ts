import { describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';

describe('createVm', () => {
  it('reports "Microsoft Hv" in CPUID 0x40000000', () => {
    const vm = createVm({ vcpus: 2 });
    expect(vm.cpuid(0x4000_0000).ebx).toBe(0x7263_694d);
    vm.close();
  });
});
