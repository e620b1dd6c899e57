// Where does a C guest's fast hypercall on the direct harness spend its time, against a JS
// guest's? Runs the wasm-guest suite's C loop (guests/c/hypercall-bench.c, bench_fast) over
// hand-made import functions that each leave out or change one piece of what the runtime's
// hypercall_fast import does, next to the runtime itself (as built, and a patched copy of its
// built files) and the JS loop, interleaved, each run in a process of its own (fresh JIT).
// Nothing in the repository changes.
//
//   node tooling/bench/experiments/wasm-import-ablation.mjs [rounds]   # ns per call, medians
//   … [rounds] 'regs,js'  # only the variants whose names contain one of these (comma-separated)
//
// Build first (`pnpm bench --suite wasm-guest` does), with a C toolchain for pvlab-cc.
// An experiment, not a benchmark: it is not part of `pnpm bench`.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const RUNTIME_DIR = dirname(require.resolve('@pvlab/wasm-guest/package.json'));
const SOURCE = fileURLToPath(new URL('../guests/c/hypercall-bench.c', import.meta.url));
const N = 1000;
const NOTIFY_FAST = 0x1_0008n;
const TWO_64 = 1n << 64n;
const u64 = (v) => (v < 0n ? v + TWO_64 : v);

/**
 * Each variant: how the C loop reaches the VP. `runtime` is @pvlab/wasm-guest as built; the
 * others replace its hypercall_fast import (`make(cpu, irr, vm)` returns the import function; `irr` is
 * VP 0's eight IRR words, for a pending look without the calls `cpu.interruptPending()` makes).
 */
const VARIANTS = {
  runtime: { runtime: [] },
  'runtime without u64 on the arguments (patched copy)': {
    runtime: [
      [
        'runtime/import-object.js',
        /cpu\.hypercall\(u64\(control\), u64\(rdx\), u64\(r8\)\)/,
        'cpu.hypercall(control, rdx, r8)',
      ],
    ],
  },
  'js: cpu.fastHypercall(control, [x])': { js: true },
  'import returns 0n (crossing + BigInt boxing only)': { make: () => () => 0n },
  'fastHypercall(c, [a, b]).result': { make: (cpu) => (c, a, b) => cpu.fastHypercall(c, [a, b]).result },
  '+ u64': { make: (cpu) => (c, a, b) => cpu.fastHypercall(u64(c), [u64(a), u64(b)]).result },
  '+ u64 + pending look (the runtime, inline)': {
    make: (cpu) => (c, a, b) => {
      const r = cpu.fastHypercall(u64(c), [u64(a), u64(b)]).result;
      if (cpu.interruptPending()) throw new Error('pending');
      return r;
    },
  },
  '+ u64 + the IRR read inline (8 plain loads)': {
    make: (cpu, irr) => (c, a, b) => {
      const r = cpu.fastHypercall(u64(c), [u64(a), u64(b)]).result;
      if ((irr[0] | irr[1] | irr[2] | irr[3] | irr[4] | irr[5] | irr[6] | irr[7]) !== 0)
        throw new Error('pending');
      return r;
    },
  },
  'regs: cpu.hypercall(c, a, b) (Fast bit: RDX, R8)': { make: (cpu) => (c, a, b) => cpu.hypercall(c, a, b) },
  'regs + u64 + pending look': {
    make: (cpu) => (c, a, b) => {
      const r = cpu.hypercall(u64(c), u64(a), u64(b));
      if (cpu.interruptPending()) throw new Error('pending');
      return r;
    },
  },
  'regs + u64 + the IRR read inline': {
    make: (cpu, irr) => (c, a, b) => {
      const r = cpu.hypercall(u64(c), u64(a), u64(b));
      if ((irr[0] | irr[1] | irr[2] | irr[3] | irr[4] | irr[5] | irr[6] | irr[7]) !== 0)
        throw new Error('pending');
      return r;
    },
  },
  'raw: VP registers + partition.hypercall, IRR inline (a vmcall entry)': {
    make: (_cpu, irr, vm) => {
      const partition = vm.partition;
      const regs = partition.vps[0].registers;
      return (c, a, b) => {
        regs.control = c;
        regs.rdx = a;
        regs.r8 = b;
        const r = partition.hypercall(0, regs);
        if ((irr[0] | irr[1] | irr[2] | irr[3] | irr[4] | irr[5] | irr[6] | irr[7]) !== 0)
          throw new Error('pending');
        return r;
      };
    },
  },
  'raw + u64: VP registers + partition.hypercall, IRR inline': {
    make: (_cpu, irr, vm) => {
      const partition = vm.partition;
      const regs = partition.vps[0].registers;
      return (c, a, b) => {
        regs.control = u64(c);
        regs.rdx = u64(a);
        regs.r8 = u64(b);
        const r = partition.hypercall(0, regs);
        if ((irr[0] | irr[1] | irr[2] | irr[3] | irr[4] | irr[5] | irr[6] | irr[7]) !== 0)
          throw new Error('pending');
        return r;
      };
    },
  },
  'raw + u64 + cpu.interruptPending()': {
    make: (cpu, _irr, vm) => {
      const partition = vm.partition;
      const regs = partition.vps[0].registers;
      return (c, a, b) => {
        regs.control = u64(c);
        regs.rdx = u64(a);
        regs.r8 = u64(b);
        const r = partition.hypercall(0, regs);
        if (cpu.interruptPending()) throw new Error('pending');
        return r;
      };
    },
  },
  'vp.hypercall + u64 + cpu.interruptPending() in try/catch (the runtime, hand-made)': {
    make: (cpu) => (c, a, b) => {
      try {
        const r = cpu.hypercall(u64(c), u64(a), u64(b));
        if (cpu.interruptPending()) throw new Error('pending');
        return r;
      } catch (e) {
        throw new Error(String(e));
      }
    },
  },
};

