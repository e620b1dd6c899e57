/**
 * How VMBus reaches guest memory through the core's two ports, without the package that provides
 * them (`@pvlab/isolation`; the composed tests are the host-emulator's `vmbus-isolation*.test.ts`):
 * the host through `HOST_MEMORY` (absent: RAM by GPA), the guest driver through a
 * `GuestMemorySharing`. Here both ports are small fakes over RAM with a set of shared pages, so
 * each test shows what vmbus-ring asks of a port and what it does with the answer.
 */
import { type GuestMemory, HV_PAGE_SIZE, HvStatus, hvStatusName } from '@pvlab/hypercall';
import type {
  DoubleMappedRingView,
  GuestBoundaryView,
  GuestHypercalls,
  GuestMemorySharing,
  HostVisibilityChange,
} from '@pvlab/hypercall/guest';
import { HOST_MEMORY, type HostMemoryAccess } from '@pvlab/hypercall/host';
import { testPartition } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import { VmbusGuestError } from '../src/guest/index.ts';
import { EchoDevice, HostGuestAccess, vmbusExtension } from '../src/host/index.ts';
import { VmPacketType } from '../src/index.ts';
import { ChannelVm, guestDriver, MONITOR_PAGES, RAM_BYTES, ringPfns } from './channel-fixtures.ts';

const BOUNDARY = 1n << 36n;
const hex = (v: bigint) => `0x${v.toString(16)}`;
const page = (gpa: bigint) => gpa >> 12n;

/** The host's port: only the aliases of shared pages. */
function hostPort(ram: GuestMemory, shared: Set<bigint>): HostMemoryAccess {
  const allows = (gpa: bigint, length: number) => {
    if (gpa < BOUNDARY || !ram.contains(gpa - BOUNDARY, length)) return false;
    for (let p = page(gpa - BOUNDARY); p <= page(gpa - BOUNDARY + BigInt(length - 1)); p++)
      if (!shared.has(p)) return false;
    return true;
  };
  const check = (gpa: bigint, length: number, access: string, place = 'memory') => {
    if (!allows(gpa, length)) throw new Error(`${place}: host ${access} of GPA ${hex(gpa)} refused`);
    return Number(gpa - BOUNDARY);
  };
  return {
    boundary: BOUNDARY,
    allows,
    read: (gpa, length, place) =>
      ram.bytes.slice(check(gpa, length, 'read', place), Number(gpa - BOUNDARY) + length),
    write: (gpa, data, place) => ram.bytes.set(data, check(gpa, data.length, 'write', place)),
  };
}

/** The guest's view: private GPAs below the boundary, shared pages only through their aliases. */
function boundaryView(ram: GuestMemory, shared: Set<bigint>): GuestBoundaryView {
  const offsetOf = (gpa: bigint, length: number, _access?: 'read' | 'write', place = 'memory') => {
    const isAlias = gpa >= BOUNDARY;
    const ramGpa = isAlias ? gpa - BOUNDARY : gpa;
    if (shared.has(page(ramGpa)) !== isAlias) throw new Error(`${place}: GPA ${hex(gpa)} is the wrong alias`);
    return ram.offsetOf(ramGpa, length);
  };
  return {
    size: ram.size,
    ram,
    offsetOf,
    read: (gpa, length, place) =>
      ram.bytes.slice(offsetOf(gpa, length, 'read', place), offsetOf(gpa, length) + length),
    write: (gpa, data, place) => ram.bytes.set(data, offsetOf(gpa, data.length, 'write', place)),
  };
}

/** A ring view over [header, data…, data…], page by page through `view`. */
function ringView(view: GuestBoundaryView, gpas: readonly bigint[], place: string): DoubleMappedRingView {
  const pageGpas = [gpas[0]!, ...gpas.slice(1), ...gpas.slice(1)];
  const dataSize = (gpas.length - 1) * HV_PAGE_SIZE;
  const each = (offset: number, length: number, f: (gpa: bigint, at: number, n: number) => void) => {
    for (let done = 0; done < length; ) {
      const o = offset + done;
      const n = Math.min(length - done, HV_PAGE_SIZE - (o % HV_PAGE_SIZE));
      f(pageGpas[Math.floor(o / HV_PAGE_SIZE)]! + BigInt(o % HV_PAGE_SIZE), done, n);
      done += n;
    }
  };
  return {
    pageGpas,
    place,
    dataSize,
    zero(offset = 0, length = HV_PAGE_SIZE + 2 * dataSize - offset) {
      each(offset, length, (gpa, _at, n) => view.write(gpa, new Uint8Array(n), place));
    },
    readData(offset, length) {
      const out = new Uint8Array(length);
      each(HV_PAGE_SIZE + offset, length, (gpa, at, n) => out.set(view.read(gpa, n, place), at));
      return out;
    },
    writeData(offset, data) {
      each(HV_PAGE_SIZE + offset, data.length, (gpa, at, n) =>
        view.write(gpa, data.subarray(at, at + n), place),
      );
    },
  };
}

