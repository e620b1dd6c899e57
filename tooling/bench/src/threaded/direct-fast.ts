import { createVm } from '@pvlab/host-emulator';
import { encodeHypercallControl, HvCallCode } from '@pvlab/hypercall';
import { enableTestHypercalls } from '@pvlab/hypercall/testing';
import type { TimingOptions } from '../suite.js';
import { ROUND_TRIP_BATCH } from './budget.js';
import { SampleArea } from './protocol.js';
import type { Samples } from './samples.js';

const NOTIFY_FAST = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true });

/** The direct harness on this thread: what dispatch alone costs, with no second thread. */
export function directFast(timing: TimingOptions): Samples {
  const vm = createVm({ vcpus: 1 });
  const vp = vm.vp(0);
  enableTestHypercalls(vp);
  const rdx = [1n] as const;
  const batch = (n: number) => {
    let wrong = 0;
    for (let i = 0; i < n; i++) if (vp.fastHypercall(NOTIFY_FAST, rdx).result !== 0n) wrong++;
    return wrong;
  };
  const clock = () => performance.timeOrigin + performance.now();
  let wrong = 0;
  let total = 0;
  const warmupEnd = clock() + timing.warmupMs;
  while (clock() < warmupEnd) {
    wrong += batch(ROUND_TRIP_BATCH);
    total += ROUND_TRIP_BATCH;
  }
  const warmup = total;
  const batches: number[] = [];
  const t0 = clock();
  let t = t0;
  while (t < t0 + timing.timeMs && batches.length < SampleArea.BYTES / 8 - SampleArea.HEADER) {
    wrong += batch(ROUND_TRIP_BATCH);
    const now = clock();
    batches.push(now - t);
    t = now;
    total += ROUND_TRIP_BATCH;
  }
  return { batches, t0, t1: t, timed: total - warmup, wrong, total };
}
