import { fc, test } from '@fast-check/vitest';
import { GuestMemory } from '@pvlab/hypercall';
import type { GuestChannel } from '@pvlab/vmbus-ring/guest';
import { describe, expect, it } from 'vitest';
import { KERNEL_GLOBALS_GPA, VMBUS_STATE_GPA } from '../src/layout.ts';
import { readVmbusState, VMBUS_STATE_BYTES, writeVmbusState } from '../src/vmbus-state.ts';

const u32 = fc.nat({ max: 0xffff_ffff });
const guid = fc.uint8Array({ minLength: 16, maxLength: 16 });
const connection = fc.record({ version: u32, msgConnId: u32, nextGpadl: u32, nextOpenId: u32 });
const offer = fc.record({
  relid: u32,
  interfaceType: guid,
  interfaceInstance: guid,
  connectionId: u32,
  monitorId: fc.nat({ max: 255 }),
  monitorAllocated: fc.boolean(),
  dedicatedInterrupt: fc.boolean(),
});

/** Only what `writeVmbusState` reads of a channel. */
const channelOf = (o: GuestChannel['offer'], gpadl: number) =>
  ({ offer: o, gpadl }) as unknown as GuestChannel;

describe('the VMBus driver record in guest memory', () => {
  test.prop([connection, fc.option(fc.tuple(offer, u32), { nil: null })])(
    'reads back what was written, with or without an open channel',
    (conn, open) => {
      const memory = new GuestMemory(2 * 1024 * 1024);
      const channel = open === null ? null : channelOf(open[0], open[1]);
      writeVmbusState(memory, conn, channel);
      expect(readVmbusState(memory)).toEqual({
        connection: conn,
        channel: open === null ? null : { offer: open[0], gpadl: open[1] },
      });
    },
  );

  test.prop([connection, offer])('a record without its open channel says so when rewritten', (conn, o) => {
    const memory = new GuestMemory(2 * 1024 * 1024);
    writeVmbusState(memory, conn, channelOf(o, 7));
    writeVmbusState(memory, conn, null);
    expect(readVmbusState(memory)?.channel).toBeNull();
  });

  it('fresh RAM holds no record', () => {
    expect(readVmbusState(new GuestMemory(2 * 1024 * 1024))).toBeNull();
  });

  it('lies in the kernel-globals page, past the counters and the VTL flags', () => {
    expect(VMBUS_STATE_GPA - KERNEL_GLOBALS_GPA).toBe(0x200n);
    expect(Number(VMBUS_STATE_GPA & 0xfffn) + VMBUS_STATE_BYTES).toBeLessThanOrEqual(4096);
  });
});
