import { describe, expect, it } from 'vitest';
import {
  initRingControl,
  RingControlWord,
  type RingCorruptKind,
  RingMemory,
  RingReader,
  RingWriter,
  VmPacketType,
  validatePacket,
} from '../src/index.ts';
import { hex, poke } from './fixtures.ts';

/** A 1-page ring whose data starts with `bytes` and whose write index is `writeIndex`. */
function craft(bytes: Uint8Array, writeIndex: number, readIndex = 0) {
  const memory = RingMemory.allocate(4096);
  initRingControl(memory);
  memory.copyIn(readIndex, bytes);
  poke(memory, RingControlWord.WRITE_INDEX, writeIndex);
  poke(memory, RingControlWord.READ_INDEX, readIndex);
  return memory;
}

/** A descriptor (16 bytes) followed by `extra` bytes. */
function desc(type: number, offset8: number, len8: number, flags = 0, extra = '') {
  const d = new Uint8Array(16);
  const v = new DataView(d.buffer);
  v.setUint16(0, type, true);
  v.setUint16(2, offset8, true);
  v.setUint16(4, len8, true);
  v.setUint16(6, flags, true);
  const e = hex(extra);
  const out = new Uint8Array(16 + e.length);
  out.set(d);
  out.set(e, 16);
  return out;
}

function readKind(memory: RingMemory): RingCorruptKind | string {
  const r = new RingReader(memory).read();
  return r.ok ? 'packet' : r.reason === 'corrupt' ? r.error.kind : r.reason;
}

