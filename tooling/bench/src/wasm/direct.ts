/**
 * The direct harness rows: one createVm VP driven from this thread, once by the C guest's
 * exported loops (each a batch of calls through the runtime's imports) and once by the same loops
 * in JS over the VP as a `GuestCpu`, the interface a JS guest program calls.
 */
import { readFileSync } from 'node:fs';
import { createVm } from '@pvlab/host-emulator';
import type { GuestCpu } from '@pvlab/hypercall/guest';
import { enableTestHypercalls } from '@pvlab/hypercall/testing';
import { loadWasmGuest } from '@pvlab/wasm-guest';
import { type BenchCase, type BenchRow, measure, type TimingOptions } from '../suite.js';
import { DIRECT_BATCH, INPUT_GPA, NOTIFY, NOTIFY_FAST, SPIN_COUNT } from './layout.js';

const N = DIRECT_BATCH;
const SUCCESS = 0n;

/** Times the direct-harness cases (interleaved rounds) and checks every call reached the handler. */
export function measureDirect(
  wasmPath: string,
  timing: TimingOptions,
  progress: (line: string) => void,
): BenchRow[] {
  const vm = createVm({ vcpus: 1, memoryBytes: 16 << 20 });
  const vp = vm.vp(0);
  enableTestHypercalls(vp);
  const guest = loadWasmGuest(readFileSync(wasmPath));
  const map = guest.vmMemoryMap({ ramBytes: vm.memory.size, vcpus: 1, arch: 'x64' });
  const c = guest.instantiate({ cpu: vp, index: 0, vcpus: 1, memory: vm.memory, map });
  vm.memory.writeU64(BigInt(INPUT_GPA), BigInt(SPIN_COUNT)); // SpinCount, RsvdZ 0

  // What a JS guest program holds: the VP as a GuestCpu. Its input is built per call, as the C
  // runtime must build it from the import's arguments.
  const cpu: GuestCpu = vp;
  const spinCount = BigInt(SPIN_COUNT);
  const hoisted = [spinCount] as const;
  const inputGpa = BigInt(INPUT_GPA);

  // Every hypercall a case issues, to compare with what the handler saw.
  let issued = 0;
  const before = vp.longSpinWaits.count;
  const setup: [string, unknown][] = [
    ['C bench_fast', c.call('bench_fast', 10)],
    ['C bench_memory', c.call('bench_memory', 10, INPUT_GPA)],
    ['C bench_take_interrupt', c.call('bench_take_interrupt', 10)],
    ['C bench_rdtsc', c.call('bench_rdtsc', 10)],
    ['C bench_floor', c.call('bench_floor', 10)],
  ];
  issued += 20;
  const failed = setup.filter(([, wrong]) => wrong !== 0).map(([what, wrong]) => `${what} (${wrong})`);
  if (vp.longSpinWaits.count - before !== issued || vp.longSpinWaits.lastSpinCount !== SPIN_COUNT)
    failed.push('NotifyLongSpinWait handler count or SpinCount');
  if (failed.length > 0) throw new Error(`wasm-guest: setup check failed: ${failed.join(', ')}`);

  // Each case spells its loop out (one call site per case; see direct-dispatch).
  const cases: BenchCase[] = [
    {
      id: 'c-fast',
      name: 'C: pvlab_hypercall_fast NotifyLongSpinWait (import)',
      batch: N,
      run: () => {
        issued += N;
        return c.call('bench_fast', N) as number;
      },
    },
    {
      id: 'js-fast',
      name: 'JS: cpu.fastHypercall(control, [x]) NotifyLongSpinWait',
      batch: N,
      run: () => {
        let wrong = 0;
        for (let k = 0; k < N; k++)
          if (cpu.fastHypercall(NOTIFY_FAST, [spinCount]).result !== SUCCESS) wrong++;
        issued += N;
        return wrong;
      },
    },
    {
      id: 'js-fast-hoisted',
      name: 'diag JS: cpu.fastHypercall, input array hoisted',
      batch: N,
      run: () => {
        let wrong = 0;
        for (let k = 0; k < N; k++) if (cpu.fastHypercall(NOTIFY_FAST, hoisted).result !== SUCCESS) wrong++;
        issued += N;
        return wrong;
      },
    },
    {
      id: 'c-memory',
      name: 'C: pvlab_hypercall NotifyLongSpinWait (memory, 8 B in)',
      batch: N,
      run: () => {
        issued += N;
        return c.call('bench_memory', N, INPUT_GPA) as number;
      },
    },
    {
      id: 'js-memory',
      name: 'JS: cpu.hypercall NotifyLongSpinWait (memory, 8 B in)',
      batch: N,
      run: () => {
        let wrong = 0;
        for (let k = 0; k < N; k++) if (cpu.hypercall(NOTIFY, inputGpa, 0n) !== SUCCESS) wrong++;
        issued += N;
        return wrong;
      },
    },
    {
      id: 'c-import-take-interrupt',
      name: 'C: take_interrupt import, none pending (i32)',
      batch: N,
      run: () => c.call('bench_take_interrupt', N) as number,
    },
    {
      id: 'c-import-rdtsc',
      name: 'C: rdtsc import, the VM clock (i64)',
      batch: N,
      run: () => c.call('bench_rdtsc', N) as number,
    },
    {
      id: 'c-floor',
      name: 'floor C: a call to a non-inlined C function',
      batch: N,
      run: () => c.call('bench_floor', N) as number,
    },
  ];
  const rows = measure(cases, timing, progress);
  const handled = vp.longSpinWaits.count - before;
  if (handled !== issued)
    throw new Error(`wasm-guest: the handler ran ${handled} times for ${issued} direct-harness calls`);
  // Strict mode: close() throws if any call produced a conformance diagnostic.
  vm.close();
  return rows;
}
