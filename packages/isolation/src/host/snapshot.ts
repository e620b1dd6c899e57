import {
  checkSnapshotVersion,
  readSnapshotCount,
  readSnapshotObject,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  showSnapshotValue,
  snapshotCounts,
} from '@pvlab/hypercall/host';
import { isHostVisibility } from '../wire/visibility.js';
import { ISOLATION_PACKAGE, type IsolationCounters, type IsolationHostState } from './state.js';

const COUNTERS: readonly (keyof IsolationCounters)[] = [
  'modifyCalls',
  'queryCalls',
  'pagesConverted',
  'hostAccessesRefused',
  'guestAliasFaults',
];

/** Runs of equal non-zero visibility: `[firstPfn, pages, visibility]`, ascending. */
function visibleRuns(state: IsolationHostState): [number, number, number][] {
  const runs: [number, number, number][] = [];
  const map = state.visibility;
  for (let p = 0; p < map.pages; ) {
    const v = map.get(p);
    let end = p + 1;
    while (end < map.pages && map.get(end) === v) end++;
    if (v !== 0) runs.push([p, end - p, v]);
    p = end;
  }
  return runs;
}

/**
 * The isolation host state as snapshot part `isolation` (v1): `{ sharedGpaBoundaryBits,
 * visible: [[firstPfn, pages, visibility], …], scrambler, counters }` — private pages are the
 * default and not listed, so a mostly private VM saves a short list. Restore checks everything
 * before changing anything.
 */
export function isolationSnapshotPart(state: IsolationHostState): SnapshotPart {
  const part = {
    name: ISOLATION_PACKAGE,
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      return {
        sharedGpaBoundaryBits: state.config.sharedGpaBoundaryBits,
        visible: visibleRuns(state),
        scrambler: state.scrambler.state,
        counters: snapshotCounts(state.counters),
      };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, 'isolation', [
        'sharedGpaBoundaryBits',
        'visible',
        'scrambler',
        'counters',
      ]);
      if (o.sharedGpaBoundaryBits !== state.config.sharedGpaBoundaryBits) {
        throw new SnapshotError(
          `isolation.sharedGpaBoundaryBits = ${showSnapshotValue(o.sharedGpaBoundaryBits)}: this VM has ${state.config.sharedGpaBoundaryBits} (the snapshot's options disagree with its state)`,
        );
      }
      const pages = state.visibility.pages;
      if (!Array.isArray(o.visible))
        throw new SnapshotError('isolation.visible: expected a list of [firstPfn, pages, visibility]');
      const runs = (o.visible as readonly SnapshotData[]).map((run, i) => {
        const r = run as readonly SnapshotData[];
        const [first, n, v] = Array.isArray(r) ? r : [];
        if (
          !Number.isSafeInteger(first) ||
          !Number.isSafeInteger(n) ||
          typeof v !== 'number' ||
          (first as number) < 0 ||
          (n as number) < 1 ||
          (first as number) + (n as number) > pages ||
          v === 0 ||
          !isHostVisibility(v)
        ) {
          throw new SnapshotError(
            `isolation.visible[${i}] = ${showSnapshotValue(run)}: expected [firstPfn, pages ≥ 1, 1 or 3] inside ${pages} pages`,
          );
        }
        return [first as number, n as number, v] as const;
      });
      if (
        !Number.isInteger(o.scrambler) ||
        (o.scrambler as number) < 0 ||
        (o.scrambler as number) > 0xffff_ffff
      ) {
        throw new SnapshotError(`isolation.scrambler = ${showSnapshotValue(o.scrambler)}: expected a u32`);
      }
      const counters = readSnapshotObject(o.counters, 'isolation.counters', COUNTERS);
      const restored = COUNTERS.map(
        (k) => [k, readSnapshotCount(counters[k], `isolation.counters.${k}`)] as const,
      );
      for (let p = 0; p < pages; p++) state.visibility.set(p, 0);
      for (const [first, n, v] of runs) for (let p = first; p < first + n; p++) state.visibility.set(p, v);
      state.scrambler.restoreState(o.scrambler as number);
      for (const [k, v] of restored) state.counters[k] = v;
    },
  };
  return part;
}
