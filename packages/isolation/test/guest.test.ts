import { HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  BouncePool,
  mapRingThroughAlias,
  PoolExhausted,
  queryHostVisibility,
  readIsolationConfig,
  SharedPlace,
  setHostVisibility,
  shareBuffer,
  shareMonitorPages,
  shareRing,
  vmapPfn,
} from '../src/guest/index.ts';
import { HostAccessError, IsolationFault } from '../src/index.ts';
import { BOUNDARY, TestVm } from './fixtures.ts';

const pfnRange = (first: number, n: number) => Array.from({ length: n }, (_, i) => BigInt(first + i));
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** Runs `f` and returns what it threw (or fails the test). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an exception');
}

describe('readIsolationConfig (Linux ms_hyperv_init_platform, spec 05 rule 1)', () => {
  it('reads leaf 0x4000000C when the Isolation privilege is present', () => {
    const g = readIsolationConfig(new TestVm().cpu());
    expect(g).toEqual({
      isolated: true,
      config: {
        paravisorPresent: true,
        isolationType: 2,
        sharedGpaBoundaryActive: true,
        sharedGpaBoundaryBits: 36,
      },
      boundary: BOUNDARY,
      vtom: true,
    });
  });
  it('without the privilege the leaf is not read: boundary 0, not isolated', () => {
    expect(readIsolationConfig(new TestVm({ drop: ['Isolation'] }).cpu())).toMatchObject({
      isolated: false,
      boundary: 0n,
    });
  });
  it('Active = 0: Linux ≥ 6.3 leaves the boundary 0; 5.16 computes it anyway', () => {
    const cpu = new TestVm({ sharedGpaBoundaryActive: false }).cpu();
    expect(readIsolationConfig(cpu, 'linux-6.3').boundary).toBe(0n);
    expect(readIsolationConfig(cpu, 'linux-5.16').boundary).toBe(BOUNDARY);
  });
  it('vTOM mode: VBS, or any type with a paravisor (rule 2); SNP without paravisor is not', () => {
    expect(
      readIsolationConfig(new TestVm({ isolationType: 'VBS', paravisorPresent: false }).cpu()).vtom,
    ).toBe(true);
    expect(
      readIsolationConfig(new TestVm({ isolationType: 'SNP', paravisorPresent: false }).cpu()).vtom,
    ).toBe(false);
  });
});

describe('setHostVisibility (Linux hv_vtom_set_host_visibility)', () => {
  it('batches of ≤ 510 PFNs: 1100 pages take 3 calls', () => {
    const vm = new TestVm({ ramBytes: 0x80_0000 });
    const calls: number[] = [];
    vm.partition.dispatcher.observe((r) => calls.push(r.repCount));
    expect(setHostVisibility(vm.hypercalls(), pfnRange(0x100, 1100), 3)).toEqual({ ok: true, batches: 3 });
    expect(calls).toEqual([510, 510, 80]);
    expect(vm.state.visibility.visiblePages()).toHaveLength(1100);
  });
  it('loops on rep continuation within a batch', () => {
    const vm = new TestVm({ maxRepsPerCall: 16 });
    let invocations = 0;
    vm.partition.dispatcher.observe(() => invocations++);
    expect(setHostVisibility(vm.hypercalls(), pfnRange(0x20, 40), 3).ok).toBe(true);
    expect(invocations).toBe(3);
  });
  it('returns the first failing batch with its status (Linux -EFAULT)', () => {
    const vm = new TestVm({ ramBytes: 0x80_0000 });
    const pfns = [...pfnRange(0x100, 600), 0x10_0000n];
    expect(setHostVisibility(vm.hypercalls(), pfns, 3)).toEqual({
      ok: false,
      status: HvStatus.OPERATION_DENIED,
      statusName: 'HV_STATUS_OPERATION_DENIED',
      batch: 1,
      pfnsDone: 510,
    });
  });
  it('refuses an undefined visibility before any call (a guest-code bug)', () => {
    expect(() => setHostVisibility(new TestVm().hypercalls(), [1n], 2 as never)).toThrow(
      /visibility 2 is not accepted: use 0, 1 or 3/,
    );
  });
  it('queryHostVisibility reads them back', () => {
    const vm = new TestVm();
    const hc = vm.hypercalls();
    setHostVisibility(hc, [0x21n], 3);
    setHostVisibility(hc, [0x22n], 1);
    expect(queryHostVisibility(hc, pfnRange(0x20, 4))).toEqual({ ok: true, visibility: [0, 3, 1, 0] });
    expect(queryHostVisibility(hc, [0x20n, 0x10_0000n])).toMatchObject({
      ok: false,
      status: HvStatus.OPERATION_DENIED,
      pfnsDone: 1,
    });
  });
});

