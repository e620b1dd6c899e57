import { describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';

describe('vm.vp(i): the TSC and a look at pending interrupts', () => {
  it('interruptPending looks without acknowledging; takeInterrupts acknowledges', () => {
    const vm = createVm({ vcpus: 2 });
    expect(vm.vp(1).interruptPending()).toBe(false);
    vm.vp(0).writeMsr(0x830n, (1n << 32n) | 0x40n);
    expect(vm.vp(1).interruptPending()).toBe(true);
    expect(vm.vp(1).interruptPending()).toBe(true);
    expect(vm.vp(1).takeInterrupts()).toEqual([0x40]);
    expect(vm.vp(1).interruptPending()).toBe(false);
    vm.close();
  });

  it('rdtsc counts ns since the VM was made (a 1 GHz TSC) and never goes back; #UD on arm64', () => {
    const vm = createVm();
    const a = vm.vp(0).rdtsc();
    const b = vm.vp(0).rdtsc();
    expect(a).toBeGreaterThanOrEqual(0n);
    expect(b).toBeGreaterThanOrEqual(a);
    vm.close();
    const arm = createVm({ arch: 'arm64' });
    expect(() => arm.vp(0).rdtsc()).toThrow(expect.objectContaining({ vector: 'UD' }));
    arm.close();
  });
});
