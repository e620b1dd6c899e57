import { fc, test as fcTest } from '@fast-check/vitest';
import { HvStatus } from '@pvlab/hypercall';
import { type SnapshotData, SnapshotError } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { GuestChannel, type ReceivedPacket } from '../src/guest/index.ts';
import { EchoDevice, vmbusSnapshotPart } from '../src/host/index.ts';
import {
  ChannelMessageType,
  ChannelRelidMessage,
  GpadlHeader,
  RingCorruptError,
  RingMemory,
  RingReader,
  RingWriter,
  VmPacketType,
} from '../src/index.ts';
import { ChannelVm, guestDriver, ringPfns } from './channel-fixtures.ts';

type Json = SnapshotData;
type Obj = Record<string, Json>;

const PFNS = ringPfns(10);
const OUTBOUND_PAGES = 5;
const MONITORED = '00000000-0000-0000-0000-000000000002';

function devices(): EchoDevice[] {
  return [new EchoDevice(), new EchoDevice({ name: 'echo-monitored', instance: MONITORED, monitored: true })];
}

/** What the guest expects back, in order: its payloads (padded to 8) under the same trans_id. */
class Traffic {
  readonly expected: { transactionId: bigint; payload: Uint8Array }[] = [];
  next = 0;
  received = 0;

  /** Sends until the guest→host ring is full (the host→guest ring fills first and stalls the echo). */
  sendUntilFull(channel: GuestChannel): number {
    let sent = 0;
    for (;;) {
      const n = this.expected.length;
      const payload = Uint8Array.from({ length: 1000 + (n % 13) }, (_, i) => (n * 31 + i) & 0xff);
      const transactionId = BigInt(n) * 0x1_0000_0001n + 7n;
      const r = channel.sendPacket(payload, { type: VmPacketType.DATA_INBAND, transactionId });
      if (!r.ok) {
        expect(r.reason).toBe('full');
        return sent;
      }
      const padded = new Uint8Array(Math.ceil(payload.length / 8) * 8);
      padded.set(payload);
      this.expected.push({ transactionId, payload: padded });
      sent++;
    }
  }

  check(packets: readonly ReceivedPacket[]): void {
    for (const p of packets) {
      const e = this.expected[this.next];
      expect(e, `answer #${this.next} was never asked for`).toBeDefined();
      expect({ at: this.next, type: p.type, id: p.transactionId }).toEqual({
        at: this.next,
        type: VmPacketType.DATA_INBAND,
        id: e!.transactionId,
      });
      expect(Buffer.from(p.payload).equals(Buffer.from(e!.payload))).toBe(true);
      this.next++;
      this.received++;
    }
  }

  /** Receives until every packet sent has come back. */
  drain(channel: GuestChannel): void {
    for (let guard = 0; this.next < this.expected.length && guard < 1000; guard++)
      this.check(channel.receivePackets());
    expect(this.next).toBe(this.expected.length);
  }
}

/**
 * A VM with both echo devices offered, channel 1 open over PFNS with its rings full in both
 * directions (the host's echo stalled on pending_send_sz), a GPADL being assembled for channel
 * 2, and a SynIC message queued behind a busy slot.
 */
function busyVm() {
  const vm = new ChannelVm({ devices: devices() });
  const { client } = guestDriver(vm);
  client.connect();
  client.requestOffers();
  const channel = client.openChannel(
    1,
    { pfns: PFNS, outboundPages: OUTBOUND_PAGES },
    { userData: Uint8Array.of(1, 2, 3) },
  );
  const traffic = new Traffic();
  traffic.sendUntilFull(channel);
  traffic.check(channel.receivePackets(3));
  traffic.sendUntilFull(channel);
  // GPADL_HEADER for channel 2 announcing two pages of ranges but carrying one.
  const header = GpadlHeader.encode({
    msgtype: ChannelMessageType.GPADL_HEADER,
    childRelid: 2,
    gpadl: 0x77,
    rangeBufLen: 24,
    rangeCount: 1,
  });
  const payload = new Uint8Array(header.length + 8);
  payload.set(header);
  new DataView(payload.buffer).setUint32(header.length, 4096, true);
  expect(vm.postMessage({ connectionId: 4, payload })).toBe(HvStatus.SUCCESS);
  // SINT 5 is never read: the first message takes its slot, the second waits in the host's queue.
  vm.host.synic.post(0, 5, 0x42, Uint8Array.of(9, 8, 7), 0x1234n);
  vm.host.synic.post(0, 5, 0x43, Uint8Array.of(6), 0x1234_5678_9abc_def0n);
  return { vm, channel, traffic };
}

