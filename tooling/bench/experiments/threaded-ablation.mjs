// Where does pvlab's threaded round trip spend its time? Copies the built host emulator
// (apps/host-emulator/dist) into temporary directories, patches one piece of the hot path out of
// each copy (or changes its spin bound), and runs the bench's guest program on every copy,
// interleaved and each run in a process of its own (fresh JIT), so that every variant sees the
// same machine load. Nothing in the repository changes.
//
//   node tooling/bench/experiments/threaded-ablation.mjs round-trip [rounds]   # 1 vCPU, µs per call
//   node tooling/bench/experiments/threaded-ablation.mjs spin [rounds]         # 2/4/8 vCPUs, calls/s
//   node tooling/bench/experiments/threaded-ablation.mjs micro                 # single-thread costs
//   … round-trip 8 'timing'   # only the variants whose names contain one of these (comma-separated)
//
// Build first (`pnpm bench --suite threaded` does). The patches match the compiled JavaScript of
// exit-loop.ts / hypercall-exit.ts / mailbox.ts / vcpu-worker.ts; when one no longer matches, the script stops and names it.
// An experiment, not a benchmark: it is not part of `pnpm bench`.
// Round trips move by tens of percent between runs on a shared 2-CPU machine: compare medians of
// 8 or more rounds, and only within one invocation.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const HOST_DIR = dirname(require.resolve('@pvlab/host-emulator/package.json'));
const GUEST = new URL('../guests/spin-wait-loop.mjs', import.meta.url);
const SAMPLES_GPA = 0x10_0000;
const STRIDE = 0x4_0000;

const EXIT_LOOP = 'threaded/exit-loop.js';
const HYPERCALL_EXIT = 'threaded/hypercall-exit.js';
const MAILBOX = 'threaded/mailbox.js';
const VCPU = 'vcpu.mjs';

/** [file, pattern, replacement] triples. */
const NO_HOST_TIMING = [
  // exit-loop.ts #runParallel: the clock read and stamp pick-up after the completion.
  [EXIT_LOOP, /\n\s*log\.timeHypercalls\(vp\);/, ''],
];
// vcpu-worker.ts hypercallExit: the clock read around posting.
const NO_GUEST_STAMP = [[VCPU, /mb\.setHypercallStamp\(vp, seq, clock\(\)\);/g, '']];
const ROUND_TRIP = {
  base: [],
  'host: no timing after the completion': NO_HOST_TIMING,
  'guest: no stamp': NO_GUEST_STAMP,
  'no timing at all': [...NO_HOST_TIMING, ...NO_GUEST_STAMP],
  // hypercall-exit.ts #dispatch: RAX = 0 instead of partition.dispatchHypercall().
  'host: no dispatch': [[HYPERCALL_EXIT, /this\.#vm\.partition\.dispatchHypercall\(vp, io\)/, '0n']],
};

const oversubscribed = (limit) => [
  [
    MAILBOX,
    /return threads <= cores \? SPIN_LIMIT : OVERSUBSCRIBED_SPIN_LIMIT;/,
    `return threads <= cores ? SPIN_LIMIT : ${limit};`,
  ],
];
const SPIN = {
  'oversubscribed spin 500 (as is)': [],
  'oversubscribed spin 50': oversubscribed(50),
  'oversubscribed spin 2000': oversubscribed(2000),
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
    cpSync(join(HOST_DIR, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(HOST_DIR, 'node_modules'), join(dir, 'node_modules'));
    for (const [file, pattern, replacement] of patches) {
      const p = join(dir, 'dist', file);
      const text = readFileSync(p, 'utf8');
      if (!pattern.test(text))
        throw new Error(`variant '${name}': the patch ${pattern} no longer matches ${file}`);
      pattern.lastIndex = 0;
      writeFileSync(p, text.replace(pattern, replacement));
    }
    dirs[name] = pathToFileURL(join(dir, 'dist', 'index.js')).href;
  }
  return dirs;
}

/** One run of the guest program (in this process): aggregate calls/s and the median µs per call. */
async function measure(indexUrl, vcpus, batch) {
  const { createVm, runGuest } = await import(indexUrl);
  const guest = new URL(GUEST);
  guest.search = `form=fast&batch=${batch}&warmupMs=250&budgetMs=600&barrier=wait`;
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

/** `measure` in a child process of its own: variants never share a JIT. */
function measureApart(indexUrl, vcpus, batch) {
  const out = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), 'child', indexUrl, String(vcpus), String(batch)],
    { encoding: 'utf8' },
  );
  return JSON.parse(out);
}

