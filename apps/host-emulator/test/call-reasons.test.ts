import { HvCallCode, hvStatusName } from '@pvlab/hypercall';
import type { HypercallRecord } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { type CreateVmOptions, createVm, type Vm } from '../src/index.ts';

const SELF = 0xffff_ffff_ffff_ffffn;
const INPUT = 0x2000n;
const OUTPUT = 0x3000n;

/** A control value: call code, rep count, variable header size, fast bit. */
function control(code: number, c: { reps?: number; varHeader?: number; fast?: boolean } = {}): bigint {
  return (
    BigInt(code) |
    (c.fast ? 1n << 16n : 0n) |
    (BigInt(c.varHeader ?? 0) << 17n) |
    (BigInt(c.reps ?? 0) << 32n)
  );
}

/** Input fields: [offset, bytes (1, 4 or 8), value]. */
type Fields = readonly (readonly [number, 1 | 4 | 8, bigint | number])[];

interface Row {
  readonly what: string;
  readonly control: bigint;
  readonly input?: Fields;
  readonly inputGpa?: bigint;
  readonly vm?: CreateVmOptions;
  readonly status: string;
  readonly reason: RegExp;
  /** Runs first, on the same VP (e.g. a call whose repetition fails). */
  readonly before?: (vm: Vm) => void;
}

function write(vm: Vm, fields: Fields): void {
  vm.ram.fill(INPUT, 4096);
  for (const [at, bytes, value] of fields) {
    const gpa = INPUT + BigInt(at);
    if (bytes === 1) vm.ram.writeU8(gpa, Number(value));
    else if (bytes === 4) vm.ram.writeU32(gpa, Number(value));
    else vm.ram.writeU64(gpa, BigInt(value));
  }
}

/** Runs one call with details on; returns its observer record. */
function dispatch(row: Row): HypercallRecord {
  const vm = createVm({ vcpus: 2, ...row.vm });
  vm.vp(0).writeMsr(0x4000_0000n, 0x8100n << 48n);
  vm.vp(0).writeMsr(0x4000_0001n, 0x1000n | 1n);
  const dispatcher = vm.partition.dispatcher;
  dispatcher.recordDetails(true);
  const records: HypercallRecord[] = [];
  dispatcher.observe((r) => records.push(r));
  row.before?.(vm);
  write(vm, row.input ?? []);
  vm.vp(0).hypercall(row.control, row.inputGpa ?? INPUT, OUTPUT);
  vm.partition.diagnostics(true);
  return records.at(-1)!;
}

const ENABLE_VTL1: Fields = [
  [0, 8, SELF],
  [8, 1, 1],
];