describe('a corrupt ring gives RingCorruptError, never an exception (rules 3 and 11)', () => {
  it.each<[string, Uint8Array, number, RingCorruptKind]>([
    ['rule 3: write_index ≥ size', new Uint8Array(0), 4096, 'index-out-of-range'],
    ['rule 3: write_index far out of range', new Uint8Array(0), 0xffff_fff8, 'index-out-of-range'],
    ['rule 3: write_index not a multiple of 8', new Uint8Array(0), 12, 'index-unaligned'],
    ['fewer bytes published than a descriptor and trailer', desc(6, 2, 2), 16, 'truncated-descriptor'],
    ['rule 11: offset8 < 2', desc(6, 1, 2), 24, 'offset8-too-small'],
    ['rule 11: offset8 0', desc(6, 0, 0), 24, 'offset8-too-small'],
    ['rule 11: len8 < offset8', desc(6, 3, 2), 24, 'len8-below-offset8'],
    ['rule 11: len8·8 + trailer > available', desc(6, 2, 3), 24, 'packet-exceeds-available'],
    ['rule 11: len8 0xFFFF on a 4 KiB ring', desc(6, 2, 0xffff), 24, 'packet-exceeds-available'],
    ['rule 11: flags other than bit 0', desc(6, 2, 2, 2), 24, 'reserved-flags'],
    ['rule 11: flags 0xFFFF', desc(6, 2, 2, 0xffff), 24, 'reserved-flags'],
    ['rule 11: unknown type (VM_PKT_SYNCH)', desc(VmPacketType.SYNCH, 2, 2), 24, 'unknown-type'],
    ['rule 11: unknown type 0x1234', desc(0x1234, 2, 2), 24, 'unknown-type'],
    ['rule 11: unknown type VM_PKT_INVALID (0)', desc(0, 2, 2), 24, 'unknown-type'],
    ['rule 11: type 7 without its extra header', desc(7, 2, 3), 32, 'missing-extra-header'],
    ['rule 11: type 9 without its extra header', desc(9, 2, 3), 32, 'missing-extra-header'],
    ['rule 11: type 9 with range_count 0', desc(9, 3, 3, 0, '00 00 00 00 00 00 00 00'), 32, 'no-gpa-ranges'],
  ])('%s', (_name, bytes, writeIndex, kind) => {
    const memory = craft(bytes, writeIndex);
    const reader = new RingReader(memory);
    const r = reader.read();
    expect(r.ok).toBe(false);
    if (r.ok || r.reason !== 'corrupt') throw new Error('expected corrupt');
    expect(r.error.kind).toBe(kind);
    expect(r.error.message).toMatch(/^corrupt VMBus ring/);
    // Sticky: the ring stays corrupt, and commit neither publishes nor signals.
    expect(reader.read()).toBe(r);
    expect(reader.commit()).toBe(false);
    expect(Atomics.load(memory.control, RingControlWord.READ_INDEX)).toBe(0);
  });

  it('accepts the well-formed neighbours of those cases', () => {
    expect(readKind(craft(desc(6, 2, 2), 24))).toBe('packet');
    expect(readKind(craft(desc(6, 2, 2, 1), 24))).toBe('packet');
    expect(readKind(craft(desc(0xb, 2, 2), 24))).toBe('packet');
    expect(readKind(craft(desc(7, 3, 3, 0, '01 00 00 00 00 00 00 00'), 32))).toBe('packet');
    expect(readKind(craft(desc(9, 3, 3, 0, '00 00 00 00 01 00 00 00'), 32))).toBe('packet');
    expect(readKind(craft(desc(6, 2, 2), 0))).toBe('empty');
  });

  it('reads the type-9 range_count across the end of the ring', () => {
    // Descriptor at 4080 (16 bytes to the end), extra header wraps to offset 0.
    const memory = RingMemory.allocate(4096);
    initRingControl(memory);
    memory.copyIn(4080, desc(9, 3, 3, 0, '00 00 00 00 00 00 00 00'));
    poke(memory, RingControlWord.WRITE_INDEX, 16);
    poke(memory, RingControlWord.READ_INDEX, 4080);
    expect(readKind(memory)).toBe('no-gpa-ranges');
    memory.copyIn(4, hex('02 00 00 00'));
    expect(readKind(memory)).toBe('packet');
  });

  it('rule 3 on the read index: a reader that starts from a bad read_index is corrupt', () => {
    const memory = craft(desc(6, 2, 2), 24);
    poke(memory, RingControlWord.READ_INDEX, 4);
    expect(readKind(memory)).toBe('index-unaligned');
  });

  it('rule 3 on the peer read index: the writer returns corrupt and writes nothing', () => {
    const memory = RingMemory.allocate(4096);
    initRingControl(memory);
    poke(memory, RingControlWord.READ_INDEX, 4100);
    const writer = new RingWriter(memory);
    const r = writer.tryWrite(new Uint8Array(8), { type: 6 });
    expect(r).toMatchObject({ ok: false, reason: 'corrupt', error: { kind: 'index-out-of-range' } });
    expect(writer.reserve(8, { type: 6 })).toMatchObject({ reason: 'corrupt' });
    expect(Atomics.load(memory.control, RingControlWord.WRITE_INDEX)).toBe(0);
  });

  it('a writer that starts from a bad write_index is corrupt', () => {
    const memory = RingMemory.allocate(4096);
    poke(memory, RingControlWord.WRITE_INDEX, 9);
    expect(new RingWriter(memory).tryWrite(new Uint8Array(1), { type: 6 })).toMatchObject({
      error: { kind: 'index-unaligned' },
    });
  });

  it('commit does not signal when write_index turned corrupt meanwhile; the next read reports it', () => {
    const memory = craft(desc(6, 2, 2), 24);
    poke(memory, RingControlWord.PENDING_SEND_SIZE, 8);
    const reader = new RingReader(memory);
    expect(reader.read().ok).toBe(true);
    poke(memory, RingControlWord.WRITE_INDEX, 5);
    expect(reader.commit()).toBe(false);
    expect(reader.endRead()).toBe(true);
    expect(reader.bytesAvailable).toBe(0);
    expect(reader.read()).toMatchObject({ reason: 'corrupt', error: { kind: 'index-unaligned' } });
  });
});

describe('validatePacket (rule 11) on its own', () => {
  const ok = { type: 6, offset8: 2, len8: 2, flags: 0, rangeCount: 0 };
  it.each<[Partial<typeof ok>, number, RingCorruptKind | null]>([
    [{}, 24, null],
    [{}, 23, 'packet-exceeds-available'],
    [{ offset8: 1 }, 24, 'offset8-too-small'],
    [{ len8: 1 }, 24, 'len8-below-offset8'],
    [{ flags: 0x8000 }, 24, 'reserved-flags'],
    [{ type: 8 }, 24, 'unknown-type'],
    [{ type: 7, offset8: 3, len8: 3 }, 32, null],
    [{ type: 9, offset8: 3, len8: 3, rangeCount: 1 }, 32, null],
    [{ type: 9, offset8: 3, len8: 3, rangeCount: 0 }, 32, 'no-gpa-ranges'],
  ])('%o with %i bytes available → %s', (fields, available, kind) => {
    expect(validatePacket({ ...ok, ...fields }, available)?.kind ?? null).toBe(kind);
  });
});
