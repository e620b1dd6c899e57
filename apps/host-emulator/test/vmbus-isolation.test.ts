/**
 * VMBus in an isolation VM (spec 05 with spec 04): a partition with both extensions, the guest
 * driver sharing its monitor pages and rings, the host reaching them only through the aliases.
 * Each "forgot the boundary" switch, a private GPADL page and a ring page made private while
 * open must be caught, visibly, naming the place. (From `@pvlab/vmbus-ring`'s tests: composing
 * vmbus-ring with isolation is the app's business.)
 */

import { fc } from '@fast-check/vitest';
import { HOST_MEMORY, type HostMemoryAccess } from '@pvlab/hypercall/host';
import { partitionGuest, testPartition } from '@pvlab/hypercall/testing';
import { HostVisibility, IsolationFault } from '@pvlab/isolation';
import { setHostVisibility } from '@pvlab/isolation/guest';
import {
  ChannelMessageType,
  InitiateContact,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmbusVersion,
  VmPacketType,
} from '@pvlab/vmbus-ring';
import { GuestSynic, VmbusClient, VmbusGuestError } from '@pvlab/vmbus-ring/guest';
import { EchoDevice, HostGuestAccess, hostIsolationOf, vmbusExtension } from '@pvlab/vmbus-ring/host';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BOUNDARY,
  hex,
  isolationVm,
  MONITOR_PAGES,
  prng,
  RAM_BYTES,
  refusals,
  ringPfns,
  SIEFP_PFN,
  SIMP_PFN,
  VMBUS_VECTOR,
} from './vmbus-isolation-fixtures.ts';

/** INITIATE_CONTACT goes to connection 4 from VMBus 5.0 on. */
const CONTACT_CONNECTION_5_0 = 4;

