/**
 * Test fixtures for the hypercall core: a partition built directly from `HvPartition`, the test
 * hypercall descriptors the dispatcher cases register (the partition, constants and guest CPU come
 * from `src/testing`, the public `@pvlab/hypercall/testing` entry).
 */
import { expect } from 'vitest';
import { GuestFault, type GuestFaultVector } from '../src/guest-fault.ts';
import { type HypercallIo, X64HypercallRegisters } from '../src/host/calling-convention.ts';
import {
  type FastSupport,
  type RepHypercallDescriptor,
  requireFeatures,
  type SimpleHypercallDescriptor,
} from '../src/host/descriptor.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { enableTestHypercalls, TEST_RAM_BYTES, testPartition } from '../src/testing/index.ts';
import type { HvFeatureName } from '../src/wire/cpuid.ts';
import type { CpuVendor } from '../src/wire/page.ts';
import { HvStatus } from '../src/wire/status.ts';

export {
  enableTestHypercalls,
  HYPERCALL_PAGE_GPA,
  INPUT_GPA,
  LINUX_GUEST_OS_ID,
  OUTPUT_GPA,
  partitionGuestCpu,
} from '../src/testing/index.ts';

/** 16 pages of RAM: GPA 0x0 .. 0xFFFF. */
export const RAM_BYTES = TEST_RAM_BYTES;

/** Every feature the core hypercalls, MSRs and fast forms need. */
export const ALL_CORE_FEATURES: readonly HvFeatureName[] = [
  'AccessHypercallMsrs',
  'AccessVpIndex',
  'XmmFastHypercallInput',
  'XmmFastHypercallOutput',
  'HypercallMsrLock',
];

export interface TestPartitionOptions {
  features?: readonly HvFeatureName[];
  maxRepsPerCall?: number;
  spinWaitRetryCount?: number;
  vcpus?: number;
  vendor?: CpuVendor;
  memoryBytes?: number;
}

/** A fresh partition with 64 KiB of RAM, 48 physical address bits, no extensions, hypercalls off. */
export function makePartition(options: TestPartitionOptions = {}): HvPartition {
  return testPartition({
    ramBytes: options.memoryBytes ?? RAM_BYTES,
    vcpus: options.vcpus ?? 2,
    vendor: options.vendor ?? 'intel',
    features: options.features ?? ALL_CORE_FEATURES,
    spinWaitRetryCount: options.spinWaitRetryCount ?? 0xfff,
    maxRepsPerCall: options.maxRepsPerCall ?? 4095,
    hypercallPage: false,
  });
}

/** A partition with hypercalls enabled and the test descriptors registered. */
export function makeHypercallPartition(options: TestPartitionOptions = {}): {
  partition: HvPartition;
  log: TestHypercallLog;
} {
  const partition = makePartition(options);
  enableTestHypercalls(partition);
  const log = registerTestHypercalls(partition);
  return { partition, log };
}

/** Call codes of the test descriptors (not TLFS codes, so they cannot be mistaken for real calls). */
export const TestCall = {
  /** Simple, 16-byte input, 16-byte output, fast XMM. */
  Echo: 0x7001,
  /** Rep, 8-byte fixed header + variable header, 8-byte in/out elements, fast XMM. */
  RepDouble: 0x7002,
  /** Simple, 16-byte input + variable header, no output, fast register form only. */
  RegisterOnly: 0x7003,
  /** Simple, 8-byte input, 8-byte output, memory form only. */
  MemoryOnly: 0x7004,
  /** Simple, no input or output, gated by AccessPartitionId. */
  Gated: 0x7005,
  /** Simple, variable header only, no output, fast XMM (input-only XMM calls). */
  XmmInputOnly: 0x7006,
} as const;

/** An input value that makes the Echo handler (and a RepDouble element) report INVALID_PARAMETER. */
export const FAIL_VALUE = 0xdeadn;