/** A fresh VM with a copy of `vm`'s guest memory and the part restored from `json`. */
function restoreInto(vm: ChannelVm, json: string, options: { devices?: EchoDevice[] } = {}) {
  const fresh = new ChannelVm({ devices: options.devices ?? devices() });
  fresh.memory.bytes.set(vm.memory.bytes);
  vmbusSnapshotPart(fresh.host).restore(JSON.parse(json) as Json, 1);
  return fresh;
}

/** The guest's side of channel 1 over `vm`'s memory (its state is all in the rings). */
function guestChannelOn(vm: ChannelVm, offer: GuestChannel['offer']): GuestChannel {
  return new GuestChannel({
    offer,
    gpadl: 0,
    writer: new RingWriter(RingMemory.fromGuestPages(vm.memory, PFNS.slice(0, OUTBOUND_PAGES))),
    reader: new RingReader(RingMemory.fromGuestPages(vm.memory, PFNS.slice(OUTBOUND_PAGES))),
    signalHost: () => vm.signalEvent(BigInt(offer.connectionId)),
  });
}

const save = (vm: ChannelVm) => vmbusSnapshotPart(vm.host).save();

describe("vmbusSnapshotPart: the VMBus host state as snapshot part 'vmbus-ring' (v1)", () => {
  it('saves named fields with 64-bit values as hex: SynIC, ports, server, channels, GPADLs, devices', () => {
    const { vm, channel } = busyVm();
    const data = JSON.parse(JSON.stringify(save(vm))) as Obj;
    const part = vmbusSnapshotPart(vm.host);
    expect([part.name, part.version, part.supportedVersions]).toEqual(['vmbus-ring', 1, [1]]);
    expect(data).toMatchObject({
      synic: {
        vps: {
          0: {
            scontrol: '0x1',
            simp: '0x4001',
            siefp: '0x5001',
            sints: { 0: '0x10000', 2: '0xf3' },
            queues: { 5: [{ messageType: 0x43, sender: '0x123456789abcdef0', payload: 'Bg==' }] },
          },
          1: { scontrol: '0x0', simp: '0x0', queues: {} },
        },
      },
      ports: {
        messageConnectionIds: [1, 4],
        eventConnections: [{ connectionId: 0x10001, flagCount: 1, deleted: false }],
      },
      server: {
        connection: {
          version: 0x5_0003,
          targetVp: 0,
          messageSint: 2,
          messageConnectionId: 4,
          monitorPages: { parentToChild: '0x6000', childToParent: '0x7000' },
        },
        nextRelid: 3,
        nextMonitorId: 1,
        channels: [
          {
            relid: 1,
            device: { index: 0, instance: '00000000-0000-0000-0000-000000000001', name: 'echo' },
            connectionId: 0x10001,
            monitorId: null,
            state: 'open',
            open: {
              openId: 1,
              gpadl: channel.gpadl,
              targetVp: 0,
              downstreamRingPageOffset: 5,
              hostToGuestPendingSendSize: true,
            },
          },
          { relid: 2, device: { index: 1, instance: MONITORED }, monitorId: 0, state: 'offered', open: null },
        ],
        gpadls: [
          { id: channel.gpadl, relid: 1, rangeCount: 1, rangeBufLen: 88, received: null },
          { id: 0x77, relid: 2, rangeCount: 1, rangeBufLen: 24, received: 'ABAAAAAAAAA=', ranges: null },
        ],
      },
      devices: [
        { name: 'echo', state: { counters: { stalls: 2 }, corrupt: null } },
        { name: 'echo-monitored', state: { counters: { packets: 0, echoSpanMs: 0 } } },
      ],
    });
    const server = data.server as Obj;
    const gpadl = (server.gpadls as Obj[])[0]!;
    expect((gpadl.ranges as Obj[])[0]).toEqual({
      byteCount: 40960,
      byteOffset: 0,
      pfns: PFNS.map((p) => `0x${p.toString(16)}`),
    });
  });

  it('an open channel keeps working after save → JSON → restore into a fresh partition: every answer in order', () => {
    const { vm, channel, traffic } = busyVm();
    const json = JSON.stringify(save(vm));
    const before = traffic.expected.length;
    const fresh = restoreInto(vm, json);
    const echo = fresh.host.server.devices[0] as EchoDevice;
    const echoed = echo.counters.packets;
    expect(echoed).toBe((vm.host.server.devices[0] as EchoDevice).counters.packets);

    const restored = guestChannelOn(fresh, channel.offer);
    // Reading frees the stalled host→guest ring: the guest signals, the restored echo resumes.
    traffic.drain(restored);
    for (let round = 0; round < 5; round++) {
      traffic.sendUntilFull(restored);
      traffic.drain(restored);
    }
    expect(traffic.expected.length).toBeGreaterThan(before + 50);
    expect(echo.counters.packets).toBe(traffic.expected.length);
    expect(echo.corrupt).toBeNull();
    expect(restored.corrupt).toBeNull();

    // The restored ports: the open channel's connection is live, then CLOSECHANNEL deletes it.
    expect(fresh.signalEvent(0x10001n)).toBe(HvStatus.SUCCESS);
    expect(fresh.signalEvent(0x10002n)).toBe(HvStatus.INVALID_CONNECTION_ID);
    const close = ChannelRelidMessage.encode({ msgtype: ChannelMessageType.CLOSECHANNEL, childRelid: 1 });
    expect(fresh.postMessage({ connectionId: 4, payload: close })).toBe(HvStatus.SUCCESS);
    expect(fresh.host.server.channels.get(1)?.state).toBe('offered');
    expect(fresh.signalEvent(0x10001n)).toBe(HvStatus.INVALID_PORT_ID);
  });

  it('save → restore → save gives equal data, and the queued SynIC message is delivered on EOM', () => {
    const { vm } = busyVm();
    const data = save(vm);
    const fresh = restoreInto(vm, JSON.stringify(data));
    expect(save(fresh)).toEqual(data);
    expect(fresh.host.synic.pending(0, 5)).toBe(1);
    // The guest frees SINT 5's slot and writes EOM: the restored queue delivers the next message.
    const slot = 4n * 4096n + 5n * 256n;
    expect(fresh.memory.readU32(slot)).toBe(0x42);
    fresh.memory.writeU32(slot, 0);
    fresh.partition.writeMsr(0, 0x4000_0084n, 0n);
    expect(fresh.memory.readU32(slot)).toBe(0x43);
    expect(fresh.host.synic.pending(0, 5)).toBe(0);
  });

  it("keeps the echo device's corrupt flag and its echo span, which ends at the restore", () => {
    const { vm } = busyVm();
    const echo = vm.host.server.devices[0] as EchoDevice;
    echo.corrupt = new RingCorruptError('reserved-flags', 'flags 0x8000 at 64');
    echo.counters.firstEchoMs = 1000;
    echo.counters.lastEchoMs = 1250.5;
    const data = save(vm);
    const fresh = restoreInto(vm, JSON.stringify(data));
    const copy = fresh.host.server.devices[0] as EchoDevice;
    expect(copy.corrupt).toBeInstanceOf(RingCorruptError);
    expect([copy.corrupt?.kind, copy.corrupt?.message]).toEqual([
      'reserved-flags',
      'corrupt VMBus ring (reserved-flags): flags 0x8000 at 64',
    ]);
    expect(copy.counters.lastEchoMs - copy.counters.firstEchoMs).toBe(250.5);
    expect(save(fresh)).toEqual(data);
  });

  const mutate = (f: (d: Obj) => void) => (d: Obj) => f(d);
  const server = (d: Obj) => d.server as Obj;
  const channel = (d: Obj, i: number) => (server(d).channels as Obj[])[i]!;
  it.each([
    [
      'an unknown version',
      mutate(() => {}),
      2,
      /snapshot part 'vmbus-ring' has format version 2; this host reads version 1/,
    ],
    [
      'a field of the wrong type',
      mutate((d) => {
        server(d).nextRelid = '3';
      }),
      1,
      /vmbus-ring\.server\.nextRelid = "3": expected an integer 1\.\.2147483648/,
    ],
    [
      'a field out of range',
      mutate((d) => {
        (server(d).connection as Obj).targetVp = 2;
      }),
      1,
      /vmbus-ring\.server\.connection\.targetVp = 2: expected an integer 0\.\.1/,
    ],
    [
      'a 64-bit value that is not hex',
      mutate((d) => {
        ((d.synic as Obj).vps as Obj)['0'] = { ...(((d.synic as Obj).vps as Obj)['0'] as Obj), simp: 16385 };
      }),
      1,
      /vmbus-ring\.synic\.vps\["0"\]\.simp = 16385: expected a 64-bit hex string/,
    ],
    [
      'an unmasked SINT with a vector below 16',
      mutate((d) => {
        ((((d.synic as Obj).vps as Obj)['1'] as Obj).sints as Obj)['3'] = '0x5';
      }),
      1,
      /vmbus-ring\.synic\.vps\["1"\]\.sints\["3"\] = "0x5": expected a masked SINT or a vector ≥ 16/,
    ],
    [
      'a VP the VM lacks',
      mutate((d) => {
        ((d.synic as Obj).vps as Obj)['7'] = ((d.synic as Obj).vps as Obj)['0']!;
      }),
      1,
      /vmbus-ring\.synic\.vps\["7"\]: not a VP of this VM \(0\.\.1\)/,
    ],
    [
      'a channel naming a device the VM does not have',
      mutate((d) => {
        channel(d, 1).device = { index: 1, instance: '00000000-0000-0000-0000-0000000000ff', name: 'disk' };
      }),
      1,
      /vmbus-ring\.server\.channels\[1\]\.device: device #1 'disk' \(instance 00000000-0000-0000-0000-0000000000ff\) is not on this VM \(it has: #0 'echo'/,
    ],
    [
      'an open channel whose GPADL is not its ring GPADL',
      mutate((d) => {
        (channel(d, 0).open as Obj).gpadl = 0x77;
      }),
      1,
      /vmbus-ring\.server\.channels\[0\]\.open\.gpadl = 119: expected a created GPADL of this channel/,
    ],
    [
      'a GPADL PFN outside RAM',
      mutate((d) => {
        const g = (server(d).gpadls as Obj[])[0]!;
        ((g.ranges as Obj[])[0]!.pfns as Json[] as string[])[3] = '0x100000';
      }),
      1,
      /vmbus-ring\.server\.gpadls\[0\]\.ranges\[0\]\.pfns\[3\] = "0x100000": expected a PFN inside RAM/,
    ],
    [
      'a live event port of a channel that is not open',
      mutate((d) => {
        ((d.ports as Obj).eventConnections as Json[] as Obj[]).push({
          connectionId: 0x10002,
          flagCount: 1,
          deleted: false,
        });
      }),
      1,
      /vmbus-ring\.ports\.eventConnections\[1\]\.deleted = false: expected true: only an open channel has a live event port/,
    ],
    [
      'a device state the echo device cannot take (checked last)',
      mutate((d) => {
        ((d.devices as Obj[])[0]!.state as Obj).corrupt = { kind: 'bad', detail: 'x' };
      }),
      1,
      /vmbus-ring\.devices\[0\]\.state\.corrupt\.kind = "bad": expected one of index-out-of-range/,
    ],
  ])(
    'refuses %s with a SnapshotError naming the field, and changes nothing',
    (_what, change, version, message) => {
      const { vm } = busyVm();
      const data = JSON.parse(JSON.stringify(save(vm))) as Obj;
      change(data);
      const fresh = new ChannelVm({ devices: devices() });
      const before = save(fresh);
      const part = vmbusSnapshotPart(fresh.host);
      let error: unknown;
      try {
        part.restore(data, version);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SnapshotError);
      expect((error as Error).message).toMatch(message);
      expect(save(fresh)).toEqual(before);
    },
  );

  it('refuses a snapshot whose second device this VM lacks, naming it', () => {
    const { vm } = busyVm();
    const json = JSON.stringify(save(vm));
    expect(() => restoreInto(vm, json, { devices: [new EchoDevice()] })).toThrow(
      /channels\[1\]\.device: device #1 'echo-monitored' \(instance 00000000-0000-0000-0000-000000000002\) is not on this VM \(it has: #0 'echo'/,
    );
  });
});

