import { HvCallCode } from '@pvlab/hypercall';
import { RingMemory, RingReader, RingWriter, VmPacketType } from '@pvlab/vmbus-ring';
import { GuestChannel } from '@pvlab/vmbus-ring/guest';
import { type EchoDevice, vmbusHostState } from '@pvlab/vmbus-ring/host';
import { describe, expect, it } from 'vitest';
import { createVm, restoreVm, SnapshotError, type Vm, type VmSnapshot } from '../src/index.ts';
import { driver, hypercalls, OUTBOUND_PAGES, openEcho, PFNS } from './vmbus-echo.ts';

/** The guest's side of the same channel in a restored VM: its state is all in the rings. */
function reattach(vm: Vm, channel: GuestChannel): GuestChannel {
  const calls = hypercalls(vm);
  return new GuestChannel({
    offer: channel.offer,
    gpadl: channel.gpadl,
    writer: new RingWriter(RingMemory.fromGuestPages(vm.ram, PFNS.slice(0, OUTBOUND_PAGES))),
    reader: new RingReader(RingMemory.fromGuestPages(vm.ram, PFNS.slice(OUTBOUND_PAGES))),
    signalHost: () => calls.fast8(HvCallCode.HvCallSignalEvent, BigInt(channel.offer.connectionId)).status,
  });
}

/** Packets sent and answers checked in order (trans_id and bytes). */
class Echoes {
  readonly sent: { id: bigint; payload: Uint8Array }[] = [];
  next = 0;

  sendUntilFull(channel: GuestChannel): void {
    for (;;) {
      const n = this.sent.length;
      const payload = Uint8Array.from({ length: 800 }, (_, i) => (n * 13 + i) & 0xff);
      const id = BigInt(n) + 0x100n;
      const r = channel.sendPacket(payload, { type: VmPacketType.DATA_INBAND, transactionId: id });
      if (!r.ok) return;
      this.sent.push({ id, payload });
    }
  }

  drain(channel: GuestChannel): void {
    for (let guard = 0; this.next < this.sent.length && guard < 1000; guard++) {
      for (const p of channel.receivePackets()) {
        const e = this.sent[this.next]!;
        expect([p.type, p.transactionId]).toEqual([VmPacketType.DATA_INBAND, e.id]);
        expect(Buffer.from(p.payload).equals(Buffer.from(e.payload))).toBe(true);
        this.next++;
      }
    }
    expect(this.next).toBe(this.sent.length);
  }
}

const viaJson = (s: VmSnapshot) => JSON.parse(JSON.stringify(s)) as VmSnapshot;
const echoOf = (vm: Vm) => vmbusHostState(vm.partition).server.devices[0] as EchoDevice;

describe("createVm / restoreVm with the 'vmbus-ring' part", () => {
  it('an open echo channel with full rings keeps answering, in order, after restoreVm', () => {
    const vm = createVm({ vcpus: 2 });
    const channel = openEcho(vm);
    const echoes = new Echoes();
    echoes.sendUntilFull(channel);
    expect(echoOf(vm).counters.stalls).toBeGreaterThan(0);
    const snapshot = viaJson(vm.save());
    expect(snapshot.parts['vmbus-ring']?.version).toBe(1);

    const restored = restoreVm(snapshot);
    const again = reattach(restored, channel);
    echoes.drain(again);
    for (let round = 0; round < 4; round++) {
      echoes.sendUntilFull(again);
      echoes.drain(again);
    }
    expect(echoOf(restored).counters.packets).toBe(echoes.sent.length);
    expect(echoOf(restored).corrupt).toBeNull();
    expect(restored.takeDiagnostics()).toEqual([]);
    vm.close();
    restored.close();
  });

  it('VmbusClient.resume + reattachChannel take over the connection and open channel: no second INITIATE_CONTACT', () => {
    const vm = createVm({ vcpus: 2 });
    const client = driver(vm, true);
    const channel = openEcho(vm, client);
    const echoes = new Echoes();
    echoes.sendUntilFull(channel);
    const state = client.connectionState;
    expect(state).toEqual({ version: 0x50003, msgConnId: 4, nextGpadl: channel.gpadl + 1, nextOpenId: 2 });
    const restored = restoreVm(viaJson(vm.save()));
    const server = vmbusHostState(restored.partition).server;
    const messagesIn = server.counters.messagesIn;
    const resumed = driver(restored, false);
    resumed.resume(state!);
    const again = resumed.reattachChannel(channel.offer, channel.gpadl, {
      pfns: PFNS,
      outboundPages: OUTBOUND_PAGES,
    });
    echoes.drain(again);
    echoes.sendUntilFull(again);
    echoes.drain(again);
    expect(server.counters.messagesIn).toBe(messagesIn);
    expect(resumed.connectionState).toEqual(state);
    // The resumed driver goes on with the protocol: closing the channel is answered as usual.
    resumed.closeChannel(again);
    expect(server.channels.get(1)?.state).toBe('offered');
    expect(restored.takeDiagnostics()).toEqual([]);
    vm.close();
    restored.close();
  });

  it('save → restoreVm → save gives an equal vmbus-ring part', () => {
    const vm = createVm({ vcpus: 2 });
    const channel = openEcho(vm);
    new Echoes().sendUntilFull(channel);
    const first = viaJson(vm.save());
    const restored = restoreVm(first);
    expect(viaJson(restored.save()).parts['vmbus-ring']).toEqual(first.parts['vmbus-ring']);
    vm.close();
    restored.close();
  });

  it('refuses a vmbus-ring part naming a device this VM does not have, as a SnapshotError', () => {
    const vm = createVm({ vcpus: 2 });
    openEcho(vm);
    const snapshot = viaJson(vm.save()) as unknown as {
      parts: Record<string, { data: { server: { channels: { device: { instance: string } }[] } } }>;
    };
    snapshot.parts['vmbus-ring']!.data.server.channels[0]!.device.instance =
      '00000000-0000-0000-0000-0000000000aa';
    expect(() => restoreVm(snapshot)).toThrow(SnapshotError);
    expect(() => restoreVm(snapshot)).toThrow(
      /vmbus-ring\.server\.channels\[0\]\.device: device #0 .* is not on this VM/,
    );
    vm.close();
  });
});
