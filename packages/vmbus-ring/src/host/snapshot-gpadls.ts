/**
 * The GPADLs in the `vmbus-ring` snapshot part: a created one by its ranges (PFNs in hex), one
 * being assembled by the range bytes that arrived so far.
 */
import { GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import { readSnapshotU64, type SnapshotData, snapshotU64 } from '@pvlab/hypercall/host';
import type { ServerChannel, ServerGpadl } from './server-state.js';
import type { ServerContext } from './snapshot-context.js';
import {
  base64,
  FIELDS,
  fieldError,
  readBase64,
  readInt,
  readList,
  readObject,
  readU32,
} from './snapshot-fields.js';

/** A GPADL as saved. */
export function saveGpadl(g: ServerGpadl): SnapshotData {
  return {
    id: g.id,
    relid: g.relid,
    rangeCount: g.rangeCount,
    rangeBufLen: g.buffer.length,
    received: g.ranges === null ? base64(g.buffer.subarray(0, g.received)) : null,
    ranges:
      g.ranges === null
        ? null
        : g.ranges.map((r) => ({
            byteCount: r.byteCount,
            byteOffset: r.byteOffset,
            pfns: r.pfns.map(snapshotU64),
          })),
  };
}

/** A saved GPADL checked against this VM's RAM and the saved channels. */
export function readGpadl(
  ctx: ServerContext,
  raw: SnapshotData,
  where: string,
  channels: readonly ServerChannel[],
): ServerGpadl {
  const g = readObject(raw, where, FIELDS.gpadl);
  const id = readInt(g.id, `${where}.id`, 1, 0xffff_ffff);
  const relid = readU32(g.relid, `${where}.relid`);
  if (!channels.some((ch) => ch.relid === relid))
    throw fieldError(`${where}.relid`, relid, 'the relid of a saved channel');
  const rangeCount = readInt(g.rangeCount, `${where}.rangeCount`, 1, 0xffff);
  const rangeBufLen = readInt(g.rangeBufLen, `${where}.rangeBufLen`, 16 * rangeCount, 0xffff);
  if (rangeBufLen % 8 !== 0) throw fieldError(`${where}.rangeBufLen`, rangeBufLen, 'a multiple of 8');
  const buffer = new Uint8Array(rangeBufLen);
  if (g.ranges === null) {
    // Being assembled: the range bytes that arrived so far.
    const received = readBase64(g.received, `${where}.received`, rangeBufLen - 8);
    if (received.length % 8 !== 0) throw fieldError(`${where}.received`, g.received, 'a multiple of 8 bytes');
    buffer.set(received);
    return { id, relid, rangeCount, buffer, received: received.length, ranges: null };
  }
  if (g.received !== null) throw fieldError(`${where}.received`, g.received, 'null (the GPADL is created)');
  const rawRanges = readList(g.ranges, `${where}.ranges`);
  if (rawRanges.length !== rangeCount)
    throw fieldError(`${where}.ranges`, g.ranges, `${rangeCount} ranges (rangeCount)`);
  let bytes = 0;
  const ranges = rawRanges.map((rawRange, r) => {
    const w = `${where}.ranges[${r}]`;
    const range = readObject(rawRange, w, FIELDS.range);
    const byteCount = readInt(range.byteCount, `${w}.byteCount`, 1, 0xffff_ffff);
    const byteOffset = readInt(range.byteOffset, `${w}.byteOffset`, 0, HV_PAGE_SIZE - 1);
    const pages = Math.ceil((byteOffset + byteCount) / HV_PAGE_SIZE);
    const list = readList(range.pfns, `${w}.pfns`);
    if (list.length !== pages) throw fieldError(`${w}.pfns`, range.pfns, `${pages} PFNs for its byte range`);
    bytes += 8 + 8 * pages;
    if (bytes > rangeBufLen) throw fieldError(`${where}.rangeBufLen`, rangeBufLen, 'room for every range');
    const pfns = list.map((p, i) => {
      const pfn = readSnapshotU64(p, `${w}.pfns[${i}]`);
      if (pfn > 0xf_ffff_ffff_ffffn || !ctx.ramContains(GuestPage.address(pfn)))
        throw fieldError(`${w}.pfns[${i}]`, p, 'a PFN inside RAM');
      return pfn;
    });
    return { byteCount, byteOffset, pfns };
  });
  if (bytes !== rangeBufLen)
    throw fieldError(`${where}.rangeBufLen`, rangeBufLen, `${bytes} (what the ranges take)`);
  return { id, relid, rangeCount, buffer, received: rangeBufLen, ranges };
}
