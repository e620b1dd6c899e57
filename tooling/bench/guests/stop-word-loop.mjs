// The JS peer of guests/c/hypercall-bench.c's guest_main, for the wasm-guest suite's threaded
// rows: enable hypercalls, then fast NotifyLongSpinWait (SpinCount 1 in RDX) in batches of 200
// until the host sets the stop word at STOP_GPA; report the calls and how many did not return
// SUCCESS. The host times the run from its progress reports, the same way for both guests.

import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';

const HV_X64_MSR_GUEST_OS_ID = 0x40000000n;
const HV_X64_MSR_HYPERCALL = 0x40000001n;
const LINUX_OS_ID = 0x8100n << 48n;
const HYPERCALL_PAGE = 0x1000n;
const NOTIFY_FAST = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true });
const SUCCESS = 0n;
/** Layout shared with tooling/bench/src/wasm/layout.ts. */
const STOP_GPA = 0x4000;
const BATCH = 200;

/** @param {import('@pvlab/host-emulator').GuestProgramCpu} cpu */
export default function stopWordLoop(cpu) {
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, LINUX_OS_ID);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE | 1n);
  const stop = new Int32Array(cpu.memory.buffer, STOP_GPA, 1);
  const spinCount = 1n;
  let calls = 0;
  let wrong = 0;
  while (Atomics.load(stop, 0) === 0) {
    for (let i = 0; i < BATCH; i++)
      if (cpu.fastHypercall(NOTIFY_FAST, [spinCount]).result !== SUCCESS) wrong++;
    calls += BATCH;
  }
  cpu.report('calls', calls);
  cpu.report('wrong', wrong);
}
