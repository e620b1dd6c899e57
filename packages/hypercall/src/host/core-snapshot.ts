import type { GuestMemory } from '../memory.js';
import type { HvPartition } from './partition.js';
import {
  checkSnapshotVersion,
  readSnapshotBase64,
  readSnapshotBoolean,
  readSnapshotCount,
  readSnapshotInt,
  readSnapshotObject,
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  showSnapshotText,
  showSnapshotValue,
  snapshotCount,
  snapshotFieldError,
  snapshotU64,
} from './snapshot.js';
import type { VpSuspension } from './suspend.js';

const PAGE = 4096;
const VCPU_FIELDS = ['pendingVectors', 'tlb', 'longSpinWaits', 'lastSpinCount', 'suspension'];
/** A suspension's reason is a handler's short sentence. */
const REASON_MAX = 200;

/**
 * Guest RAM as a snapshot part `memory` (v1): `{ bytes, pages: { "<pfn hex>": base64 } }` with
 * only the pages that are not all zero, so a mostly empty 16 MiB guest saves in a few KiB.
 */
export function memorySnapshotPart(memory: GuestMemory): SnapshotPart {
  const part = {
    name: 'memory',
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      const pages: Record<string, string> = {};
      for (let off = 0; off < memory.size; off += PAGE) {
        const page = memory.bytes.subarray(off, Math.min(off + PAGE, memory.size));
        if (page.some((b) => b !== 0))
          pages[(off / PAGE).toString(16)] = Buffer.from(page).toString('base64');
      }
      return { bytes: memory.size, pages };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, 'memory', ['bytes', 'pages']);
      if (o.bytes !== memory.size) {
        throw new SnapshotError(
          `memory.bytes = ${showSnapshotValue(o.bytes)}: this VM has ${memory.size} bytes of RAM (the snapshot's options.memoryBytes)`,
        );
      }
      const pages = readSnapshotObject(o.pages, 'memory.pages');
      const decoded: [number, Uint8Array][] = [];
      for (const [pfn, b64] of Object.entries(pages)) {
        const off = Number.parseInt(pfn, 16) * PAGE;
        const where = `memory.pages["${showSnapshotText(pfn)}"]`;
        // One spelling per page (no leading zeros): two keys cannot name the same page.
        if (!/^(0|[1-9a-f][0-9a-f]{0,12})$/.test(pfn) || off >= memory.size) {
          throw new SnapshotError(
            `${where}: not a page number of this VM (0..${((memory.size - 1) / PAGE) | 0} in hex)`,
          );
        }
        const size = Math.min(PAGE, memory.size - off);
        const bytes = readSnapshotBase64(b64, where, size);
        if (bytes.length !== size)
          throw new SnapshotError(`${where}: ${bytes.length} bytes; a page holds ${size}`);
        decoded.push([off, bytes]);
      }
      // Validated first: a bad page leaves memory untouched.
      memory.bytes.fill(0);
      for (const [off, bytes] of decoded) memory.bytes.set(bytes, off);
    },
  };
  return part;
}

/** The core's partition-wide state as part `hypercall` (v1): the two partition-wide MSRs. */
export function partitionSnapshotPart(partition: HvPartition): SnapshotPart {
  const part = {
    name: 'hypercall',
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      return {
        guestOsId: snapshotU64(partition.guestOsId),
        hypercallMsr: snapshotU64(partition.hypercallMsr),
      };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, 'hypercall', ['guestOsId', 'hypercallMsr']);
      const guestOsId = readSnapshotU64(o.guestOsId, 'hypercall.guestOsId');
      const hypercallMsr = readSnapshotU64(o.hypercallMsr, 'hypercall.hypercallMsr');
      partition.guestOsId = guestOsId;
      partition.hypercallMsr = hypercallMsr;
    },
  };
  return part;
}

/**
 * One VP's core state as part `vcpu/<i>` (v1): pending interrupt vectors, the software TLB,
 * the long-spin-wait counters, and the suspension it is parked in (a flush waiting on a locked
 * VP; `null` when none — the guest re-executes the parked hypercall once resumed).
 */
export function vcpuSnapshotPart(partition: HvPartition, vp: number): SnapshotPart {
  const name = `vcpu/${vp}`;
  const part = {
    name,
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      const s = partition.vp(vp);
      return {
        pendingVectors: partition.interrupts.peek(vp),
        tlb: s.tlb.entries().map((e) => ({
          gva: snapshotU64(e.gva),
          gpa: snapshotU64(e.gpa),
          addressSpace: snapshotU64(e.addressSpace),
          global: e.global,
        })),
        longSpinWaits: snapshotCount(s.longSpinWaits),
        lastSpinCount: s.lastSpinCount,
        suspension:
          s.suspension === null ? null : { waitingOn: s.suspension.waitingOn, reason: s.suspension.reason },
      };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, name, VCPU_FIELDS);
      const vectors = o.pendingVectors;
      if (
        !Array.isArray(vectors) ||
        !vectors.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255)
      ) {
        throw new SnapshotError(`${name}.pendingVectors: expected an array of vectors 0..255`);
      }
      if (!Array.isArray(o.tlb)) throw new SnapshotError(`${name}.tlb: expected an array of entries`);
      const entries = o.tlb.map((raw, i) => {
        const at = `${name}.tlb[${i}]`;
        const e = readSnapshotObject(raw, at, ['gva', 'gpa', 'addressSpace', 'global']);
        return {
          gva: readSnapshotU64(e.gva, `${at}.gva`),
          gpa: readSnapshotU64(e.gpa, `${at}.gpa`),
          addressSpace: readSnapshotU64(e.addressSpace, `${at}.addressSpace`),
          global: readSnapshotBoolean(e.global, `${at}.global`),
        };
      });
      const longSpinWaits = readSnapshotCount(o.longSpinWaits, `${name}.longSpinWaits`);
      // SpinCount is the u32 the guest passes.
      const lastSpinCount = readSnapshotInt(o.lastSpinCount, `${name}.lastSpinCount`, 0, 0xffff_ffff);
      let suspension: VpSuspension | null = null;
      if (o.suspension !== null && o.suspension !== undefined) {
        const sus = readSnapshotObject(o.suspension, `${name}.suspension`, ['waitingOn', 'reason']);
        const waitingOn = sus.waitingOn;
        if (
          !Number.isInteger(waitingOn) ||
          (waitingOn as number) < 0 ||
          (waitingOn as number) >= partition.vps.length
        ) {
          throw new SnapshotError(
            `${name}.suspension.waitingOn = ${showSnapshotValue(waitingOn)}: not a VP of this VM`,
          );
        }
        if (typeof sus.reason !== 'string' || sus.reason.length > REASON_MAX)
          throw snapshotFieldError(
            `${name}.suspension.reason`,
            sus.reason,
            `text of at most ${REASON_MAX} characters`,
          );
        suspension = { waitingOn: waitingOn as number, reason: sus.reason };
      }
      const s = partition.vp(vp);
      partition.interrupts.take(vp);
      for (const v of vectors as number[]) partition.interrupts.raise(vp, v);
      s.tlb.flushAll();
      for (const e of entries) s.tlb.fill(e.gva, e.gpa, { addressSpace: e.addressSpace, global: e.global });
      s.longSpinWaits = longSpinWaits;
      s.lastSpinCount = lastSpinCount;
      s.suspension = suspension;
    },
  };
  return part;
}