/** What a handler saw, copied out of the call (the dispatcher reuses its staging buffers). */
export interface SeenCall {
  readonly vp: number;
  readonly input: Uint8Array;
  readonly variableHeaderBytes: number;
  readonly repStart?: number;
  readonly repEnd?: number;
}

/**
 * Echo: output[0] = ~input[0], output[1] = ~input[1]. Writes its output even when it fails
 * (input[0] == FAIL_VALUE → INVALID_PARAMETER) so tests can see the dispatcher drop it.
 */
export function echoDescriptor(seen: SeenCall[] = []): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: TestCall.Echo,
    name: 'TestEcho',
    fixedInputBytes: 16,
    outputBytes: 16,
    fast: 'xmm',
    handler(call) {
      seen.push({
        vp: call.vp,
        input: new Uint8Array(call.input.buffer, call.input.byteOffset, call.input.byteLength).slice(),
        variableHeaderBytes: call.variableHeaderBytes,
      });
      const a = call.input.getBigUint64(0, true);
      const b = call.input.getBigUint64(8, true);
      call.output.setBigUint64(0, BigInt.asUintN(64, ~a), true);
      call.output.setBigUint64(8, BigInt.asUintN(64, ~b), true);
      return a === FAIL_VALUE ? HvStatus.INVALID_PARAMETER : HvStatus.SUCCESS;
    },
  };
}

/**
 * RepDouble: output element i = 2 × input element i (mod 2^64) + the fixed header value.
 * An element equal to FAIL_VALUE stops the list with INVALID_PARAMETER.
 */
export function repDoubleDescriptor(seen: SeenCall[] = []): RepHypercallDescriptor {
  return {
    kind: 'rep',
    code: TestCall.RepDouble,
    name: 'TestRepDouble',
    fixedInputBytes: 8,
    variableHeader: true,
    inputElementBytes: 8,
    outputElementBytes: 8,
    fast: 'xmm',
    handler(call) {
      seen.push({
        vp: call.vp,
        input: new Uint8Array(call.input.buffer, call.input.byteOffset, call.input.byteLength).slice(),
        variableHeaderBytes: call.variableHeaderBytes,
        repStart: call.repStart,
        repEnd: call.repEnd,
      });
      const base = call.input.getBigUint64(0, true);
      for (let i = call.repStart; i < call.repEnd; i++) {
        const x = call.input.getBigUint64(call.inputElementOffset(i), true);
        if (x === FAIL_VALUE) return { status: HvStatus.INVALID_PARAMETER, repsCompleted: i };
        call.output.setBigUint64(call.outputElementOffset(i), BigInt.asUintN(64, 2n * x + base), true);
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  };
}

/** A simple call with no output, in the given fast form. */
export function noOutputDescriptor(
  code: number,
  fast: FastSupport,
  fixedInputBytes: number,
  seen: SeenCall[] = [],
): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code,
    name: `TestNoOutput${code.toString(16)}`,
    fixedInputBytes,
    variableHeader: true,
    outputBytes: 0,
    fast,
    handler(call) {
      seen.push({
        vp: call.vp,
        input: new Uint8Array(call.input.buffer, call.input.byteOffset, call.input.byteLength).slice(),
        variableHeaderBytes: call.variableHeaderBytes,
      });
      return HvStatus.SUCCESS;
    },
  };
}

/** MemoryOnly: output[0] = input[0] + 1, no fast form. */
export function memoryOnlyDescriptor(): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: TestCall.MemoryOnly,
    name: 'TestMemoryOnly',
    fixedInputBytes: 8,
    outputBytes: 8,
    handler(call) {
      call.output.setBigUint64(0, BigInt.asUintN(64, call.input.getBigUint64(0, true) + 1n), true);
      return HvStatus.SUCCESS;
    },
  };
}

/** Gated: SUCCESS, behind AccessPartitionId. */
export function gatedDescriptor(): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: TestCall.Gated,
    name: 'TestGated',
    fixedInputBytes: 0,
    outputBytes: 0,
    gate: requireFeatures('AccessPartitionId'),
    handler: () => HvStatus.SUCCESS,
  };
}

