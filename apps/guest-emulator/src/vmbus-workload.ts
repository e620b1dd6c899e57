import type { GuestHypercalls, GuestProgramCpu } from '@pvlab/hypercall/guest';
import { type BounceMapping, BouncePool, guestMemorySharing, PoolExhausted } from '@pvlab/isolation/guest';
import {
  ECHO_DEVICE_INTERFACE_TYPE,
  gpaRangePageCount,
  guidString,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VmPacketType,
} from '@pvlab/vmbus-ring';
import { type GuestChannel, GuestSynic, VmbusClient } from '@pvlab/vmbus-ring/guest';
import { VMBUS_BOUNCE_POOL_PAGES, VMBUS_RING_PAGES, VMBUS_VECTOR } from './layout.js';
import { readVmbusState, writeVmbusState } from './vmbus-state.js';

/** What the VMBus workload did (CPU 0). */
export interface VmbusWorkloadReport {
  /** The negotiated VMBus version (major << 16 | minor), or null when the workload did not run. */
  readonly version: number | null;
  readonly relid: number | null;
  readonly packets: number;
  readonly bytes: number;
  /** Sends that found the guest→host ring full (the guest then drained answers and retried). */
  readonly fullRing: number;
  /** Answers received in order before the host misbehaved (all of them when it did not). */
  readonly answers: number;
  /** With an untrusted host: what gave the host away, when something did. */
  readonly hostileDetected: string | null;
  /** Isolation VMs: packets sent as GPA-direct data from the bounce pool. */
  readonly bounced: number;
}

/** The host broke the protocol: an untrusted guest abandons the channel instead of failing. */
class HostMisbehaved extends Error {
  override readonly name = 'HostMisbehaved';
}

