/**
 * guest.program() on vCPU-thread cpus (GuestProgramCpu), the page allocator, and pvlab_log's
 * printf subset.
 */
import { Worker } from 'node:worker_threads';
import { GuestProgramFailure } from '@pvlab/hypercall/guest';
import { describe, expect, it } from 'vitest';
import { loadWasmGuest } from '../src/index.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';
import { direct } from './helpers/direct.ts';
import { FakeCpu, FakeProgramCpu, vmMemory } from './helpers/fake-cpu.ts';

const skip = CLANG_MISSING !== undefined;

describe.skipIf(skip)(`guest.program() ${CLANG_MISSING ?? ''}`, () => {
  const run = (
    vcpus: number,
    args: Record<string, string>,
    options: { restoredFrom?: FakeProgramCpu[] } = {},
  ) => {
    const guest = loadWasmGuest(compileGuest('program'));
    const memory = options.restoredFrom?.[0]?.memory ?? vmMemory();
    const restored = options.restoredFrom !== undefined;
    const cpus = Array.from(
      { length: vcpus },
      (_, i) => new FakeProgramCpu(i, vcpus, memory, args, restored),
    );
    const program = guest.program();
    const outcomes = cpus.map((cpu) => {
      try {
        program(cpu);
        return 'passed';
      } catch (e) {
        return e instanceof GuestProgramFailure ? e.message : `threw ${String(e)}`;
      }
    });
    return { cpus, outcomes };
  };

  it('runs guest_main on every vCPU with its number, the count, the args and restored', () => {
    const { cpus, outcomes } = run(3, { mode: 'plain' });
    expect(outcomes).toEqual(['passed', 'passed', 'passed']);
    expect(cpus.map((c) => c.logs)).toEqual([
      ["vCPU 0 of 3: mode 'plain'"],
      ["vCPU 1 of 3: mode 'plain'"],
      ["vCPU 2 of 3: mode 'plain'"],
    ]);
    expect(cpus.map((c) => Object.fromEntries(c.reports))).toEqual(
      [1, 2, 3].map((starts) => ({ starts, restored: 0, cpus: 3, mode: 'plain' })),
    );
  });

  it('a restored VM keeps its data: the image is not initialised again', () => {
    const first = run(2, {});
    const again = run(2, {}, { restoredFrom: first.cpus });
    expect(again.cpus.map((c) => c.reports.get('starts'))).toEqual([3, 4]);
    expect(again.cpus.map((c) => c.reports.get('restored'))).toEqual([1, 1]);
  });

  it('pvlab_fail, a trap and a #GP fail only their vCPU, naming the reason and the C function', () => {
    expect(run(2, { mode: 'fail' }).outcomes).toEqual(['passed', 'vCPU 1 fails on purpose (fail)']);
    expect(run(2, { mode: 'trap' }).outcomes).toEqual([
      'passed',
      'wasm trap: unreachable in trap_here ← guest_main ← pvlab_start',
    ]);
    expect(run(2, { mode: 'gp' }).outcomes).toEqual([
      'passed',
      '#GP: RDMSR 0x4000ffff refused in guest_main ← pvlab_start',
    ]);
  });
});

