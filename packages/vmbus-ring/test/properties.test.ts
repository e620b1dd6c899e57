import { fc, test } from '@fast-check/vitest';
import { GuestMemory } from '@pvlab/hypercall';
import { describe, expect } from 'vitest';
import {
  initRingControl,
  RING_CONTROL_PAGE_SIZE,
  RingControlWord,
  RingCorruptError,
  RingMemory,
  RingReader,
  RingWriter,
  vmPacketFootprint,
} from '../src/index.ts';
import { VMPACKET_TRAILER_SIZE } from '../src/wire/packet.ts';

const GUARD = 0xa5;
const DATA_PAGES = 2;
const SIZE = DATA_PAGES * 4096;

/** A u32 the peer might write: mostly near the ring's range, sometimes anything. */
const peerIndex = fc.oneof(
  fc.integer({ min: 0, max: SIZE / 8 - 1 }).map((i) => i * 8),
  fc.integer({ min: 0, max: SIZE + 64 }),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);

/**
 * A ring in the middle of a larger SharedArrayBuffer with guard pages on both sides, data and
 * indices random: the peer wrote whatever it liked.
 */
function randomRing(data: Uint8Array, writeIndex: number, readIndex: number, pendingSendSize: number) {
  const sab = new SharedArrayBuffer(4096 + RING_CONTROL_PAGE_SIZE + SIZE + 4096);
  const all = new Uint8Array(sab);
  all.fill(GUARD);
  const memory = RingMemory.fromSharedArrayBuffer(sab, 4096, RING_CONTROL_PAGE_SIZE + SIZE);
  new Uint8Array(sab, 4096, RING_CONTROL_PAGE_SIZE).fill(0);
  initRingControl(memory);
  memory.copyIn(0, data);
  Atomics.store(memory.control, RingControlWord.WRITE_INDEX, writeIndex);
  Atomics.store(memory.control, RingControlWord.READ_INDEX, readIndex);
  Atomics.store(memory.control, RingControlWord.PENDING_SEND_SIZE, pendingSendSize);
  const guardsIntact = () =>
    all.subarray(0, 4096).every((b) => b === GUARD) &&
    all.subarray(4096 + RING_CONTROL_PAGE_SIZE + SIZE).every((b) => b === GUARD);
  return { sab, memory, guardsIntact, dataStart: 4096 + RING_CONTROL_PAGE_SIZE };
}

/** Random ring bytes that often look like packets: descriptors with small fields. */
const ringBytes = fc
  .array(
    fc.record({
      type: fc.oneof(fc.constantFrom(6, 7, 9, 0xb), fc.integer({ min: 0, max: 0xffff })),
      offset8: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffff })),
      len8: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff })),
      flags: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 0xffff })),
      rest: fc.uint8Array({ minLength: 0, maxLength: 64 }),
    }),
    { maxLength: 40 },
  )
  .map((descs) => {
    const out = new Uint8Array(SIZE);
    const v = new DataView(out.buffer);
    let at = 0;
    for (const d of descs) {
      if (at + 16 + d.rest.length > SIZE) break;
      v.setUint16(at, d.type, true);
      v.setUint16(at + 2, d.offset8, true);
      v.setUint16(at + 4, d.len8, true);
      v.setUint16(at + 6, d.flags, true);
      out.set(d.rest, at + 16);
      at += (16 + d.rest.length + 7) & ~7;
    }
    return out;
  });

describe('random ring contents (the peer is untrusted)', () => {
  test.prop([ringBytes, peerIndex, peerIndex, fc.integer({ min: 0, max: 0xffff_ffff })], { numRuns: 300 })(
    'the reader returns packets, empty or RingCorruptError, stays in bounds and terminates',
    (data, w, r, pending) => {
      const { sab, memory, guardsIntact, dataStart } = randomRing(data, w, r, pending);
      const reader = new RingReader(memory);
      let steps = 0;
      let consumed = 0;
      for (;;) {
        // Each packet takes ≥ 24 bytes, so a ring of SIZE bytes has at most SIZE / 24 of them.
        expect(++steps).toBeLessThanOrEqual(SIZE / 24 + 2);
        const res = reader.read();
        if (!res.ok) {
          if (res.reason === 'corrupt') {
            expect(res.error).toBeInstanceOf(RingCorruptError);
            expect(reader.read()).toBe(res);
          }
          break;
        }
        expect(res.bytes.length).toBe(res.len8 * 8);
        expect(res.offset8).toBeGreaterThanOrEqual(2);
        expect(res.len8).toBeGreaterThanOrEqual(res.offset8);
        if (!res.copied) {
          expect(res.bytes.buffer).toBe(sab);
          expect(res.bytes.byteOffset).toBeGreaterThanOrEqual(dataStart);
          expect(res.bytes.byteOffset + res.bytes.length).toBeLessThanOrEqual(dataStart + SIZE);
        }
        consumed += vmPacketFootprint(res.len8);
        expect(consumed).toBeLessThan(SIZE);
        if (steps % 3 === 0) expect(typeof reader.commit()).toBe('boolean');
      }
      expect(typeof reader.commit()).toBe('boolean');
      expect(typeof reader.endRead()).toBe('boolean');
      expect(guardsIntact()).toBe(true);
    },
  );

  test.prop([peerIndex, peerIndex, fc.integer({ min: 0, max: SIZE }), fc.boolean()], { numRuns: 300 })(
    'the writer returns ok, full or RingCorruptError and never writes outside the data area',
    (w, r, payload, twoPhase) => {
      const { memory, guardsIntact } = randomRing(new Uint8Array(0), w, r, 0);
      const writer = new RingWriter(memory);
      const bytes = new Uint8Array(Math.min(payload, writer.maxPayload)).fill(7);
      for (let i = 0; i < 4; i++) {
        if (twoPhase) {
          const res = writer.reserve(bytes.length, { type: 6 });
          if (res.ok) {
            res.write(bytes);
            expect(typeof res.commit()).toBe('boolean');
          } else expect(['full', 'corrupt']).toContain(res.reason);
        } else {
          const res = writer.tryWrite(bytes, { type: 6 });
          if (!res.ok) expect(['full', 'corrupt']).toContain(res.reason);
        }
      }
      const wi = Atomics.load(memory.control, RingControlWord.WRITE_INDEX);
      expect(wi % 8 === 0 && wi < SIZE ? true : wi === w).toBe(true);
      expect(guardsIntact()).toBe(true);
    },
  );
});

