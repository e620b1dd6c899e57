import { GuestMemory } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  initRingControl,
  RingControlWord,
  RingMemory,
  type RingPacket,
  RingReader,
  RingWriter,
  splitChannelGpadl,
  VmPacketType,
} from '../src/index.ts';
import { dataBytes, pattern, poke, ring, toHex } from './fixtures.ts';

const INBAND = { type: VmPacketType.DATA_INBAND };

function packet(r: ReturnType<RingReader['read']>): RingPacket {
  if (!r.ok) throw new Error(`expected a packet, got ${r.reason}`);
  return r;
}

describe('RingWriter: bytes on the ring (rule 4)', () => {
  it('writes descriptor, payload, zero padding and the trailer at write_index 0', () => {
    const { memory, writer } = ring();
    const r = writer.tryWrite(Uint8Array.of(1, 2, 3, 4, 5), {
      type: VmPacketType.DATA_INBAND,
      flags: 1,
      transactionId: 0x0123_4567_89ab_cdefn,
    });
    expect(r).toEqual({ ok: true, signal: true });
    expect(toHex(dataBytes(memory, 0, 32))).toBe(
      '06 00 02 00 03 00 01 00 ef cd ab 89 67 45 23 01 ' +
        '01 02 03 04 05 00 00 00 ' +
        '00 00 00 00 00 00 00 00',
    );
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(32);
  });

  it('puts the packet start in the trailer of the second packet (0x20 << 32)', () => {
    const { memory, writer } = ring();
    writer.tryWrite(new Uint8Array(8), INBAND);
    writer.tryWrite(new Uint8Array(0), { type: VmPacketType.COMP, transactionId: 7n });
    expect(toHex(dataBytes(memory, 32, 24))).toBe(
      '0b 00 02 00 02 00 00 00 07 00 00 00 00 00 00 00 00 00 00 00 20 00 00 00',
    );
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(56);
  });

  it('gathers several buffers into one packet', () => {
    const { writer, reader } = ring();
    writer.tryWrite([Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3, 4, 5)], INBAND);
    expect(Array.from(packet(reader.read()).payload.subarray(0, 5))).toEqual([1, 2, 3, 4, 5]);
  });

  it('writes a large packet (over the assembly size) the same way', () => {
    const { memory, writer, reader } = ring(4);
    const data = pattern(3004, 9);
    // The ring starts zeroed: dirty it where the padding will go.
    memory.copyIn(3016, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    writer.tryWrite([data.subarray(0, 1000), data.subarray(1000)], { ...INBAND, transactionId: 5n });
    const p = packet(reader.read());
    expect(p.len8).toBe(378);
    expect(p.payload.subarray(0, 3004)).toEqual(data);
    expect(Array.from(p.payload.subarray(3004))).toEqual([0, 0, 0, 0]);
    expect(toHex(dataBytes(memory, 3024, 8))).toBe('00 00 00 00 00 00 00 00');
  });

  it('refuses bad arguments with one-line errors', () => {
    const { writer } = ring();
    expect(() => writer.tryWrite(new Uint8Array(4096), INBAND)).toThrow(/carries at most 4064/);
    expect(() => writer.tryWrite(new Uint8Array(4), { type: 6, flags: 2 })).toThrow(
      /flags 2 is not accepted/,
    );
    expect(() => writer.tryWrite(new Uint8Array(4), { type: 0x10000 })).toThrow(/type 65536/);
    expect(() => writer.tryWrite(new Uint8Array(4), { type: 6, offset8: 1 })).toThrow(/offset8 1/);
    expect(() => writer.tryWrite(new Uint8Array(4), { type: 6, offset8: 4 })).toThrow(/offset8 4/);
    expect(() => writer.reserve(-1, INBAND)).toThrow(/payloadBytes -1/);
  });
});

