import { availableParallelism } from 'node:os';
import { createVm, runGuest } from '@pvlab/host-emulator';
import type { TimingOptions } from '../suite.js';
import { OVERRUN_MS } from './budget.js';
import { SampleArea } from './protocol.js';
import { readSamples, type Samples } from './samples.js';
import type { SpinSource } from './spin-source.js';

// Guest memory layout of guests/spin-wait-loop.mjs (keep in step with it).
const SAMPLES_GPA = 0x10_0000;
const GUEST_PROGRAM = new URL('../../guests/spin-wait-loop.mjs', import.meta.url);

/** One guest-program run: the per-vCPU samples and what the host saw. */
export interface GuestRun {
  readonly perVp: Samples[];
  readonly spinLimit: number;
  /** Host-side time per hypercall exit (µs): from the guest posting it to the host finishing it. */
  readonly hostUs: number[];
}

/**
 * Runs guests/spin-wait-loop.mjs under `runGuest` on `vcpus` vCPUs: NotifyLongSpinWait in batches,
 * fast or memory form, all vCPUs at once (no seed) or stepped one at a time (seeded).
 */
export async function runSpinWaitLoop(
  vcpus: number,
  form: 'fast' | 'memory',
  batch: number,
  timing: TimingOptions,
  spin: SpinSource,
  seed?: number,
): Promise<GuestRun> {
  const vm = createVm({ vcpus });
  const guest = new URL(GUEST_PROGRAM);
  guest.search = new URLSearchParams({
    form,
    batch: String(batch),
    warmupMs: String(timing.warmupMs),
    budgetMs: String(timing.timeMs),
    barrier: seed === undefined ? 'wait' : 'pause',
  }).toString();
  const result = await runGuest(vm, {
    guest,
    ...(seed === undefined ? {} : { seed }),
    timeoutMs: timing.warmupMs + timing.timeMs + OVERRUN_MS,
  });
  if (!result.passed) {
    throw new Error(
      `threaded: ${vcpus}-vCPU ${form} run failed: ${result.failures.map((f) => f.message).join('; ')}`,
    );
  }
  const perVp = Array.from({ length: vcpus }, (_, vp) =>
    readSamples(vm.memory.buffer, SAMPLES_GPA + vp * SampleArea.BYTES),
  );
  const wrong = perVp.reduce((a, s) => a + s.wrong, 0);
  const issued = perVp.reduce((a, s) => a + s.total, 0);
  const handled = Array.from({ length: vcpus }, (_, vp) => vm.partition.vp(vp).longSpinWaits).reduce(
    (a, b) => a + b,
    0,
  );
  if (wrong !== 0 || handled !== issued) {
    throw new Error(
      `threaded: ${vcpus}-vCPU ${form} run: ${wrong} calls did not return SUCCESS; the handler ran ${handled} times for ${issued} calls`,
    );
  }
  const hostUs: number[] = [];
  for (const e of result.events) if (e.kind === 'hypercall') hostUs.push(e.dur);
  const busy = seed === undefined ? vcpus + 1 : 2;
  return { perVp, spinLimit: spin.spinLimitFor(busy, availableParallelism()), hostUs };
}
