/**
 * An isolation VM for the VMBus tests that compose both packages (moved here from vmbus-ring,
 * which depends on `@pvlab/hypercall` only): the isolation and VMBus extensions on a
 * `testPartition`, and a guest driver whose memory sharing is isolation's. The layout constants,
 * ring PFNs and byte patterns are vmbus-ring's own test fixtures, imported rather than copied.
 */
import type { HvPartition } from '@pvlab/hypercall/host';
import { partitionGuest, testPartition } from '@pvlab/hypercall/testing';
import { guestMemorySharing } from '@pvlab/isolation/guest';
import {
  type IsolationEvent,
  type IsolationHostState,
  isolationExtension,
  isolationHostState,
} from '@pvlab/isolation/host';
import { GuestSynic, VmbusClient, type VmbusIsolationOptions } from '@pvlab/vmbus-ring/guest';
import {
  type VmbusDevice,
  type VmbusHostState,
  vmbusExtension,
  vmbusHostState,
} from '@pvlab/vmbus-ring/host';
import {
  MONITOR_PAGES,
  RAM_BYTES,
  SIEFP_PFN,
  SIMP_PFN,
  VMBUS_VECTOR,
} from '../../../packages/vmbus-ring/test/channel-fixtures.ts';

export {
  MONITOR_PAGES,
  prng,
  RAM_BYTES,
  ringPfns,
  SIEFP_PFN,
  SIMP_PFN,
  VMBUS_VECTOR,
} from '../../../packages/vmbus-ring/test/channel-fixtures.ts';
export { pattern } from '../../../packages/vmbus-ring/test/fixtures.ts';

export const BOUNDARY_BITS = 36;
export const BOUNDARY = 1n << 36n;
export const hex = (v: bigint) => `0x${v.toString(16)}`;

/** A partition with the isolation and VMBus extensions, and a guest driver whose memory is the boundary view. */
export function isolationVm(
  devices: readonly VmbusDevice[],
  forgetBoundary?: VmbusIsolationOptions['forgetBoundary'],
): {
  partition: HvPartition;
  iso: IsolationHostState;
  host: VmbusHostState;
  events: IsolationEvent[];
  client: VmbusClient;
  hypercalls: ReturnType<typeof partitionGuest>['hypercalls'];
} {
  const ext = isolationExtension({ sharedGpaBoundaryBits: BOUNDARY_BITS });
  const partition = testPartition({
    ramBytes: RAM_BYTES,
    vendor: 'amd',
    extensions: [vmbusExtension({ devices }), ext],
    extraCpuidLeaves: ext.cpuidLeaves,
  });
  const iso = isolationHostState(partition);
  const events: IsolationEvent[] = [];
  iso.onEvent((e) => events.push(e));
  const { cpu, hypercalls } = partitionGuest(partition, 0, { memory: iso.guestMemory });
  // The SynIC pages stay private (the paravisor serves them); the guest reaches them below the boundary.
  const synic = new GuestSynic(cpu, partition.memory, {
    simpPfn: SIMP_PFN,
    siefpPfn: SIEFP_PFN,
    vector: VMBUS_VECTOR,
  });
  synic.enable();
  const client = new VmbusClient({
    cpu,
    memory: partition.memory,
    hypercalls,
    synic,
    monitorPages: MONITOR_PAGES,
    isolation: {
      sharing: guestMemorySharing(BOUNDARY, iso.guestMemory),
      ...(forgetBoundary ? { forgetBoundary } : {}),
    },
  });
  return { partition, iso, host: vmbusHostState(partition), events, client, hypercalls };
}

export const refusals = (events: readonly IsolationEvent[]) =>
  events.flatMap((e) => (e.kind === 'host-access-refused' ? [e.error] : []));
