/**
 * Whatever the guest puts in its registers or MSRs, the host answers with a result value or a
 * modelled GuestFault — never a crash (STYLE: "Never throw on guest data").
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { GuestFault } from '../src/guest-fault.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { joinU64 } from '../src/wire/bit-layout.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl, HV_HYPERCALL_REFUSED_WORDS } from '../src/wire/control.ts';
import type { HvFeatureName } from '../src/wire/cpuid.ts';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL, HV_X64_MSR_VP_INDEX } from '../src/wire/msr.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { hvStatusName } from '../src/wire/status.ts';
import {
  enableTestHypercalls,
  fastCall,
  fastOutputOf,
  makePartition,
  memoryCall,
  RAM_BYTES,
  registerTestHypercalls,
  TestCall,
  type TestPartitionOptions,
} from './fixtures.ts';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
/** Bits a result value may have set: Status 15:0 and RepsCompleted 43:32. */
const RESULT_FIELDS = 0x0000_0fff_0000_ffffn;

/** Feature sets that keep the hypercall MSRs (so the page can be enabled) and vary the rest. */
const features = fc
  .subarray<HvFeatureName>([
    'AccessVpIndex',
    'XmmFastHypercallInput',
    'XmmFastHypercallOutput',
    'AccessPartitionId',
  ])
  .map((rest): HvFeatureName[] => ['AccessHypercallMsrs', 'HypercallMsrLock', ...rest]);

/** Partition settings; the partition itself is built inside each run (so counterexamples stay short). */
const configArb = fc.record({
  features,
  maxRepsPerCall: fc.integer({ min: 1, max: 8 }),
  spinWaitRetryCount: fc.constantFrom(0, 1, 0xfff, 0xffff_ffff),
});

/** A partition with hypercalls enabled and every test descriptor registered. */
function hypercallPartition(config: TestPartitionOptions): HvPartition {
  const partition = makePartition(config);
  enableTestHypercalls(partition);
  registerTestHypercalls(partition);
  return partition;
}

const callCode = fc.oneof(
  fc.constantFrom(HvCallCode.HvCallNotifyLongSpinWait, ...Object.values(TestCall)),
  fc.integer({ min: 0, max: 0xffff }),
);
const small12 = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xfff }));
/** Controls built from fields (to reach the handlers), sometimes with reserved or Nested bits, or raw 64-bit noise. */
const controlArb = fc.oneof(
  fc
    .record({
      callCode,
      fast: fc.boolean(),
      variableHeaderSize: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0x3ff })),
      repCount: small12,
      repStartIndex: small12,
      extra: fc.oneof(
        fc.constant(0n),
        u64.map((v) => v & joinU64(...HV_HYPERCALL_REFUSED_WORDS)),
      ),
    })
    .map(({ extra, ...fields }) => encodeHypercallControl(fields) | extra),
  u64,
);
const gpaArb = fc.oneof(
  fc.integer({ min: 0, max: RAM_BYTES / 8 - 1 }).map((q) => BigInt(q * 8)),
  fc.constantFrom(
    BigInt(RAM_BYTES) - 8n,
    BigInt(RAM_BYTES),
    0xff8n,
    (1n << 48n) - 8n,
    1n << 48n,
    U64_MAX - 7n,
    U64_MAX,
  ),
  fc.bigInt({ min: 0n, max: 1n << 48n }),
  u64,
);

/** Checks what every result must satisfy, and returns it decoded. */
function expectWellFormedResult(raw: bigint, control: bigint) {
  expect(raw >= 0n && raw <= U64_MAX).toBe(true);
  expect(raw & ~RESULT_FIELDS).toBe(0n); // reserved result bits are written as zero
  const r = decodeHypercallResult(raw);
  expect(hvStatusName(r.status)).toMatch(/^HV_STATUS_[A-Z_]+$/);
  expect(r.repsCompleted).toBeLessThanOrEqual(Number((control >> 32n) & 0xfffn));
  return r;
}

