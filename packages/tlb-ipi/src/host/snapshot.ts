import {
  checkSnapshotVersion,
  readSnapshotBoolean,
  readSnapshotCount,
  readSnapshotObject,
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  showSnapshotText,
  showSnapshotValue,
  snapshotCount,
  snapshotCounts,
  snapshotU64,
} from '@pvlab/hypercall/host';
import { KVM_HV_TLB_FLUSH_FIFO_SIZE } from './kvm-flush-fifo.js';
import { TLB_IPI_PACKAGE, type TlbIpiCounters, type TlbIpiHostState } from './state.js';

const COUNTERS: readonly (keyof TlbIpiCounters)[] = [
  'flushes',
  'ipis',
  'interruptsDelivered',
  'targetFlushes',
];

/**
 * The tlb-ipi host state as snapshot part `tlb-ipi` (v1): `{ flushMode, counters, fifos }`, where
 * `fifos` maps a VP number to its KVM flush queue (`kvm-fifo` mode): queued raw range entries
 * (`"0x…"`, with `extended`), overflows and full flushes. Precise mode keeps no queues.
 */
export function tlbIpiSnapshotPart(state: TlbIpiHostState): SnapshotPart {
  const part = {
    name: TLB_IPI_PACKAGE,
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      const fifos: Record<string, SnapshotData> = {};
      for (const vp of state.fifoVps()) {
        const fifo = state.fifo(vp);
        fifos[String(vp)] = {
          queued: fifo.queued().map((q) => ({ entry: snapshotU64(q.entry), extended: q.extended })),
          overflows: snapshotCount(fifo.overflows),
          fullFlushes: snapshotCount(fifo.fullFlushes),
        };
      }
      return { flushMode: state.flushMode, counters: snapshotCounts(state.counters), fifos };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, 'tlb-ipi', ['flushMode', 'counters', 'fifos']);
      if (o.flushMode !== state.flushMode) {
        throw new SnapshotError(
          `tlb-ipi.flushMode = ${showSnapshotValue(o.flushMode)}: this VM flushes '${state.flushMode}' (the snapshot's options disagree with its state)`,
        );
      }
      const counters = readSnapshotObject(o.counters, 'tlb-ipi.counters', COUNTERS);
      const restoredCounters = Object.fromEntries(
        COUNTERS.map((k) => [k, readSnapshotCount(counters[k], `tlb-ipi.counters.${k}`)]),
      ) as unknown as TlbIpiCounters;
      const fifos = readSnapshotObject(o.fifos, 'tlb-ipi.fifos');
      const loads: [number, { entry: bigint; extended: boolean }[], number, number][] = [];
      for (const [key, raw] of Object.entries(fifos)) {
        const where = `tlb-ipi.fifos["${showSnapshotText(key)}"]`;
        const vp = Number(key);
        if (!/^(0|[1-9]\d*)$/.test(key) || vp >= state.targets.vcpus) {
          throw new SnapshotError(`${where}: not a VP of this VM (0..${state.targets.vcpus - 1})`);
        }
        if (state.flushMode !== 'kvm-fifo')
          throw new SnapshotError(`${where}: a '${state.flushMode}' VM keeps no flush queues`);
        const f = readSnapshotObject(raw, where, ['queued', 'overflows', 'fullFlushes']);
        if (!Array.isArray(f.queued) || f.queued.length > KVM_HV_TLB_FLUSH_FIFO_SIZE) {
          throw new SnapshotError(`${where}.queued: expected at most ${KVM_HV_TLB_FLUSH_FIFO_SIZE} entries`);
        }
        const queued = f.queued.map((q, i) => {
          const e = readSnapshotObject(q, `${where}.queued[${i}]`, ['entry', 'extended']);
          return {
            entry: readSnapshotU64(e.entry, `${where}.queued[${i}].entry`),
            extended: readSnapshotBoolean(e.extended, `${where}.queued[${i}].extended`),
          };
        });
        loads.push([
          vp,
          queued,
          readSnapshotCount(f.overflows, `${where}.overflows`),
          readSnapshotCount(f.fullFlushes, `${where}.fullFlushes`),
        ]);
      }
      Object.assign(state.counters, restoredCounters);
      for (const [vp, queued, overflows, fullFlushes] of loads) {
        const fifo = state.fifo(vp);
        fifo.load(queued);
        fifo.overflows = overflows;
        fifo.fullFlushes = fullFlushes;
      }
    },
  };
  return part;
}
