/** What the tests share: the suite's guests (from the global setup) and a booted Linux VM. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CreateVmOptions } from '@pvlab/host-emulator';
import { inject } from 'vitest';
import { LinuxVm } from './harness.ts';

export const linux = inject('linux');

const modules = new Map<string, Uint8Array>();

/** The text the build extracted from the tree for `#include <pvlab-extract/path/fn>`. */
export function extracted(path: string, fn: string): string {
  if (linux === null) throw new Error('no Linux tree: the suite should have skipped');
  return readFileSync(join(linux.tree.extractDir, 'pvlab-extract', path, fn), 'utf8');
}

/** The built module of guests/`driver`.c. */
export function guestModule(driver: 'hv-apic' | 'get-vtl'): Uint8Array {
  if (linux === null) throw new Error('no Linux tree: the suite should have skipped');
  let m = modules.get(driver);
  if (m === undefined) {
    m = new Uint8Array(readFileSync(linux.guests[driver]));
    modules.set(driver, m);
  }
  return m;
}

/**
 * A VM running guests/`driver`.c on `vcpus` vCPUs, booted the way Linux boots: the shim's
 * platform steps on vCPU 0 (and hv_apic_init() for hv-apic), then Linux's hv_common_cpu_init()
 * on every vCPU. The boot's exits are dropped.
 */
export function bootLinux(
  driver: 'hv-apic' | 'get-vtl',
  vcpus: number,
  options: Omit<CreateVmOptions, 'vcpus'> = {},
): LinuxVm {
  const lvm = new LinuxVm(guestModule(driver), { ...options, vcpus });
  lvm.call(0, 'lt_boot');
  for (let i = 0; i < vcpus; i++) {
    const r = lvm.call(i, 'lt_cpu_up');
    if (r !== 0) throw new Error(`hv_common_cpu_init(${i}) returned ${r}`);
  }
  lvm.takeExits();
  return lvm;
}
