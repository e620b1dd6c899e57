import { describe, expect, it } from 'vitest';
import type { GuestChannel, ReceivedPacket } from '../src/guest/index.ts';
import { EchoDevice } from '../src/host/index.ts';
import {
  ChannelMessageType,
  GPADL_HEADER_MAX_PFNS,
  guidString,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmbusVersion,
  VmPacketType,
} from '../src/index.ts';
import { ChannelVm, guestDriver, prng, ringPfns, VMBUS_VECTOR } from './channel-fixtures.ts';

/** The bytes the ring carries for a payload: padded with zeros to 8. */
function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  out.set(bytes);
  return out;
}

interface Expected {
  readonly type: number;
  readonly transactionId: bigint;
  readonly payload: Uint8Array;
}

/**
 * Sends `count` packets of random sizes (1 B .. 3 KiB) in random bursts, receiving between
 * bursts, and checks every answer in order; returns how often the guest's ring was full.
 */
function echoTraffic(channel: GuestChannel, count: number, seed: number): { full: number; received: number } {
  const rand = prng(seed);
  const expected: Expected[] = [];
  let head = 0;
  let full = 0;
  let received = 0;
  const check = (packets: ReceivedPacket[]) => {
    for (const p of packets) {
      const e = expected[head++];
      expect(e, `an answer #${head} that was never asked for`).toBeDefined();
      if (p.type !== e!.type || p.transactionId !== e!.transactionId || !bytesEqual(p.payload, e!.payload)) {
        expect({ at: head - 1, type: p.type, trans: p.transactionId, len: p.payload.length }).toEqual({
          at: head - 1,
          type: e!.type,
          trans: e!.transactionId,
          len: e!.payload.length,
        });
        expect(p.payload).toEqual(e!.payload);
      }
      received++;
    }
  };
  for (let sent = 0; sent < count; ) {
    const burst = 1 + Math.floor(rand() * 40);
    for (let b = 0; b < burst && sent < count; b++) {
      const len = 1 + Math.floor(rand() * 3072);
      const payload = Uint8Array.from({ length: len }, (_, i) => (sent * 7 + i) & 0xff);
      const completion = rand() < 0.5;
      const transactionId = BigInt(sent) * 0x1_0000_0001n + 5n;
      const r = channel.sendPacket(payload, {
        type: VmPacketType.DATA_INBAND,
        flags: completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0,
        transactionId,
      });
      if (!r.ok) {
        expect(r.reason).toBe('full');
        full++;
        check(channel.receivePackets());
        continue; // retry the same packet
      }
      expected.push({
        type: completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND,
        transactionId,
        payload: padded(payload),
      });
      sent++;
    }
    check(channel.receivePackets(1 + Math.floor(rand() * 60)));
  }
  for (let guard = 0; head < expected.length && guard < 10_000; guard++) check(channel.receivePackets());
  expect(head).toBe(expected.length);
  expect(channel.corrupt).toBeNull();
  return { full, received };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe('a VMBus session in the direct harness', () => {
  it('connect, offers, a GPADL with BODY messages, open, 5000 echoes with completions, close, teardown, rescind', () => {
    const echo = new EchoDevice();
    const monitored = new EchoDevice({
      name: 'echo-monitored',
      instance: '00000000-0000-0000-0000-000000000002',
      monitored: true,
    });
    const vm = new ChannelVm({ devices: [echo, monitored] });
    const { client, synic } = guestDriver(vm);

    // Stage 1: version negotiation (Linux offers 5.3 first; the host takes it).
    expect(client.connect()).toBe(VmbusVersion.WIN10_V5_3);
    expect(client.msgConnId).toBe(4);
    expect(vm.woken.some(([vp, v]) => vp === 0 && v === VMBUS_VECTOR)).toBe(true);

    // Stage 2: offers.
    const offers = client.requestOffers();
    expect(offers.map((o) => [o.relid, o.connectionId, o.monitorAllocated, o.dedicatedInterrupt])).toEqual([
      [1, 0x10001, false, true],
      [2, 0x10002, true, true],
    ]);
    expect(guidString(offers[1]!.interfaceInstance)).toBe('00000000-0000-0000-0000-000000000002');

    // Stage 3: a 2 × (1 + 16)-page ring GPADL (34 PFNs > 26: one BODY message), open.
    const pfns = ringPfns(34);
    expect(pfns.length).toBeGreaterThan(GPADL_HEADER_MAX_PFNS);
    const channel = client.openChannel(1, { pfns, outboundPages: 17 });
    expect(vm.host.server.channels.get(1)?.state).toBe('open');

    // Stage 4: traffic, with wrap-around and full rings on both sides.
    const traffic = echoTraffic(channel, 5000, 42);
    expect(traffic.received).toBe(5000);
    expect(traffic.full).toBeGreaterThan(0);
    expect(echo.counters.packets).toBe(5000);
    expect(echo.counters.stalls).toBeGreaterThan(0);
    expect(echo.counters.completions).toBeGreaterThan(1000);

    // The host signalled through the channel's event flag (relid 1 in SINT 2's flags).
    synic.takeEventFlags();
    channel.sendPacket(new Uint8Array(8), { type: VmPacketType.DATA_INBAND });
    expect(client.takeChannelEvents().map((c) => c.relid)).toEqual([1]);
    expect(channel.receivePackets()).toHaveLength(1);

    // Stage 5: close and teardown; the connection id's port is gone.
    client.closeChannel(channel);
    expect(vm.host.server.channels.get(1)?.state).toBe('offered');
    expect(vm.host.server.gpadlsOf(1)).toEqual([]);
    expect(vm.signalEvent(0x10001n)).toBe(0x11); // INVALID_PORT_ID

    // Stage 6: the monitored channel signals through the monitor page; the host polls it.
    const mch = client.openChannel(2, { pfns: ringPfns(4, 100), outboundPages: 2 });
    const r = mch.sendPacket(Uint8Array.of(1, 2, 3), {
      type: VmPacketType.DATA_INBAND,
      flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
      transactionId: 77n,
    });
    expect(r).toEqual({ ok: true, signalled: true, status: 0 });
    expect(mch.receivePackets()).toEqual([]); // nothing until the host polls
    expect(vm.host.server.pollMonitors()).toBe(1);
    expect(vm.host.server.pollMonitors()).toBe(0);
    expect(mch.receivePackets()).toEqual([
      { type: VmPacketType.COMP, flags: 0, transactionId: 77n, payload: padded(Uint8Array.of(1, 2, 3)) },
    ]);

    // Stage 7: rescind of the open channel: the host closes it, the guest releases the relid.
    vm.host.server.rescind(2);
    expect(client.handleRescinds()).toEqual([2]);
    expect(vm.host.server.channels.has(2)).toBe(false);
    expect(vm.partition.diagnostics()).toEqual([]);
  });

  it.each([7, 1234, 99_001])(
    'seed %i: 1500 echoes over a 1-page ring pair, no loss or reordering',
    (seed) => {
      const vm = new ChannelVm({ devices: [new EchoDevice()] });
      const { client } = guestDriver(vm);
      client.connect();
      client.requestOffers();
      const channel = client.openChannel(1, { pfns: ringPfns(4, 0, seed), outboundPages: 2 });
      const traffic = echoTraffic(channel, 1500, seed);
      expect(traffic.received).toBe(1500);
      expect(vm.partition.diagnostics()).toEqual([]);
    },
  );

  it('version fallback: a host that offers at most 4.1 gets 5.3, 5.2, 5.1, 5.0 refused, then 4.1 on connection 1', () => {
    const vm = new ChannelVm({ versions: [VmbusVersion.WIN8, VmbusVersion.WIN10, VmbusVersion.WIN10_RS3] });
    const { client } = guestDriver(vm);
    expect(client.connect()).toBe(VmbusVersion.WIN10_RS3);
    expect(client.msgConnId).toBe(1);
    const refusals = vm.partition.diagnostics().filter((d) => d.rule === 'spec04.contact.refused');
    expect(refusals.map((d) => d.message)).toEqual([
      'INITIATE_CONTACT refused: version 5.3 is not offered',
      'INITIATE_CONTACT refused: version 5.2 is not offered',
      'INITIATE_CONTACT refused: version 5.1 is not offered',
      'INITIATE_CONTACT refused: version 5.0 is not offered',
    ]);
    expect(client.requestOffers()).toEqual([]);
  });

  it('UNLOAD closes every channel and answers UNLOAD_RESPONSE; a new INITIATE_CONTACT is accepted again', () => {
    const echo = new EchoDevice();
    const vm = new ChannelVm({ devices: [echo] });
    const { client } = guestDriver(vm);
    client.connect();
    client.requestOffers();
    client.openChannel(1, { pfns: ringPfns(4), outboundPages: 2 });
    client.unload();
    expect(vm.host.server.connection).toBeNull();
    expect(vm.host.server.channels.get(1)?.state).toBe('offered');
    expect(client.connect()).toBe(VmbusVersion.WIN10_V5_3);
    expect(client.requestOffers().map((o) => o.relid)).toEqual([1]);
    expect(ChannelMessageType.UNLOAD_RESPONSE).toBe(17);
  });

  it('the waiting variant: an empty slot calls wait() (the integrator halts there) until the message comes', () => {
    const vm = new ChannelVm({ devices: [new EchoDevice()] });
    let waits = 0;
    const { client } = guestDriver(vm, {
      wait: () => {
        waits++;
        if (waits === 3) vm.host.server.rescind(1);
      },
    });
    client.connect();
    client.requestOffers();
    expect(waits).toBe(0);
    expect(client.awaitMessage(ChannelMessageType.RESCIND_CHANNELOFFER)).toHaveLength(12);
    expect(waits).toBe(3);
  });

  it('without wait, an answer that does not come is a VmbusGuestError, not a hang', () => {
    const vm = new ChannelVm({ devices: [new EchoDevice()] });
    const { client } = guestDriver(vm);
    client.connect();
    expect(() => client.awaitMessage(ChannelMessageType.GPADL_CREATED)).toThrow(
      'no CHANNELMSG_GPADL_CREATED from the host',
    );
  });
});
