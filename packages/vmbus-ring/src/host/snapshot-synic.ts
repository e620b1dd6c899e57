/**
 * The SynIC's share of the `vmbus-ring` snapshot part: per VP SCONTROL, SIMP, SIEFP, the 16
 * SINTs and the host's queues of messages waiting for a SIMP slot (the slot itself, with its
 * MessagePending flag, is guest memory and travels in the `memory` part; EOM has no state of
 * its own: it only retries the queues).
 */
import { GuestPage } from '@pvlab/hypercall';
import {
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  showSnapshotText,
  snapshotCounts,
  snapshotU64,
} from '@pvlab/hypercall/host';
import {
  HV_MESSAGE_PAYLOAD_BYTES,
  HV_SYNIC_FIRST_VALID_VECTOR,
  HV_SYNIC_SINT_COUNT,
  HV_SYNIC_SINT_RESET_VALUE,
  SynicPageMsr,
  SynicSint,
} from '../wire/synic.js';
import {
  base64,
  FIELDS,
  type Fields,
  fieldError,
  numberedEntries,
  readBase64,
  readCount,
  readList,
  readObject,
  readU32,
} from './snapshot-fields.js';
import type { QueuedMessage, SynicHost } from './synic.js';

const COUNTERS = ['messagesDelivered', 'eventsSignalled', 'interruptsAsserted'] as const;

export function saveSynic(synic: SynicHost): SnapshotData {
  const vps: Record<string, SnapshotData> = {};
  synic.vps.forEach((s, vp) => {
    const queues: Record<string, SnapshotData> = {};
    s.queues.forEach((q, sint) => {
      if (q.length > 0)
        queues[String(sint)] = q.map((m) => ({
          messageType: m.messageType,
          sender: snapshotU64(m.sender),
          payload: base64(m.payload),
        }));
    });
    vps[String(vp)] = {
      scontrol: snapshotU64(s.scontrol),
      simp: snapshotU64(s.simp),
      siefp: snapshotU64(s.siefp),
      sints: Object.fromEntries(s.sints.map((v, sint) => [String(sint), snapshotU64(v)])),
      queues,
    };
  });
  return { counters: snapshotCounts(synic.counters), vps };
}

interface VpLoad {
  scontrol: bigint;
  simp: bigint;
  siefp: bigint;
  sints: bigint[];
  queues: QueuedMessage[][];
}

/** Checks the `synic` field against this VM; returns what applies it. */
export function prepareSynic(
  synic: SynicHost,
  data: SnapshotData | undefined,
  where: string,
  ramContains: (gpa: bigint) => boolean,
): () => void {
  const o = readObject(data, where, FIELDS.synic);
  const rawCounters = readObject(o.counters, `${where}.counters`, COUNTERS);
  const counters = COUNTERS.map((k) => [k, readCount(rawCounters[k], `${where}.counters.${k}`)] as const);
  const vps = new Map<number, VpLoad>();
  const vpsAt = `${where}.vps`;
  for (const [vp, raw] of numberedEntries(
    readObject(o.vps, vpsAt),
    vpsAt,
    synic.vps.length - 1,
    'a VP of this VM',
  ))
    vps.set(vp, readVp(raw, `${vpsAt}["${vp}"]`, ramContains));
  return () => {
    for (const [k, v] of counters) synic.counters[k] = v;
    synic.vps.forEach((s, vp) => {
      const d = vps.get(vp);
      // A VP the snapshot does not list starts as at power-on.
      s.scontrol = d?.scontrol ?? 0n;
      s.simp = d?.simp ?? 0n;
      s.siefp = d?.siefp ?? 0n;
      for (let sint = 0; sint < HV_SYNIC_SINT_COUNT; sint++) {
        s.sints[sint] = d?.sints[sint] ?? HV_SYNIC_SINT_RESET_VALUE;
        s.queues[sint]!.splice(0, s.queues[sint]!.length, ...(d?.queues[sint] ?? []));
      }
    });
  };
}

function readVp(raw: SnapshotData, where: string, ramContains: (gpa: bigint) => boolean): VpLoad {
  const o = readObject(raw, where, FIELDS.synicVp);
  const page = (field: 'simp' | 'siefp') => {
    const v = readSnapshotU64(o[field], `${where}.${field}`);
    const p = SynicPageMsr.decode(v);
    if (p.Enable === 1 && !ramContains(GuestPage.address(BigInt(p.Gpfn))))
      throw fieldError(`${where}.${field}`, o[field], 'a disabled page or an enabled one inside RAM');
    return v;
  };
  const sintsAt = `${where}.sints`;
  const rawSints = readObject(o.sints, sintsAt);
  const sints: bigint[] = [];
  for (let sint = 0; sint < HV_SYNIC_SINT_COUNT; sint++) {
    const at = `${sintsAt}["${sint}"]`;
    const v = readSnapshotU64(rawSints[String(sint)], at);
    const reg = SynicSint.decode(v);
    if (reg.Masked === 0 && reg.Vector < HV_SYNIC_FIRST_VALID_VECTOR)
      throw fieldError(at, rawSints[String(sint)], 'a masked SINT or a vector ≥ 16');
    sints.push(v);
  }
  for (const key of Object.keys(rawSints)) {
    if (!/^(0|[1-9]\d?)$/.test(key) || Number(key) >= HV_SYNIC_SINT_COUNT)
      throw new SnapshotError(`${sintsAt}["${showSnapshotText(key)}"]: not a SINT (0..15)`);
  }
  const queues: QueuedMessage[][] = Array.from({ length: HV_SYNIC_SINT_COUNT }, () => []);
  const queuesAt = `${where}.queues`;
  for (const [sint, list] of numberedEntries(
    readObject(o.queues, queuesAt),
    queuesAt,
    HV_SYNIC_SINT_COUNT - 1,
    'a SINT',
  )) {
    const at = `${queuesAt}["${sint}"]`;
    queues[sint] = readList(list, at).map((m, i) => {
      const f: Fields = readObject(m, `${at}[${i}]`, FIELDS.message);
      return {
        messageType: readU32(f.messageType, `${at}[${i}].messageType`),
        sender: readSnapshotU64(f.sender, `${at}[${i}].sender`),
        payload: readBase64(f.payload, `${at}[${i}].payload`, HV_MESSAGE_PAYLOAD_BYTES),
      };
    });
  }
  return {
    scontrol: readSnapshotU64(o.scontrol, `${where}.scontrol`),
    simp: page('simp'),
    siefp: page('siefp'),
    sints,
    queues,
  };
}
