/**
 * VM_PKT_DATA_USING_GPA_DIRECT (spec 04 type 9; rule 11): the extra header and ranges on the wire,
 * the guest's `sendGpaDirect`, and the echo device answering with the bytes the ranges name in
 * an ordinary VM. In an isolation VM, through a bounce pool: the host-emulator's
 * `vmbus-isolation-gpa-direct.test.ts`, where vmbus-ring and isolation are composed.
 */
import { fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { GuestChannel, type GuestOffer } from '../src/guest/index.ts';
import { EchoDevice } from '../src/host/index.ts';
import {
  decodeGpaDirectRanges,
  encodeGpaDirectRanges,
  GPA_DIRECT_MAX_PAGES,
  type GpaDirectRange,
  gpaDirectOffset8,
  gpaRangePageCount,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmPacketType,
} from '../src/index.ts';
import { ChannelVm, guestDriver, RAM_BYTES, ringPfns } from './channel-fixtures.ts';
import { dataBytes, hex, pattern, ring, toHex } from './fixtures.ts';

/** Two ranges: 6 KiB from 0x800 of pages 0x100–0x101, and 16 bytes at 0xff0 of one high page. */
const TWO_RANGES: readonly GpaDirectRange[] = [
  { pfns: [0x100n, 0x101n], offset: 0x800, length: 0x1800 },
  { pfns: [0x1234_5678_9abcn], offset: 0xff0, length: 0x10 },
];
const TWO_RANGES_BYTES = hex(`
  00 00 00 00 02 00 00 00
  00 18 00 00 00 08 00 00  00 01 00 00 00 00 00 00  01 01 00 00 00 00 00 00
  10 00 00 00 f0 0f 00 00  bc 9a 78 56 34 12 00 00`);

/** An extra header from its words: u32 rsvd, u32 range_count, then u32/u64 values as given. */
function extra(words: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(words.reduce<number>((n, w) => n + (typeof w === 'bigint' ? 8 : 4), 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const w of words) {
    if (typeof w === 'bigint') {
      view.setBigUint64(at, w, true);
      at += 8;
    } else {
      view.setUint32(at, w, true);
      at += 4;
    }
  }
  return out;
}

describe('GPA-direct extra header and ranges (spec 04 type 9)', () => {
  it('encodes u32 rsvd, u32 range_count, then {u32 len, u32 offset, u64 pfn[]} per range', () => {
    expect(toHex(encodeGpaDirectRanges(TWO_RANGES))).toBe(toHex(TWO_RANGES_BYTES));
    expect(gpaDirectOffset8(TWO_RANGES)).toBe(8);
    const d = decodeGpaDirectRanges(TWO_RANGES_BYTES);
    expect(d).toEqual({ ok: true, ranges: TWO_RANGES, pages: 3 });
  });

  it.each([
    [0, 1, 1],
    [0, 4096, 1],
    [1, 4096, 2],
    [0xfff, 2, 2],
    [0x800, 0x1800, 2],
    [0, 4097, 2],
  ])('a range at offset %i of %i bytes needs %i page(s)', (offset, length, pages) => {
    expect(gpaRangePageCount(offset, length)).toBe(pages);
  });

  it('ignores bytes after the last range (the ranges are read from the front)', () => {
    const padded = new Uint8Array(TWO_RANGES_BYTES.length + 16);
    padded.set(TWO_RANGES_BYTES);
    const d = decodeGpaDirectRanges(padded);
    expect(d.ok && d.ranges).toEqual(TWO_RANGES);
  });

  it.each([
    ['fewer than 8 bytes of extra header', new Uint8Array(4), 'missing-extra-header'],
    ['range_count 0 (rule 11)', extra([0, 0, 16, 0, 1n]), 'no-gpa-ranges'],
    ['range_count that cannot fit', extra([0, 0xffff_ffff, 16, 0, 1n]), 'gpa-ranges-overrun'],
    ['a second range header past the end', extra([0, 2, 16, 0, 1n, 16, 0]), 'gpa-ranges-overrun'],
    ['a range whose PFNs run past the end', extra([0, 1, 8192, 0, 1n, 0]), 'gpa-ranges-overrun'],
    ['len 0', extra([0, 1, 0, 0, 1n]), 'gpa-range-invalid'],
    ['offset 4096', extra([0, 1, 1, 4096, 1n]), 'gpa-range-invalid'],
    ['len 0xffffffff (1 Mi pages)', extra([0, 1, 0xffff_ffff, 0, 1n]), 'gpa-too-many-pages'],
  ])('hostile values are a corrupt result, never a throw: %s', (_, bytes, kind) => {
    const d = decodeGpaDirectRanges(bytes);
    expect(d.ok === false && d.error.kind).toBe(kind);
    expect(d.ok === false && d.error.message).toMatch(
      /^corrupt VMBus ring \([a-z-]+\): VM_PKT_DATA_USING_GPA_DIRECT: /,
    );
  });

  it(`more than maxPages PFNs in all (default ${GPA_DIRECT_MAX_PAGES}) is gpa-too-many-pages`, () => {
    const ranges = [
      { pfns: [1n, 2n], offset: 0, length: 8192 },
      { pfns: [3n], offset: 0, length: 1 },
    ];
    const bytes = encodeGpaDirectRanges(ranges);
    expect(decodeGpaDirectRanges(bytes, { maxPages: 3 }).ok).toBe(true);
    const d = decodeGpaDirectRanges(bytes, { maxPages: 2 });
    expect(d.ok === false && d.error.detail).toBe(
      'VM_PKT_DATA_USING_GPA_DIRECT: range 1 brings the PFNs to 3, more than 2',
    );
  });

  it.each([
    [[], 'GPA-direct ranges: none given; use at least one range'],
    [
      [{ pfns: [1n], offset: 0, length: 0 }],
      'GPA-direct range 0: length 0 is not accepted: use 1..4294967295 bytes',
    ],
    [
      [{ pfns: [1n], offset: 4096, length: 1 }],
      'GPA-direct range 0: offset 4096 is not accepted: use 0..4095',
    ],
    [
      [{ pfns: [1n], offset: 4095, length: 2 }],
      'GPA-direct range 0: 1 PFN(s) given, 2 bytes at offset 4095 need 2',
    ],
    [[{ pfns: [-1n], offset: 0, length: 1 }], 'GPA-direct range 0: PFN -1 is not accepted: use a u64 bigint'],
  ] as const)('encoding refuses bad ranges with a one-line error (%#)', (ranges, message) => {
    expect(() => encodeGpaDirectRanges(ranges)).toThrow(message);
  });

  it('decoding random bytes never throws (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 64 }), (bytes, maxPages) => {
        const d = decodeGpaDirectRanges(bytes, { maxPages });
        if (d.ok) {
          expect(d.pages).toBeLessThanOrEqual(maxPages);
          expect(d.ranges.length).toBeGreaterThan(0);
          // What decodes encodes back to the same prefix.
          const again = encodeGpaDirectRanges(d.ranges);
          expect(bytes.subarray(8, again.length)).toEqual(again.subarray(8));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('GuestChannel.sendGpaDirect', () => {
  it('writes a type-9 packet: offset8 past the ranges, COMPLETION_REQUESTED, trans_id, in-band data last', () => {
    const { memory, writer, reader } = ring(1);
    const channel = new GuestChannel({
      offer: { relid: 1 } as GuestOffer,
      gpadl: 1,
      writer,
      reader,
      signalHost: () => 0,
    });
    const r = channel.sendGpaDirect(
      TWO_RANGES,
      { flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED, transactionId: 0x1122n },
      Uint8Array.of(0xaa, 0xbb),
    );
    expect(r.ok).toBe(true);
    // type 9, offset8 8, len8 9 (64 + 2 bytes → 72), flags 1, trans_id 0x1122; ranges; data; trailer.
    expect(toHex(dataBytes(memory, 0, 16))).toBe('09 00 08 00 09 00 01 00 22 11 00 00 00 00 00 00');
    expect(toHex(dataBytes(memory, 16, 48))).toBe(toHex(TWO_RANGES_BYTES));
    expect(toHex(dataBytes(memory, 64, 16))).toBe('aa bb 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    expect(() => channel.sendGpaDirect([])).toThrow('none given');
  });
});

/** An ordinary VM with an echo device, its guest driver connected, channel 1 open on `ringPages` ring pages. */
function echoChannel(ringPages: number, outboundPages: number) {
  const echo = new EchoDevice();
  const vm = new ChannelVm({ devices: [echo] });
  const { client } = guestDriver(vm);
  client.connect();
  client.requestOffers();
  const channel = client.openChannel(1, { pfns: ringPfns(ringPages), outboundPages });
  return { echo, vm, channel };
}

describe('the echo device answers GPA-direct packets with the bytes they name', () => {
  it('an ordinary VM: ranges over several pages, in-band and with completions, in order', () => {
    const { echo, vm, channel } = echoChannel(12, 6);
    // Guest buffers in pages 0x200.. (away from the rings at 0x100..).
    const bufferPfns = [0x200n, 0x201n, 0x202n, 0x203n, 0x207n];
    for (const [i, pfn] of bufferPfns.entries()) vm.memory.write(pfn << 12n, pattern(4096, 37 * i));
    const cases: { ranges: GpaDirectRange[]; completion: boolean }[] = [
      {
        ranges: [{ pfns: [0x200n, 0x201n, 0x202n], offset: 0x10, length: 3 * 4096 - 0x20 }],
        completion: true,
      },
      {
        ranges: [
          { pfns: [0x203n], offset: 0xffc, length: 4 },
          { pfns: [0x207n, 0x201n], offset: 0x800, length: 4096 },
        ],
        completion: false,
      },
    ];
    for (const [i, c] of cases.entries()) {
      const r = channel.sendGpaDirect(c.ranges, {
        flags: c.completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0,
        transactionId: BigInt(100 + i),
      });
      expect(r.ok).toBe(true);
      const [answer, more] = channel.receivePackets();
      expect(more).toBeUndefined();
      const expected = new Uint8Array(c.ranges.reduce((n, x) => n + x.length, 0));
      let at = 0;
      for (const range of c.ranges) {
        let left = range.length;
        let off = range.offset;
        for (const pfn of range.pfns) {
          const n = Math.min(4096 - off, left);
          expected.set(vm.memory.read((pfn << 12n) + BigInt(off), n), at);
          at += n;
          left -= n;
          off = 0;
        }
      }
      expect(answer?.type).toBe(c.completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND);
      expect(answer?.transactionId).toBe(BigInt(100 + i));
      expect(answer?.payload.subarray(0, expected.length)).toEqual(expected);
      expect(answer?.payload.length).toBe(Math.ceil(expected.length / 8) * 8);
    }
    expect(echo.counters.packets).toBe(2);
    expect(echo.counters.completions).toBe(1);
    expect(echo.corrupt).toBeNull();
    expect(vm.partition.diagnostics()).toEqual([]);
  });

  it('an ordinary VM: a PFN outside RAM stops the device (access-refused), diagnosed, nothing answered', () => {
    const { echo, vm, channel } = echoChannel(8, 4);
    channel.sendGpaDirect([{ pfns: [0x200n, 0xf_ffffn], offset: 0, length: 8192 }], { transactionId: 7n });
    expect(channel.receivePackets()).toEqual([]);
    expect(echo.corrupt?.kind).toBe('access-refused');
    expect(echo.corrupt?.detail).toBe(
      'GPA-direct range 0: VMBus GPA-direct range: GPA 0xfffff000 (+4096 bytes) is not RAM',
    );
    expect(vm.partition.diagnostics().map((d) => [d.rule, d.message])).toEqual([
      [
        'spec04.gpa-direct.not-ram',
        'channel 1: VMBus GPA-direct range: GPA 0xfffff000 (+4096 bytes) is not RAM',
      ],
    ]);
  });

  it('an answer larger than the host→guest ring carries is gpa-too-many-pages, not a throw', () => {
    const { echo, channel } = echoChannel(6, 4);
    // 3 pages inbound → 8 KiB of data area; 12 KiB named.
    channel.sendGpaDirect([{ pfns: [0x200n, 0x201n, 0x202n], offset: 0, length: 3 * 4096 }]);
    expect(echo.corrupt?.kind).toBe('gpa-too-many-pages');
    expect(echo.corrupt?.detail).toMatch(/12288 bytes in 1 range\(s\), more than the \d+ one answer carries/);
  });
});

describe('host properties (fast-check)', () => {
  it('random type-9 packets never throw in the host: answered exactly when well formed and readable', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          // Well-formed ranges over RAM, out of RAM, or anywhere.
          fc
            .array(
              fc.record({
                first: fc.oneof(
                  fc.bigInt({ min: 0x200n, max: 0x300n }),
                  fc.bigInt({ min: 0n, max: (1n << 64n) - 8n }),
                ),
                offset: fc.integer({ min: 0, max: 4095 }),
                length: fc.integer({ min: 1, max: 3 * 4096 }),
              }),
              { minLength: 1, maxLength: 3 },
            )
            .map((rs) =>
              encodeGpaDirectRanges(
                rs.map((r) => ({
                  offset: r.offset,
                  length: r.length,
                  pfns: Array.from(
                    { length: gpaRangePageCount(r.offset, r.length) },
                    (_, i) => r.first + BigInt(i),
                  ),
                })),
              ),
            ),
          // Anything at all, 8-byte multiples (the writer's offset8 needs them).
          fc.uint8Array({ minLength: 0, maxLength: 120 }).map((b) => b.subarray(0, b.length & ~7)),
        ),
        fc.boolean(),
        (extraHeader, completion) => {
          const { echo, vm, channel } = echoChannel(8, 4);
          const r = channel.sendPacket([extraHeader], {
            type: VmPacketType.DATA_USING_GPA_DIRECT,
            offset8: 2 + extraHeader.length / 8,
            flags: completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0,
            transactionId: 5n,
          });
          expect(r.ok).toBe(true);
          const answers = channel.receivePackets();
          const decoded = decodeGpaDirectRanges(extraHeader);
          const maxPayload = vm.host.server.channels.get(1)!.open!.host.writer.maxPayload;
          const ramPages = BigInt(RAM_BYTES / 4096);
          const answerable =
            decoded.ok &&
            decoded.ranges.reduce((n, x) => n + x.length, 0) <= maxPayload &&
            decoded.ranges.every((x) => x.pfns.every((pfn) => pfn < ramPages));
          expect(echo.corrupt === null).toBe(answerable);
          if (answerable) {
            expect(answers.map((a) => [a.type, a.transactionId])).toEqual([
              [completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND, 5n],
            ]);
          } else {
            expect(answers).toEqual([]);
            // Either the ring reader (rule 11) or the device caught it; a refusal was diagnosed.
            if (echo.corrupt?.kind === 'access-refused') expect(vm.partition.diagnostics()).toHaveLength(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