describe('place 1: VMBus monitor pages', () => {
  it('made visible, zeroed after the conversion, passed with the boundary for INITIATE_CONTACT', () => {
    const vm = new TestVm();
    const r = shareMonitorPages(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, [0x30n, 0x31n]);
    if (!r.ok) throw new Error(r.statusName);
    expect([r.monitorPage1, r.monitorPage2]).toEqual([0x10_0003_0000n, 0x10_0003_1000n]);
    // The host reads what INITIATE_CONTACT names: zeros, not the conversion's garbage.
    expect(vm.state.hostMemory.read(r.monitorPage1, 4096)).toEqual(new Uint8Array(4096));
    vm.state.hostMemory.writeU32(r.monitorPage2 + 8n, 0x1234);
    expect(r.pages[1].readU32(8)).toBe(0x1234);
  });
  it('forgot the boundary: the guest zeroing through the private GPA is an IsolationFault naming the place', () => {
    const vm = new TestVm();
    const e = thrown(() =>
      shareMonitorPages(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, [0x30n, 0x31n], {
        forgetBoundary: true,
      }),
    );
    expect(e).toBeInstanceOf(IsolationFault);
    expect((e as IsolationFault).place).toBe(SharedPlace.MONITOR_PAGE);
    expect((e as Error).message).toMatch(
      /^#MEMORY: VMBus monitor page: guest write of GPA 0x30000 through the private alias/,
    );
  });
  it('forgot the boundary in INITIATE_CONTACT: the host reading the private GPA is refused', () => {
    const vm = new TestVm();
    const r = shareMonitorPages(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, [0x30n, 0x31n], {
      forgetBoundary: true,
      zeroAfterConversion: false,
    });
    if (!r.ok) throw new Error(r.statusName);
    expect(r.monitorPage1).toBe(0x30000n);
    const e = thrown(() => vm.state.hostMemory.read(r.monitorPage1, 8, SharedPlace.MONITOR_PAGE));
    expect(e).toBeInstanceOf(HostAccessError);
    expect((e as Error).message).toMatch(
      /^VMBus monitor page: host read of GPA 0x30000 .* below the shared GPA boundary/,
    );
  });
  it('a guest that forgets to re-initialise hands the host garbage', () => {
    const vm = new TestVm();
    const r = shareMonitorPages(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, [0x30n, 0x31n], {
      zeroAfterConversion: false,
    });
    if (!r.ok) throw new Error(r.statusName);
    expect(vm.state.hostMemory.read(r.monitorPage1, 4096)).not.toEqual(new Uint8Array(4096));
  });
  it('a failed visibility call is returned, nothing mapped', () => {
    const vm = new TestVm({ drop: ['Isolation'] });
    expect(shareMonitorPages(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, [0x30n, 0x31n])).toMatchObject({
      ok: false,
      status: HvStatus.ACCESS_DENIED,
    });
  });
});

describe('place 2: ring buffers, double-mapped through the alias', () => {
  // Header 0x40, data pages 0x45, 0x41 (a GPADL need not be contiguous).
  const pfns = [0x40n, 0x45n, 0x41n];

  it('[hdr, data…, data…]: a write that wraps the data area lands at its start', () => {
    const vm = new TestVm();
    const r = shareRing(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, pfns);
    if (!r.ok) throw new Error(r.statusName);
    const ring = r.ring;
    expect(ring.length).toBe(4096 * 5);
    expect(ring.dataSize).toBe(8192);
    expect([ring.gpaOf(0), ring.gpaOf(4096), ring.gpaOf(8192), ring.gpaOf(12288), ring.gpaOf(16384)]).toEqual(
      [0x40n, 0x45n, 0x41n, 0x45n, 0x41n].map((p) => (p << 12n) | BOUNDARY),
    );
    const packet = bytesOf(64, 1);
    ring.writeData(8192 - 32, packet); // the second half runs into the second copy = data offset 0
    expect(vm.state.hostMemory.read(0x45000n | BOUNDARY, 32)).toEqual(packet.subarray(32));
    expect(vm.state.hostMemory.read((0x41000n | BOUNDARY) + 4096n - 32n, 32)).toEqual(packet.subarray(0, 32));
    expect(ring.readData(8192 - 32, 64)).toEqual(packet);
    // The header was zeroed after the conversion; the host sees the guest's index writes.
    expect(vm.state.hostMemory.read(0x40000n | BOUNDARY, 64)).toEqual(new Uint8Array(64));
    ring.writeU32(0, 0x20);
    expect(vm.state.hostMemory.readU32(0x40000n | BOUNDARY)).toBe(0x20);
  });
  it('forgot the boundary: the first access is an IsolationFault naming the ring', () => {
    const vm = new TestVm();
    const e = thrown(() =>
      shareRing(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, pfns, { forgetBoundary: true }),
    );
    expect(e).toBeInstanceOf(IsolationFault);
    expect((e as Error).message).toMatch(
      /^#MEMORY: VMBus ring buffer: guest write of GPA 0x40000 through the private alias/,
    );
  });
  it('a mapping without the visibility call faults on use (the pages are still private)', () => {
    const vm = new TestVm();
    const ring = mapRingThroughAlias(vm.state.guestMemory, BOUNDARY, pfns);
    expect(() => ring.readU32(0)).toThrow(
      /VMBus ring buffer: guest read of GPA 0x1000040000 through the shared alias, but page 0x40 is private/,
    );
  });
  it('a confidential ring (rule 8) stays private and is mapped through the private GPAs', () => {
    const vm = new TestVm();
    const r = shareRing(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, pfns, { confidential: true });
    if (!r.ok) throw new Error(r.statusName);
    r.ring.writeU64(4096, 7n);
    expect(vm.state.visibility.visiblePages()).toEqual([]);
    expect(() => vm.state.hostMemory.read(0x45000n | BOUNDARY, 8)).toThrow(HostAccessError);
  });
  it('a ring needs a header and a data page', () => {
    expect(() => mapRingThroughAlias(new TestVm().state.guestMemory, BOUNDARY, [1n])).toThrow(
      /at least one data page, got 1 PFN/,
    );
  });
});

