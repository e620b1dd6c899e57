// Where does pvlab's threaded round trip spend its time? Copies the built host emulator
// (apps/host-emulator/dist) into a temporary directory, patches one piece of the hot path out of
// each copy (or changes its spin bound), and runs the bench's guest program on every copy,
// interleaved, so that each variant sees the same machine load. Nothing in the repository changes.
//
//   node tooling/bench/experiments/threaded-ablation.mjs round-trip [rounds]   # 1 vCPU, µs per call
//   node tooling/bench/experiments/threaded-ablation.mjs spin [rounds]         # 2/4/8 vCPUs, calls/s
//   node tooling/bench/experiments/threaded-ablation.mjs micro                 # single-thread costs
//   … spin 3 '50 (as is),2000,adaptive'   # only the variants whose names contain one of these
//
// Build first (`pnpm bench --suite threaded` does). The patches match the compiled JavaScript of
// run.ts / mailbox.ts / vcpu-worker.ts as of 2026-11-23; when one no longer matches, the script
// stops and names it. An experiment, not a benchmark: it is not part of `pnpm bench`.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const HOST_DIR = dirname(require.resolve('@pvlab/host-emulator/package.json'));
const GUEST = new URL('../guests/spin-wait-loop.mjs', import.meta.url);
const SAMPLES_GPA = 0x10_0000;
const STRIDE = 0x4_0000;

const RUN = 'threaded/run.js';
const MAILBOX = 'threaded/mailbox.js';
const VCPU = 'vcpu.mjs';

