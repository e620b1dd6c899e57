import { createVm, type Vm } from '@pvlab/host-emulator';
import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';
import { enableTestHypercalls } from '@pvlab/hypercall/testing';
import {
  FlushVirtualAddressSpaceExInput,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  readSparseVpSet,
  readVpSetHeader,
  SendSyntheticClusterIpiExInput,
  VpIndexSet,
  vpSetBytes,
  writeSparseVpSet,
} from '@pvlab/tlb-ipi';
import { tlbIpiHostState } from '@pvlab/tlb-ipi/host';
import { type BenchCase, type BenchRow, type BenchSuite, measure, ratio } from '../suite.js';

/** Each case's input has a page of its own from here, so no case rewrites another's input. */
const FIRST_INPUT_GPA = 0x1_0000n;
const ADDRESS_SPACE = 0x1_2000n;
const VECTOR = 0xfe;
const BIG_VM = 4096;
const SMALL_VM = 64;
/** Targets per call: 1 to 4096, ×4 each step. */
const TARGET_COUNTS = [1, 4, 16, 64, 256, 1024, 4096] as const;
/** VP-set sizes for encode/decode: VPs 0..n−1 (1, 16 and 64 banks). */
const SET_SIZES = [64, 1024, 4096] as const;
/** A successful flush or IPI: SUCCESS, no reps. */
const OK = 0n;

/** `count` VPs spread evenly over `vcpus` (every (vcpus/count)-th), so the set spans as many banks as it can. */
function spreadTargets(count: number, vcpus: number): VpIndexSet {
  const set = new VpIndexSet();
  const step = vcpus / count;
  for (let i = 0; i < count; i++) set.add(Math.floor(i * step));
  return set;
}

/** A memory-form call staged in guest memory: its control and input GPA. */
interface StagedCall {
  readonly control: bigint;
  readonly gpa: bigint;
}

/**
 * HvCallFlushVirtualAddressSpaceEx (AddressSpace, NON_GLOBAL_MAPPINGS_ONLY, sparse set) or
 * HvCallSendSyntheticClusterIpiEx (vector, sparse set), written at `gpa`.
 */
function stage(vm: Vm, kind: 'flush' | 'ipi', targets: VpIndexSet, gpa: bigint): StagedCall {
  const setAt =
    kind === 'flush'
      ? FlushVirtualAddressSpaceExInput.offsetOf('vpSet')
      : SendSyntheticClusterIpiExInput.offsetOf('vpSet');
  const view = new DataView(new ArrayBuffer(setAt + vpSetBytes(64)));
  if (kind === 'flush') {
    FlushVirtualAddressSpaceExInput.write(view, 0, {
      addressSpace: ADDRESS_SPACE,
      flags: HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
    });
  } else SendSyntheticClusterIpiExInput.write(view, 0, { vector: VECTOR });
  const banks = writeSparseVpSet(view, setAt, targets);
  vm.memory.write(gpa, new Uint8Array(view.buffer, 0, setAt + vpSetBytes(banks)));
  const callCode =
    kind === 'flush'
      ? HvCallCode.HvCallFlushVirtualAddressSpaceEx
      : HvCallCode.HvCallSendSyntheticClusterIpiEx;
  return { control: encodeHypercallControl({ callCode, variableHeaderSize: banks }), gpa };
}

/** Enough calls per sample that one sample covers ~4096 target deliveries (≥ tens of µs). */
const batchFor = (targets: number) => Math.max(4, Math.floor(4096 / targets));

/** The row of a call, restated per target: ops are target deliveries, ns/op is per target. */
function perTarget(row: BenchRow, targets: number): BenchRow {
  return {
    ...row,
    id: `${row.id}-per-target`,
    name: `  per target (÷ ${targets})`,
    opsPerSecMedian: row.opsPerSecMedian * targets,
    opsPerSecMean: row.opsPerSecMean * targets,
    nsPerOpMedian: row.nsPerOpMedian / targets,
    roundMedians: row.roundMedians.map((r) => r * targets),
    opsPerSecMin: row.opsPerSecMin * targets,
    opsPerSecMax: row.opsPerSecMax * targets,
  };
}

/**
 * Host cost of HvCallFlushVirtualAddressSpaceEx and HvCallSendSyntheticClusterIpiEx as the target
 * count grows from 1 to 4096 on a 4096-VP VM (direct harness), the same one-target calls on a
 * 64-VP VM, and HV_VP_SET encode/decode for 64, 1024 and 4096 VPs.
 */
