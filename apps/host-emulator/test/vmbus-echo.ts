/** A VMBus guest over the direct harness: VP 0 connects and opens the echo channel. */
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL } from '@pvlab/hypercall';
import { GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { GuestSynic, VmbusClient } from '@pvlab/vmbus-ring/guest';
import type { Vm } from '../src/index.ts';

const LINUX_OS_ID = 0x8100n << 48n;
export const INPUT = 0x2000n;
const OUTPUT = 0x3000n;
/** 2 × (1 control + 3 data) ring pages, every other page from 0x100. */
export const PFNS = Array.from({ length: 8 }, (_, i) => 0x100n + 2n * BigInt(i));
export const OUTBOUND_PAGES = 4;

export function hypercalls(vm: Vm) {
  return new GuestHypercalls(
    { cpu: vm.vp(0), memory: vm.memory },
    perCpuHypercallPages('separate', INPUT, OUTPUT),
  );
}

/** The guest's VMBus driver on VP 0 (its SynIC programmed only when `enable`). */
export function driver(vm: Vm, enable: boolean): VmbusClient {
  const cpu = vm.vp(0);
  const synic = new GuestSynic(cpu, vm.ram, { simpPfn: 4n, siefpPfn: 5n, vector: 0xf3 });
  if (enable) synic.enable();
  return new VmbusClient({
    cpu,
    memory: vm.ram,
    hypercalls: hypercalls(vm),
    synic,
    monitorPages: [0x6000n, 0x7000n],
  });
}

/** A guest on VP 0 that brought VMBus up and opened the echo channel (relid 1). */
export function openEcho(vm: Vm, client?: VmbusClient) {
  const cpu = vm.vp(0);
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, LINUX_OS_ID);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, 0x1000n | 1n);
  const driven = client ?? driver(vm, true);
  driven.connect();
  driven.requestOffers();
  return driven.openChannel(1, { pfns: PFNS, outboundPages: OUTBOUND_PAGES });
}
