/**
 * The threaded rows: the C guest and its JS peer (guests/stop-word-loop.mjs) issue fast
 * NotifyLongSpinWait on one vCPU thread under `runGuest`, without and with a seed. Both are timed
 * the same way, by the host: each progress report (every ~10 ms of the exit loop) gives the calls
 * handled so far and the wall-clock time, and a sample is one report interval's ns per call. When
 * the warmup and the sampling time have passed, the host sets the guests' stop word.
 */
import { pathToFileURL } from 'node:url';
import { createVm, type RunProgress, runGuest } from '@pvlab/host-emulator';
import { type BenchRow, medianRounds, type RoundRow, rowFromSamples, type TimingOptions } from '../suite.js';
import { OVERRUN_MS } from '../threaded/budget.js';
import { STOP_GPA } from './layout.js';

const JS_GUEST = new URL('../../guests/stop-word-loop.mjs', import.meta.url);
/** A seeded run steps the vCPU through futex wake-ups: far slower, so fewer calls a sample. */
const SEED = 1;

interface ThreadedCase {
  readonly id: string;
  readonly name: string;
  readonly guest: URL;
  readonly seed: number | undefined;
}

/** One run: seconds per call of each progress interval in the timed window, and its call count. */
interface ThreadedRun {
  readonly secondsPerOp: number[];
  readonly calls: number;
  readonly meanCallsPerSample: number;
}

async function runStopWordGuest(c: ThreadedCase, timing: TimingOptions): Promise<ThreadedRun> {
  const vm = createVm({ vcpus: 1 });
  const stop = new Int32Array(vm.memory.buffer, STOP_GPA, 1);
  const secondsPerOp: number[] = [];
  let sampled = 0;
  let first: number | undefined;
  let last: RunProgress | undefined;
  const onProgress = (p: RunProgress) => {
    if (p.hypercalls === 0 || Atomics.load(stop, 0) !== 0) return;
    first ??= p.elapsedMs;
    const since = p.elapsedMs - first;
    if (since < timing.warmupMs) return;
    if (last !== undefined && p.hypercalls > last.hypercalls) {
      const calls = p.hypercalls - last.hypercalls;
      secondsPerOp.push((p.elapsedMs - last.elapsedMs) / 1000 / calls);
      sampled += calls;
    }
    last = p;
    if (since >= timing.warmupMs + timing.timeMs) Atomics.store(stop, 0, 1);
  };
  const result = await runGuest(vm, {
    guest: c.guest,
    ...(c.seed === undefined ? {} : { seed: c.seed }),
    onProgress,
    signal: AbortSignal.timeout(timing.warmupMs + timing.timeMs + OVERRUN_MS),
  });
  if (!result.passed) {
    throw new Error(`wasm-guest: ${c.id} failed: ${result.failures.map((f) => f.message).join('; ')}`);
  }
  const report = result.reports[0] ?? {};
  const calls = report.calls;
  const handled = vm.partition.vp(0).longSpinWaits;
  if (report.wrong !== 0 || typeof calls !== 'number' || handled !== calls || result.hypercalls !== calls) {
    throw new Error(
      `wasm-guest: ${c.id}: ${String(report.wrong)} calls did not return SUCCESS; the guest made ${String(calls)}, the handler ran ${handled} times, the host counted ${result.hypercalls}`,
    );
  }
  return { secondsPerOp, calls, meanCallsPerSample: sampled / Math.max(1, secondsPerOp.length) };
}

/** The four threaded cases, every one once per round, round after round. */
export async function measureThreaded(
  wasmPath: string,
  timing: TimingOptions,
  progress: (line: string) => void,
): Promise<BenchRow[]> {
  const cGuest = pathToFileURL(wasmPath);
  const cases: ThreadedCase[] = [
    { id: 'thr-c-fast', name: 'C guest, runGuest 1 vCPU: fast hypercalls', guest: cGuest, seed: undefined },
    {
      id: 'thr-js-fast',
      name: 'JS guest, runGuest 1 vCPU: fast hypercalls',
      guest: JS_GUEST,
      seed: undefined,
    },
    { id: 'thr-c-seeded', name: `C guest, runGuest 1 vCPU, seed ${SEED}`, guest: cGuest, seed: SEED },
    { id: 'thr-js-seeded', name: `JS guest, runGuest 1 vCPU, seed ${SEED}`, guest: JS_GUEST, seed: SEED },
  ];
  const rounds: RoundRow[][] = [];
  for (let round = 1; round <= timing.rounds; round++) {
    const rows: RoundRow[] = [];
    for (const c of cases) {
      const run = await runStopWordGuest(c, timing);
      rows.push(
        rowFromSamples(
          { id: c.id, name: c.name, batch: Math.round(run.meanCallsPerSample) },
          run.secondsPerOp,
        ),
      );
      progress(`  round ${round}/${timing.rounds}: ${c.id} done (${run.calls} calls)`);
    }
    rounds.push(rows);
  }
  return medianRounds(rounds);
}