/** A `GuestMemorySharing` that records what the driver asks and answers from `shared`. */
function guestPort(ram: GuestMemory, shared: Set<bigint>, refuse?: 'visible' | 'private') {
  const calls: string[] = [];
  const list = (pfns: readonly bigint[]) => pfns.map(hex).join(' ');
  const denied: HostVisibilityChange = {
    ok: false,
    status: HvStatus.ACCESS_DENIED,
    statusName: hvStatusName(HvStatus.ACCESS_DENIED),
  };
  const memory = boundaryView(ram, shared);
  const aliasPageGpas = (pfns: readonly bigint[]) => pfns.map((pfn) => (pfn << 12n) | BOUNDARY);
  const change = (what: 'visible' | 'private', pfns: readonly bigint[]) => {
    calls.push(`${what} ${list(pfns)}`);
    if (refuse === what) return denied;
    for (const pfn of pfns) {
      if (what === 'visible') shared.add(pfn);
      else shared.delete(pfn);
    }
    return { ok: true } as const;
  };
  const sharing: GuestMemorySharing = {
    boundary: BOUNDARY,
    memory,
    makeHostVisible: (_hc: GuestHypercalls, pfns) => change('visible', pfns),
    makePrivate: (_hc, pfns) => change('private', pfns),
    aliasPageGpas,
    shareMonitorPages(_hc, pfns) {
      const r = change('visible', pfns);
      if (!r.ok) return denied as Extract<HostVisibilityChange, { ok: false }>;
      const [monitorPage1, monitorPage2] = aliasPageGpas(pfns) as [bigint, bigint];
      for (const gpa of [monitorPage1, monitorPage2]) memory.write(gpa, new Uint8Array(HV_PAGE_SIZE));
      return { ok: true, monitorPage1, monitorPage2 };
    },
    mapRing(pfns, options) {
      calls.push(`mapRing ${list(pfns)}${options?.forgetBoundary === true ? ' (private)' : ''}`);
      const gpas = options?.forgetBoundary === true ? pfns.map((pfn) => pfn << 12n) : aliasPageGpas(pfns);
      return ringView(memory, gpas, 'VMBus ring buffer');
    },
  };
  return { sharing, calls };
}

/** A VM whose host reaches memory through the fake `HOST_MEMORY` port, and a driver over the fake guest port. */
function portsVm(options: { refuse?: 'visible' | 'private'; forgetMonitorPages?: boolean } = {}) {
  const echo = new EchoDevice({
    name: 'm',
    instance: '00000000-0000-0000-0000-000000000002',
    monitored: true,
  });
  const vm = new ChannelVm({ devices: [echo] });
  const shared = new Set<bigint>();
  vm.partition.setExtensionState(HOST_MEMORY, hostPort(vm.memory, shared));
  const { sharing, calls } = guestPort(vm.memory, shared, options.refuse);
  const forgetBoundary =
    options.forgetMonitorPages === true ? { forgetBoundary: { monitorPages: true } } : {};
  const { client } = guestDriver(vm, { isolation: { sharing, ...forgetBoundary } });
  return { vm, echo, shared, calls, client };
}

describe('the host through HOST_MEMORY', () => {
  it('an ordinary VM has no isolation view: the host reaches RAM by GPA', () => {
    const partition = testPartition({ ramBytes: RAM_BYTES, extensions: [vmbusExtension({ devices: [] })] });
    const access = new HostGuestAccess(partition);
    expect(access.isolation).toBeNull();
    expect(access.gpadlPageGpa(0x12n)).toBe(0x12000n);
    expect(access.offsetOf(0x6000n, 4, 'write', 'VMBus monitor page')).toBe(0x6000);
    expect(access.refusal(BigInt(RAM_BYTES), 4, 'read', 'VMBus GPADL')?.message).toBe(
      `VMBus GPADL: GPA ${hex(BigInt(RAM_BYTES))} (+4 bytes) is not RAM`,
    );
    expect(access.ringAccessor([1n, 2n], 'read', () => {})).toBeNull();
  });
});