describe('RingReader (rule 6)', () => {
  it('reads packets in order, zero-copy when they do not wrap', () => {
    const { writer, reader } = ring();
    writer.tryWrite(pattern(10), { type: VmPacketType.DATA_INBAND, flags: 1, transactionId: 42n });
    writer.tryWrite(pattern(3, 100), { type: VmPacketType.COMP, transactionId: 42n });
    const a = packet(reader.read());
    expect(a).toMatchObject({
      type: 6,
      flags: 1,
      transactionId: 42n,
      offset8: 2,
      len8: 4,
      offset: 0,
      copied: false,
    });
    expect(a.payload.subarray(0, 10)).toEqual(pattern(10));
    const b = packet(reader.read());
    expect(b).toMatchObject({ type: 0xb, transactionId: 42n, offset: 40 });
    expect(reader.read()).toEqual({ ok: false, reason: 'empty' });
  });

  it('publishes read_index only on commit; revert reads the packets again', () => {
    const { memory, writer, reader } = ring();
    writer.tryWrite(pattern(8), INBAND);
    packet(reader.read());
    expect(Atomics.load(memory.control, RingControlWord.READ_INDEX)).toBe(0);
    reader.revert();
    expect(packet(reader.read()).offset).toBe(0);
    reader.commit();
    expect(Atomics.load(memory.control, RingControlWord.READ_INDEX)).toBe(32);
  });

  it('copies a packet that wraps, and reads the bytes written across the end', () => {
    const { memory, writer, reader } = ring();
    // Move both indices to 4040 so that the next packet wraps.
    poke(memory, RingControlWord.WRITE_INDEX, 4040);
    poke(memory, RingControlWord.READ_INDEX, 4040);
    const w = new RingWriter(memory);
    const r = new RingReader(memory);
    const data = pattern(100, 3);
    expect(w.tryWrite(data, INBAND).ok).toBe(true);
    const p = packet(r.read());
    expect(p.copied).toBe(true);
    expect(p.offset).toBe(4040);
    expect(p.payload.subarray(0, 100)).toEqual(data);
    // 16 + 100 → len8 15 (120 bytes) + 8 = 128: 4040 + 128 − 4096 = 72.
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(72);
    expect(toHex(dataBytes(memory, 64, 8))).toBe('00 00 00 00 c8 0f 00 00');
    expect(writer).toBeDefined();
    expect(reader).toBeDefined();
  });
});

describe('full ring: "one slot always free" (rule 5)', () => {
  it('fills to size − 8 at most and returns full with the bytes needed, writing nothing', () => {
    const { memory, writer, reader } = ring(1, 0);
    // 4096 / 32 = 128 slots of 32 bytes; only 127 fit, the last would fill the ring.
    let n = 0;
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok) n++;
    expect(n).toBe(127);
    expect(writer.tryWrite(new Uint8Array(8), INBAND)).toEqual({ ok: false, reason: 'full', needed: 32 });
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(127 * 32);
    expect(Atomics.load(memory.control, RingControlWord.PENDING_SEND_SIZE)).toBe(0);
    packet(reader.read());
    reader.commit();
    expect(writer.tryWrite(new Uint8Array(8), INBAND).ok).toBe(true);
  });

  it('takes a packet of exactly size − 8 on an empty ring', () => {
    const { writer, reader } = ring();
    expect(writer.tryWrite(new Uint8Array(writer.maxPayload), INBAND).ok).toBe(true);
    expect(packet(reader.read()).len8).toBe(4080 / 8);
  });

  it('with feat_pending_send_sz publishes pending_send_sz and clears it after the next write', () => {
    const { memory, writer, reader } = ring(1, 1);
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok);
    expect(Atomics.load(memory.control, RingControlWord.PENDING_SEND_SIZE)).toBe(32);
    packet(reader.read());
    expect(reader.commit()).toBe(true);
    expect(writer.tryWrite(new Uint8Array(8), INBAND).ok).toBe(true);
    expect(Atomics.load(memory.control, RingControlWord.PENDING_SEND_SIZE)).toBe(0);
  });
});

