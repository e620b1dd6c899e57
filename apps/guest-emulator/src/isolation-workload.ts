import { isGuestFault } from '@pvlab/hypercall';
import type { GuestHypercalls, GuestProgramCpu } from '@pvlab/hypercall/guest';
import {
  BouncePool,
  PoolExhausted,
  readIsolationConfig,
  shareBuffer,
  shareMonitorPages,
  shareRing,
} from '@pvlab/isolation/guest';

/** The four places of spec 05 where a guest applies the shared GPA boundary. */
export const ISOLATION_PLACES = ['monitor', 'ring', 'buffer', 'bounce'] as const;
export type IsolationPlace = (typeof ISOLATION_PLACES)[number];

/** Pages the workload uses, from `pagesGpa` on. */
export const ISOLATION_WORKLOAD_PAGES = 32;

/** What the isolation workload did (CPU 0). */
export interface IsolationWorkloadReport {
  readonly boundary: string;
  /** The places that ran and checked out, in order. */
  readonly places: readonly IsolationPlace[];
  /** The bounce pool refused a mapping larger than itself (PoolExhausted), as it must. */
  readonly poolExhaustedCaught: boolean;
}

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The four places of spec 05, as Linux does them, on CPU 0 of an isolation VM: (1) the VMBus
 * monitor pages made host-visible, zeroed through the alias, their GPAs + boundary for
 * INITIATE_CONTACT; (2) a ring made visible and mapped through the alias with the double mapping
 * [header, data…, data…] — a write that wraps reads back whole; (3) a netvsc-like buffer of
 * scattered pages mapped through the alias as one view (vmap_pfn); (4) a swiotlb-like bounce
 * pool: map a private buffer to-device, sync, read the bounce copy, unmap; a mapping larger than
 * the pool is refused (PoolExhausted). `forget` reproduces "forgot the boundary" in one place: the
 * guest's boundary view faults and the run fails with a message naming the place.
 */
export function runIsolationWorkload(
  cpu: GuestProgramCpu,
  hc: GuestHypercalls,
  pagesGpa: bigint,
  forget: IsolationPlace | undefined,
): IsolationWorkloadReport {
  const isolation = cpu.isolation;
  if (isolation === undefined) throw new Error('runIsolationWorkload needs an isolation VM');
  const config = readIsolationConfig(cpu);
  if (config.boundary !== isolation.boundary) {
    cpu.fail(
      `isolation: CPUID 0x4000000C gives boundary 0x${config.boundary.toString(16)}, the VM uses 0x${isolation.boundary.toString(16)}`,
    );
  }
  const boundary = config.boundary;
  const view = isolation.memory;
  const pfn0 = pagesGpa >> 12n;
  const pfn = (i: number) => pfn0 + BigInt(i);
  const places: IsolationPlace[] = [];
  const run = (place: IsolationPlace, body: (forgetBoundary: boolean) => void) => {
    try {
      body(forget === place);
    } catch (e) {
      if (isGuestFault(e)) cpu.fail(`isolation (${place}): ${e.message}`);
      throw e;
    }
    places.push(place);
  };

  run('monitor', (forgetBoundary) => {
    const mon = shareMonitorPages(hc, view, boundary, [pfn(0), pfn(1)], { forgetBoundary });
    if (!mon.ok) cpu.fail(`isolation: monitor pages not made visible: ${mon.statusName}`);
    mon.pages[1].writeU32(8, 1); // a trigger_group pending bit, as vmbus_set_event sets it
    if (mon.pages[1].readU32(8) !== 1) cpu.fail('isolation: monitor page lost its write');
    cpu.log(
      `isolation: monitor pages at 0x${mon.monitorPage1.toString(16)} and 0x${mon.monitorPage2.toString(16)} (GPA + boundary)`,
    );
  });

  run('ring', (forgetBoundary) => {
    // [header, 4 data pages] scattered over the region, as a GPADL may name them.
    const pfns = [pfn(2), pfn(7), pfn(4), pfn(9), pfn(6)];
    const ring = shareRing(hc, view, boundary, pfns, { forgetBoundary });
    if (!ring.ok) cpu.fail(`isolation: ring pages not made visible: ${ring.statusName}`);
    const data = pattern(3000, 1);
    const wrapAt = 4 * 4096 - 1000; // runs 1000 bytes past the end into the second mapping
    ring.ring.writeData(wrapAt, data);
    if (!same(ring.ring.readData(wrapAt, data.length), data))
      cpu.fail('isolation: ring data lost across the wrap');
    cpu.log(
      `isolation: ring of ${pfns.length} pages mapped through the alias twice; a 3000-byte write across the wrap reads back`,
    );
  });

  run('buffer', (forgetBoundary) => {
    const pfns = [pfn(12), pfn(15), pfn(13), pfn(20)];
    const buffer = shareBuffer(hc, view, boundary, pfns, { forgetBoundary });
    if (!buffer.ok) cpu.fail(`isolation: buffer pages not made visible: ${buffer.statusName}`);
    const data = pattern(4 * 4096, 2);
    buffer.view.write(0, data);
    if (!same(buffer.view.read(0, data.length), data)) cpu.fail('isolation: vmap_pfn view lost data');
    cpu.log(
      `isolation: a ${pfns.length}-page send buffer (PFNs ${pfns.map((p) => `0x${p.toString(16)}`).join(', ')}) as one view through the alias`,
    );
  });

  let poolExhaustedCaught = false;
  run('bounce', (forgetBoundary) => {
    const pool = new BouncePool(view, boundary, { baseGpa: pfn(24) << 12n, bytes: 4 * 4096, forgetBoundary });
    const init = pool.init(hc);
    if (!init.ok) cpu.fail(`isolation: bounce pool not made visible: ${init.statusName}`);
    // The private buffer the "driver" hands to the device: guest-private RAM below the boundary.
    const privateGpa = pfn(30) << 12n;
    const data = pattern(1500, 3);
    cpu.memory.write(privateGpa, data);
    const m = pool.map(privateGpa, data.length, 'to-device');
    pool.syncForDevice(m);
    if (!same(view.read(m.sharedGpa, data.length), data)) cpu.fail('isolation: the bounce copy differs');
    pool.unmap(m);
    try {
      pool.map(privateGpa, 5 * 4096, 'to-device');
    } catch (e) {
      if (!(e instanceof PoolExhausted)) throw e;
      poolExhaustedCaught = true;
      cpu.log(`isolation: ${e.message}`);
    }
    cpu.log('isolation: 1500 bytes bounced through the shared pool and back');
  });
  cpu.log(`isolation: boundary 0x${boundary.toString(16)}; ${places.join(', ')} checked`);
  return { boundary: `0x${boundary.toString(16)}`, places, poolExhaustedCaught };
}