describe('the guest driver through GuestMemorySharing', () => {
  it('shares the monitor pages and the rings through the port, reaches them by alias, and makes the rings private on close', () => {
    const { vm, echo, shared, calls, client } = portsVm();
    client.connect();
    // INITIATE_CONTACT named the aliases the port gave; the host reached them through its port.
    expect(vm.host.server.connection?.monitorPages).toEqual(MONITOR_PAGES.map((gpa) => gpa | BOUNDARY));
    const [offer] = client.requestOffers();
    const pfns = ringPfns(6);
    const channel = client.openChannel(offer!.relid, { pfns, outboundPages: 3 });
    expect(calls).toEqual([
      'visible 0x6 0x7',
      `visible ${pfns.map(hex).join(' ')}`,
      `mapRing ${pfns.slice(0, 3).map(hex).join(' ')}`,
      `mapRing ${pfns.slice(3).map(hex).join(' ')}`,
    ]);
    expect(channel.mappings?.[0].pageGpas[0]).toBe((pfns[0]! << 12n) | BOUNDARY);

    // A monitored channel: the guest sets its bit through the alias, the host polls it there.
    channel.sendPacket(Uint8Array.of(1, 2, 3), { type: VmPacketType.DATA_INBAND, transactionId: 5n });
    expect(vm.host.server.pollMonitors()).toBe(1);
    expect(channel.receivePackets().map((p) => p.transactionId)).toEqual([5n]);
    expect(echo.counters.packets).toBe(1);

    client.closeChannel(channel);
    expect(calls.at(-1)).toBe(`private ${pfns.map(hex).join(' ')}`);
    for (const pfn of pfns) expect(shared.has(pfn)).toBe(false);
    expect(vm.partition.diagnostics()).toEqual([]);
  });

  it('a resumed driver maps the rings and reaches the monitor pages through the aliases the port names', () => {
    const { vm, shared, client } = portsVm();
    client.connect();
    const [offer] = client.requestOffers();
    const pfns = ringPfns(4);
    const channel = client.openChannel(offer!.relid, { pfns, outboundPages: 2 });
    // Another driver takes the connection over (the pages are still shared: the same set).
    const { sharing, calls } = guestPort(vm.memory, shared);
    const { client: resumed } = guestDriver(vm, { isolation: { sharing } });
    resumed.resume(client.connectionState!);
    const again = resumed.reattachChannel(offer!, channel.gpadl, { pfns, outboundPages: 2 });
    expect(calls).toEqual([
      `mapRing ${hex(pfns[0]!)} ${hex(pfns[1]!)}`,
      `mapRing ${hex(pfns[2]!)} ${hex(pfns[3]!)}`,
    ]);
    expect(again.mappings?.[1].pageGpas[0]).toBe((pfns[2]! << 12n) | BOUNDARY);
    // The monitored channel's bit goes through the monitor page's alias, where the host polls it.
    expect(resumed.signalHost(offer!, false)).toBe(HvStatus.SUCCESS);
    expect(vm.host.server.pollMonitors()).toBe(1);
  });

  it('a visibility change the port refuses is a VmbusGuestError naming the place and the status', () => {
    const monitor = portsVm({ refuse: 'visible' });
    expect(() => monitor.client.connect()).toThrow(
      new VmbusGuestError(
        'VMBus monitor page: HvCallModifySparseGpaPageHostVisibility failed with HV_STATUS_ACCESS_DENIED',
      ),
    );
    const { client, shared } = portsVm({ refuse: 'private' });
    client.connect();
    const [offer] = client.requestOffers();
    const channel = client.openChannel(offer!.relid, { pfns: ringPfns(4), outboundPages: 2 });
    expect(() => client.closeChannel(channel)).toThrow(
      'VMBus ring buffer: making the ring private again failed with HV_STATUS_ACCESS_DENIED (Linux leaks the pages, spec 05 rule 7)',
    );
    expect(shared.size).toBe(6);
  });

  it('forgot the boundary for the monitor pages: INITIATE_CONTACT names the private GPAs and the host refuses it', () => {
    const { vm, client } = portsVm({ forgetMonitorPages: true });
    expect(() => client.connect()).toThrow('the host refused every version');
    const rules = new Set(vm.partition.diagnostics().map((d) => d.rule));
    expect([...rules]).toEqual(['spec05.monitor-page']);
  });
});
