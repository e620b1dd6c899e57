/**
 * An isolation VM for the VMBus tests that compose both packages (moved here from vmbus-ring,
 * which depends on `@pvlab/hypercall` only): the isolation and VMBus extensions on a
 * `testPartition`, and a guest driver whose memory sharing is isolation's. The constants and the
 * ring PFNs are those of vmbus-ring's channel fixtures.
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

export const RAM_BYTES = 0x40_0000;
export const SIMP_PFN = 4n;
export const SIEFP_PFN = 5n;
export const MONITOR_PAGES: readonly [bigint, bigint] = [0x6000n, 0x7000n];
export const VMBUS_VECTOR = 0xf3;
/** Ring pages are taken from here on. */
const RING_BASE_PFN = 0x100n;

export const BOUNDARY_BITS = 36;
export const BOUNDARY = 1n << 36n;
export const hex = (v: bigint) => `0x${v.toString(16)}`;

/** `count` PFNs from `RING_BASE_PFN + start`, every other page (non-contiguous runs), shuffled by `seed`. */
export function ringPfns(count: number, start = 0, seed = 1): bigint[] {
  const pfns = Array.from({ length: count }, (_, i) => RING_BASE_PFN + BigInt(start + 2 * i));
  let s = seed;
  for (let i = pfns.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [pfns[i], pfns[j]] = [pfns[j]!, pfns[i]!];
  }
  return pfns;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes counting up from `start` (mod 256). */
export function pattern(length: number, start = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

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