describe('signals', () => {
  it('writer signals only on empty → non-empty (rule 4)', () => {
    const { writer, reader } = ring();
    expect(writer.tryWrite(new Uint8Array(8), INBAND)).toEqual({ ok: true, signal: true });
    expect(writer.tryWrite(new Uint8Array(8), INBAND)).toEqual({ ok: true, signal: false });
    packet(reader.read());
    packet(reader.read());
    reader.commit();
    expect(writer.tryWrite(new Uint8Array(8), INBAND)).toEqual({ ok: true, signal: true });
  });

  it('writer does not signal while the reader masks interrupts; endRead reports data that came meanwhile (rule 8)', () => {
    const { writer, reader } = ring();
    reader.beginRead();
    expect(writer.tryWrite(new Uint8Array(8), INBAND)).toEqual({ ok: true, signal: false });
    expect(reader.endRead()).toBe(true);
    packet(reader.read());
    reader.commit();
    reader.beginRead();
    expect(reader.endRead()).toBe(false);
  });

  it('reader signals when the free space crosses pending_send_sz, not before and not after (rule 7)', () => {
    const { memory, writer, reader } = ring(1, 1);
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok);
    // Full: 32 bytes free. Writer wants a 64-byte packet: footprint 88, so it needs free > 88.
    expect(writer.tryWrite(new Uint8Array(64), INBAND)).toEqual({ ok: false, reason: 'full', needed: 88 });
    expect(Atomics.load(memory.control, RingControlWord.PENDING_SEND_SIZE)).toBe(88);
    const commitsAfter = (packets: number) => {
      for (let i = 0; i < packets; i++) packet(reader.read());
      return reader.commit();
    };
    expect(commitsAfter(1)).toBe(false); // free 64
    expect(commitsAfter(1)).toBe(true); // free 96 > 88: crossed
    expect(commitsAfter(1)).toBe(false); // free 128: already enough before
    expect(writer.tryWrite(new Uint8Array(64), INBAND).ok).toBe(true);
  });

  it('reader never signals the writer without feat_pending_send_sz, even with pending_send_sz set', () => {
    const { memory, writer, reader } = ring(1, 0);
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok);
    poke(memory, RingControlWord.PENDING_SEND_SIZE, 24);
    packet(reader.read());
    expect(reader.commit()).toBe(false);
  });

  it('reader masks pending_send_sz with ~7 as openvmm does', () => {
    const { memory, writer, reader } = ring(1, 1);
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok);
    poke(memory, RingControlWord.PENDING_SEND_SIZE, 7); // & ~7 = 0: no writer waits
    packet(reader.read());
    expect(reader.commit()).toBe(false);
  });

  it('commit with nothing read neither publishes nor signals', () => {
    const { reader } = ring();
    expect(reader.commit()).toBe(false);
  });
});

describe('two-phase write (reserve, write, commit or revert)', () => {
  it('commit publishes what was written (the rest of the reservation zero) and says whether to signal', () => {
    const { writer, reader } = ring();
    const res = writer.reserve(12, { type: VmPacketType.DATA_INBAND, transactionId: 3n });
    if (!res.ok) throw new Error(res.reason);
    expect(reader.read()).toEqual({ ok: false, reason: 'empty' });
    res.write(Uint8Array.of(1, 2)).write(Uint8Array.of(3));
    expect(() => res.write(new Uint8Array(10))).toThrow(/9 of the 12 reserved bytes remain/);
    expect(res.commit()).toBe(true);
    const p = packet(reader.read());
    expect(Array.from(p.payload)).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(p.transactionId).toBe(3n);
  });

  it('revert leaves the ring as it was, and the writer takes the next packet at the same offset', () => {
    const { memory, writer, reader } = ring();
    const res = writer.reserve(8, INBAND);
    if (!res.ok) throw new Error(res.reason);
    res.write(pattern(8));
    expect(() => writer.tryWrite(new Uint8Array(1), INBAND)).toThrow(/reservation is open/);
    res.revert();
    expect(() => res.commit()).toThrow(/already committed or reverted/);
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(0);
    expect(reader.read()).toEqual({ ok: false, reason: 'empty' });
    writer.tryWrite(pattern(4, 50), INBAND);
    expect(packet(reader.read()).offset).toBe(0);
  });

  it('reserve on a full ring gives full', () => {
    const { writer } = ring(1, 0);
    while (writer.tryWrite(new Uint8Array(8), INBAND).ok);
    expect(writer.reserve(8, INBAND)).toEqual({ ok: false, reason: 'full', needed: 32 });
  });
});

