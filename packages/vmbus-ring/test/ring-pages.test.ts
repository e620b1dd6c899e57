/**
 * `RingMemory.fromPages`: a ring over pages an accessor resolves (how the host reaches an
 * isolation VM's rings through their aliases), with a check before every ring operation.
 */
import { describe, expect, it } from 'vitest';
import {
  initRingControl,
  RingCorruptError,
  RingMemory,
  RingReader,
  RingWriter,
  VmPacketType,
} from '../src/index.ts';

describe('RingMemory.fromPages', () => {
  const buffer = new SharedArrayBuffer(8 * 4096);
  const pageAt = (gpa: bigint) => new Uint8Array(buffer, Number(gpa), 4096);

  it('coalesces pages adjacent in the buffer into runs and carries packets like a SharedArrayBuffer ring', () => {
    const memory = RingMemory.fromPages({ page: pageAt }, [0x0n, 0x1000n, 0x2000n, 0x5000n]);
    expect(memory.runCount).toBe(2);
    expect(memory.dataSize).toBe(3 * 4096);
    expect(memory.check).toBeNull();
    initRingControl(memory);
    const writer = new RingWriter(memory);
    const reader = new RingReader(memory);
    const payload = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
    expect(writer.tryWrite(payload, { type: VmPacketType.DATA_INBAND }).ok).toBe(true);
    const p = reader.read();
    expect(p.ok && p.payload.subarray(0, 6000)).toEqual(payload);
  });

  it('a check that refuses makes reader and writer corrupt (sticky); another error propagates', () => {
    let refuse = false;
    let calls = 0;
    const memory = RingMemory.fromPages(
      {
        page: pageAt,
        check: () => {
          calls++;
          if (refuse) throw new RingCorruptError('access-refused', 'page 0x1 is private');
        },
      },
      [0x6000n, 0x7000n],
    );
    initRingControl(memory);
    const writer = new RingWriter(memory);
    const reader = new RingReader(memory);
    expect(writer.tryWrite(Uint8Array.of(1), { type: VmPacketType.DATA_INBAND }).ok).toBe(true);
    expect(calls).toBeGreaterThan(0);
    refuse = true;
    const r = reader.read();
    expect(r.ok === false && r.reason === 'corrupt' && r.error.kind).toBe('access-refused');
    expect(reader.commit()).toBe(false);
    expect(reader.bytesAvailable).toBe(0);
    const w = writer.tryWrite(Uint8Array.of(2), { type: VmPacketType.DATA_INBAND });
    expect(w.ok === false && w.reason === 'corrupt' && w.error.message).toBe(
      'corrupt VMBus ring (access-refused): page 0x1 is private',
    );
    const faulty = RingMemory.fromPages(
      {
        page: pageAt,
        check: () => {
          throw new Error('guest fault');
        },
      },
      [0x6000n, 0x7000n],
    );
    expect(() => new RingReader(faulty).read()).toThrow('guest fault');
  });

  it('refuses accessor pages that are not 4096-byte views', () => {
    expect(() => RingMemory.fromPages({ page: () => new Uint8Array(100) }, [0n, 0x1000n])).toThrow(
      'ring page 0x0: the accessor gave 100 bytes at offset 0; use 4096-byte, 4-aligned views',
    );
    expect(() => RingMemory.fromPages({ page: pageAt }, [0n])).toThrow('got 1 page(s)');
  });
});