type Op =
  | { kind: 'write'; payload: number; parts: number; tid: bigint; flags: number; type: number }
  | { kind: 'read'; count: number; commit: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    payload: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 3000 })),
    parts: fc.integer({ min: 1, max: 3 }),
    tid: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    flags: fc.constantFrom(0, 1),
    type: fc.constantFrom(6, 0xb),
  }),
  fc.record({
    kind: fc.constant('read' as const),
    count: fc.integer({ min: 1, max: 4 }),
    commit: fc.boolean(),
  }),
);

/** Ring memories to run the model on: a SharedArrayBuffer, and GPADL pages in shuffled order. */
function memories(seed: number): { name: string; memory: RingMemory }[] {
  const guest = new GuestMemory(16 * 4096);
  const pages = [3n, 9n, 4n, 5n, 12n];
  if (seed % 2 === 1) pages.reverse();
  return [
    { name: 'sab', memory: RingMemory.allocate(4 * 4096) },
    { name: 'gpadl', memory: RingMemory.fromGuestPages(guest, [1n, ...pages.slice(0, 4)]) },
  ];
}

describe('the ring against a model queue', () => {
  test.prop([fc.array(op, { maxLength: 120 }), fc.nat()], { numRuns: 150 })(
    'every write that the model says fits is read back in order, byte for byte; the rest are full',
    (ops, seed) => {
      for (const { memory } of memories(seed)) {
        initRingControl(memory);
        const size = memory.dataSize;
        const writer = new RingWriter(memory);
        const reader = new RingReader(memory);
        const queue: { payload: Uint8Array; tid: bigint; flags: number; type: number; footprint: number }[] =
          [];
        let used = 0; // bytes not yet released by a commit
        let readNotCommitted: typeof queue = [];
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            const payload = Uint8Array.from({ length: o.payload }, (_, i) => (n * 31 + i) & 0xff);
            n++;
            const footprint = vmPacketFootprint((16 + o.payload + 7) >>> 3);
            const step = Math.ceil(o.payload / o.parts) || 1;
            const parts: Uint8Array[] = [];
            for (let at = 0; at < o.payload; at += step) parts.push(payload.subarray(at, at + step));
            const res = writer.tryWrite(parts, { type: o.type, flags: o.flags, transactionId: o.tid });
            const fits = size - used > footprint;
            expect(res.ok).toBe(fits);
            if (res.ok) {
              // Rule 4 (interrupts unmasked): signal iff the ring was empty. Reads are committed
              // or reverted within one op, so the reader's published index is the model's.
              expect(res.signal).toBe(queue.length === 0);
              queue.push({ payload, tid: o.tid, flags: o.flags, type: o.type, footprint });
              used += footprint;
            } else expect(res).toEqual({ ok: false, reason: 'full', needed: footprint });
          } else {
            for (let i = 0; i < o.count; i++) {
              const res = reader.read();
              const want = queue.shift();
              if (want === undefined) {
                expect(res).toEqual({ ok: false, reason: 'empty' });
                break;
              }
              if (!res.ok) throw new Error(`expected a packet, got ${res.reason}`);
              expect(res.type).toBe(want.type);
              expect(res.flags).toBe(want.flags);
              expect(res.transactionId).toBe(want.tid);
              expect(res.payload.subarray(0, want.payload.length)).toEqual(want.payload);
              expect(res.payload.subarray(want.payload.length).every((b) => b === 0)).toBe(true);
              readNotCommitted.push(want);
            }
            if (o.commit) {
              reader.commit();
              for (const p of readNotCommitted) used -= p.footprint;
              readNotCommitted = [];
            } else {
              reader.revert();
              queue.unshift(...readNotCommitted);
              readNotCommitted = [];
            }
          }
        }
        expect(used % 8).toBe(0);
        expect(used).toBeLessThanOrEqual(size - VMPACKET_TRAILER_SIZE);
      }
    },
  );
});
