import { fc, test } from '@fast-check/vitest';
import { HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { EchoDevice } from '../src/host/index.ts';
import {
  ChannelMessageType,
  ChannelRelidMessage,
  encodeGpadlMessages,
  GpadlCreated,
  GpadlHeader,
  GpadlTeardown,
  InitiateContact,
  OpenChannel,
  OpenChannelResult,
  VersionResponse,
} from '../src/index.ts';
import { channelMessageType, VMBUS_STATUS_UNSUCCESSFUL } from '../src/wire/channel-messages.ts';
import { ChannelVm, guestDriver, RAM_BYTES, ringPfns } from './channel-fixtures.ts';

/** A connected guest with offers in hand; `send` posts raw bytes, `answers` takes what came back. */
function connected(devices = 2) {
  const vm = new ChannelVm({ devices: Array.from({ length: devices }, () => new EchoDevice()) });
  const d = guestDriver(vm);
  d.client.connect();
  d.client.requestOffers();
  vm.partition.diagnostics(true);
  const send = (bytes: Uint8Array) => d.client.postMessage(bytes);
  const answers = () => {
    const out: Uint8Array[] = [];
    for (let m = d.synic.pollMessage(); m !== null; m = d.synic.pollMessage()) out.push(m.payload);
    return out;
  };
  const rules = () => vm.partition.diagnostics(true).map((x) => x.rule);
  return { vm, ...d, send, answers, rules };
}

const open = (fields: Partial<Parameters<typeof OpenChannel.encode>[0]>) =>
  OpenChannel.encode({
    msgtype: 5,
    childRelid: 1,
    openId: 9,
    ringBufferGpadl: 0,
    downstreamRingPageOffset: 2,
    ...fields,
  });

describe('VMBus server: guest fields validated, never a throw', () => {
  it.each([
    ['a message shorter than its header', Uint8Array.of(1, 2, 3), 'spec04.message.short'],
    ['OPENCHANNEL shorter than 148 bytes', open({}).subarray(0, 100), 'spec04.message.short'],
    [
      'GPADL_HEADER shorter than 20 bytes',
      GpadlHeader.encode({ msgtype: 8 }).subarray(0, 12),
      'spec04.message.short',
    ],
    ['OPENCHANNEL for an unknown relid', open({ childRelid: 77 }), 'spec04.open.relid'],
    [
      'CLOSECHANNEL for a channel that is not open',
      ChannelRelidMessage.encode({ msgtype: 7, childRelid: 1 }),
      'spec04.close.relid',
    ],
    [
      'GPADL_BODY for a GPADL not being assembled',
      Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0),
      'spec04.gpadl.body-unknown',
    ],
    [
      'GPADL_TEARDOWN of an unknown GPADL',
      GpadlTeardown.encode({ msgtype: 11, childRelid: 1, gpadl: 5 }),
      'spec04.teardown.unknown',
    ],
    [
      'RELID_RELEASED for a relid never rescinded',
      ChannelRelidMessage.encode({ msgtype: 13, childRelid: 1 }),
      'spec04.relid.released',
    ],
    [
      'a host→guest message type (OFFERCHANNEL)',
      ChannelRelidMessage.encode({ msgtype: 1, childRelid: 1 }),
      'spec04.message.unexpected',
    ],
    [
      'an unknown message type',
      ChannelRelidMessage.encode({ msgtype: 0x1234, childRelid: 1 }),
      'spec04.message.unexpected',
    ],
  ])('%s is ignored with a diagnostic', (_t, bytes, rule) => {
    const s = connected();
    expect(s.send(bytes)).toBe(HvStatus.SUCCESS);
    expect(s.answers()).toEqual([]);
    expect(s.rules()).toEqual([rule]);
  });

  it('a message before INITIATE_CONTACT is ignored', () => {
    const vm = new ChannelVm({ devices: [new EchoDevice()] });
    const d = guestDriver(vm);
    expect(d.client.postMessage(Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0))).toBe(HvStatus.SUCCESS);
    expect(vm.partition.diagnostics().map((x) => x.rule)).toEqual(['spec04.message.not-connected']);
  });

  const created = (a: Uint8Array[]) => a.map((m) => GpadlCreated.decode(m));
  it.each([
    ['an unknown child_relid', (p: bigint[]) => encodeGpadlMessages(77, 10, p)],
    ['gpadl id 0', (p: bigint[]) => encodeGpadlMessages(1, 0, p)],
    [
      'a PFN outside RAM',
      (p: bigint[]) => encodeGpadlMessages(1, 10, [...p.slice(1), BigInt(RAM_BYTES / 4096)]),
    ],
    [
      'rangecount 0',
      () => [GpadlHeader.encode({ msgtype: 8, childRelid: 1, gpadl: 10, rangeBufLen: 16, rangeCount: 0 })],
    ],
    [
      'range_buflen too small for its ranges',
      () => [GpadlHeader.encode({ msgtype: 8, childRelid: 1, gpadl: 10, rangeBufLen: 8, rangeCount: 1 })],
    ],
    [
      'range_buflen not a multiple of 8',
      () => [GpadlHeader.encode({ msgtype: 8, childRelid: 1, gpadl: 10, rangeBufLen: 17, rangeCount: 1 })],
    ],
    [
      'a BODY that overruns range_buflen',
      (p: bigint[]) => {
        const [h, b] = encodeGpadlMessages(1, 10, p);
        const big = new Uint8Array(b!.length + 8);
        big.set(b!);
        return [h!, big];
      },
    ],
    [
      'byte_offset ≥ 4096',
      (p: bigint[]) => {
        const [h] = encodeGpadlMessages(1, 10, p.slice(0, 2));
        new DataView(h!.buffer).setUint32(24, 4096, true);
        return [h!];
      },
    ],
  ])('GPADL with %s: GPADL_CREATED with a failure status', (_t, build) => {
    const s = connected();
    for (const m of build(ringPfns(30))) expect(s.send(m)).toBe(HvStatus.SUCCESS);
    const a = created(s.answers());
    expect(a).toHaveLength(1);
    expect(a[0]?.creationStatus).toBe(VMBUS_STATUS_UNSUCCESSFUL);
    // A BODY after a refused HEADER belongs to no GPADL: ignored.
    expect(s.rules().filter((r) => r !== 'spec04.gpadl.body-unknown')).toEqual(['spec04.gpadl.refused']);
    expect(s.vm.host.server.gpadlsOf(1)).toEqual([]);
  });

  it('a GPADL id already in use is refused; the first stays', () => {
    const s = connected();
    const g = s.client.establishGpadl(1, ringPfns(3));
    for (const m of encodeGpadlMessages(1, g, ringPfns(3, 40))) s.send(m);
    expect(created(s.answers())[0]?.creationStatus).toBe(VMBUS_STATUS_UNSUCCESSFUL);
    expect(s.vm.host.server.gpadlsOf(1)).toEqual([g]);
  });

  const result = (a: Uint8Array[]) => a.map((m) => OpenChannelResult.decode(m)?.status);
  it.each([
    ['an unknown ring GPADL', () => ({ ringBufferGpadl: 1234 })],
    [
      'another channel’s GPADL',
      (s: ReturnType<typeof connected>) => ({ ringBufferGpadl: s.client.establishGpadl(2, ringPfns(4)) }),
    ],
    [
      'downstream offset 1 (< 2)',
      (s: ReturnType<typeof connected>) => ({
        ringBufferGpadl: s.client.establishGpadl(1, ringPfns(4)),
        downstreamRingPageOffset: 1,
      }),
    ],
    [
      'downstream offset leaving < 2 pages',
      (s: ReturnType<typeof connected>) => ({
        ringBufferGpadl: s.client.establishGpadl(1, ringPfns(4)),
        downstreamRingPageOffset: 3,
      }),
    ],
    [
      'target_vp 5 of 2 VPs',
      (s: ReturnType<typeof connected>) => ({
        ringBufferGpadl: s.client.establishGpadl(1, ringPfns(4)),
        targetVp: 5,
      }),
    ],
  ])('OPENCHANNEL with %s: OPENCHANNEL_RESULT with a failure status', (_t, fields) => {
    const s = connected();
    const f = fields(s);
    s.answers();
    s.rules();
    expect(s.send(open(f))).toBe(HvStatus.SUCCESS);
    expect(result(s.answers())).toEqual([VMBUS_STATUS_UNSUCCESSFUL]);
    expect(s.rules()).toEqual(['spec04.open.refused']);
    expect(s.vm.host.server.channels.get(1)?.state).toBe('offered');
  });

  it('OPENCHANNEL of an open channel fails; GPADL_TEARDOWN of its ring GPADL is refused while open', () => {
    const s = connected();
    const ch = s.client.openChannel(1, { pfns: ringPfns(4), outboundPages: 2 });
    s.send(open({ ringBufferGpadl: ch.gpadl }));
    expect(result(s.answers())).toEqual([VMBUS_STATUS_UNSUCCESSFUL]);
    s.send(GpadlTeardown.encode({ msgtype: 11, childRelid: 1, gpadl: ch.gpadl }));
    expect(s.answers()).toEqual([]);
    expect(s.rules()).toEqual(['spec04.open.refused', 'spec04.teardown.in-use']);
  });

  it.each([
    ['target_vcpu 9 (no such VP): ignored', { targetVcpu: 9 }, 'spec04.contact.target-vcpu', null],
    ['msg_sint 16: ignored', { msgSint: 16 }, 'spec04.contact.sint', null],
    ['msg_vtl 1: refused', { msgVtl: 1 }, 'spec04.contact.refused', 0],
    ['an unaligned monitor page: refused', { monitorPage1: 0x6008n }, 'spec04.contact.refused', 0],
    ['a monitor page outside RAM: refused', { monitorPage2: BigInt(RAM_BYTES) }, 'spec04.contact.refused', 0],
    ['the same page twice: refused', { monitorPage2: 0x6000n }, 'spec04.contact.refused', 0],
    ['version 0x12345 (unknown): refused', { version: 0x12345 }, 'spec04.contact.refused', 0],
  ])('INITIATE_CONTACT with %s', (_t, fields, rule, supported) => {
    const vm = new ChannelVm();
    const d = guestDriver(vm);
    const msg = InitiateContact.encode({
      msgtype: 14,
      version: 0x50003,
      msgSint: 2,
      monitorPage1: 0x6000n,
      monitorPage2: 0x7000n,
      ...fields,
    });
    expect(d.client.postMessage(msg, 4)).toBe(HvStatus.SUCCESS);
    const answer = d.synic.pollMessage();
    expect(answer === null ? null : VersionResponse.decode(answer.payload)?.versionSupported).toBe(supported);
    expect(vm.partition.diagnostics().map((x) => x.rule)).toEqual([rule]);
    expect(vm.host.server.connection).toBeNull();
  });

  it('a second INITIATE_CONTACT while connected is refused; the connection stays', () => {
    const s = connected();
    const msg = InitiateContact.encode({
      msgtype: 14,
      version: 0x50003,
      msgSint: 2,
      monitorPage1: 0x6000n,
      monitorPage2: 0x7000n,
    });
    s.send(msg);
    expect(s.answers().map((m) => VersionResponse.decode(m)?.versionSupported)).toEqual([0]);
    expect(s.vm.host.server.connection?.version).toBe(0x50003);
  });

  it('rescind of a closed channel, then RELID_RELEASED frees the relid and its GPADLs; signals get INVALID_CONNECTION_ID', () => {
    const s = connected();
    const g = s.client.establishGpadl(2, ringPfns(4));
    s.vm.host.server.rescind(2);
    expect(s.client.handleRescinds()).toEqual([2]);
    expect(s.vm.host.server.gpadlsOf(2)).toEqual([]);
    expect(s.vm.signalEvent(0x10002n)).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(g).toBeGreaterThan(0);
    expect(() => s.vm.host.server.rescind(2)).toThrow('relid 2 is not an offered channel: use one of 1');
  });

  it('a device added after contact is offered at once', () => {
    const s = connected();
    const relid = s.vm.host.server.addDevice(
      new EchoDevice({ instance: '00000000-0000-0000-0000-0000000000aa' }),
    );
    const a = s.answers();
    expect(a.map((m) => channelMessageType(m))).toEqual([ChannelMessageType.OFFERCHANNEL]);
    expect(s.client.recordOffer(a[0]!)?.relid).toBe(relid);
  });

  it('host option errors are one-line RangeErrors', () => {
    expect(() => new ChannelVm({ versions: [0x10001] })).toThrow('VMBus version 0x10001 is not accepted');
    expect(() => new ChannelVm({ messageQueueDepth: -1 })).toThrow('messageQueueDepth -1 is not accepted');
  });
});