describe('place 3: non-contiguous buffers (netvsc, vmap_pfn through the alias)', () => {
  const pfns = [0x52n, 0x50n, 0x57n];

  it('one contiguous view over arbitrary pages; the host sees each page at its alias', () => {
    const vm = new TestVm();
    const r = shareBuffer(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, pfns);
    if (!r.ok) throw new Error(r.statusName);
    const data = bytesOf(3 * 4096, 3);
    r.view.write(0, data);
    expect(vm.state.hostMemory.read(0x50000n | BOUNDARY, 4096)).toEqual(data.subarray(4096, 8192));
    expect(vm.state.hostMemory.read(0x57000n | BOUNDARY, 4096)).toEqual(data.subarray(8192));
    vm.state.hostMemory.write((0x52000n | BOUNDARY) + 4090n, bytesOf(6, 9));
    expect(r.view.read(4090, 6)).toEqual(bytesOf(6, 9));
  });
  it('forgot the boundary: an IsolationFault naming the vmap_pfn buffer', () => {
    const vm = new TestVm();
    const r = shareBuffer(vm.hypercalls(), vm.state.guestMemory, BOUNDARY, pfns, { forgetBoundary: true });
    if (!r.ok) throw new Error(r.statusName);
    const e = thrown(() => r.view.write(4096, new Uint8Array(8)));
    expect(e).toBeInstanceOf(IsolationFault);
    expect((e as Error).message).toMatch(
      /^#MEMORY: netvsc buffer \(vmap_pfn\): guest write of GPA 0x50000 through the private alias/,
    );
  });
  it('offsets outside the view are a RangeError naming the place', () => {
    const view = vmapPfn(new TestVm().state.guestMemory, BOUNDARY, pfns);
    expect(() => view.read(3 * 4096 - 4, 8)).toThrow(
      /netvsc buffer \(vmap_pfn\): access at offset 12284 \(\+8 bytes\) is outside the 12288-byte view/,
    );
  });
});