/** Tries to send into a full guest→host ring before the host counts as stuck. */
const MAX_FULL_RETRIES = 5000;

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
 * rings — in an isolation VM both made host-visible and used through the shared alias), and send `count` in-band packets of 1 B – 3 KiB, half of them asking for completions;
 * each answer must come back in order with the same transaction id and bytes — a lost, reordered
 * or corrupted packet fails the run. The channel stays open afterwards (CLOSECHANNEL and the
 * GPADL's teardown only for a channel abandoned to an untrusted host that misbehaved). A guest
 * restored from a snapshot (`cpu.restored`) resumes the connection and the channel it recorded in
 * memory (`vmbus-state.ts`) instead of contacting the host again.
 */
export function runVmbusWorkload(
  cpu: GuestProgramCpu,
  hc: GuestHypercalls,
  pagesGpa: bigint,
  count: number,
  untrusted = false,
): VmbusWorkloadReport {
  // A trusted host that breaks the protocol is a bug: fail. An untrusted one (spec 05 rule 10) is
  // expected to: stop using the channel, say what gave it away, and carry on.
  const misbehaved = (why: string): never => {
    if (untrusted) throw new HostMisbehaved(why);
    cpu.fail(why);
  };
  const pfn = (i: number) => (pagesGpa >> 12n) + BigInt(i);
  // A restored guest finds its driver's state in memory: the SynIC is programmed (its MSRs are
  // in the snapshot), the host still has the connection and maybe the channel.
  const saved = cpu.restored ? readVmbusState(cpu.memory) : null;
  const synic = new GuestSynic(cpu, cpu.memory, { simpPfn: pfn(0), siefpPfn: pfn(1), vector: VMBUS_VECTOR });
  if (saved === null) {
    for (let i = 0; i < 4; i++) cpu.memory.fill(pfn(i) << 12n, 4096, 0);
    synic.enable();
  }
  // In an isolation VM the driver shares its monitor pages and rings as isolation's guest helpers
  // do (this app composes the two packages); the bounce pool below uses the same boundary view.
  const isolation = cpu.isolation;
  const sharing = isolation ? guestMemorySharing(isolation.boundary, isolation.memory) : undefined;
  const client = new VmbusClient({
    cpu,
    memory: cpu.memory,
    hypercalls: hc,
    synic,
    monitorPages: [pfn(2) << 12n, pfn(3) << 12n],
    ...(sharing ? { isolation: { sharing } } : {}),
  });
  const rings = {
    pfns: Array.from({ length: 2 * VMBUS_RING_PAGES }, (_, i) => pfn(4 + i)),
    outboundPages: VMBUS_RING_PAGES,
  };
  const record = (open: GuestChannel | null) => writeVmbusState(cpu.memory, client.connectionState!, open);
  const openEcho = () => {
    const offers = client.requestOffers();
    const echo = offers.find((o) => guidString(o.interfaceType) === ECHO_DEVICE_INTERFACE_TYPE);
    if (echo === undefined) cpu.fail(`vmbus: no echo device among ${offers.length} offers`);
    const opened = client.openChannel(echo.relid, rings);
    record(opened);
    return opened;
  };
  let version: number;
  let channel: GuestChannel;
  if (saved === null) {
    version = client.connect();
    record(null);
    channel = openEcho();
  } else {
    // No second INITIATE_CONTACT (the host refuses one while connected); the open channel's
    // state is all in its rings.
    client.resume(saved.connection);
    version = saved.connection.version;
    channel =
      saved.channel === null
        ? openEcho()
        : client.reattachChannel(saved.channel.offer, saved.channel.gpadl, rings);
    cpu.log(
      `vmbus: resumed the VMBus ${version >>> 16}.${version & 0xffff} connection${saved.channel === null ? '' : `, echo channel relid ${channel.relid} still open`}`,
    );
  }
  const echo = channel.offer;

  // In an isolation VM every fourth packet goes as GPA-direct data from the bounce pool, as
  // storvsc/netvsc DMA does (spec 05, place 4): the host reads it through the pool's alias.
  const poolBase = 4 + 2 * VMBUS_RING_PAGES;
  const staging = pfn(poolBase + VMBUS_BOUNCE_POOL_PAGES) << 12n;
  let pool: BouncePool | undefined;
  if (isolation) {
    pool = new BouncePool(isolation.memory, isolation.boundary, {
      baseGpa: pfn(poolBase) << 12n,
      bytes: VMBUS_BOUNCE_POOL_PAGES * 4096,
    });
    // Made host-visible once, when the driver first came up (a restored guest finds it so).
    const shared = saved === null ? pool.init(hc) : { ok: true as const };
    if (!shared.ok) cpu.fail(`vmbus: the bounce pool was not made host-visible: ${shared.statusName}`);
  }
  let bounced = 0;

  const next = sizes(0x5eed);
  const expected: { type: number; id: bigint; bytes: Uint8Array; mapping?: BounceMapping }[] = [];
  let head = 0;
  let bytes = 0;
  let fullRing = 0;
  const take = () => {
    for (const p of channel.receivePackets()) {
      const where = `vmbus: answer ${head}`;
      const e = expected[head];
      if (e === undefined) {
        return misbehaved(
          `${where}: an answer nothing asked for (trans_id 0x${p.transactionId.toString(16)})`,
        );
      }
      if (p.type !== e.type || p.transactionId !== e.id) {
        misbehaved(
          `${where}: expected type ${e.type} trans_id ${e.id}, got type ${p.type} trans_id ${p.transactionId} (lost or reordered)`,
        );
      }
      if (p.payload.length < e.bytes.length) {
        misbehaved(`${where}: ${p.payload.length} payload bytes, ${e.bytes.length} sent (truncated)`);
      }
      for (let i = 0; i < e.bytes.length; i++) {
        if (p.payload[i] !== e.bytes[i]) misbehaved(`${where}: payload byte ${i} differs (corrupted)`);
      }
      if (e.mapping) pool?.unmap(e.mapping);
      head++;
    }
    if (channel.corrupt) misbehaved(`vmbus: the host→guest ring is corrupt: ${channel.corrupt.message}`);
  };
  let hostileDetected: string | null = null;
  let waitedForRoom = 0;
  try {
    for (let sent = 0; sent < count; ) {
      const r = next();
      const payload = new Uint8Array(1 + (r % 3072));
      for (let i = 0; i < payload.length; i++) payload[i] = (sent * 31 + i) & 0xff;
      const completion = (r & 0x10000) !== 0;
      const id = BigInt(sent) + 0x1000n;
      const flags = completion ? VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED : 0;
      // GPA-direct through the bounce pool (isolation VMs, every fourth packet, while it has room).
      let mapping: BounceMapping | undefined;
      if (pool !== undefined && sent % 4 === 3 && payload.length <= 4096) {
        cpu.memory.write(staging, payload);
        try {
          mapping = pool.map(staging, payload.length, 'to-device');
        } catch (e) {
          if (!(e instanceof PoolExhausted)) throw e; // full of answers not yet back: go in-band
        }
      }
      let out: ReturnType<typeof channel.sendPacket>;
      if (mapping !== undefined) {
        pool?.syncForDevice(mapping);
        const offset = Number(mapping.poolGpa & 0xfffn);
        const first = mapping.poolGpa >> 12n;
        const pfns = Array.from(
          { length: gpaRangePageCount(offset, payload.length) },
          (_, i) => first + BigInt(i),
        );
        out = channel.sendGpaDirect([{ pfns, offset, length: payload.length }], { flags, transactionId: id });
        if (!out.ok) pool?.unmap(mapping);
      } else {
        out = channel.sendPacket(payload, { type: VmPacketType.DATA_INBAND, flags, transactionId: id });
      }
      if (!out.ok) {
        if (out.reason === 'corrupt')
          misbehaved(`vmbus: the guest→host ring is corrupt: ${out.error.message}`);
        // A host that never makes room (or lies about the read index) must not hang the guest.
        if (++waitedForRoom > MAX_FULL_RETRIES)
          misbehaved(`vmbus: the host made no room in ${MAX_FULL_RETRIES} tries`);
        fullRing++;
        // Drain answers: the echo device waits for room on the host→guest ring.
        take();
        cpu.pause();
        continue;
      }
      const padded = new Uint8Array((payload.length + 7) & ~7);
      padded.set(payload);
      expected.push({
        type: completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND,
        id,
        bytes: padded,
        ...(mapping ? { mapping } : {}),
      });
      if (mapping) bounced++;
      bytes += payload.length;
      sent++;
      waitedForRoom = 0;
      if (sent % 16 === 0) take();
    }
    for (let spins = 0; head < expected.length; spins++) {
      take();
      if (spins > 20_000) misbehaved(`vmbus: ${expected.length - head} answers never came`);
      if (head < expected.length) cpu.pause();
    }
  } catch (e) {
    if (!(e instanceof HostMisbehaved)) throw e;
    hostileDetected = e.message;
    cpu.log(`vmbus: the host misbehaved — ${e.message}; channel abandoned after ${head} good answers`);
  }
  // The driver stays bound with its channel open (a snapshot taken now holds it open); only a
  // channel abandoned to a misbehaving host is closed.
  if (hostileDetected !== null) {
    client.closeChannel(channel);
    record(null);
  } else {
    cpu.log(
      `vmbus: VMBus ${version >>> 16}.${version & 0xffff}, echo channel relid ${echo.relid}: ${count} packets (${bytes} bytes) echoed in order, ring full ${fullRing}×${pool ? `, ${bounced} as GPA-direct from the bounce pool` : ''}`,
    );
  }
  return {
    version,
    relid: echo.relid,
    packets: count,
    bytes,
    fullRing,
    answers: head,
    hostileDetected,
    bounced,
  };
}