export const tlbIpiHost: BenchSuite = {
  name: 'tlb-ipi-host',
  run(timing, progress) {
    const big = createVm({ vcpus: BIG_VM, memoryBytes: 16 << 20 });
    const small = createVm({ vcpus: SMALL_VM, memoryBytes: 16 << 20 });
    enableTestHypercalls(big.vp(0));
    enableTestHypercalls(small.vp(0));

    let page = 0n;
    const nextGpa = () => FIRST_INPUT_GPA + 0x1000n * page++;
    const callCase = (vm: Vm, id: string, name: string, call: StagedCall, batch: number): BenchCase => {
      const vp = vm.vp(0);
      if (vp.hypercall(call.control, call.gpa, 0n) !== OK)
        throw new Error(`tlb-ipi-host: ${id} did not succeed`);
      return {
        id,
        name,
        batch,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < batch; k++) if (vp.hypercall(call.control, call.gpa, 0n) !== OK) wrong++;
          return wrong;
        },
      };
    };

    const cases: BenchCase[] = [];
    for (const kind of ['flush', 'ipi'] as const) {
      const label = kind === 'flush' ? 'FlushVirtualAddressSpaceEx' : 'SendSyntheticClusterIpiEx';
      for (const n of TARGET_COUNTS) {
        const call = stage(big, kind, spreadTargets(n, BIG_VM), nextGpa());
        cases.push(callCase(big, `${kind}-${n}`, `${label}, ${n} of 4096 VPs`, call, batchFor(n)));
      }
      const one = stage(small, kind, VpIndexSet.of(SMALL_VM - 1), nextGpa());
      cases.push(callCase(small, `${kind}-1-vm64`, `${label}, 1 of 64 VPs`, one, batchFor(1)));
    }

    // The IPIs leave their vector pending (an IRR bit, set again by every call: the same work each
    // time). The VP-set codecs: the guest's encoder, the wire decoder, and the host's target collection.
    const setView = new DataView(new ArrayBuffer(vpSetBytes(64)));
    const into = new VpIndexSet();
    // The host's own target list (TargetList is internal): sized for the 4096-VP VM.
    const targets = tlbIpiHostState(big.partition).targets;
    for (const n of SET_SIZES) {
      const set = spreadTargets(n, n);
      const encodedView = new DataView(new ArrayBuffer(vpSetBytes(64)));
      const banks = writeSparseVpSet(encodedView, 0, set);
      const { validBanksMask } = readVpSetHeader(encodedView, 0);
      const batch = Math.max(16, Math.floor(65536 / n));
      cases.push(
        {
          id: `vpset-encode-${n}`,
          name: `HV_VP_SET encode (writeSparseVpSet), ${n} VPs`,
          batch,
          run: () => {
            let wrong = 0;
            for (let k = 0; k < batch; k++) if (writeSparseVpSet(setView, 0, set) !== banks) wrong++;
            return wrong;
          },
        },
        {
          id: `vpset-decode-${n}`,
          name: `HV_VP_SET decode (readSparseVpSet), ${n} VPs`,
          batch,
          run: () => {
            let wrong = 0;
            for (let k = 0; k < batch; k++) {
              const header = readVpSetHeader(encodedView, 0);
              if (readSparseVpSet(encodedView, 0, header.validBanksMask, into.clear()).highest() !== n - 1)
                wrong++;
            }
            return wrong;
          },
        },
        {
          id: `vpset-targets-${n}`,
          name: `HV_VP_SET to host target list (TargetList), ${n} VPs`,
          batch,
          run: () => {
            let wrong = 0;
            for (let k = 0; k < batch; k++) {
              targets.clear();
              targets.addSparseSet(encodedView, 0, validBanksMask);
              if (targets.length !== n) wrong++;
            }
            return wrong;
          },
        },
      );
    }

    progress(`tlb-ipi-host: ${cases.length} cases`);
    const measured = measure(cases, timing, progress);
    big.close();
    small.close();

    // Each call row is followed by its per-target restatement.
    const rows: BenchRow[] = [];
    for (const row of measured) {
      rows.push(row);
      const m = /^(flush|ipi)-(\d+)$/.exec(row.id);
      if (m && Number(m[2]) > 1) rows.push(perTarget(row, Number(m[2])));
    }
    const ratios = (['flush', 'ipi'] as const).flatMap((kind) => [
      ratio(
        rows,
        `${kind}-1-vm64`,
        `${kind}-1`,
        `${kind}: 1 target on a 64-VP VM ÷ 1 target on a 4096-VP VM (≈ 1: cost does not grow with the VM)`,
      ),
      ratio(rows, `${kind}-4096`, `${kind}-1`, `${kind}: 4096 targets ÷ 1 target (calls/s)`),
      ratio(
        rows,
        `${kind}-4096-per-target`,
        `${kind}-1024-per-target`,
        `${kind}: per-target rate at 4096 ÷ at 1024 targets (≈ 1: linear in the targets)`,
      ),
    ]);
    return {
      title: 'tlb-ipi host: flush and IPI cost vs target count (4096-VP VM), HV_VP_SET encode/decode',
      rows,
      ratios,
    };
  },
};
