/**
 * Opening and closing channels on the host (spec 04 OPENCHANNEL / CLOSECHANNEL; Linux
 * `vmbus_open`/`vmbus_close` as the peer): the ring GPADL split into the two rings, the rings
 * built over guest memory (through the shared aliases in an isolation VM), the channel's event
 * port, and the device's view of the open channel.
 */
import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import { refusedAccess } from '../ring/results.js';
import { RingMemory, splitChannelGpadl } from '../ring/ring-memory.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import {
  ChannelMessageType,
  ChannelRelidMessage,
  OpenChannel,
  OpenChannelResult,
  VMBUS_STATUS_SUCCESS,
  VMBUS_STATUS_UNSUCCESSFUL,
} from '../wire/channel-messages.js';
import { VMBUS_MESSAGE_SINT } from '../wire/versions.js';
import type { HostChannel } from './device.js';
import type { HostRefusal } from './host-access.js';
import type { ServerCore } from './server-core.js';
import type { ServerChannel } from './server-state.js';

/** What an open channel is built from: OPENCHANNEL's fields (or a snapshot's) and the two rings' ends. */
export interface ChannelOpening {
  openId: number;
  targetVp: number;
  userData: Uint8Array;
  reader: RingReader;
  writer: RingWriter;
}

/**
 * The device's view of an open channel over `rings` (OPENCHANNEL, or a restore): signals go to
 * SINT 2 of `targetVp` with the channel's relid as the event flag.
 */
export function hostChannel(core: ServerCore, ch: ServerChannel, open: ChannelOpening): HostChannel {
  return {
    relid: ch.relid,
    connectionId: ch.connectionId,
    targetVp: open.targetVp,
    openId: open.openId,
    userData: open.userData,
    reader: open.reader,
    writer: open.writer,
    signalGuest: () => {
      core.counters.signals++;
      core.synic.signalEvent(open.targetVp, VMBUS_MESSAGE_SINT, ch.relid);
    },
    readGuestRange: (range) => {
      const read = core.access.readRange(range);
      if (read instanceof Uint8Array) return read;
      const message = `channel ${ch.relid}: ${read.message}`;
      if (core.access.isolation === null) core.diagnose(open.targetVp, 'gpa-direct.not-ram', message);
      else core.ignore(open.targetVp, 'spec05.gpa-direct-page', message);
      return read;
    },
  };
}

/**
 * The two rings of an open channel over its GPADL pages: raw RAM in an ordinary VM; in an
 * isolation VM through the pages' shared aliases, checked before every ring operation (the
 * host writes the control pages and the host→guest data, reads the guest→host data). A
 * refusal ends the ring and is diagnosed once (`spec05.ring-page`) on `targetVp`.
 */
export function channelRings(
  core: ServerCore,
  relid: number,
  split: { readonly outbound: readonly bigint[]; readonly inbound: readonly bigint[] },
  targetVp: number,
): { outbound: RingMemory; inbound: RingMemory } {
  let reported = false;
  const report = (r: HostRefusal) => {
    if (reported) return;
    reported = true;
    // Not counted as ignored: the ring, not a message, was refused.
    core.partition.diagnose('spec05.ring-page', targetVp, `channel ${relid}: ${r.message}`);
  };
  const out = core.access.ringAccessor(split.outbound, 'read', report);
  const inb = core.access.ringAccessor(split.inbound, 'write', report);
  if (out === null || inb === null) {
    const mem = core.partition.memory;
    return {
      outbound: RingMemory.fromGuestPages(mem, split.outbound),
      inbound: RingMemory.fromGuestPages(mem, split.inbound),
    };
  }
  return {
    outbound: RingMemory.fromPages(out.accessor, out.gpas),
    inbound: RingMemory.fromPages(inb.accessor, inb.gpas),
  };
}

/** OPENCHANNEL: answered with OPENCHANNEL_RESULT (failure status on any refusal). */
export function openChannel(core: ServerCore, vp: number, payload: Uint8Array): boolean {
  const m = core.decode(vp, OpenChannel, payload);
  if (m === null) return false;
  const ch = core.channels.get(m.childRelid);
  if (ch === undefined || ch.state === 'rescinded') {
    core.diagnose(vp, 'open.relid', `OPENCHANNEL for child_relid ${m.childRelid}, not an offered channel`);
    return false;
  }
  const result = (ok: boolean, why?: string) => {
    if (!ok) core.diagnose(vp, 'open.refused', `OPENCHANNEL relid ${ch.relid}: ${why}`);
    core.send(
      OpenChannelResult.encode({
        msgtype: ChannelMessageType.OPENCHANNEL_RESULT,
        childRelid: ch.relid,
        openId: m.openId,
        status: ok ? VMBUS_STATUS_SUCCESS : VMBUS_STATUS_UNSUCCESSFUL,
      }),
    );
    return ok;
  };
  if (ch.state === 'open') return result(false, 'already open');
  const g = core.gpadls.get(m.ringBufferGpadl);
  if (g === undefined || g.ranges === null || g.relid !== ch.relid) {
    return result(
      false,
      `ringbuffer_gpadlhandle ${m.ringBufferGpadl} is not a GPADL created for this channel`,
    );
  }
  const range = g.ranges[0]!;
  if (
    g.ranges.length !== 1 ||
    range.byteOffset !== 0 ||
    range.byteCount !== range.pfns.length * HV_PAGE_SIZE
  ) {
    return result(false, 'the ring GPADL must be one range of whole pages');
  }
  if (m.targetVp >= core.partition.vps.length) return result(false, `target_vp ${m.targetVp}: no such VP`);
  const split = splitChannelGpadl(range.pfns, m.downstreamRingPageOffset);
  if (!split.ok) return result(false, split.reason);
  const { outbound, inbound } = channelRings(core, ch.relid, split, m.targetVp);
  // An isolation VM's pages may have gone private since GPADL_CREATED: refuse the open then.
  for (const ring of [outbound, inbound]) {
    const refused = ring.check === null ? null : refusedAccess(ring.check);
    if (refused !== null) return result(false, refused.detail);
  }
  const host = hostChannel(core, ch, {
    openId: m.openId,
    targetVp: m.targetVp,
    userData: m.userData,
    reader: new RingReader(outbound),
    writer: new RingWriter(inbound),
  });
  ch.state = 'open';
  ch.open = {
    openId: m.openId,
    gpadl: g.id,
    downstreamRingPageOffset: m.downstreamRingPageOffset,
    host,
  };
  core.ports.forgetEventConnection(ch.connectionId);
  core.ports.connectEventPort(ch.connectionId, () => core.signalDevice(ch));
  ch.device.open(host);
  return result(true);
}

/** Closes `ch` if open (CLOSECHANNEL, a rescind or UNLOAD): its event port is deleted, its device told. */
export function closeChannel(core: ServerCore, ch: ServerChannel): void {
  if (ch.open === null) return;
  const host = ch.open.host;
  ch.open = null;
  ch.state = 'offered';
  core.ports.deleteEventPort(ch.connectionId);
  ch.device.close(host);
}

/** CLOSECHANNEL (no answer). */
export function closeChannelMessage(core: ServerCore, vp: number, payload: Uint8Array): void {
  const m = core.decode(vp, ChannelRelidMessage, payload);
  if (m === null) return;
  const ch = core.channels.get(m.childRelid);
  if (ch === undefined || ch.state !== 'open') {
    core.diagnose(vp, 'close.relid', `CLOSECHANNEL for child_relid ${m.childRelid}, not an open channel`);
    return;
  }
  closeChannel(core, ch);
}
