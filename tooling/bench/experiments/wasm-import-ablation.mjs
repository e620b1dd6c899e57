// Where does a C guest's memory-form hypercall on the direct harness spend its time, against a
// JS guest's? Runs the wasm-guest suite's C loop (guests/c/hypercall-bench.c, bench_memory) over
// hand-made `hypercall` imports that each leave out one piece of what the runtime's import does,
// next to the runtime itself and the JS loop, interleaved, each run in a process of its own
// (fresh JIT). Nothing in the repository changes.
//
//   node tooling/bench/experiments/wasm-import-ablation.mjs [rounds]   # ns per call, medians
//
// Build first (`pnpm bench --suite wasm-guest` does), with a C toolchain for pvlab-cc.
// An experiment, not a benchmark: it is not part of `pnpm bench`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const SOURCE = fileURLToPath(new URL('../guests/c/hypercall-bench.c', import.meta.url));
const N = 1000;
const NOTIFY = 0x0008n;
const INPUT_GPA = 0x8_0000;

/**
 * Each variant: how the C loop reaches the VP. `runtime` is @pvlab/wasm-guest as built, `js` the
 * JS guest's loop; the others replace the `hypercall` import (`make(vp, irr, vm)` returns it;
 * `irr` is VP 0's eight IRR words, for a pending look without the calls the runtime makes).
 */
const VARIANTS = {
  'the runtime (pvlab_hypercall → vp.hypercallWords, then the pending look)': 'runtime',
  'JS vp.hypercall(control, gpa, 0n) (the peer)': 'js',
  'vp.hypercallWords only': { make: (vp) => (a, b, c, d, e, f) => vp.hypercallWords(a, b, c, d, e, f) },
  'vp.hypercallWords + the IRR read inline (8 plain loads)': {
    make: (vp, irr) => (a, b, c, d, e, f) => {
      const r = vp.hypercallWords(a, b, c, d, e, f);
      if ((irr[0] | irr[1] | irr[2] | irr[3] | irr[4] | irr[5] | irr[6] | irr[7]) !== 0)
        throw new Error('pending');
      return r;
    },
  },
  'the register file + partition.hypercall (no VP checks, no pending look)': {
    make: (_vp, _irr, vm) => {
      const partition = vm.partition;
      const regs = partition.vps[0].registers;
      return (a, b, c, d, e, f) => {
        regs.setWords(a, b, c, d, e, f);
        return partition.hypercall(0, regs);
      };
    },
  },
  'an import returning 0n (the crossing alone)': { make: () => () => 0n },
};

async function child(name, wasmPath, warmupMs, timeMs) {
  const { createVm } = await import(require.resolve('@pvlab/host-emulator'));
  const { enableTestHypercalls } = await import(require.resolve('@pvlab/hypercall/testing'));
  const { loadWasmGuest } = await import(require.resolve('@pvlab/wasm-guest'));
  const vm = createVm({ vcpus: 1, memoryBytes: 16 << 20 });
  const vp = vm.vp(0);
  enableTestHypercalls(vp);
  vm.memory.view.setBigUint64(INPUT_GPA, 100n, true); // SpinCount 100, RsvdZ 0
  const bytes = readFileSync(wasmPath);
  const guest = loadWasmGuest(bytes);
  const map = guest.vmMemoryMap({ ramBytes: vm.memory.size, vcpus: 1, arch: 'x64' });
  const v = VARIANTS[name];
  let run;
  if (v === 'runtime') {
    const c = guest.instantiate({ cpu: vp, index: 0, vcpus: 1, memory: vm.memory, map });
    run = () => c.call('bench_memory', N, INPUT_GPA);
  } else if (v === 'js') {
    const gpa = BigInt(INPUT_GPA);
    run = () => {
      let wrong = 0;
      for (let i = 0; i < N; i++) if (vp.hypercall(NOTIFY, gpa, 0n) !== 0n) wrong++;
      return wrong;
    };
  } else {
    const module = new WebAssembly.Module(bytes);
    const pvlab = {};
    for (const i of WebAssembly.Module.imports(module)) if (i.module === 'pvlab') pvlab[i.name] = () => 0;
    // VP 0's IRR: the first eight words of the partition's PendingInterrupts buffer.
    pvlab.hypercall = v.make(vp, new Int32Array(vm.partition.interrupts.buffer, 0, 8), vm);
    const instance = new WebAssembly.Instance(module, { pvlab, env: { memory: vm.memory.wasmMemory } });
    instance.exports.__stack_pointer.value = map.vcpu[0].stack.top;
    instance.exports.__wasm_init_tls(map.vcpu[0].tls.gpa);
    const f = instance.exports.bench_memory;
    run = () => f(N, INPUT_GPA);
  }
  const sample = () => {
    const t0 = performance.now();
    if (run() !== 0) throw new Error(`${name}: wrong results`);
    return ((performance.now() - t0) * 1e6) / N;
  };
  for (const end = performance.now() + warmupMs; performance.now() < end; ) sample();
  const samples = [];
  for (const end = performance.now() + timeMs; performance.now() < end; ) samples.push(sample());
  samples.sort((a, b) => a - b);
  process.stdout.write(`${samples[samples.length >> 1]}\n`);
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], 250, 1000);
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const names = Object.keys(VARIANTS);
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-ablation-'));
  try {
    const wasm = join(dir, 'hypercall-bench.wasm');
    const bin = join(dirname(require.resolve('@pvlab/wasm-guest/package.json')), 'bin', 'pvlab-cc.mjs');
    execFileSync(process.execPath, [bin, '-o', wasm, SOURCE], { stdio: 'inherit' });
    const results = new Map(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++)
      for (const n of names) {
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', n, wasm], {
          encoding: 'utf8',
        });
        results.get(n).push(Number(out.trim()));
        process.stderr.write(`round ${r + 1}/${rounds}: ${n} ${Number(out).toFixed(1)} ns\n`);
      }
    const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    for (const [n, v] of results)
      process.stdout.write(
        `${med(v).toFixed(1).padStart(7)} ns  [${v.map((x) => x.toFixed(0)).join(' ')}]  ${n}\n`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
