/**
 * What the cross-version tests look for in a run: the uses of a feature a host can turn off, and
 * the checks a snapshot's manifest names for its restored run.
 */
import { expect } from 'vitest';
import { byVersion } from '../src/layout.mjs';
import type { HostInfo, RunJson, TraceEvent } from './harness.ts';

/**
 * Features the guest-emulator uses on a default host and a host can turn off (`--feature
 * NAME=off`). Its uses: the hypercalls whose gate (`pvlab-host info`) names the feature, and
 * the MSRs in `msrs` (inclusive ranges).
 */
export const FEATURES: readonly {
  name: string;
  msrs: readonly (readonly [number, number])[];
  /** The first guest-emulator release that leaves the feature alone when it is off (a bug before). */
  guestsFrom?: string;
}[] = [
  { name: 'RemoteTlbFlushRecommended', msrs: [] },
  { name: 'ClusterIpiRecommended', msrs: [] },
  // The SynIC MSRs, SCONTROL (0x40000080) to SINT15 (0x4000009F): TLFS "Synthetic Interrupt Controller".
  { name: 'AccessSynicRegs', msrs: [[0x4000_0080, 0x4000_009f]] },
  // guest-emulator 0.1.0 read its VTL (a VSM register) with AccessVsm off and failed on ACCESS_DENIED.
  { name: 'AccessVsm', msrs: [], guestsFrom: '0.1.1' },
];

/** `true` when version `a` comes before `b`, in the order the fixtures are scanned in. */
export function versionBefore(a: string, b: string): boolean {
  return byVersion(a, b) < 0;
}

/** A host refuses a call it does not offer with one of these (TLFS): a guest must never get one. */
export const REFUSALS = ['HV_STATUS_INVALID_HYPERCALL_CODE', 'HV_STATUS_ACCESS_DENIED'];

/** Every use of `feature` in a run, one string each (`HvCallSendSyntheticClusterIpi ×8`, `WRMSR 0x40000083`). */
export function featureUses(
  feature: (typeof FEATURES)[number],
  info: HostInfo,
  run: RunJson,
  trace: readonly TraceEvent[],
): string[] {
  const gated = new Set(
    info.hypercalls.filter((h) => h.gate.split(' + ').includes(feature.name)).map((h) => h.code),
  );
  const calls = run.summary.calls.filter((c) => gated.has(c.code)).map((c) => `${c.call} ×${c.count}`);
  const msrs = trace
    .filter((e) => e.cat === 'msr' && e.args?.index !== undefined)
    .filter((e) =>
      feature.msrs.some(([lo, hi]) => Number(e.args!.index) >= lo && Number(e.args!.index) <= hi),
    )
    .map((e) => e.name);
  return [...calls, ...new Set(msrs)];
}

/** What a snapshot's manifest says of it. */
export interface SnapshotManifest {
  readonly snapshot: string;
  readonly writtenBy: Readonly<Record<string, string>>;
  readonly command: string;
  readonly restore: { readonly command: string; readonly checks: readonly string[]; readonly expect: string };
  readonly saved: { readonly vmbusEchoPackets?: number; readonly stolenTimeNs?: readonly (string | null)[] };
}

const callCount = (run: RunJson, name: string) => run.summary.calls.find((c) => c.call === name)?.count ?? 0;

/** The checks a manifest may name, each on the restored run's JSON. */
export const RESTORE_CHECKS: Readonly<Record<string, (run: RunJson, manifest: SnapshotManifest) => void>> = {
  passed: (run) => {
    expect(run.passed).toBe(true);
    expect(run.failures).toEqual([]);
    expect(run.restoredFrom).not.toBeNull();
  },
  // The connection and the channel came from the snapshot: no INITIATE_CONTACT, no OPENCHANNEL
  // (both are posted messages), and the echo device, restored with its counters, echoed more.
  'vmbus-resumed': (run, manifest) => {
    expect(run.log.map((l) => l.line)).toContainEqual(
      expect.stringMatching(
        /^vmbus: resumed the VMBus \d+\.\d+ connection, echo channel relid \d+ still open$/,
      ),
    );
    expect(callCount(run, 'HvCallPostMessage')).toBe(0);
    expect(callCount(run, 'HvCallSignalEvent')).toBeGreaterThan(0);
    expect(manifest.saved.vmbusEchoPackets).toBeGreaterThan(0);
    expect(run.vmbusEcho?.packets).toBeGreaterThan(manifest.saved.vmbusEchoPackets!);
  },
  // Each vCPU found its record where the saved run registered it (no new PV_TIME_ST), and the
  // host's accounting carried on from the saved value.
  'stolen-time-continued': (run, manifest) => {
    const saved = manifest.saved.stolenTimeNs ?? [];
    expect(saved).toHaveLength(run.vcpus);
    expect(callCount(run, 'PV_TIME_ST')).toBe(0);
    expect(
      run.log.filter((l) => /^CPU\d+: resumed, steal clock at IPA 0x[0-9a-f]+$/.test(l.line)),
    ).toHaveLength(run.vcpus);
    expect(run.stolenTimeNs).toHaveLength(run.vcpus);
    run.stolenTimeNs!.forEach((ns, i) => {
      expect(ns, `vCPU ${i}: no stolen-time record`).not.toBeNull();
      expect(BigInt(ns!) >= BigInt(saved[i]!), `vCPU ${i}: ${ns} ns < ${saved[i]} ns saved`).toBe(true);
    });
  },
};
