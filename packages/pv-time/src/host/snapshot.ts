import {
  checkSnapshotVersion,
  listSnapshotNames,
  readSnapshotBoolean,
  readSnapshotObject,
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  snapshotU64,
} from '@pvlab/hypercall/host';
import { isStolenTimeRecordAligned, StolenTimeRecord } from '../wire/stolen-time-record.js';
import { PV_TIME_IPA_UNSET, type PvTimeStateHolder, type PvTimeVcpuState } from './vcpu-state.js';

/** The snapshot part's name. */
export const PV_TIME_SNAPSHOT_PART = 'pv-time';
/** The format version this host writes. */
export const PV_TIME_SNAPSHOT_VERSION = 2;
/** Every format version this host reads: v1 lacks `visible` (restored as the host's own setting). */
export const PV_TIME_SNAPSHOT_VERSIONS: readonly number[] = [1, 2];
/**
 * The PV-time host state as snapshot part `pv-time` (v2):
 * `{ visible, vcpus: { "<i>": { ipa, runDelayNs, lastStealNs } } }`, 64-bit values as hex.
 * The records themselves are guest RAM and travel in the `memory` part.
 */
export function pvTimeSnapshotPart(host: PvTimeStateHolder): SnapshotPart {
  const part: SnapshotPart = {
    name: PV_TIME_SNAPSHOT_PART,
    version: PV_TIME_SNAPSHOT_VERSION,
    supportedVersions: PV_TIME_SNAPSHOT_VERSIONS,
    save(): SnapshotData {
      const vcpus: Record<string, SnapshotData> = {};
      for (let i = 0; i < host.vcpus; i++) {
        const s = host.vcpuState(i);
        vcpus[String(i)] = {
          ipa: snapshotU64(s.ipa),
          runDelayNs: snapshotU64(s.runDelayNs),
          lastStealNs: snapshotU64(s.lastStealNs),
        };
      }
      return { visible: !host.hidden, vcpus };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const where = PV_TIME_SNAPSHOT_PART;
      const o = readSnapshotObject(data, where, version >= 2 ? ['visible', 'vcpus'] : ['vcpus']);
      let hidden = host.hidden;
      if (version >= 2) hidden = !readSnapshotBoolean(o.visible, `${where}.visible`);
      const vcpus = readSnapshotObject(o.vcpus, `${where}.vcpus`);
      const expected = Array.from({ length: host.vcpus }, (_, i) => String(i));
      const keys = Object.keys(vcpus);
      const extra = keys.filter((k) => !expected.includes(k));
      const missing = expected.filter((k) => !Object.hasOwn(vcpus, k));
      if (extra.length > 0 || missing.length > 0) {
        const wrong =
          extra.length > 0
            ? `has key(s) ${listSnapshotNames(extra, 4)}`
            : `lacks key(s) ${listSnapshotNames(missing, 4)}`;
        throw new SnapshotError(
          `${where}.vcpus ${wrong}: this VM has ${host.vcpus} vCPUs (keys 0..${host.vcpus - 1})`,
        );
      }
      // Everything is validated before anything changes: a bad field leaves the host untouched.
      const states = expected.map((k) => readVcpu(host, vcpus[k], `${where}.vcpus["${k}"]`));
      host.replaceState(states, hidden);
    },
  };
  return part;
}

function readVcpu(host: PvTimeStateHolder, raw: SnapshotData | undefined, where: string): PvTimeVcpuState {
  const o = readSnapshotObject(raw, where, ['ipa', 'runDelayNs', 'lastStealNs']);
  const ipa = readSnapshotU64(o.ipa, `${where}.ipa`);
  const runDelayNs = readSnapshotU64(o.runDelayNs, `${where}.runDelayNs`);
  const lastStealNs = readSnapshotU64(o.lastStealNs, `${where}.lastStealNs`);
  if (ipa !== PV_TIME_IPA_UNSET) {
    if (!isStolenTimeRecordAligned(ipa) || !host.memory.contains(ipa, StolenTimeRecord.bytes)) {
      throw new SnapshotError(
        `${where}.ipa = ${snapshotU64(ipa)}: expected a 64-byte aligned record inside this VM's RAM (${host.memory.size} bytes) or ${snapshotU64(PV_TIME_IPA_UNSET)} (unset)`,
      );
    }
    if (!host.schedInfo) {
      // Rule 10: a host without PV time refuses the IPA, as KVM refuses the ioctl.
      throw new SnapshotError(
        `${where}.ipa is set, but this host does not account stolen time (schedInfo off)`,
      );
    }
  }
  if (lastStealNs > runDelayNs) {
    throw new SnapshotError(
      `${where}.lastStealNs = ${snapshotU64(lastStealNs)} is beyond runDelayNs = ${snapshotU64(runDelayNs)}: the baseline cannot be ahead of the accounted delay`,
    );
  }
  return { ipa, runDelayNs, lastStealNs };
}
