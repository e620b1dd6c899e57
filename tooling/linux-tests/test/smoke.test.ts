import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { LinuxVm } from '../src/harness.ts';

const linux = inject('linux');

describe.skipIf(linux === null)('smoke', () => {
  it('boots', () => {
    const n = 130;
    const lvm = new LinuxVm(new Uint8Array(readFileSync(linux!.guests['hv-apic'])), { vcpus: n });
    lvm.call(0, 'lt_boot');
    for (let i = 0; i < n; i++) expect(lvm.call(i, 'lt_cpu_up')).toBe(0);
    lvm.takeExits();
    lvm.call(0, 'lt_send', 0, 3, 0x40);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length));
    lvm.call(5, 'lt_send', 0, 100, 0x41);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length));
    lvm.call(5, 'lt_send', 4, 0, 0x42);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length).length);
    lvm.call(5, 'lt_send', 3, 0, 0x42);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length).length);
    lvm.call(5, 'lt_send', 5, 0, 0x43);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length));
    lvm.call(5, 'lt_send', 5, 0, 0x0f);
    console.log(lvm.takeExits(), lvm.takeDeliveries().map((d, i) => [i, d]).filter(([, d]) => (d as number[]).length));
    lvm.close();
  });
});
