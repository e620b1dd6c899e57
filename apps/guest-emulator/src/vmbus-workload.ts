import type { GuestHypercalls, GuestProgramCpu } from '@pvlab/hypercall/guest';
import {
  ECHO_DEVICE_INTERFACE_TYPE,
  guidString,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmPacketType,
} from '@pvlab/vmbus-ring';
import { GuestSynic, VmbusClient } from '@pvlab/vmbus-ring/guest';
import { VMBUS_RING_PAGES, VMBUS_VECTOR } from './layout.js';

/** What the VMBus workload did (CPU 0). */
export interface VmbusWorkloadReport {
  /** The negotiated VMBus version (major << 16 | minor), or null when the workload did not run. */
  readonly version: number | null;
  readonly relid: number | null;
  readonly packets: number;
  readonly bytes: number;
  /** Sends that found the guest→host ring full (the guest then drained answers and retried). */
  readonly fullRing: number;
}

/** xorshift32: the workload's sizes and flags, the same on every run. */
function sizes(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * The VMBus workload on CPU 0, as Linux's vmbus driver and a channel driver do it: enable the
 * SynIC (SIMP, SIEFP, SINT2 on `VMBUS_VECTOR`), INITIATE_CONTACT (falling back through the
 * versions), REQUESTOFFERS, find the echo device, open a channel over one GPADL (two 5-page
 * rings), and send `count` in-band packets of 1 B – 3 KiB, half of them asking for completions;
 * each answer must come back in order with the same transaction id and bytes — a lost, reordered
 * or corrupted packet fails the run. Then CLOSECHANNEL and the GPADL's teardown.
 */
export function runVmbusWorkload(
  cpu: GuestProgramCpu,
  hc: GuestHypercalls,
  pagesGpa: bigint,
  count: number,
): VmbusWorkloadReport {
  const pfn = (i: number) => (pagesGpa >> 12n) + BigInt(i);
  for (let i = 0; i < 4; i++) cpu.memory.fill(pfn(i) << 12n, 4096, 0);
  const synic = new GuestSynic(cpu, cpu.memory, { simpPfn: pfn(0), siefpPfn: pfn(1), vector: VMBUS_VECTOR });
  synic.enable();
  const client = new VmbusClient({
    cpu,
    memory: cpu.memory,
    hypercalls: hc,
    synic,
    monitorPages: [pfn(2) << 12n, pfn(3) << 12n],
  });
  const version = client.connect();
  const offers = client.requestOffers();
  const echo = offers.find((o) => guidString(o.interfaceType) === ECHO_DEVICE_INTERFACE_TYPE);
  if (echo === undefined) cpu.fail(`vmbus: no echo device among ${offers.length} offers`);
  const rings = Array.from({ length: 2 * VMBUS_RING_PAGES }, (_, i) => pfn(4 + i));
  const channel = client.openChannel(echo.relid, { pfns: rings, outboundPages: VMBUS_RING_PAGES });

  const next = sizes(0x5eed);
  const expected: { type: number; id: bigint; bytes: Uint8Array }[] = [];
  let head = 0;
  let bytes = 0;
  let fullRing = 0;
  const take = () => {
    for (const p of channel.receivePackets()) {
      const e = expected[head];
      const where = `vmbus: answer ${head}`;
      if (e === undefined)
        cpu.fail(`${where}: an answer nothing asked for (trans_id 0x${p.transactionId.toString(16)})`);
      if (p.type !== e.type || p.transactionId !== e.id) {
        cpu.fail(
          `${where}: expected type ${e.type} trans_id ${e.id}, got type ${p.type} trans_id ${p.transactionId} (lost or reordered)`,
        );
      }
      for (let i = 0; i < e.bytes.length; i++) {
        if (p.payload[i] !== e.bytes[i]) cpu.fail(`${where}: payload byte ${i} differs (corrupted)`);
      }
      head++;
    }
    if (channel.corrupt) cpu.fail(`vmbus: the host→guest ring is corrupt: ${channel.corrupt.message}`);
  };
  for (let sent = 0; sent < count; ) {
    const r = next();
    const payload = new Uint8Array(1 + (r % 3072));
    for (let i = 0; i < payload.length; i++) payload[i] = (sent * 31 + i) & 0xff;
    const completion = (r & 0x10000) !== 0;
    const id = BigInt(sent) + 0x1000n;
    const out = channel.sendPacket(payload, {
      type: VmPacketType.DATA_INBAND,
      flags: completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0,
      transactionId: id,
    });
    if (!out.ok) {
      if (out.reason === 'corrupt') cpu.fail(`vmbus: the guest→host ring is corrupt: ${out.error.message}`);
      fullRing++;
      // Drain answers: the echo device waits for room on the host→guest ring.
      take();
      cpu.pause();
      continue;
    }
    const padded = new Uint8Array((payload.length + 7) & ~7);
    padded.set(payload);
    expected.push({ type: completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND, id, bytes: padded });
    bytes += payload.length;
    sent++;
    if (sent % 16 === 0) take();
  }
  for (let spins = 0; head < expected.length; spins++) {
    take();
    if (spins > 100_000) cpu.fail(`vmbus: ${expected.length - head} answers never came`);
    if (head < expected.length) cpu.pause();
  }
  client.closeChannel(channel);
  cpu.log(
    `vmbus: VMBus ${version >>> 16}.${version & 0xffff}, echo channel relid ${echo.relid}: ${count} packets (${bytes} bytes) echoed in order, ring full ${fullRing}×`,
  );
  return { version, relid: echo.relid, packets: count, bytes, fullRing };
}
