/**
 * VM_PKT_DATA_USING_GPA_DIRECT in an isolation VM (spec 05 bounce buffers, spec 04 type 9): a
 * private buffer bounced through isolation's `BouncePool` (plain PFNs on the wire, the host adds
 * the boundary), and a private page refused visibly. (From `@pvlab/vmbus-ring`'s tests: composing
 * vmbus-ring with isolation is the app's business.)
 */
import { HostVisibility } from '@pvlab/isolation';
import { BouncePool } from '@pvlab/isolation/guest';
import {
  gpaRangePageCount,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmPacketType,
} from '@pvlab/vmbus-ring';
import { EchoDevice } from '@pvlab/vmbus-ring/host';
import { describe, expect, it } from 'vitest';
import { BOUNDARY, isolationVm, pattern, refusals, ringPfns } from './vmbus-isolation-fixtures.ts';

describe('GPA-direct in an isolation VM (spec 05 bounce buffers)', () => {
  const POOL_GPA = 0x20_0000n;
  const PRIVATE_GPA = 0x30_0000n;

  it('a private buffer bounced through the pool: the pool’s private PFNs on the wire, the host reads the alias', () => {
    const echo = new EchoDevice();
    const { partition, iso, hypercalls, events, client } = isolationVm([echo]);
    client.connect();
    client.requestOffers();
    const channel = client.openChannel(1, { pfns: ringPfns(10), outboundPages: 5 });
    const pool = new BouncePool(iso.guestMemory, BOUNDARY, { baseGpa: POOL_GPA, bytes: 8 * 4096 });
    expect(pool.init(hypercalls).ok).toBe(true);

    const data = pattern(10_000, 3);
    iso.guestMemory.write(PRIVATE_GPA, data);
    // Take a slot first so that the mapping starts mid-page.
    pool.map(PRIVATE_GPA, 1, 'to-device');
    const m = pool.map(PRIVATE_GPA, data.length, 'to-device');
    pool.syncForDevice(m);
    expect(m.poolGpa % 4096n).toBe(2048n);
    const first = m.poolGpa >> 12n;
    const offset = Number(m.poolGpa & 0xfffn);
    const pages = gpaRangePageCount(offset, data.length);
    const range = {
      pfns: Array.from({ length: pages }, (_, i) => first + BigInt(i)),
      offset,
      length: data.length,
    };
    // Plain PFNs: below the boundary.
    for (const pfn of range.pfns) expect(pfn << 12n).toBeLessThan(BOUNDARY);

    const r = channel.sendGpaDirect([range], {
      flags: VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
      transactionId: 42n,
    });
    expect(r.ok).toBe(true);
    const [answer] = channel.receivePackets();
    expect(answer?.type).toBe(VmPacketType.COMP);
    expect(answer?.transactionId).toBe(42n);
    expect(answer?.payload.subarray(0, data.length)).toEqual(data);
    expect(echo.corrupt).toBeNull();
    expect(partition.diagnostics()).toEqual([]);
    expect(refusals(events)).toEqual([]);
  });

  it('a range naming a private page is refused visibly: diagnostic, isolation event, device stopped', () => {
    const echo = new EchoDevice();
    const { partition, iso, events, client } = isolationVm([echo]);
    client.connect();
    client.requestOffers();
    const channel = client.openChannel(1, { pfns: ringPfns(6), outboundPages: 3 });
    iso.guestMemory.write(PRIVATE_GPA, pattern(64));
    expect(iso.visibility.get(Number(PRIVATE_GPA >> 12n)) ?? HostVisibility.NOT_VISIBLE).toBe(
      HostVisibility.NOT_VISIBLE,
    );
    channel.sendGpaDirect([{ pfns: [PRIVATE_GPA >> 12n], offset: 0, length: 64 }], { transactionId: 9n });
    expect(channel.receivePackets()).toEqual([]);
    const alias = `0x${(PRIVATE_GPA | BOUNDARY).toString(16)}`;
    expect(echo.corrupt?.kind).toBe('access-refused');
    expect(echo.corrupt?.message).toMatch(
      new RegExp(
        `^corrupt VMBus ring \\(access-refused\\): GPA-direct range 0: VMBus GPA-direct range: host read of GPA ${alias} .*is private`,
      ),
    );
    const diags = partition.diagnostics();
    expect(diags.map((d) => d.rule)).toEqual(['spec05.gpa-direct-page']);
    expect(diags[0]!.message).toContain(`channel 1: VMBus GPA-direct range: host read of GPA ${alias}`);
    expect(refusals(events).map((e) => [e.details.place, e.details.reason])).toEqual([
      ['VMBus GPA-direct range', 'not-visible'],
    ]);
    // Stopped: a later packet is not answered and nothing more is diagnosed.
    channel.sendPacket(Uint8Array.of(1), { type: VmPacketType.DATA_INBAND, transactionId: 10n });
    channel.signalHost();
    expect(channel.receivePackets()).toEqual([]);
    expect(partition.diagnostics()).toHaveLength(1);
  });
});