/** Rethrows anything that is not a GuestFault of `vector`. */
function expectGuestFault(e: unknown, vector: GuestFault['vector']): void {
  if (!(e instanceof GuestFault)) throw e;
  expect(e.vector).toBe(vector);
}

describe('HypercallDispatcher — any guest register contents', () => {
  test.prop([configArb, fc.integer({ min: 0, max: 1 }), controlArb, gpaArb, gpaArb], { numRuns: 400 })(
    'memory form: random control and input/output GPAs give a result or a MEMORY GuestFault',
    (config, vp, anyControl, inputGpa, outputGpa) => {
      const partition = hypercallPartition(config);
      const control = anyControl & ~0x1_0000n; // Fast clear: RDX/R8 are GPAs
      try {
        expectWellFormedResult(partition.hypercall(vp, memoryCall(control, inputGpa, outputGpa)), control);
      } catch (e) {
        expectGuestFault(e, 'MEMORY');
      }
    },
  );

  test.prop(
    [
      configArb,
      controlArb.map((c) => c | 0x1_0000n),
      fc.array(fc.oneof(u64, fc.constant(0xdeadn), fc.integer({ min: 0, max: 8 }).map(BigInt)), {
        minLength: 14,
        maxLength: 14,
      }),
    ],
    { numRuns: 300 },
  )(
    'fast form: random slots give a result or a #UD GuestFault; output lands in XMM, never RDX:R8',
    (config, control, slots) => {
      const partition = hypercallPartition(config);
      const regs = fastCall(control, slots);
      try {
        const raw = partition.hypercall(0, regs);
        expectWellFormedResult(raw, control);
        const written = fastOutputOf(regs);
        if (written.slots > 0) {
          expect(written.firstSlot).toBeGreaterThanOrEqual(2);
          expect(written.firstSlot + written.slots).toBeLessThanOrEqual(14);
        }
      } catch (e) {
        expectGuestFault(e, 'UD');
      }
      expect([regs.rdx, regs.r8]).toEqual([slots[0], slots[1]]);
    },
  );
});

const msrArb = fc.oneof(
  fc.constantFrom(HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL, HV_X64_MSR_VP_INDEX),
  fc.bigInt({ min: 0x4000_0000n, max: 0x4000_00ffn }),
  u64,
);
const msrValueArb = fc.oneof(
  // HYPERCALL-shaped: a GPFN in and around RAM, any low 12 bits.
  fc
    .record({
      gpfn: fc.integer({ min: 0, max: RAM_BYTES / 4096 + 2 }),
      low: fc.integer({ min: 0, max: 0xfff }),
    })
    .map(({ gpfn, low }) => (BigInt(gpfn) << 12n) | BigInt(low)),
  fc.constantFrom(0n, 0x8100n << 48n),
  u64,
);
const msrOps = fc.array(
  fc.record({ write: fc.boolean(), vp: fc.integer({ min: 0, max: 1 }), msr: msrArb, value: msrValueArb }),
  { minLength: 1, maxLength: 12 },
);

/** While hypercalls are enabled, the page at the HYPERCALL GPFN holds the VMCALL stub. */
function expectHypercallPageConsistent(partition: HvPartition): void {
  if (!partition.hypercallsEnabled) return;
  const gpa = partition.hypercallMsr & ~0xfffn;
  expect([...partition.memory.read(gpa, 4)]).toEqual([0x0f, 0x01, 0xc1, 0xc3]);
}

describe('Synthetic MSRs — any RDMSR/WRMSR sequence', () => {
  test.prop([features, msrOps], { numRuns: 300 })(
    'random MSR numbers and values give a value or #GP; an enabled hypercall page always holds the stub',
    (exposed, ops) => {
      const partition = makePartition({ features: exposed });
      for (const { write, vp, msr, value } of ops) {
        try {
          if (write) partition.writeMsr(vp, msr, value);
          else {
            const v = partition.readMsr(vp, msr);
            expect(v >= 0n && v <= U64_MAX).toBe(true);
          }
        } catch (e) {
          expectGuestFault(e, 'GP');
        }
        expectHypercallPageConsistent(partition);
      }
    },
  );
});
