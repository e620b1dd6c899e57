/**
 * GPADLs on the host (spec 04 GPADL_HEADER / GPADL_BODY / GPADL_TEARDOWN; Linux
 * `vmbus_establish_gpadl` as the peer): the range buffer assembled from the header and its
 * bodies, every range and PFN checked (RAM pages; in an isolation VM host-visible pages reached
 * through their aliases, spec 05 rule 15), then GPADL_CREATED with the outcome; teardown of a
 * GPADL whose rings are not open.
 */
import { GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import { VmbusPlace } from '../places.js';
import {
  ChannelMessageType,
  GpadlBody,
  GpadlCreated,
  GpadlHeader,
  GpadlTeardown,
  GpadlTorndown,
  GpaRangeHeader,
  VMBUS_STATUS_SUCCESS,
  VMBUS_STATUS_UNSUCCESSFUL,
} from '../wire/channel-messages.js';
import type { ServerCore } from './server-core.js';
import type { ServerGpadl } from './server-state.js';

function gpadlCreated(core: ServerCore, relid: number, gpadl: number, ok: boolean): void {
  core.send(
    GpadlCreated.encode({
      msgtype: ChannelMessageType.GPADL_CREATED,
      childRelid: relid,
      gpadl,
      creationStatus: ok ? VMBUS_STATUS_SUCCESS : VMBUS_STATUS_UNSUCCESSFUL,
    }),
  );
}

/** GPADL_HEADER: starts assembling a GPADL (refused with a failed GPADL_CREATED). */
export function gpadlHeader(core: ServerCore, vp: number, payload: Uint8Array): boolean {
  const m = core.decode(vp, GpadlHeader, payload);
  if (m === null) return false;
  const fail = (why: string) => {
    core.diagnose(vp, 'gpadl.refused', `GPADL_HEADER gpadl ${m.gpadl}: ${why}`);
    gpadlCreated(core, m.childRelid, m.gpadl, false);
    return false;
  };
  const ch = core.channels.get(m.childRelid);
  if (ch === undefined || ch.state === 'rescinded')
    return fail(`child_relid ${m.childRelid} is not an offered channel`);
  if (m.gpadl === 0) return fail('gpadl id 0 is reserved');
  if (core.gpadls.has(m.gpadl)) return fail('the gpadl id is in use');
  if (m.rangeCount === 0) return fail('rangecount 0');
  if (m.rangeBufLen % 8 !== 0 || m.rangeBufLen < m.rangeCount * (GpaRangeHeader.size + 8)) {
    return fail(`range_buflen ${m.rangeBufLen} cannot hold ${m.rangeCount} range(s)`);
  }
  const data = payload.subarray(
    GpadlHeader.size,
    GpadlHeader.size + Math.floor((payload.length - GpadlHeader.size) / 8) * 8,
  );
  if (data.length > m.rangeBufLen)
    return fail(`${data.length} bytes of ranges exceed range_buflen ${m.rangeBufLen}`);
  const g: ServerGpadl = {
    id: m.gpadl,
    relid: m.childRelid,
    rangeCount: m.rangeCount,
    buffer: new Uint8Array(m.rangeBufLen),
    received: data.length,
    ranges: null,
  };
  g.buffer.set(data);
  core.gpadls.set(g.id, g);
  if (g.received === g.buffer.length) finishGpadl(core, vp, g);
  return true;
}

/** GPADL_BODY: more of a GPADL's range buffer. */
export function gpadlBody(core: ServerCore, vp: number, payload: Uint8Array): void {
  const m = core.decode(vp, GpadlBody, payload);
  if (m === null) return;
  const g = core.gpadls.get(m.gpadl);
  if (g === undefined || g.ranges !== null) {
    core.diagnose(vp, 'gpadl.body-unknown', `GPADL_BODY for gpadl ${m.gpadl}, which is not being assembled`);
    return;
  }
  const n = Math.floor((payload.length - GpadlBody.size) / 8) * 8;
  if (g.received + n > g.buffer.length) {
    core.gpadls.delete(g.id);
    core.diagnose(vp, 'gpadl.refused', `GPADL_BODY overruns gpadl ${g.id}'s range_buflen ${g.buffer.length}`);
    gpadlCreated(core, g.relid, g.id, false);
    return;
  }
  g.buffer.set(payload.subarray(GpadlBody.size, GpadlBody.size + n), g.received);
  g.received += n;
  if (g.received === g.buffer.length) finishGpadl(core, vp, g);
}

/** The range buffer is complete: parse and check every range, then GPADL_CREATED. */
function finishGpadl(core: ServerCore, vp: number, g: ServerGpadl): void {
  const view = new DataView(g.buffer.buffer);
  const ranges: NonNullable<ServerGpadl['ranges']> = [];
  let at = 0;
  let why: string | null = null;
  let rule = 'gpadl.refused';
  for (let r = 0; r < g.rangeCount && why === null; r++) {
    if (at + GpaRangeHeader.size > g.buffer.length) {
      why = `range ${r} starts past range_buflen`;
      break;
    }
    const byteCount = view.getUint32(at, true);
    const byteOffset = view.getUint32(at + 4, true);
    at += GpaRangeHeader.size;
    const pages = Math.ceil(((byteOffset % HV_PAGE_SIZE) + byteCount) / HV_PAGE_SIZE);
    if (byteCount === 0 || byteOffset >= HV_PAGE_SIZE) {
      why = `range ${r}: byte_count ${byteCount}, byte_offset ${byteOffset}`;
      break;
    }
    if (at + 8 * pages > g.buffer.length) {
      why = `range ${r} needs ${pages} PFNs past range_buflen`;
      break;
    }
    const pfns: bigint[] = [];
    const isolated = core.access.isolation !== null;
    for (let i = 0; i < pages; i++, at += 8) {
      const pfn = view.getBigUint64(at, true);
      if (isolated) {
        // Spec 05 rule 15: plain PFNs; the host adds the boundary and needs every page host-visible.
        const gpa = core.access.gpadlPageGpa(pfn);
        const refused = core.access.refusal(gpa, HV_PAGE_SIZE, 'read', VmbusPlace.GPADL);
        if (refused !== null) {
          why = `PFN 0x${pfn.toString(16)} (ring buffer or other GPADL memory): ${refused.message}`;
          rule = 'spec05.gpadl-page';
          break;
        }
      } else if (!core.partition.memory.contains(GuestPage.address(pfn), HV_PAGE_SIZE)) {
        why = `PFN 0x${pfn.toString(16)} is outside RAM`;
        break;
      }
      pfns.push(pfn);
    }
    ranges.push({ byteCount, byteOffset, pfns });
  }
  if (why === null && at !== g.buffer.length)
    why = `range_buflen ${g.buffer.length} holds ${g.buffer.length - at} bytes past the last range`;
  if (why !== null) {
    core.gpadls.delete(g.id);
    if (rule === 'gpadl.refused') core.diagnose(vp, rule, `gpadl ${g.id}: ${why}`);
    else core.ignore(vp, rule, `gpadl ${g.id}: ${why}`);
    gpadlCreated(core, g.relid, g.id, false);
    return;
  }
  g.ranges = ranges;
  gpadlCreated(core, g.relid, g.id, true);
}

/** GPADL_TEARDOWN: answered with GPADL_TORNDOWN unless the GPADL is unknown or its rings are open. */
export function gpadlTeardown(core: ServerCore, vp: number, payload: Uint8Array): void {
  const m = core.decode(vp, GpadlTeardown, payload);
  if (m === null) return;
  const g = core.gpadls.get(m.gpadl);
  if (g === undefined || g.relid !== m.childRelid) {
    core.diagnose(
      vp,
      'teardown.unknown',
      `GPADL_TEARDOWN of gpadl ${m.gpadl} for relid ${m.childRelid}: no such GPADL`,
    );
    return;
  }
  const ch = core.channels.get(g.relid);
  if (ch?.open?.gpadl === g.id) {
    core.diagnose(
      vp,
      'teardown.in-use',
      `GPADL_TEARDOWN of gpadl ${g.id} while channel ${g.relid} has its rings open`,
    );
    return;
  }
  core.gpadls.delete(g.id);
  core.send(GpadlTorndown.encode({ msgtype: ChannelMessageType.GPADL_TORNDOWN, gpadl: g.id }));
}

/** GPADL ids created (complete) for `relid`. */
export function gpadlsOf(core: ServerCore, relid: number): number[] {
  return [...core.gpadls.values()].filter((g) => g.relid === relid && g.ranges !== null).map((g) => g.id);
}