/** [file, pattern, replacement] triples. */
const ROUND_TRIP = {
  base: [],
  // run.ts #hypercall: no decodeHypercallControl/Result, hvStatusName, hvCallName, hex, events.push.
  'host: no event record': [
    [RUN, /const control = decodeHypercallControl\(regs\.control\);/, ''],
    [
      RUN,
      /const r = decodeHypercallResult\(result\);\s*status = hvStatusName\(r\.status\);\s*reps = r\.repsCompleted;/,
      '',
    ],
    [RUN, /this\.#events\.push\(\{\s*kind: 'hypercall',[\s\S]*?repsCompleted: reps,\s*\}\);/, ''],
  ],
  // run.ts #runParallel: `await this.#yield()` once per 256 iterations instead of every one.
  'host: await #yield 1 in 256': [
    [
      RUN,
      /const lastYield = \{ t: performance\.now\(\) \};(\s*while \(!this\.#finished\(\)\) \{\s*const seen = mb\.doorbell\(\);)/,
      'const lastYield = { t: performance.now(), k: 0 };$1',
    ],
    [
      RUN,
      /(mb\.waitForDoorbell\(seen, MAX_SLICE_MS\);\s*\}\s*)await this\.#yield\(lastYield\);/,
      '$1if ((++lastYield.k & 255) === 0) await this.#yield(lastYield);',
    ],
  ],
  // run.ts #hypercall: copy RDX and R8 only, write back RAX only (the call has no XMM in/out).
  'host: 2 registers, not 14': [
    [
      RUN,
      /for \(let i = 0; i < regs\.fastSlotCount; i\+\+\)\s*regs\.writeFastSlot\(i, mb\.reg\(vp, i \+ 1\)\);/,
      'regs.rdx = mb.reg(vp, 1); regs.r8 = mb.reg(vp, 2);',
    ],
    [
      RUN,
      /for \(let i = 0; i < regs\.fastSlotCount; i\+\+\)\s*mb\.setReg\(vp, i \+ 1, regs\.readFastSlot\(i\)\);/,
      '',
    ],
  ],
  // vcpu-worker.ts: control + RDX + R8 in, RAX out; no slots.fill/forEach, no output array.
  'guest: lean vmcall': [
    [
      VCPU,
      /function vmcall\(control\) \{[\s\S]*?\n\}/,
      'function vmcall(control) {\n  mb.setReg(vp, 0, control);\n  mb.setReg(vp, 1, slots[0]);\n  mb.setReg(vp, 2, slots[1]);\n  exit(ExitKind.HYPERCALL);\n  return { result: mb.reg(vp, 0), output: [] };\n}',
    ],
    [
      VCPU,
      /slots\.fill\(0n\);\s*input\.forEach\(\(v, i\) => \{\s*slots\[i\] = BigInt\.asUintN\(64, v\);\s*\}\);/,
      'slots[0] = input[0]; slots[1] = 0n;',
    ],
  ],
  // vcpu-worker.ts exit(): no timestamp per exit.
  'guest: no exit timestamp': [
    [VCPU, /mb\.setTime\(vp, performance\.timeOrigin \+ performance\.now\(\)\);/, ''],
  ],
};
ROUND_TRIP['host: all three'] = [
  ...ROUND_TRIP['host: no event record'],
  ...ROUND_TRIP['host: await #yield 1 in 256'],
  ...ROUND_TRIP['host: 2 registers, not 14'],
];
ROUND_TRIP['host + guest: all'] = [
  ...ROUND_TRIP['host: all three'],
  ...ROUND_TRIP['guest: lean vmcall'],
  ...ROUND_TRIP['guest: no exit timestamp'],
];

const oversubscribed = (limit) => [
  [
    MAILBOX,
    /return threads <= cores \? SPIN_LIMIT : OVERSUBSCRIBED_SPIN_LIMIT;/,
    `return threads <= cores ? SPIN_LIMIT : ${limit};`,
  ],
];
/**
 * Spin bounds that adapt per thread: double (up to 2000) when a spin caught the peer, halve (down
 * to 50) when it had to block; every 64th wait probes with the full 2000, so a bound that fell to
 * 50 while the peer was away (startup, another process on the core) can climb back.
 */
const adaptive = [
  ...oversubscribed('SPIN_LIMIT'),
  ...[MAILBOX, VCPU].map((file) => [
    file,
    /for \(let i = 0; i < this\.spinLimit; i\+\+\) \{\s*if \(Atomics\.load\(w, state\) === State\.COMPLETE\)\s*return this\.#resume\((\w+)\);\s*\}/,
    'this.__n = (this.__n | 0) + 1;\n const lim = (this.__n & 63) === 0 ? 2000 : this.spinLimit;\n for (let i = 0; i < lim; i++) { if (Atomics.load(w, state) === State.COMPLETE) { this.spinLimit = Math.min(2000, lim * 2); return this.#resume($1); } }\n this.spinLimit = Math.max(50, this.spinLimit >> 1);',
  ]),
  [
    MAILBOX,
    /for \(let i = 0; i < this\.spinLimit; i\+\+\)\s*if \(Atomics\.load\(w, DOORBELL\) !== seen\)\s*return;/,
    'this.__n = (this.__n | 0) + 1;\n const lim = (this.__n & 63) === 0 ? 2000 : this.spinLimit;\n for (let i = 0; i < lim; i++) if (Atomics.load(w, DOORBELL) !== seen) { this.spinLimit = Math.min(2000, lim * 2); return; }\n this.spinLimit = Math.max(50, this.spinLimit >> 1);',
  ],
];
const SPIN = {
  'oversubscribed spin 50 (as is)': [],
  'oversubscribed spin 200': oversubscribed(200),
  'oversubscribed spin 2000': oversubscribed(2000),
  'oversubscribed spin 20000': oversubscribed(20000),
  'adaptive 50..2000, probing': adaptive,
};

/** Only the variants whose name contains one of the comma-separated words of the third argument. */
const only = (process.argv[4] ?? '').split(',').filter(Boolean);

function makeVariants(root, variants) {
  const dirs = {};
  let i = 0;
  for (const [name, patches] of Object.entries(variants)) {
    if (only.length > 0 && name !== 'base' && !only.some((w) => name.includes(w))) continue;
    const dir = join(root, String(i++));
    cpSync(join(HOST_DIR, 'dist'), join(dir, 'dist'), { recursive: true });
    symlinkSync(join(HOST_DIR, 'node_modules'), join(dir, 'node_modules'));
    for (const [file, pattern, replacement] of patches) {
      const p = join(dir, 'dist', file);
      const text = readFileSync(p, 'utf8');
      if (!pattern.test(text))
        throw new Error(`variant '${name}': the patch ${pattern} no longer matches ${file}`);
      writeFileSync(p, text.replace(pattern, replacement));
    }
    dirs[name] = pathToFileURL(join(dir, 'dist', 'index.js')).href;
  }
  return dirs;
}

/** One run of the guest program: aggregate calls/s over the timed window, and the median µs per call. */
async function measure(indexUrl, vcpus, batch) {
  const { createVm, runGuest } = await import(indexUrl);
  const guest = new URL(GUEST);
  guest.search = `form=fast&batch=${batch}&warmupMs=250&budgetMs=1000&barrier=wait`;
  const vm = createVm({ vcpus });
  const result = await runGuest(vm, { guest, timeoutMs: 30_000 });
  if (!result.passed) throw new Error(result.failures.map((f) => f.message).join('; '));
  let calls = 0;
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = 0;
  const perCall = [];
  for (let vp = 0; vp < vcpus; vp++) {
    const f = new Float64Array(vm.memory.buffer, SAMPLES_GPA + vp * STRIDE, STRIDE / 8);
    calls += f[3];
    t0 = Math.min(t0, f[1]);
    t1 = Math.max(t1, f[2]);
    for (let k = 0; k < f[0]; k++) perCall.push((f[8 + k] * 1000) / batch);
  }
  perCall.sort((a, b) => a - b);
  return { perSec: calls / ((t1 - t0) / 1000), p50: perCall[perCall.length >> 1] };
}

const fmt = (xs, f) => xs.map(f).join(' ');
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function roundTrip(rounds) {
  const root = mkdtempSync(join(tmpdir(), 'pvlab-ablation-'));
  try {
    const dirs = makeVariants(root, ROUND_TRIP);
    const out = {};
    for (let r = 0; r < rounds; r++)
      for (const [name, url] of Object.entries(dirs)) {
        out[name] ??= [];
        out[name].push(await measure(url, 1, 200));
      }
    console.log(
      '1 vCPU, fast NotifyLongSpinWait: median µs per call of each run (batches of 200), in run order',
    );
    for (const [name, xs] of Object.entries(out)) {
      const p = xs.map((x) => x.p50);
      console.log(
        `${name.padEnd(30)} best ${Math.min(...p).toFixed(2)}  median ${median(p).toFixed(2)}  | ${fmt(p, (v) => v.toFixed(2))}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function spin(rounds) {
  const root = mkdtempSync(join(tmpdir(), 'pvlab-ablation-'));
  try {
    const dirs = makeVariants(root, SPIN);
    const out = {};
    for (let r = 0; r < rounds; r++)
      for (const [name, url] of Object.entries(dirs))
        for (const n of [1, 2, 4, 8]) {
          const key = `${name}, ${n} vCPU`;
          out[key] ??= [];
          out[key].push(await measure(url, n, 32));
        }
    console.log('aggregate hypercalls/s (k) of each run, in run order');
    for (const [name, xs] of Object.entries(out)) {
      const v = xs.map((x) => x.perSec / 1000);
      console.log(
        `${name.padEnd(44)} best ${Math.max(...v).toFixed(1)}k  median ${median(v).toFixed(1)}k  | ${fmt(v, (x) => x.toFixed(1))}`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function micro() {
  const { createVm } = await import('@pvlab/host-emulator');
  const { decodeHypercallControl, decodeHypercallResult, hvCallName, hvStatusName } = await import(
    '@pvlab/hypercall'
  );
  const { Mailboxes } = await import(pathToFileURL(join(HOST_DIR, 'dist', MAILBOX)).href);
  let sink = 0;
  const time = (name, fn, n = 1_000_000) => {
    fn(20_000);
    const ns = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      fn(n);
      ns.push(((performance.now() - t) * 1e6) / n);
    }
    console.log(
      `${name.padEnd(64)} best ${Math.min(...ns)
        .toFixed(0)
        .padStart(4)} ns  median ${median(ns).toFixed(0)} ns`,
    );
  };
  const mb = Mailboxes.create(1);
  const vm = createVm({ vcpus: 1 });
  vm.vp(0).writeMsr(0x40000000n, 0x8100n << 48n);
  vm.vp(0).writeMsr(0x40000001n, 0x1001n);
  const regs = vm.partition.vp(0).registers;
  const hex = (v) => `0x${v.toString(16)}`;
  const spins = new Int32Array(new SharedArrayBuffer(64));
  time(
    '2000 unsuccessful spins (Atomics.load)',
    (n) => {
      for (let k = 0; k < n; k++) for (let i = 0; i < 2000; i++) if (Atomics.load(spins, 0) !== 0) sink++;
    },
    2000,
  );
  time('performance.timeOrigin + performance.now() (guest exit stamp)', (n) => {
    for (let i = 0; i < n; i++) sink += performance.timeOrigin + performance.now();
  });
  let events = [];
  time(
    'host event record: decode control + result, 2 names, hex, push',
    (n) => {
      if (events.length > 2_000_000) events = [];
      for (let i = 0; i < n; i++) {
        const control = decodeHypercallControl(0x10008n);
        const r = decodeHypercallResult(0n);
        events.push({
          kind: 'hypercall',
          vp: 0,
          ts: i,
          dur: 1,
          name: hvCallName(control.callCode),
          callCode: control.callCode,
          control: hex(0x10008n),
          fast: control.fast,
          variableHeaderSize: control.variableHeaderSize,
          repCount: control.repCount,
          repStartIndex: control.repStartIndex,
          status: hvStatusName(r.status),
          repsCompleted: r.repsCompleted,
        });
      }
    },
    300_000,
  );
  time('host register copies: 14 slots in, RAX + 14 out, output slots', (n) => {
    for (let i = 0; i < n; i++) {
      regs.control = mb.reg(0, 0);
      for (let j = 0; j < regs.fastSlotCount; j++) regs.writeFastSlot(j, mb.reg(0, j + 1));
      mb.setReg(0, 0, 0n);
      for (let j = 0; j < regs.fastSlotCount; j++) mb.setReg(0, j + 1, regs.readFastSlot(j));
      mb.setOutputSlots(0, regs.fastOutputFirstSlot, regs.fastOutputSlots);
    }
  });
  time('host dispatch: partition.hypercall (fast NotifyLongSpinWait)', (n) => {
    for (let i = 0; i < n; i++) {
      regs.control = 0x10008n;
      regs.rdx = 1n;
      regs.r8 = 0n;
      sink += Number(vm.partition.hypercall(0, regs));
    }
  });
  const slots = new BigUint64Array(14);
  const input = [1n];
  const guestWrapper = () => {
    slots.fill(0n);
    input.forEach((v, i) => {
      slots[i] = BigInt.asUintN(64, v);
    });
    mb.setReg(0, 0, BigInt.asUintN(64, 0x10008n));
    for (let i = 0; i < slots.length; i++) mb.setReg(0, i + 1, slots[i]);
    for (let i = 0; i < slots.length; i++) slots[i] = mb.reg(0, i + 1);
    const { first, count } = mb.outputSlots(0);
    return { result: mb.reg(0, 0), output: Array.from(slots.subarray(first, first + count)) };
  };
  time('guest fastHypercall + vmcall, minus the exit and its stamp', (n) => {
    for (let i = 0; i < n; i++) if (guestWrapper().result !== 0n) sink++;
  });
  const last = { t: performance.now() };
  const yieldNoop = async (l) => {
    const t = performance.now();
    if (t - l.t < 10) return;
    l.t = t;
  };
  const t = performance.now();
  const awaits = 1_000_000;
  for (let i = 0; i < awaits; i++) await yieldNoop(last);
  const awaitNs = ((performance.now() - t) * 1e6) / awaits;
  console.log(
    `${'host: `await this.#yield()` that returns at once'.padEnd(64)} ${awaitNs.toFixed(0).padStart(9)} ns`,
  );
  if (sink === -1) console.log(sink);
}

const [what = 'round-trip', rounds = '5'] = process.argv.slice(2);
if (what === 'round-trip') await roundTrip(Number(rounds));
else if (what === 'spin') await spin(Number(rounds));
else if (what === 'micro') await micro();
else throw new Error(`unknown experiment '${what}': round-trip, spin or micro`);