describe('place 4: the swiotlb bounce pool', () => {
  const POOL = 0x60000n;
  const BUF = 0x80000n; // a private buffer

  function pool(vm: TestVm, options: { forgetBoundary?: boolean; bytes?: number } = {}) {
    const p = new BouncePool(vm.state.guestMemory, BOUNDARY, {
      baseGpa: POOL,
      bytes: options.bytes ?? 0x4000,
      ...options,
    });
    expect(p.init(vm.hypercalls())).toEqual({ ok: true, batches: 1 });
    return p;
  }

  it('to-device: map copies the private buffer into a slot the host reads at pool + boundary', () => {
    const vm = new TestVm();
    const p = pool(vm);
    vm.state.guestMemory.write(BUF, bytesOf(3000, 5));
    const m = p.map(BUF, 3000, 'to-device');
    expect(m).toMatchObject({ firstSlot: 0, slots: 2, sharedGpa: POOL | BOUNDARY, poolGpa: POOL });
    expect(vm.state.hostMemory.read(m.sharedGpa, 3000)).toEqual(bytesOf(3000, 5));
    // The private buffer itself stays out of the host's reach.
    expect(() => vm.state.hostMemory.read(BUF | BOUNDARY, 1)).toThrow(HostAccessError);
    vm.state.guestMemory.write(BUF, bytesOf(3000, 6));
    p.syncForDevice(m);
    expect(vm.state.hostMemory.read(m.sharedGpa, 3000)).toEqual(bytesOf(3000, 6));
    p.unmap(m);
    expect(p.freeSlots).toBe(p.totalSlots);
  });
  it('from-device: syncForCpu and unmap copy what the device wrote back to the private buffer', () => {
    const vm = new TestVm();
    const p = pool(vm);
    const m = p.map(BUF, 100, 'from-device');
    vm.state.hostMemory.write(m.sharedGpa, bytesOf(100, 7));
    p.syncForCpu(m);
    expect(vm.state.guestMemory.read(BUF, 100)).toEqual(bytesOf(100, 7));
    vm.state.hostMemory.write(m.sharedGpa, bytesOf(100, 8));
    p.unmap(m);
    expect(vm.state.guestMemory.read(BUF, 100)).toEqual(bytesOf(100, 8));
    expect(() => p.unmap(m)).toThrow(/unmap of mapping 1, which is not mapped/);
  });
  it('to-device mappings are not copied back; bidirectional ones are, both ways', () => {
    const vm = new TestVm();
    const p = pool(vm);
    vm.state.guestMemory.write(BUF, bytesOf(16, 1));
    const to = p.map(BUF, 16, 'to-device');
    vm.state.hostMemory.write(to.sharedGpa, bytesOf(16, 2));
    p.unmap(to);
    expect(vm.state.guestMemory.read(BUF, 16)).toEqual(bytesOf(16, 1));
    const bi = p.map(BUF, 16, 'bidirectional');
    expect(vm.state.hostMemory.read(bi.sharedGpa, 16)).toEqual(bytesOf(16, 1));
    vm.state.hostMemory.write(bi.sharedGpa, bytesOf(16, 3));
    p.unmap(bi);
    expect(vm.state.guestMemory.read(BUF, 16)).toEqual(bytesOf(16, 3));
  });
  it('the pool was zeroed after its conversion: the host never sees the garbage', () => {
    const vm = new TestVm();
    const p = pool(vm);
    expect(vm.state.hostMemory.read(p.sharedBase, p.bytes)).toEqual(new Uint8Array(p.bytes));
  });
  it('exhaustion is a PoolExhausted naming the pool size and the request', () => {
    const vm = new TestVm();
    const p = pool(vm, { bytes: 0x2000 }); // 4 slots of 2 KiB
    p.map(BUF, 4096, 'to-device');
    const e = thrown(() => p.map(BUF, 6000, 'to-device'));
    expect(e).toBeInstanceOf(PoolExhausted);
    expect((e as Error).message).toBe(
      'swiotlb bounce pool exhausted: a 6000-byte mapping needs 3 contiguous slot(s) of 2048 bytes; the pool has 4 slots (8192 bytes), 2 free',
    );
    expect(p.freeSlots).toBe(2);
  });
  it('slots are searched from a rotating index and freed runs are reused', () => {
    const vm = new TestVm();
    const p = pool(vm, { bytes: 0x2000 });
    const a = p.map(BUF, 2048, 'to-device');
    const b = p.map(BUF, 2048, 'to-device');
    p.unmap(a);
    expect(p.map(BUF, 4096, 'to-device').firstSlot).toBe(2);
    expect(p.map(BUF, 2048, 'to-device').firstSlot).toBe(0);
    expect(b.firstSlot).toBe(1);
  });
  it('forgot the boundary: the pool used at its private address is an IsolationFault naming the pool', () => {
    const vm = new TestVm();
    const p = new BouncePool(vm.state.guestMemory, BOUNDARY, {
      baseGpa: POOL,
      bytes: 0x4000,
      forgetBoundary: true,
    });
    const e = thrown(() => p.init(vm.hypercalls()));
    expect(e).toBeInstanceOf(IsolationFault);
    expect((e as Error).message).toMatch(
      /^#MEMORY: swiotlb bounce pool: guest write of GPA 0x60000 through the private alias/,
    );
  });
  it('bad pool geometry or mapping arguments are RangeErrors naming the value', () => {
    const mem = new TestVm().state.guestMemory;
    expect(() => new BouncePool(mem, BOUNDARY, { baseGpa: 0x60010n, bytes: 0x4000 })).toThrow(
      /base 393232 is not accepted/,
    );
    expect(() => new BouncePool(mem, BOUNDARY, { baseGpa: POOL, bytes: 100 })).toThrow(
      /size 100 is not accepted/,
    );
    const p = new BouncePool(mem, BOUNDARY, { baseGpa: POOL, bytes: 0x4000 });
    expect(() => p.map(BUF, 0, 'to-device')).toThrow(/length 0 is not accepted/);
    expect(() => p.map(BUF, 8, 'sideways' as never)).toThrow(/direction 'sideways' is not accepted/);
  });
});