describe.skipIf(skip)(`the page allocator ${CLANG_MISSING ?? ''}`, () => {
  it('hands out zeroed, aligned pages and 16-byte blocks from the map region, shared by all vCPUs', () => {
    const { vcpus, map, memory } = direct('alloc', 2, () => new FakeCpu());
    memory.bytes.fill(0xff, map.pages.gpa, map.pages.gpa + 0x10000);
    const a = vcpus[0]!.call('alloc_pages', 2) as number;
    const b = vcpus[1]!.call('alloc', 24) as number;
    const c = vcpus[0]!.call('alloc', 1) as number;
    const d = vcpus[1]!.call('alloc_pages', 1) as number;
    expect(a).toBe(map.pages.gpa);
    expect(b).toBe(a + 0x2000);
    expect(c).toBe(b + 32);
    expect(d).toBe(a + 0x3000);
    const zero = (gpa: number, bytes: number) =>
      memory.bytes.subarray(gpa, gpa + bytes).every((x) => x === 0);
    expect([zero(a, 0x2000), zero(b, 32), zero(c, 16), zero(d, 0x1000)]).toEqual([true, true, true, true]);
    // What was not handed out keeps its bytes.
    expect(memory.bytes[c + 16]).toBe(0xff);
    expect(vcpus[0]!.call('alloc_pages', 0)).toBe(0);
  });

  it('returns NULL when the region is exhausted, after exactly its pages', () => {
    const { vcpus, map } = direct('alloc', 1, () => new FakeCpu());
    const total = map.pages.bytes / 4096;
    expect(vcpus[0]!.call('alloc_pages', total + 1)).toBe(0);
    expect(vcpus[0]!.call('alloc', map.pages.bytes + 1)).toBe(0);
    expect(vcpus[0]!.call('alloc_pages', total - 1)).toBe(map.pages.gpa);
    expect(vcpus[0]!.call('alloc_pages', 1)).toBe(map.pages.gpa + map.pages.bytes - 4096);
    expect(vcpus[0]!.call('alloc_pages', 1)).toBe(0);
    expect(vcpus[0]!.call('alloc', 16)).toBe(0);
  });

  it('is atomic: vCPUs on worker threads draining it at once get every page exactly once', async () => {
    const WORKERS = 4;
    const guest = loadWasmGuest(compileGuest('alloc'));
    const memory = vmMemory();
    const map = guest.memoryMap({ ramBytes: memory.size, vcpus: WORKERS });
    const total = map.pages.bytes / 4096;
    const go = new SharedArrayBuffer(4);
    // Each worker's address list goes to its own slice of low RAM (4 bytes per page).
    const slice = total * 4;
    expect(slice * WORKERS).toBeLessThan(map.lowRam.bytes);
    const counts = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) => {
        const w = new Worker(new URL('./helpers/alloc-worker.mjs', import.meta.url), {
          workerData: {
            module: guest.module,
            memory: memory.wasmMemory,
            stackTop: map.vcpu[i]!.stack.top,
            tlsGpa: map.vcpu[i]!.tls.gpa,
            info: [i, WORKERS, 0, 0, map.pages.gpa, map.pages.bytes, 0, 0],
            outGpa: i * slice,
            max: total,
            go,
          },
        });
        const ready = new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
        });
        const done = ready.then(
          () =>
            new Promise<number>((resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
            }),
        );
        return { w, ready, done };
      }),
    ).then(async (workers) => {
      // Every worker is set up (and about to wait on the flag): start them together.
      await Promise.all(workers.map((x) => x.ready));
      Atomics.store(new Int32Array(go), 0, 1);
      Atomics.notify(new Int32Array(go), 0);
      const counts = await Promise.all(workers.map((x) => x.done));
      await Promise.all(workers.map((x) => x.w.terminate()));
      return counts;
    });
    const pages = counts.flatMap((n, i) =>
      Array.from({ length: n }, (_, k) => memory.view.getUint32(i * slice + 4 * k, true)),
    );
    expect(pages.length).toBe(total);
    expect(new Set(pages).size).toBe(total);
    expect(Math.min(...pages)).toBe(map.pages.gpa);
    expect(Math.max(...pages)).toBe(map.pages.gpa + map.pages.bytes - 4096);
  });
});

describe.skipIf(skip)(`pvlab_log's printf subset ${CLANG_MISSING ?? ''}`, () => {
  it('formats as C does', () => {
    const { vcpus } = direct('printf', 1, () => new FakeCpu());
    vcpus[0]!.call('formats');
    expect(vcpus[0]!.logs).toEqual([
      '-42|7|4000000000|beef|BEEF|10|%|q|str',
      '[   42][42   ][00042][+42][ 42][-0042][+7   ]',
      '[deadbeef][123456789abcdef0][18446744073709551615][-9223372036854775808][12345][-5][4294967295]',
      '[000000ab][0xff][0XFF][010][0][     005][][00f]',
      '[0x1000][        0x2a][0x2a        ]',
      '[     right][left      ][cu][     9][9     ][abc]',
      '[44][44][4464][4464][2345]',
      '[(null)][ab][    z][y  ]',
      '[-3][4][%q][%',
    ]);
  });

  it('cuts to the buffer, returns the full length, and cuts a log line at 511 bytes', () => {
    const { vcpus } = direct('printf', 1, () => new FakeCpu());
    vcpus[0]!.call('truncation');
    const [small, none, big] = vcpus[0]!.logs;
    expect(small).toBe('12345-a|12');
    expect(none).toBe('8');
    expect(big).toBe(Array.from({ length: 511 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
  });
});
