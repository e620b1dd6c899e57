/**
 * `guestMemorySharing`: this package's guest helpers as the core's `GuestMemorySharing` port,
 * which drivers in other packages (`@pvlab/vmbus-ring/guest`) are handed by the app. Each method
 * does what the helper it stands for does.
 */
import type { GuestMemorySharing } from '@pvlab/hypercall/guest';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DoubleMappedRing, guestMemorySharing, SharedPlace } from '../src/guest/index.ts';
import { HostVisibility, IsolationFault } from '../src/index.ts';
import { BOUNDARY, TestVm } from './fixtures.ts';

const PFNS = [0x20n, 0x21n, 0x22n];

function sharingVm() {
  const vm = new TestVm();
  return { vm, hc: vm.hypercalls(), sharing: guestMemorySharing(BOUNDARY, vm.state.guestMemory) };
}

describe('guestMemorySharing (the core port, from the guest helpers)', () => {
  it('is the port: its boundary and the guest view it was given', () => {
    const { vm, sharing } = sharingVm();
    expectTypeOf(sharing).toEqualTypeOf<GuestMemorySharing>();
    expect(sharing.boundary).toBe(BOUNDARY);
    expect(sharing.memory).toBe(vm.state.guestMemory);
  });

  it('makeHostVisible and makePrivate are HvCallModifySparseGpaPageHostVisibility with READ_WRITE and NOT_VISIBLE', () => {
    const { vm, hc, sharing } = sharingVm();
    expect(sharing.makeHostVisible(hc, PFNS)).toMatchObject({ ok: true });
    for (const pfn of PFNS) expect(vm.state.visibility.get(Number(pfn))).toBe(HostVisibility.READ_WRITE);
    expect(sharing.makePrivate(hc, PFNS.slice(1))).toMatchObject({ ok: true });
    expect(PFNS.map((pfn) => vm.state.visibility.get(Number(pfn)))).toEqual([
      HostVisibility.READ_WRITE,
      HostVisibility.NOT_VISIBLE,
      HostVisibility.NOT_VISIBLE,
    ]);
  });

  it('a refused change is returned with its status name (no privilege: ACCESS_DENIED)', () => {
    const vm = new TestVm({ drop: ['Isolation'] });
    const r = guestMemorySharing(BOUNDARY, vm.state.guestMemory).makeHostVisible(vm.hypercalls(), PFNS);
    expect(r).toMatchObject({ ok: false, statusName: 'HV_STATUS_ACCESS_DENIED' });
  });

  it('aliasPageGpas adds the boundary; shareMonitorPages returns the aliases of two shared, zeroed pages', () => {
    const { vm, hc, sharing } = sharingVm();
    expect(sharing.aliasPageGpas([0x6n, 0x7n])).toEqual([0x6000n | BOUNDARY, 0x7000n | BOUNDARY]);
    vm.ram.fill(0x6000n, 0x2000, 0xaa);
    const shared = sharing.shareMonitorPages(hc, [0x6n, 0x7n]);
    expect(shared).toMatchObject({
      ok: true,
      monitorPage1: 0x6000n | BOUNDARY,
      monitorPage2: 0x7000n | BOUNDARY,
    });
    expect(vm.ram.read(0x6000n, 0x2000).every((b) => b === 0)).toBe(true);
  });

  it('mapRing is the double mapping through the aliases; forgetBoundary maps the private GPAs, which fault', () => {
    const { hc, sharing } = sharingVm();
    expect(sharing.makeHostVisible(hc, PFNS).ok).toBe(true);
    const ring = sharing.mapRing(PFNS);
    expect(ring).toBeInstanceOf(DoubleMappedRing);
    expect(ring.place).toBe(SharedPlace.RING_BUFFER);
    expect(ring.pageGpas).toEqual([0x20n, 0x21n, 0x22n, 0x21n, 0x22n].map((pfn) => (pfn << 12n) | BOUNDARY));
    ring.writeData(0x2000 - 2, Uint8Array.of(1, 2, 3, 4));
    expect(ring.readData(0, 2)).toEqual(Uint8Array.of(3, 4));
    const wrong = sharing.mapRing(PFNS, { forgetBoundary: true });
    expect(() => wrong.zero(0, 8)).toThrow(IsolationFault);
  });

  it('refuses a boundary that is not a bigint > 0, naming it', () => {
    const { vm } = sharingVm();
    expect(() => guestMemorySharing(0n, vm.state.guestMemory)).toThrow(
      'isolation boundary 0 is not accepted: use the shared GPA boundary (a bigint > 0)',
    );
  });
});
