import { createVm, type HypercallDescriptor } from '@pvlab/host-emulator';
import { encodeHypercallControl, HV_PAGE_SIZE, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { enableTestHypercalls, INPUT_GPA, OUTPUT_GPA } from '@pvlab/hypercall/testing';
import { type BenchCase, type BenchSuite, measure, ratio } from '../suite.js';

const SPIN_COUNT = 0x1234;

/** The rep call this suite registers: 8-byte elements, no output, so 512 reps fill one input page. */
const REP_SUM_CODE = 0x7f01;
const REP_ELEMENT_BYTES = 8;
const REP_COUNT = HV_PAGE_SIZE / REP_ELEMENT_BYTES;

const NOTIFY_CONTROL = BigInt(HvCallCode.HvCallNotifyLongSpinWait);
const NOTIFY_FAST_CONTROL = NOTIFY_CONTROL | (1n << 16n);
const REP_CONTROL = encodeHypercallControl({ callCode: REP_SUM_CODE, repCount: REP_COUNT });
/** The TLFS results a successful call returns: SUCCESS, and SUCCESS with 512 reps completed. */
const NULL_RESULT = 0n;
const REP_RESULT = BigInt(REP_COUNT) << 32n;

/** Batches: enough operations per sample that the timer's ~60 ns per reading is noise (≥ ~8 µs a sample). */
const NULL_BATCH = 1000;
const REP_BATCH = 32;
const COPY_BATCH = 256;

/**
 * The work of the rep call, shared by its handler and its floor so that they differ only in how
 * they are reached: sums both 32-bit halves of `count` u64 elements at `offset`, mod 2^32.
 */
function sumU64s(view: DataView, offset: number, count: number): number {
  let acc = 0;
  for (let i = 0, o = offset; i < count; i++, o += 8) {
    acc = (acc + view.getUint32(o, true) + view.getUint32(o + 4, true)) | 0;
  }
  return acc;
}

/**
 * Direct-harness dispatch rate: a null-cost hypercall and a rep call with a full 4 KiB input,
 * each against a plain function doing the same memory reads and writes (the floor), and the
 * 4 KiB input against a bare memcpy (the physical limit).
 */
export const directDispatch: BenchSuite = {
  name: 'direct-dispatch',
  run(timing, progress) {
    const vm = createVm({ vcpus: 1, memoryBytes: 16 << 20 });
    const vp = vm.vp(0);
    enableTestHypercalls(vp);

    const handlerState = { repSum: 0 };
    const repSum: HypercallDescriptor = {
      kind: 'rep',
      code: REP_SUM_CODE,
      name: 'BenchRepSum',
      fixedInputBytes: 0,
      inputElementBytes: REP_ELEMENT_BYTES,
      outputElementBytes: 0,
      handler(call) {
        const first = call.inputElementOffset(call.repStart);
        handlerState.repSum = sumU64s(call.input, first, call.repEnd - call.repStart);
        return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
      },
    };
    vm.registerHypercall(repSum);

    // Input: the null call's SpinCount/RsvdZ, overwritten by 4 KiB of elements for the rep call
    // (the null call reads only its first 8 bytes, so it sees a SpinCount and a zero RsvdZ).
    const elements = new DataView(new ArrayBuffer(HV_PAGE_SIZE));
    for (let i = 0; i < REP_COUNT; i++)
      elements.setBigUint64(i * 8, BigInt(i) * 0x9e37_79b9_7f4a_7c15n, true);
    elements.setUint32(0, SPIN_COUNT, true);
    elements.setUint32(4, 0, true);
    vm.memory.write(INPUT_GPA, new Uint8Array(elements.buffer));

    // The floors: plain functions over the same SharedArrayBuffer, no dispatcher in between.
    const guestView = vm.memory.view;
    const guestBytes = vm.memory.bytes;
    const floorState = { calls: 0, lastSpinCount: 0, repSum: 0 };
    const floorNotify = (_control: bigint, inputGpa: bigint, _outputGpa: bigint): bigint => {
      const off = Number(inputGpa);
      const spinCount = guestView.getUint32(off, true);
      const rsvd = guestView.getUint32(off + 4, true);
      floorState.calls++;
      floorState.lastSpinCount = spinCount;
      return rsvd === 0 ? NULL_RESULT : BigInt(HvStatus.INVALID_HYPERCALL_INPUT);
    };
    const floorRepSum = (inputGpa: bigint, repCount: number): bigint => {
      floorState.repSum = sumU64s(guestView, Number(inputGpa), repCount);
      return BigInt(repCount) << 32n;
    };
    const staging = new Uint8Array(HV_PAGE_SIZE);
    const stagingView = new DataView(staging.buffer);
    const floorCopyRepSum = (inputGpa: bigint, repCount: number): bigint => {
      const off = Number(inputGpa);
      staging.set(guestBytes.subarray(off, off + repCount * REP_ELEMENT_BYTES));
      floorState.repSum = sumU64s(stagingView, 0, repCount);
      return BigInt(repCount) << 32n;
    };
    const inputPage = guestBytes.subarray(Number(INPUT_GPA), Number(INPUT_GPA) + HV_PAGE_SIZE);

    const guest = new GuestHypercalls(
      { cpu: vp, memory: vm.memory },
      perCpuHypercallPages('separate', INPUT_GPA, OUTPUT_GPA),
    );
    const fastInput = [BigInt(SPIN_COUNT)] as const;

    // Every path must do the work before it is timed: same results, same effects.
    const before = vp.longSpinWaits.count;
    const checks: [string, boolean][] = [
      ['memory-form NotifyLongSpinWait', vp.hypercall(NOTIFY_CONTROL, INPUT_GPA, 0n) === NULL_RESULT],
      ['fast NotifyLongSpinWait', vp.fastHypercall(NOTIFY_FAST_CONTROL, fastInput).result === NULL_RESULT],
      ['SpinCount seen by the handler', vp.longSpinWaits.lastSpinCount === SPIN_COUNT],
      ['handler ran', vp.longSpinWaits.count === before + 2],
      ['null floor', floorNotify(NOTIFY_CONTROL, INPUT_GPA, 0n) === NULL_RESULT],
      ['rep call', vp.hypercall(REP_CONTROL, INPUT_GPA, 0n) === REP_RESULT],
      ['rep floor', floorRepSum(INPUT_GPA, REP_COUNT) === REP_RESULT],
      ['rep handler and floor read the same elements', handlerState.repSum === floorState.repSum],
    ];
    const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
    if (failed.length > 0) throw new Error(`direct-dispatch: setup check failed: ${failed.join(', ')}`);

    // Each case spells its loop out: one shared loop helper would give V8 one call site for every
    // case (megamorphic, never inlined), which costs a plain function more than it costs the harness.
    const cases: BenchCase[] = [
      {
        id: 'null-memory',
        name: 'vp.hypercall NotifyLongSpinWait (memory, 8 B in)',
        batch: NULL_BATCH,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < NULL_BATCH; k++)
            if (vp.hypercall(NOTIFY_CONTROL, INPUT_GPA, 0n) !== NULL_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'null-fast',
        name: 'vp.fastHypercall NotifyLongSpinWait (RDX)',
        batch: NULL_BATCH,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < NULL_BATCH; k++)
            if (vp.fastHypercall(NOTIFY_FAST_CONTROL, fastInput).result !== NULL_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'null-guest-call',
        name: 'guest GuestHypercalls.call() (memory)',
        batch: NULL_BATCH,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < NULL_BATCH; k++) if (guest.call(NOTIFY_CONTROL).raw !== NULL_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'null-guest-fast8',
        name: 'guest GuestHypercalls.fast8()',
        batch: NULL_BATCH,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < NULL_BATCH; k++)
            if (guest.fast8(HvCallCode.HvCallNotifyLongSpinWait, BigInt(SPIN_COUNT)).raw !== NULL_RESULT)
              wrong++;
          return wrong;
        },
      },
      {
        id: 'null-floor',
        name: 'floor: plain function, same 8-byte read',
        batch: NULL_BATCH,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < NULL_BATCH; k++)
            if (floorNotify(NOTIFY_CONTROL, INPUT_GPA, 0n) !== NULL_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'rep4k-hypercall',
        name: 'vp.hypercall rep 512 × 8 B (4 KiB in)',
        batch: REP_BATCH,
        bytesPerOp: HV_PAGE_SIZE,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < REP_BATCH; k++)
            if (vp.hypercall(REP_CONTROL, INPUT_GPA, 0n) !== REP_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'rep4k-guest-repcall',
        name: 'guest GuestHypercalls.repCall() 512 reps',
        batch: REP_BATCH,
        bytesPerOp: HV_PAGE_SIZE,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < REP_BATCH; k++)
            if (guest.repCall(REP_SUM_CODE, REP_COUNT).raw !== REP_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'rep4k-floor',
        name: 'floor: plain loop over the 512 u64',
        batch: REP_BATCH,
        bytesPerOp: HV_PAGE_SIZE,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < REP_BATCH; k++) if (floorRepSum(INPUT_GPA, REP_COUNT) !== REP_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'rep4k-floor-copy',
        name: 'floor: copy 4 KiB out, then the loop',
        batch: REP_BATCH,
        bytesPerOp: HV_PAGE_SIZE,
        run: () => {
          let wrong = 0;
          for (let k = 0; k < REP_BATCH; k++)
            if (floorCopyRepSum(INPUT_GPA, REP_COUNT) !== REP_RESULT) wrong++;
          return wrong;
        },
      },
      {
        id: 'rep4k-memcpy',
        name: 'limit: Uint8Array.set of 4 KiB',
        batch: COPY_BATCH,
        bytesPerOp: HV_PAGE_SIZE,
        run: () => {
          for (let k = 0; k < COPY_BATCH; k++) staging.set(inputPage);
          return staging[8]! - inputPage[8]!;
        },
      },
    ];
    const rows = measure(cases, timing, progress);
    // Strict mode: close() throws if any call produced a conformance diagnostic.
    vm.close();
    return {
      title: 'Direct-harness dispatch: null hypercall and 4 KiB rep call vs plain functions',
      rows,
      ratios: [
        ratio(rows, 'null-memory', 'null-floor', 'memory-form null hypercall ÷ plain function (calls/s)'),
        ratio(rows, 'null-fast', 'null-floor', 'fast null hypercall ÷ plain function (calls/s)'),
        ratio(rows, 'null-guest-call', 'null-memory', 'guest call() helper ÷ raw vp.hypercall (calls/s)'),
        ratio(rows, 'null-guest-fast8', 'null-fast', 'guest fast8() helper ÷ raw vp.fastHypercall (calls/s)'),
        ratio(rows, 'rep4k-hypercall', 'rep4k-floor', '4 KiB rep call ÷ plain read loop (bytes/s)'),
        ratio(rows, 'rep4k-hypercall', 'rep4k-floor-copy', '4 KiB rep call ÷ copy + read loop (bytes/s)'),
        ratio(rows, 'rep4k-hypercall', 'rep4k-memcpy', '4 KiB rep call ÷ memcpy limit (bytes/s)'),
        ratio(rows, 'rep4k-floor', 'rep4k-memcpy', 'plain read loop ÷ memcpy limit (bytes/s)'),
        ratio(
          rows,
          'rep4k-guest-repcall',
          'rep4k-hypercall',
          'guest repCall() helper ÷ raw vp.hypercall (bytes/s)',
        ),
      ],
    };
  },
};