async function child(name, wasmPath, runtimeUrl, warmupMs, timeMs) {
  const { createVm } = await import(require.resolve('@pvlab/host-emulator'));
  const { enableTestHypercalls } = await import(require.resolve('@pvlab/hypercall/testing'));
  const { loadWasmGuest } = await import(runtimeUrl);
  const vm = createVm({ vcpus: 1, memoryBytes: 16 << 20 });
  const vp = vm.vp(0);
  enableTestHypercalls(vp);
  const bytes = readFileSync(wasmPath);
  const guest = loadWasmGuest(bytes);
  const map = guest.vmMemoryMap({ ramBytes: vm.memory.size, vcpus: 1, arch: 'x64' });
  const v = VARIANTS[name];
  let run;
  if (v.runtime) {
    const c = guest.instantiate({ cpu: vp, index: 0, vcpus: 1, memory: vm.memory, map });
    run = () => c.call('bench_fast', N);
  } else if (v.js) {
    const x = 1n;
    run = () => {
      let wrong = 0;
      for (let i = 0; i < N; i++) if (vp.fastHypercall(NOTIFY_FAST, [x]).result !== 0n) wrong++;
      return wrong;
    };
  } else {
    const module = new WebAssembly.Module(bytes);
    const pvlab = {};
    for (const i of WebAssembly.Module.imports(module)) if (i.module === 'pvlab') pvlab[i.name] = () => 0;
    // VP 0's IRR: the first eight words of the partition's PendingInterrupts buffer.
    pvlab.hypercall_fast = v.make(vp, new Int32Array(vm.partition.interrupts.buffer, 0, 8), vm);
    const instance = new WebAssembly.Instance(module, { pvlab, env: { memory: vm.memory.wasmMemory } });
    instance.exports.__stack_pointer.value = map.vcpu[0].stack.top;
    instance.exports.__wasm_init_tls(map.vcpu[0].tls.gpa);
    const f = instance.exports.bench_fast;
    run = () => f(N);
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

/** A copy of the built runtime with `patches` ([file, pattern, replacement]) applied; its index URL. */
function patchedRuntime(root, name, patches) {
  const dir = join(root, name.replace(/[^a-z0-9]+/gi, '-'));
  cpSync(join(RUNTIME_DIR, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(RUNTIME_DIR, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(RUNTIME_DIR, 'node_modules'), join(dir, 'node_modules'));
  for (const [file, pattern, replacement] of patches) {
    const path = join(dir, 'dist', file);
    const text = readFileSync(path, 'utf8');
    if (!pattern.test(text))
      throw new Error(`variant '${name}': the patch ${pattern} no longer matches ${file}`);
    writeFileSync(path, text.replace(pattern, replacement));
  }
  return pathToFileURL(join(dir, 'dist', 'index.js')).href;
}

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], process.argv[5], 250, 1000);
} else {
  const rounds = Number(process.argv[2] ?? 5);
  const only = process.argv[3]?.split(',');
  const names = Object.keys(VARIANTS).filter((n) => !only || only.some((o) => n.includes(o)));
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-ablation-'));
  try {
    const wasm = join(dir, 'hypercall-bench.wasm');
    const bin = join(dirname(require.resolve('@pvlab/wasm-guest/package.json')), 'bin', 'pvlab-cc.mjs');
    execFileSync(process.execPath, [bin, '-o', wasm, SOURCE], { stdio: 'inherit' });
    const runtimeUrl = new Map(
      names.map((n) => [
        n,
        VARIANTS[n].runtime?.length
          ? patchedRuntime(dir, n, VARIANTS[n].runtime)
          : pathToFileURL(require.resolve('@pvlab/wasm-guest')).href,
      ]),
    );
    const results = new Map(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++)
      for (const n of names) {
        const out = execFileSync(
          process.execPath,
          [fileURLToPath(import.meta.url), '--child', n, wasm, runtimeUrl.get(n)],
          {
            encoding: 'utf8',
          },
        );
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