/** The handler calls of every test descriptor registered by `registerTestHypercalls`. */
export interface TestHypercallLog {
  echo: SeenCall[];
  rep: SeenCall[];
  registerOnly: SeenCall[];
  xmmInputOnly: SeenCall[];
}

/** Registers every `TestCall`. */
export function registerTestHypercalls(partition: HvPartition): TestHypercallLog {
  const log: TestHypercallLog = { echo: [], rep: [], registerOnly: [], xmmInputOnly: [] };
  partition.dispatcher.register(echoDescriptor(log.echo));
  partition.dispatcher.register(repDoubleDescriptor(log.rep));
  partition.dispatcher.register(noOutputDescriptor(TestCall.RegisterOnly, 'register', 16, log.registerOnly));
  partition.dispatcher.register(memoryOnlyDescriptor());
  partition.dispatcher.register(gatedDescriptor());
  partition.dispatcher.register(noOutputDescriptor(TestCall.XmmInputOnly, 'xmm', 0, log.xmmInputOnly));
  return log;
}

/** Writes little-endian u64 values at `gpa`. */
export function writeU64s(partition: HvPartition, gpa: bigint, values: readonly bigint[]): void {
  values.forEach((v, i) => {
    partition.memory.writeU64(gpa + BigInt(8 * i), v);
  });
}

/** Reads `count` little-endian u64 values at `gpa`. */
export function readU64s(partition: HvPartition, gpa: bigint, count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => partition.memory.readU64(gpa + BigInt(8 * i)));
}

/** Registers for a memory-form call. */
export function memoryCall(control: bigint, inputGpa: bigint, outputGpa: bigint): X64HypercallRegisters {
  const regs = new X64HypercallRegisters();
  regs.control = control;
  regs.rdx = inputGpa;
  regs.r8 = outputGpa;
  return regs;
}

/** The fast-output slots the dispatcher recorded on `regs` for the call it just ran. */
export function fastOutputOf(regs: X64HypercallRegisters): { firstSlot: number; slots: number } {
  return { firstSlot: regs.fastOutputFirstSlot, slots: regs.fastOutputSlots };
}

/** Registers for a fast call: `slots` fill RDX, R8, XMM0.lo, XMM0.hi, … */
export function fastCall(control: bigint, slots: readonly bigint[]): X64HypercallRegisters {
  const regs = new X64HypercallRegisters();
  regs.control = control;
  regs.loadSlots(slots);
  return regs;
}

/** Runs `fn` and returns the GuestFault it throws; fails the test if it throws anything else or nothing. */
export function catchGuestFault(fn: () => unknown, vector: GuestFaultVector): GuestFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GuestFault);
    expect((e as GuestFault).vector).toBe(vector);
    return e as GuestFault;
  }
  throw new Error(`expected a #${vector} GuestFault, but nothing was thrown`);
}

/**
 * Rows for `it.each(titled(rows, title))('%s', (_title, row) => …)`: vitest cuts `$field` titles
 * at 40 characters, and the titles here quote spec rules, so they are built whole.
 */
export function titled<T>(rows: readonly T[], title: (row: T) => string): [string, T][] {
  return rows.map((row) => [title(row), row]);
}

/**
 * Registers held as bigints only, without the `words` view: the dispatcher's other way of
 * reading them (any `HypercallIo` may leave `words` out). `X64HypercallRegisters` has `words`.
 */
export class BigintRegisters implements HypercallIo {
  control = 0n;
  readonly slots: bigint[] = Array.from({ length: 14 }, () => 0n);
  readonly fastSlotCount = 14;
  fastOutputFirstSlot = 0;
  fastOutputSlots = 0;
  get inputGpa(): bigint {
    return this.slots[0]!;
  }
  get outputGpa(): bigint {
    return this.slots[1]!;
  }
  readFastSlot(i: number): bigint {
    return this.slots[i] ?? 0n;
  }
  writeFastSlot(i: number, v: bigint): void {
    if (i >= 0 && i < 14) this.slots[i] = BigInt.asUintN(64, v);
  }
}