/** Every path to a value inside `data`. */
function paths(data: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(data)) {
    data.forEach((v, i) => {
      out.push(...paths(v, [...at, i]));
    });
  } else if (data !== null && typeof data === 'object')
    for (const [k, v] of Object.entries(data)) out.push(...paths(v, [...at, k]));
  return out;
}

function replaceAt(data: Json, path: readonly (string | number)[], value: Json): Json {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(data) ? [...data] : { ...(data as Obj) }) as Obj;
  copy[head as string] = replaceAt(copy[head as string] ?? null, rest, value);
  return copy as Json;
}

describe('vmbusSnapshotPart properties', () => {
  const { vm } = busyVm();
  const valid = JSON.parse(JSON.stringify(save(vm))) as Json;
  const all = paths(valid);
  const onlySnapshotErrors = (data: unknown) => {
    const fresh = new ChannelVm({ devices: devices() });
    const before = save(fresh);
    try {
      vmbusSnapshotPart(fresh.host).restore(data as Json, 1);
    } catch (e) {
      expect(e).toBeInstanceOf(SnapshotError);
      expect(save(fresh)).toEqual(before);
    }
  };

  fcTest.prop([fc.jsonValue()], { numRuns: 100 })('random JSON for the part: only SnapshotError', (data) => {
    onlySnapshotErrors(data);
  });

  fcTest.prop([fc.nat(all.length - 1), fc.jsonValue({ maxDepth: 2 })], { numRuns: 150 })(
    'a valid snapshot with one value replaced by random JSON: restored, or SnapshotError with nothing changed',
    (i, value) => {
      onlySnapshotErrors(replaceAt(valid, all[i]!, value as Json));
    },
  );
});
