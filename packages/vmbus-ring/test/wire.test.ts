import { describe, expect, it } from 'vitest';
import {
  advanceIndex,
  align8,
  bytesToRead,
  bytesToWrite,
  decodeRingControl,
  decodeVmPacketDescriptor,
  encodeRingControl,
  encodeVmPacketDescriptor,
  isValidRingIndex,
  RingControlWord,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VMPACKET_DESCRIPTOR_HEAD,
  VMPACKET_TRAILER,
  VmPacketType,
  vmPacketFootprint,
  vmPacketLen8,
  vmPacketTrailer,
  vmPacketTypeName,
  writeFits,
} from '../src/index.ts';
import {
  RING_FEATURE_BITS_OFFSET,
  RING_INTERRUPT_MASK_OFFSET,
  RING_PENDING_SEND_SIZE_OFFSET,
  RING_READ_INDEX_OFFSET,
  RING_WRITE_INDEX_OFFSET,
} from '../src/wire/control-page.ts';
import { VMPACKET_FLAGS_RESERVED } from '../src/wire/packet.ts';
import { hex, toHex } from './fixtures.ts';

describe('control page (struct hv_ring_buffer)', () => {
  it('puts the fields at the spec offsets: 0, 4, 8, 12 and 64', () => {
    expect([
      RING_WRITE_INDEX_OFFSET,
      RING_READ_INDEX_OFFSET,
      RING_INTERRUPT_MASK_OFFSET,
      RING_PENDING_SEND_SIZE_OFFSET,
      RING_FEATURE_BITS_OFFSET,
    ]).toEqual([0, 4, 8, 12, 64]);
    expect(RingControlWord).toEqual({
      WRITE_INDEX: 0,
      READ_INDEX: 1,
      INTERRUPT_MASK: 2,
      PENDING_SEND_SIZE: 3,
      FEATURE_BITS: 16,
    });
  });

  it('encodes to the byte vector, reserved bytes zero', () => {
    const page = encodeRingControl({
      writeIndex: 0x20,
      readIndex: 0x10,
      interruptMask: 1,
      pendingSendSize: 0x48,
      featureBits: 1,
    });
    expect(page.length).toBe(4096);
    expect(toHex(page.subarray(0, 16))).toBe('20 00 00 00 10 00 00 00 01 00 00 00 48 00 00 00');
    expect(page.subarray(16, 64).every((b) => b === 0)).toBe(true);
    expect(toHex(page.subarray(64, 68))).toBe('01 00 00 00');
    expect(page.subarray(68).every((b) => b === 0)).toBe(true);
    expect(decodeRingControl(page)).toEqual({
      writeIndex: 0x20,
      readIndex: 0x10,
      interruptMask: 1,
      pendingSendSize: 0x48,
      featureBits: 1,
    });
  });
});

describe('packet descriptor (struct vmpacket_descriptor)', () => {
  const vector = hex('06 00 02 00 03 00 01 00 ef cd ab 89 67 45 23 01');
  const fields = {
    type: VmPacketType.DATA_INBAND,
    offset8: 2,
    len8: 3,
    flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
    transactionId: 0x0123_4567_89ab_cdefn,
  };

  it('encodes type, offset8, len8, flags (u16 each) and trans_id (u64), little-endian', () => {
    const out = new Uint8Array(16);
    encodeVmPacketDescriptor(new DataView(out.buffer), 0, fields);
    expect(toHex(out)).toBe(toHex(vector));
  });

  it('decodes the same vector', () => {
    expect(decodeVmPacketDescriptor(new DataView(vector.buffer), 0)).toEqual(fields);
  });

  it('refuses a field that does not fit its u16', () => {
    expect(() =>
      encodeVmPacketDescriptor(new DataView(new ArrayBuffer(16)), 0, { ...fields, len8: 0x10000 }),
    ).toThrow(/len8 = 65536 does not fit in a u16/);
  });

  it('declares the first 8 bytes as a layout: flags bits other than bit 0 are reserved', () => {
    const head = new DataView(vector.buffer).getBigUint64(0, true);
    expect(VMPACKET_DESCRIPTOR_HEAD.decode(head)).toEqual({
      type: 6,
      offset8: 2,
      len8: 3,
      completionRequested: 1,
    });
    expect(VMPACKET_DESCRIPTOR_HEAD.reservedZeroBits(head)).toBe(0n);
    expect(VMPACKET_DESCRIPTOR_HEAD.reservedZeroBits(head | (1n << 49n))).toBe(1n << 49n);
    expect(VMPACKET_FLAGS_RESERVED).toBe(0xfffe);
  });

  it('names the packet types and keeps unknown ones as numbers', () => {
    expect(VmPacketType).toMatchObject({
      DATA_INBAND: 6,
      DATA_USING_XFER_PAGES: 7,
      DATA_USING_GPA_DIRECT: 9,
      COMP: 0xb,
    });
    expect(vmPacketTypeName(6)).toBe('VM_PKT_DATA_INBAND');
    expect(vmPacketTypeName(0x1234)).toBe('unknown packet type 0x1234');
  });
});

describe('trailer', () => {
  it('is the packet start offset << 32, low half zero', () => {
    expect(vmPacketTrailer(0)).toBe(0n);
    expect(vmPacketTrailer(0x20)).toBe(0x20n << 32n);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, vmPacketTrailer(0x1ff8), true);
    expect(toHex(bytes)).toBe('00 00 00 00 f8 1f 00 00');
    expect(VMPACKET_TRAILER.decode(0x1ff8n << 32n)).toEqual({ startOffset: 0x1ff8 });
  });
});

describe('sizes and arithmetic', () => {
  it.each([
    // [header, payload, len8, footprint]
    [16, 0, 2, 24],
    [16, 1, 3, 32],
    [16, 8, 3, 32],
    [16, 5, 3, 32],
    [16, 1500, 190, 1528],
    [24, 0, 3, 32],
  ])('a %i-byte header with %i payload bytes: len8 %i, %i bytes on the ring', (h, p, len8, footprint) => {
    expect(vmPacketLen8(h, p)).toBe(len8);
    expect(vmPacketFootprint(len8)).toBe(footprint);
  });

  it.each([
    // [w, r, size, toRead, toWrite]
    [0, 0, 4096, 0, 4096],
    [64, 0, 4096, 64, 4032],
    [0, 64, 4096, 4032, 64],
    [4088, 4088, 4096, 0, 4096],
    [8, 4088, 4096, 16, 4080],
  ])(
    'w %i r %i size %i: %i to read, %i to write (Linux hv_get_bytes_to_*)',
    (w, r, size, toRead, toWrite) => {
      expect(bytesToRead(w, r, size)).toBe(toRead);
      expect(bytesToWrite(w, r, size)).toBe(toWrite);
    },
  );

  it('"one slot always free": a write fits only if strictly less than the free space', () => {
    expect(writeFits(4088, 0, 0, 4096)).toBe(true);
    expect(writeFits(4096, 0, 0, 4096)).toBe(false);
    expect(writeFits(64, 0, 64, 4096)).toBe(false);
    expect(writeFits(56, 0, 64, 4096)).toBe(true);
  });

  it('advances modulo the size, and checks rule 3 on indices', () => {
    expect(advanceIndex(4080, 24, 4096)).toBe(8);
    expect(advanceIndex(0, 4096, 4096)).toBe(0);
    expect(align8(13)).toBe(16);
    expect(isValidRingIndex(4088, 4096)).toBe(true);
    expect(isValidRingIndex(4096, 4096)).toBe(false);
    expect(isValidRingIndex(4, 4096)).toBe(false);
  });
});
