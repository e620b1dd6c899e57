/**
 * What the suite and its guests (guests/c/hypercall-bench.c, guests/stop-word-loop.mjs) share:
 * the calls they make and where in guest memory their input and the host's stop word are.
 */
import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';

/** HvCallNotifyLongSpinWait: memory form (8-byte input) and fast form (SpinCount in RDX). */
export const NOTIFY = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait });
export const NOTIFY_FAST = encodeHypercallControl({
  callCode: HvCallCode.HvCallNotifyLongSpinWait,
  fast: true,
});
/** The SpinCount every call reports (the C guest's SPIN_COUNT). */
export const SPIN_COUNT = 1;

/** The memory form's input (SpinCount, RsvdZ): one u64 per vCPU from here (INPUT_GPA in the C guest). */
export const INPUT_GPA = 0x2000;
/** The u32 the host sets to end a threaded run (STOP_GPA in the C guest). */
export const STOP_GPA = 0x4000;

/** Calls per JS → wasm call on the direct harness: one sample times one batch. */
export const DIRECT_BATCH = 1000;