describe('properties: guest input never throws in the host', () => {
  const connectedVm = connected;
  test.prop(
    [
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 260 }),
      fc.uint8Array({ maxLength: 240 }),
      fc.nat(),
    ],
    {
      numRuns: 300,
    },
  )('random PostMessage inputs get a status', (conn, size, payload, type) => {
    const s = connectedVm(1);
    const status = s.vm.postMessage({ connectionId: conn, payloadSize: size, payload, messageType: type });
    expect([0, 3, 5, 0x12, 0x13]).toContain(status);
  });

  const message = fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.uint8Array({ maxLength: 232 }))
    .map(([type, rest]) => {
      const m = new Uint8Array(8 + rest.length);
      new DataView(m.buffer).setUint32(0, type, true);
      m.set(rest, 8);
      return m;
    });
  test.prop([fc.array(message, { maxLength: 25 })], { numRuns: 200 })(
    'random channel message sequences after contact: SUCCESS or INSUFFICIENT_BUFFERS, never a throw',
    (msgs) => {
      const s = connectedVm(2);
      for (const m of msgs) {
        expect([HvStatus.SUCCESS, HvStatus.INSUFFICIENT_BUFFERS]).toContain(s.send(m));
        s.answers();
      }
    },
  );

  test.prop([fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })], { numRuns: 300 })(
    'random SignalEvent inputs get a status',
    (v) => {
      const s = connectedVm(1);
      s.client.openChannel(1, { pfns: ringPfns(4), outboundPages: 2 });
      expect([0, 3, 5, 0x11, 0x12]).toContain(s.vm.signalEvent(v));
    },
  );

  test.prop([fc.uint8Array({ maxLength: 240 })])('decoders return null or a value for any bytes', (bytes) => {
    for (const s of [OpenChannel, GpadlHeader, InitiateContact, VersionResponse, GpadlCreated]) {
      const v = s.decode(bytes);
      expect(v === null || typeof v === 'object').toBe(true);
    }
  });
});