describe('GPADL rings over guest pages', () => {
  it('works over non-contiguous PFNs and splits copies at page gaps', () => {
    const memory = new GuestMemory(64 * 4096);
    // Control page 10, data pages 20, 21 (contiguous), 5, 30.
    const pfns = [10n, 20n, 21n, 5n, 30n];
    const rm = RingMemory.fromGuestPages(memory, pfns);
    expect(rm.dataSize).toBe(4 * 4096);
    expect(rm.runCount).toBe(3);
    initRingControl(rm);
    expect(memory.readU32(10n * 4096n + 64n)).toBe(1);
    const writer = new RingWriter(rm);
    const reader = new RingReader(rm);
    const data = pattern(9000, 1);
    expect(writer.tryWrite(data, INBAND).ok).toBe(true);
    // The packet spans pages 20–21 (one run) and 5: it is copied.
    const p = packet(reader.read());
    expect(p.copied).toBe(true);
    expect(p.payload.subarray(0, 9000)).toEqual(data);
    expect(memory.read(20n * 4096n, 8)).toEqual(Uint8Array.of(6, 0, 2, 0, 0x67, 0x04, 0, 0));
    expect(memory.read(5n * 4096n, 4)).toEqual(data.subarray(8192 - 16, 8192 - 16 + 4));
    expect(memory.readU32(0n)).toBe(0);
    reader.commit();
    expect(memory.readU32(10n * 4096n + 4n)).toBe(9024);
    // A small packet inside page 5 is zero-copy.
    writer.tryWrite(pattern(8), INBAND);
    expect(packet(reader.read()).copied).toBe(false);
  });

  it('a PFN outside RAM is a MEMORY guest fault; too few pages a RangeError', () => {
    const memory = new GuestMemory(16 * 4096);
    expect(() => RingMemory.fromGuestPages(memory, [1n, 99n])).toThrow(/#MEMORY/);
    expect(() => RingMemory.fromGuestPages(memory, [1n])).toThrow(/at least one data page, got 1/);
  });

  it('splits one GPADL into the two rings of a channel at downstream_ring_page_offset (rule 2)', () => {
    const pfns = [1n, 2n, 3n, 4n, 5n, 6n];
    expect(splitChannelGpadl(pfns, 4)).toEqual({ ok: true, outbound: [1n, 2n, 3n, 4n], inbound: [5n, 6n] });
    expect(splitChannelGpadl(pfns, 1)).toMatchObject({ ok: false, reason: expect.stringMatching(/< 2/) });
    expect(splitChannelGpadl(pfns, 5)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/fewer than 2/),
    });
  });

  it('two rings over one GPADL are independent', () => {
    const memory = new GuestMemory(32 * 4096);
    const split = splitChannelGpadl([8n, 9n, 3n, 4n], 2);
    if (!split.ok) throw new Error(split.reason);
    const out = RingMemory.fromGuestPages(memory, split.outbound);
    const inb = RingMemory.fromGuestPages(memory, split.inbound);
    initRingControl(out);
    initRingControl(inb, { interruptMask: 1 });
    new RingWriter(out).tryWrite(pattern(8), INBAND);
    expect(new RingReader(inb).read()).toEqual({ ok: false, reason: 'empty' });
    expect(packet(new RingReader(out).read()).payload).toEqual(pattern(8));
    expect(memory.readU32(3n * 4096n + 8n)).toBe(1);
  });
});

describe('RingMemory over a SharedArrayBuffer', () => {
  it('refuses sizes and offsets it cannot use', () => {
    expect(() => RingMemory.allocate(100)).toThrow(/ring data size 100 is not accepted/);
    expect(() => RingMemory.fromSharedArrayBuffer(new SharedArrayBuffer(8192), 4)).toThrow(/byteOffset 4/);
    expect(() => RingMemory.fromSharedArrayBuffer(new SharedArrayBuffer(8192), 0, 12288)).toThrow(
      /does not fit/,
    );
  });

  it('can sit at an offset inside a larger buffer', () => {
    const sab = new SharedArrayBuffer(3 * 4096);
    const rm = RingMemory.fromSharedArrayBuffer(sab, 4096);
    initRingControl(rm);
    new RingWriter(rm).tryWrite(Uint8Array.of(0xaa), INBAND);
    expect(new Uint8Array(sab)[2 * 4096 + 16]).toBe(0xaa);
    expect(new Uint32Array(sab)[4096 / 4]).toBe(32);
  });
});
