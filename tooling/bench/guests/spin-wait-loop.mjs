// The pvlab threaded round trip, timed inside the guest: every vCPU enables hypercalls, then
// issues NotifyLongSpinWait (SpinCount 1) back to back — each call is one exit to the host thread
// and back — and times batches of calls with performance.now(). No seed: all vCPUs at once.
//
// Parameters come from this module's URL query (the bench imports it as
// `spin-wait-loop.mjs?form=fast&batch=200&warmupMs=250&budgetMs=1000&barrier=wait`):
//   form      `fast` (cpu.fastHypercall, SpinCount in RDX) or `memory` (cpu.hypercall, 8-byte input)
//   batch     calls per sample
//   warmupMs  untimed calls first, for this long (JIT, caches)
//   budgetMs  timed batches until this long has passed (or the sample area is full)
//   barrier   `wait` (Atomics.wait on guest memory), `pause` (cpu.pause() exits: seeded runs), `none`
//
// Results go to guest memory, one Float64 area per vCPU (the host reads vm.memory afterwards):
// [0] samples, [1] t0 and [2] t1 (ms since the epoch) of the timed part, [3] timed calls,
// [4] calls that did not return SUCCESS, [5] all calls, [6] warmup calls, [8…] ms per batch.

import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';

const params = new URL(import.meta.url).searchParams;
const FORM = params.get('form') ?? 'fast';
const BATCH = Number(params.get('batch') ?? 200);
const WARMUP_MS = Number(params.get('warmupMs') ?? 250);
const BUDGET_MS = Number(params.get('budgetMs') ?? 1000);
const BARRIER = params.get('barrier') ?? 'wait';

const HV_X64_MSR_GUEST_OS_ID = 0x40000000n;
const HV_X64_MSR_HYPERCALL = 0x40000001n;
const LINUX_OS_ID = 0x8100n << 48n;
const HYPERCALL_PAGE = 0x1000n;
/** HvCallNotifyLongSpinWait, with the Fast bit for the register form. */
const NOTIFY = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait });
const NOTIFY_FAST = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true });
const RDX = [1n];
const SUCCESS = 0n;

/** Layout shared with tooling/bench/src/suites/threaded.ts. */
export const INPUT_GPA = 0x2000;
export const BARRIER_GPA = 0x3000;
export const SAMPLES_GPA = 0x10_0000;
export const SAMPLES_STRIDE = 0x4_0000;
const HEADER = 8;

const clock = () => performance.timeOrigin + performance.now();

// One loop per form, so that each has its own call site.
function fastBatch(cpu, n) {
  let wrong = 0;
  for (let i = 0; i < n; i++) if (cpu.fastHypercall(NOTIFY_FAST, RDX).result !== SUCCESS) wrong++;
  return wrong;
}

function memoryBatch(cpu, n, gpa) {
  let wrong = 0;
  for (let i = 0; i < n; i++) if (cpu.hypercall(NOTIFY, gpa, 0n) !== SUCCESS) wrong++;
  return wrong;
}

/** Every vCPU waits here until all have arrived, so the timed parts overlap. */
function barrier(cpu) {
  if (BARRIER === 'none' || cpu.vcpus === 1) return;
  const words = new Int32Array(cpu.memory.buffer, BARRIER_GPA, 1);
  Atomics.add(words, 0, 1);
  if (BARRIER === 'pause') {
    while (Atomics.load(words, 0) < cpu.vcpus) cpu.pause();
    return;
  }
  Atomics.notify(words, 0);
  for (let seen = Atomics.load(words, 0); seen < cpu.vcpus; seen = Atomics.load(words, 0))
    Atomics.wait(words, 0, seen, 100);
}

/** @param {import('@pvlab/host-emulator').GuestProgramCpu} cpu */
export default function spinWaitLoop(cpu) {
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, LINUX_OS_ID);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE | 1n);
  const gpa = BigInt(INPUT_GPA + cpu.index * 8);
  cpu.memory.writeU64(gpa, 1n); // SpinCount 1, RsvdZ 0
  const memory = FORM === 'memory';
  const out = new Float64Array(
    cpu.memory.buffer,
    SAMPLES_GPA + cpu.index * SAMPLES_STRIDE,
    SAMPLES_STRIDE / 8,
  );
  const maxSamples = out.length - HEADER;

  let wrong = 0;
  let calls = 0;
  const warmupEnd = clock() + WARMUP_MS;
  while (clock() < warmupEnd) {
    wrong += memory ? memoryBatch(cpu, BATCH, gpa) : fastBatch(cpu, BATCH);
    calls += BATCH;
  }
  const warmupCalls = calls;
  barrier(cpu);

  let samples = 0;
  const t0 = clock();
  const end = t0 + BUDGET_MS;
  let t = t0;
  while (t < end && samples < maxSamples) {
    wrong += memory ? memoryBatch(cpu, BATCH, gpa) : fastBatch(cpu, BATCH);
    const now = clock();
    out[HEADER + samples++] = now - t;
    t = now;
    calls += BATCH;
  }
  out[0] = samples;
  out[1] = t0;
  out[2] = t;
  out[3] = calls - warmupCalls;
  out[4] = wrong;
  out[5] = calls;
  out[6] = warmupCalls;
  cpu.report('calls', calls);
  cpu.report('wrong', wrong);
}