const fmt = (xs, f) => xs.map(f).join(' ');
/** Appends `value` to the list under `key`. */
const add = (lists, key, value) => {
  lists[key] ??= [];
  lists[key].push(value);
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function withVariants(variants, body) {
  const root = mkdtempSync(join(tmpdir(), 'pvlab-ablation-'));
  try {
    body(makeVariants(root, variants));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function roundTrip(rounds) {
  withVariants(ROUND_TRIP, (dirs) => {
    const out = {};
    for (let r = 0; r < rounds; r++)
      for (const [name, url] of Object.entries(dirs)) add(out, name, measureApart(url, 1, 200));
    console.log(
      '1 vCPU, fast NotifyLongSpinWait: median µs per call of each run (batches of 200), in run order',
    );
    for (const [name, xs] of Object.entries(out)) {
      const p = xs.map((x) => x.p50);
      console.log(
        `${name.padEnd(40)} median ${median(p).toFixed(3)}  best ${Math.min(...p).toFixed(3)}  | ${fmt(p, (v) => v.toFixed(3))}`,
      );
    }
  });
}

function spin(rounds) {
  withVariants(SPIN, (dirs) => {
    const out = {};
    for (const n of [2, 4, 8])
      for (let r = 0; r < rounds; r++)
        for (const [name, url] of Object.entries(dirs))
          add(out, `${name}, ${n} vCPUs`, measureApart(url, n, 32));
    console.log('aggregate hypercalls/s (k) of each run, in run order');
    for (const [name, xs] of Object.entries(out)) {
      const v = xs.map((x) => x.perSec / 1000);
      console.log(
        `${name.padEnd(44)} median ${median(v).toFixed(0)}k  best ${Math.max(...v).toFixed(0)}k  | ${fmt(v, (x) => x.toFixed(0))}`,
      );
    }
  });
}

/** Single-thread costs of the pieces of a round trip. */
async function micro() {
  const { createVm } = await import('@pvlab/host-emulator');
  const { enableTestHypercalls } = await import('@pvlab/hypercall/testing');
  const { Mailboxes, MailboxHypercallIo } = await import(pathToFileURL(join(HOST_DIR, 'dist', MAILBOX)).href);
  let sink = 0;
  const time = (name, fn, n = 2_000_000) => {
    fn(20_000);
    const ns = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      fn(n);
      ns.push(((performance.now() - t) * 1e6) / n);
    }
    console.log(
      `${name.padEnd(64)} best ${Math.min(...ns)
        .toFixed(1)
        .padStart(6)} ns  median ${median(ns).toFixed(1)} ns`,
    );
  };
  const spins = new Int32Array(new SharedArrayBuffer(64));
  time(
    '2000 unsuccessful spins (Atomics.load)',
    (n) => {
      for (let k = 0; k < n; k++) for (let i = 0; i < 2000; i++) if (Atomics.load(spins, 0) !== 0) sink++;
    },
    2000,
  );
  time('performance.now()', (n) => {
    for (let i = 0; i < n; i++) sink += performance.now();
  });
  time('performance.timeOrigin + performance.now()', (n) => {
    for (let i = 0; i < n; i++) sink += performance.timeOrigin + performance.now();
  });
  const vm = createVm({ vcpus: 1 });
  enableTestHypercalls(vm.vp(0));
  const mb = Mailboxes.create(1);
  const io = new MailboxHypercallIo(mb, 0);
  time('host dispatch in place: partition.hypercall (fast NotifyLongSpinWait)', (n) => {
    for (let i = 0; i < n; i++) {
      mb.setRegWord(0, 0, 0, 0x10008);
      mb.setRegWord(0, 1, 0, i & 7);
      if (vm.partition.hypercall(0, io) !== 0n) sink++;
    }
  });
  time('host dispatch in place: an unregistered call code', (n) => {
    for (let i = 0; i < n; i++) {
      mb.setRegWord(0, 0, 0, 0x1ffff);
      if (vm.partition.hypercall(0, io) === 0n) sink++;
    }
  });
  if (sink === -1) console.log(sink);
}

const [what = 'round-trip', rounds = '8'] = process.argv.slice(2);
if (what === 'child') {
  const [, , , indexUrl, vcpus, batch] = process.argv;
  process.stdout.write(JSON.stringify(await measure(indexUrl, Number(vcpus), Number(batch))));
} else if (what === 'round-trip') roundTrip(Number(rounds));
else if (what === 'spin') spin(Number(rounds));
else if (what === 'micro') await micro();
else throw new Error(`unknown experiment '${what}': round-trip, spin or micro`);