describe('VMBus in an isolation VM', () => {
  it('a full echo session: shared monitor pages, a GPADL over shared ring pages, 1000 echoes in order, close', () => {
    const echo = new EchoDevice();
    const monitored = new EchoDevice({
      name: 'm',
      instance: '00000000-0000-0000-0000-000000000002',
      monitored: true,
    });
    const { partition, iso, host, events, client } = isolationVm([echo, monitored]);
    expect(hostIsolationOf(partition)?.boundary).toBe(BOUNDARY);

    // INITIATE_CONTACT carried the monitor pages' aliases; both pages are host-visible.
    expect(client.connect()).toBe(VmbusVersion.WIN10_V5_3);
    expect(host.server.connection?.monitorPages).toEqual([
      MONITOR_PAGES[0] | BOUNDARY,
      MONITOR_PAGES[1] | BOUNDARY,
    ]);
    for (const gpa of MONITOR_PAGES)
      expect(iso.visibility.get(Number(gpa >> 12n))).toBe(HostVisibility.READ_WRITE);
    expect(client.requestOffers().map((o) => o.relid)).toEqual([1, 2]);

    // A 2 × (1 + 3)-page ring GPADL: plain PFNs on the wire, pages shared, rings double-mapped through the alias.
    const pfns = ringPfns(8);
    const channel = client.openChannel(1, { pfns, outboundPages: 4 });
    for (const pfn of pfns) expect(iso.visibility.get(Number(pfn))).toBe(HostVisibility.READ_WRITE);
    const [out] = channel.mappings!;
    const alias = pfns.slice(0, 4).map((p) => (p << 12n) | BOUNDARY);
    expect(out.pageGpas).toEqual([alias[0], alias[1], alias[2], alias[3], alias[1], alias[2], alias[3]]);
    expect(out.place).toBe('VMBus ring buffer');

    // 1000 echoes of random sizes, each answered in order.
    const rand = prng(5);
    let received = 0;
    for (let sent = 0; sent < 1000; sent++) {
      const payload = Uint8Array.from({ length: 1 + Math.floor(rand() * 900) }, (_, i) => (sent + i) & 0xff);
      const completion = (sent & 1) === 1;
      const r = channel.sendPacket(payload, {
        type: VmPacketType.DATA_INBAND,
        flags: completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0,
        transactionId: BigInt(sent),
      });
      expect(r.ok).toBe(true);
      const answers = channel.receivePackets();
      expect(answers).toHaveLength(1);
      expect(answers[0]!.transactionId).toBe(BigInt(sent));
      expect(answers[0]!.type).toBe(completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND);
      expect(answers[0]!.payload.subarray(0, payload.length)).toEqual(payload);
      received++;
    }
    expect(received).toBe(1000);
    expect(echo.counters.packets).toBe(1000);
    expect(echo.corrupt).toBeNull();

    // The monitored channel: the guest sets its bit through the alias, the host polls it there.
    const mch = client.openChannel(2, { pfns: ringPfns(4, 100), outboundPages: 2 });
    mch.sendPacket(Uint8Array.of(9), { type: VmPacketType.DATA_INBAND, transactionId: 3n });
    expect(host.server.pollMonitors()).toBe(1);
    expect(mch.receivePackets().map((p) => p.transactionId)).toEqual([3n]);

    // Close: the GPADL is torn down and the ring pages are private again.
    client.closeChannel(channel);
    expect(host.server.channels.get(1)?.state).toBe('offered');
    for (const pfn of pfns) expect(iso.visibility.get(Number(pfn))).toBe(HostVisibility.NOT_VISIBLE);
    expect(partition.diagnostics()).toEqual([]);
    expect(refusals(events)).toEqual([]);
  });

  it('forgot the boundary for the monitor pages: the host refuses INITIATE_CONTACT, naming the monitor page and its GPA', () => {
    const { partition, host, events, client } = isolationVm([new EchoDevice()], { monitorPages: true });
    expect(() => client.connect()).toThrow('the host refused every version');
    expect(host.server.connection).toBeNull();
    const d = partition.diagnostics();
    expect(d.length).toBeGreaterThan(0);
    for (const x of d) {
      expect(x.rule).toBe('spec05.monitor-page');
      expect(x.message).toMatch(
        /^INITIATE_CONTACT refused: monitor page 0x6000: VMBus monitor page: host write of GPA 0x6000 \(\+4096 bytes\) refused: below the shared GPA boundary 0x1000000000/,
      );
    }
    const e = refusals(events);
    expect(e.length).toBe(d.length);
    expect(e[0]!.details).toMatchObject({
      gpa: 0x6000n,
      reason: 'below-boundary',
      place: 'VMBus monitor page',
    });
  });

  it('a monitor page that is not host-visible is refused even through its alias', () => {
    const { partition, hypercalls, client } = isolationVm([new EchoDevice()]);
    client.connect();
    client.unload();
    expect(setHostVisibility(hypercalls, [MONITOR_PAGES[1] >> 12n], HostVisibility.NOT_VISIBLE).ok).toBe(
      true,
    );
    // A driver that skips sharing: INITIATE_CONTACT by hand with the aliases of a private page.
    const access = new HostGuestAccess(partition);
    const refusal = access.refusal(MONITOR_PAGES[1] | BOUNDARY, 4096, 'write', 'VMBus monitor page');
    expect(refusal?.message).toMatch(
      /VMBus monitor page: host write of GPA 0x1000007000 .* page 0x7 \(NOT_VISIBLE\) is private/,
    );
    expect(refusal?.gpa).toBe(MONITOR_PAGES[1] | BOUNDARY);
    expect(partition.diagnostics()).toEqual([]);
  });

  it('forgot the boundary for the rings: the guest view faults on the ring, naming it', () => {
    const { partition, client } = isolationVm([new EchoDevice()], { rings: true });
    client.connect();
    client.requestOffers();
    const pfns = ringPfns(4);
    let fault: unknown;
    try {
      client.openChannel(1, { pfns, outboundPages: 2 });
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(IsolationFault);
    const f = fault as IsolationFault;
    expect(f.place).toBe('VMBus ring buffer');
    expect(f.details).toMatchObject({
      gpa: pfns[0]! << 12n,
      side: 'private',
      correctGpa: (pfns[0]! << 12n) | BOUNDARY,
    });
    expect(f.message).toMatch(
      /^#MEMORY: VMBus ring buffer: guest write of GPA 0x[0-9a-f]+ through the private alias/,
    );
    expect(partition.diagnostics()).toEqual([]);
  });

  it('a GPADL with a private page (or a PFN that already carries the boundary) gets a non-zero GPADL_CREATED status', () => {
    const { partition, hypercalls, events, client } = isolationVm([new EchoDevice()]);
    client.connect();
    client.requestOffers();
    const pfns = ringPfns(4);
    expect(setHostVisibility(hypercalls, pfns.slice(0, 3), HostVisibility.READ_WRITE).ok).toBe(true);
    expect(() => client.establishGpadl(1, pfns)).toThrow(/GPADL \d+ refused: status 0xc0000001/);
    const [d] = partition.diagnostics(true);
    expect(d?.rule).toBe('spec05.gpadl-page');
    expect(d?.message).toContain(
      `PFN ${hex(pfns[3]!)} (ring buffer or other GPADL memory): VMBus GPADL: host read of GPA ${hex((pfns[3]! << 12n) | BOUNDARY)}`,
    );
    expect(d?.message).toContain('is private');
    expect(refusals(events).map((e) => e.details.place)).toEqual(['VMBus GPADL']);

    // The reverse bug: the guest adds the boundary to a GPADL PFN; the host's alias of it is no RAM.
    const withBoundary = [...pfns.slice(0, 3), pfns[0]! | (BOUNDARY >> 12n)];
    expect(() => client.establishGpadl(1, withBoundary)).toThrow('status 0xc0000001');
    expect(partition.diagnostics()[0]?.message).toContain('the alias names no RAM page');
  });

  it('a ring page made private while the channel is open: the host refuses its next access, the device stops, visibly', () => {
    const echo = new EchoDevice();
    const { partition, hypercalls, events, client } = isolationVm([echo]);
    client.connect();
    client.requestOffers();
    const pfns = ringPfns(6);
    const channel = client.openChannel(1, { pfns, outboundPages: 3 });
    channel.sendPacket(Uint8Array.of(1, 2, 3), { type: VmPacketType.DATA_INBAND, transactionId: 1n });
    expect(channel.receivePackets()).toHaveLength(1);

    // The guest takes a data page of its guest→host ring back to private, then signals.
    const page = pfns[1]!;
    expect(setHostVisibility(hypercalls, [page], HostVisibility.NOT_VISIBLE).ok).toBe(true);
    channel.signalHost();
    expect(echo.corrupt?.kind).toBe('access-refused');
    expect(echo.corrupt?.message).toMatch(
      new RegExp(
        `^corrupt VMBus ring \\(access-refused\\): VMBus ring buffer: host read of GPA ${hex((page << 12n) | BOUNDARY)} .*is private`,
      ),
    );
    const diags = partition.diagnostics();
    expect(diags.map((d) => d.rule)).toEqual(['spec05.ring-page']);
    expect(diags[0]!.message).toContain('channel 1: VMBus ring buffer');
    expect(refusals(events).map((e) => [e.details.place, e.details.reason])).toEqual([
      ['VMBus ring buffer', 'not-visible'],
    ]);

    // Once stopped, further signals do nothing more; the guest's own next use faults in its view.
    channel.signalHost();
    expect(partition.diagnostics()).toHaveLength(1);
    expect(() => channel.sendPacket(Uint8Array.of(4), { type: VmPacketType.DATA_INBAND })).toThrow(
      IsolationFault,
    );
  });

  it("the host view is the core's HOST_MEMORY port, which the isolation extension provides once", () => {
    const { partition, iso } = isolationVm([]);
    expect(partition.extensionState(HOST_MEMORY)).toBe(iso.hostMemory);
    expect(hostIsolationOf(partition)).toBe(iso.hostMemory);
    expect(() => partition.setExtensionState(HOST_MEMORY, iso.hostMemory)).toThrow(
      /package host-memory already has host state in this partition/,
    );
    // Typed: no cast to read it, and a port of the wrong shape (before: a run-time error) does not type-check.
    expectTypeOf(partition.extensionState(HOST_MEMORY)).toEqualTypeOf<HostMemoryAccess | undefined>();
    expectTypeOf<{ boundary: bigint }>().not.toMatchTypeOf<HostMemoryAccess>();
    const plain = testPartition({ extensions: [vmbusExtension({ devices: [] })] });
    expect(hostIsolationOf(plain)).toBeNull();
  });
});

describe('isolation properties (fast-check)', () => {
  it('random GPADL PFNs and visibilities: created exactly when every page is a host-visible RAM page, never a host throw', () => {
    const { partition, iso, client } = isolationVm([new EchoDevice()]);
    client.connect();
    client.requestOffers();
    const ramPages = RAM_BYTES / 4096;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pfn: fc.oneof(
              fc.bigInt({ min: 0x100n, max: 0x120n }),
              fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
            ),
            visibility: fc.constantFrom(0, 1, 3),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (pages) => {
          // Only the ring area's visibility is drawn: the hypercall and SynIC pages stay private.
          for (const p of pages)
            if (p.pfn >= 0x100n && p.pfn <= 0x120n) iso.visibility.set(Number(p.pfn), p.visibility);
          const expected = pages.every(
            (p) => p.pfn < BigInt(ramPages) && iso.visibility.get(Number(p.pfn)) !== 0,
          );
          partition.diagnostics(true);
          let created: boolean;
          try {
            client.establishGpadl(
              1,
              pages.map((p) => p.pfn),
            );
            created = true;
          } catch (e) {
            expect(e).toBeInstanceOf(VmbusGuestError);
            expect((e as Error).message).toMatch(/refused: status 0xc0000001$/);
            created = false;
          }
          expect(created).toBe(expected);
          const rules = partition.diagnostics().map((d) => d.rule);
          expect(rules).toEqual(created ? [] : ['spec05.gpadl-page']);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random INITIATE_CONTACT monitor pages: accepted exactly when both are aliases of host-visible pages', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.bigInt({ min: 0n, max: 0x3ffn }), fc.bigInt({ min: 0n, max: 0x3ffn })),
        fc.boolean(),
        fc.constantFrom(0n, BOUNDARY, 2n * BOUNDARY),
        ([a, b], visible, base) => {
          const { partition, iso, host } = isolationVm([]);
          const gpas = [(a << 12n) + base, (b << 12n) + base] as const;
          if (visible) for (const pfn of [a, b]) iso.visibility.set(Number(pfn), 3);
          // An ordinary driver (no isolation option) sends the GPAs exactly as drawn.
          const { cpu, hypercalls } = partitionGuest(partition, 0);
          const raw = new VmbusClient({
            cpu,
            memory: partition.memory,
            hypercalls,
            synic: new GuestSynic(cpu, partition.memory, {
              simpPfn: SIMP_PFN,
              siefpPfn: SIEFP_PFN,
              vector: VMBUS_VECTOR,
            }),
            monitorPages: gpas,
          });
          raw.postMessage(
            InitiateContact.encode({
              msgtype: ChannelMessageType.INITIATE_CONTACT,
              version: VmbusVersion.WIN10_V5_3,
              targetVcpu: 0,
              monitorPage1: gpas[0],
              monitorPage2: gpas[1],
              msgSint: 2,
            }),
            CONTACT_CONNECTION_5_0,
          );
          const accepted = visible && base === BOUNDARY && a !== b;
          expect(host.server.connection !== null).toBe(accepted);
          const rules = partition.diagnostics().map((d) => d.rule);
          if (!accepted) expect(rules.length).toBe(1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