const ROWS: readonly Row[] = [
  // The dispatcher's generic rules (spec 01).
  {
    what: 'rule 1: Nested bit',
    control: BigInt(HvCallCode.HvCallNotifyLongSpinWait) | (1n << 31n),
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /rule 1/,
  },
  {
    what: 'unknown call code',
    control: 0x7fffn,
    status: 'INVALID_HYPERCALL_CODE',
    reason: /no hypercall has this call code/,
  },
  {
    what: 'closed gate',
    control: control(HvCallCode.HvCallSendSyntheticClusterIpi),
    vm: { features: { ClusterIpiRecommended: false } },
    status: 'ACCESS_DENIED',
    reason: /^not exposed: ClusterIpiRecommended$/,
  },
  {
    what: 'rule 2: reps on a simple call',
    control: control(HvCallCode.HvCallNotifyLongSpinWait, { reps: 1 }),
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /simple call \(spec 01 rule 2\)/,
  },
  {
    what: 'rule 2: RepCount 0',
    control: control(HvCallCode.HvCallGetVpRegisters),
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /RepCount 0 .*rule 2/,
  },
  {
    what: 'rule 3: variable header',
    control: control(HvCallCode.HvCallNotifyLongSpinWait, { varHeader: 1 }),
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /VariableHeaderSize 1 .*rule 3/,
  },
  {
    what: 'rule 4: misaligned list',
    control: control(HvCallCode.HvCallNotifyLongSpinWait),
    inputGpa: INPUT + 4n,
    status: 'INVALID_ALIGNMENT',
    reason: /^input list GPA is not 8-byte aligned/,
  },
  {
    what: 'rule 4: list crosses a page',
    control: control(HvCallCode.HvCallSendSyntheticClusterIpi),
    inputGpa: INPUT + 0xff8n,
    status: 'INVALID_ALIGNMENT',
    reason: /^input list GPA \(16 B\) crosses a page boundary/,
  },
  {
    what: 'rule 5: beyond the GPA space',
    control: control(HvCallCode.HvCallNotifyLongSpinWait),
    inputGpa: 1n << 52n,
    status: 'INVALID_ALIGNMENT',
    reason: /beyond the \d+-bit GPA space \(spec 01 rule 5\)/,
  },
  {
    what: 'rule 11: no fast form',
    control: control(HvCallCode.HvCallPostMessage, { fast: true }),
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /HvCallPostMessage has no fast form/,
  },
  // Handlers (tlb-ipi).
  {
    what: 'IPI vector',
    control: control(HvCallCode.HvCallSendSyntheticClusterIpi),
    input: [[0, 4, 5]],
    status: 'INVALID_PARAMETER',
    reason: /^Vector 0x5 is outside 0x10\.\.0xff$/,
  },
  {
    what: 'IPI Ex banks',
    control: control(HvCallCode.HvCallSendSyntheticClusterIpiEx),
    input: [
      [0, 4, 0x30],
      [16, 8, 1n],
    ],
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /ValidBanksMask names 1 bank\(s\) but VariableHeaderSize is 0/,
  },
  {
    what: 'flush flags',
    control: control(HvCallCode.HvCallFlushVirtualAddressSpace),
    input: [[8, 8, 0x100n]],
    status: 'INVALID_PARAMETER',
    reason: /undefined Flags bits 0x100/,
  },
  // Handlers (vtl).
  {
    what: 'partition id',
    control: control(HvCallCode.HvCallGetVpRegisters, { reps: 1 }),
    input: [[0, 8, 7n]],
    status: 'INVALID_PARTITION_ID',
    reason: /PartitionId is not HV_PARTITION_ID_SELF/,
  },
  {
    what: 'VP index',
    control: control(HvCallCode.HvCallGetVpRegisters, { reps: 1 }),
    input: [
      [0, 8, SELF],
      [8, 4, 99],
    ],
    status: 'INVALID_VP_INDEX',
    reason: /VpIndex 99 names no VP/,
  },
  {
    what: 'unmodelled register',
    control: control(HvCallCode.HvCallGetVpRegisters, { reps: 1 }),
    input: [
      [0, 8, SELF],
      [8, 4, 0xffff_fffe],
      [16, 4, 0x0012_3456],
    ],
    status: 'UNKNOWN_REGISTER_NAME',
    reason: /unknown register 0x00123456 is not a register pvlab models/,
  },
  {
    what: 'VTL not enabled for the partition',
    control: control(HvCallCode.HvCallEnableVpVtl),
    input: [
      [0, 8, SELF],
      [12, 1, 1],
    ],
    status: 'INVALID_VTL_STATE',
    reason: /VTL1 is not enabled for the partition/,
  },
  {
    what: 'VTL enabled twice',
    control: control(HvCallCode.HvCallEnablePartitionVtl),
    input: ENABLE_VTL1,
    before: (vm) => {
      write(vm, ENABLE_VTL1);
      vm.vp(0).hypercall(control(HvCallCode.HvCallEnablePartitionVtl), INPUT, 0n);
    },
    status: 'VTL_ALREADY_ENABLED',
    reason: /VTL1 is already enabled for the partition/,
  },
  // Handlers (vmbus-ring).
  {
    what: 'message connection',
    control: control(HvCallCode.HvCallPostMessage),
    input: [
      [0, 4, 0x7777],
      [8, 4, 1],
    ],
    status: 'INVALID_CONNECTION_ID',
    reason: /no message port has connection id 30583/,
  },
  {
    what: 'event flag RsvdZ',
    control: control(HvCallCode.HvCallSignalEvent),
    input: [[0, 8, 1n << 50n]],
    status: 'INVALID_HYPERCALL_INPUT',
    reason: /RsvdZ bits 63:48 set/,
  },
  // Handlers (isolation).
  {
    what: 'PFN outside RAM',
    control: control(HvCallCode.HvCallModifySparseGpaPageHostVisibility, { reps: 1 }),
    vm: { isolation: { sharedGpaBoundaryBits: 36 } },
    input: [
      [0, 8, SELF],
      [8, 4, 3],
      [16, 8, 1n << 30n],
    ],
    status: 'OPERATION_DENIED',
    reason: /PFN 0x40000000 \(element 0\) is outside RAM/,
  },
];

describe('every status other than SUCCESS carries the reason the host chose it', () => {
  it.each(ROWS.map((r) => [r.what, r] as const))('%s', (_what, row) => {
    const record = dispatch(row);
    expect(hvStatusName(record.status)).toBe(`HV_STATUS_${row.status}`);
    expect(record.detail?.reason).toMatch(row.reason);
  });

  it('SUCCESS has no reason, and a reason does not leak into the next call', () => {
    const record = dispatch({
      what: 'after a failure',
      control: control(HvCallCode.HvCallNotifyLongSpinWait),
      status: 'SUCCESS',
      reason: /^$/,
      before: (vm) => vm.vp(0).hypercall(0x7fffn, 0n, 0n),
    });
    expect(record.status).toBe(0);
    expect(record.detail).toEqual({ inputGpa: '0x2000', input: { spinCount: 0, rsvdZ: 0 } });
  });

  it('details off: observers get no detail and takeDetail has none', () => {
    const vm = createVm({ vcpus: 1 });
    vm.vp(0).writeMsr(0x4000_0000n, 0x8100n << 48n);
    vm.vp(0).writeMsr(0x4000_0001n, 0x1000n | 1n);
    const records: HypercallRecord[] = [];
    vm.partition.dispatcher.observe((r) => records.push(r));
    vm.vp(0).hypercall(0x7fffn, 0n, 0n);
    vm.vp(0).hypercall(control(HvCallCode.HvCallNotifyLongSpinWait), INPUT, 0n);
    expect(records.map((r) => r.detail)).toEqual([undefined, undefined]);
    expect(vm.partition.dispatcher.takeDetail()).toBeUndefined();
    expect(vm.partition.dispatcher.recordsDetails).toBe(false);
  });
});
