import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ISOLATION_STATE } from '@pvlab/isolation/host';
import type { ThreadedHost } from './host.js';
import { ThreadedHostError } from './host-error.js';
import { poolState, type VcpuThreadPool } from './thread-pool.js';
import type { CompiledWasmGuest, VcpuWorkerData } from './vcpu-worker.js';

/** How long a run's end waits for the vCPU threads to exit on their own before it stops them. */
const EXIT_GRACE_MS = 1000;

/** Where the bundled vCPU worker is: beside this module in `dist`, or in `dist` when run from `src`. */
export function vcpuWorkerUrl(): URL {
  for (const rel of ['./vcpu.mjs', '../vcpu.mjs', '../../dist/vcpu.mjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new ThreadedHostError(
    'the vCPU worker bundle (dist/vcpu.mjs) is missing: build @pvlab/host-emulator first',
  );
}

/** `n` threads for a run: idle ones first, new ones for the rest. */
function takeThreads(pool: VcpuThreadPool, n: number): Worker[] {
  const state = poolState(pool);
  if (state.closed) throw new ThreadedHostError('the vCPU thread pool is closed');
  const taken = state.idle.splice(0, n) as Worker[];
  while (taken.length < n) taken.push(new Worker(vcpuWorkerUrl(), { workerData: { pooled: true } }));
  for (const w of taken) w.ref();
  return taken;
}

/** A thread whose run ended cleanly comes back (or ends, when the pool was closed meanwhile). */
function giveThread(pool: VcpuThreadPool, w: Worker): void {
  const state = poolState(pool);
  if (state.closed) {
    void w.terminate();
    return;
  }
  w.unref();
  state.idle.push(w);
}
/** The guest as a URL (a path, a `file:` string or a URL). */
export function guestUrl(guest: string | URL): string {
  if (guest instanceof URL) return guest.href;
  return guest.startsWith('file:') ? guest : pathToFileURL(guest).href;
}

/**
 * The vCPU threads of one run, one worker per vCPU: started (or taken from a pool) with what each
 * needs, watched for a crash or an exit before its program finished (each a failure of the run),
 * and stopped (or given back) at the end.
 */
export class VcpuThreads {
  readonly #workers: Worker[] = [];
  /** Per thread: resolves when its run has ended (pooled: it said `'idle'`; else it exited). */
  readonly #ended: Promise<boolean>[] = [];
  readonly #detach: (() => void)[] = [];
  readonly #pool: VcpuThreadPool | undefined;

  /** `wasmGuest`: a `.wasm` guest the host loaded (`loadWasmGuestFor`); undefined for JavaScript guests. */
  constructor(host: ThreadedHost, wasmGuest: CompiledWasmGuest | undefined, pool?: VcpuThreadPool) {
    const { vm, mb, options } = host;
    this.#pool = pool;
    const data = (vp: number): VcpuWorkerData => ({
      vp,
      vcpus: host.vcpus,
      // The Memory object itself, so the thread's RAM keeps it (a wasm guest imports it).
      memory: vm.ram.wasmMemory ?? vm.ram.buffer,
      memoryBytes: vm.ram.size,
      mailboxes: mb.buffer,
      interrupts: vm.partition.interrupts.buffer as SharedArrayBuffer,
      guestUrl: guestUrl(options.guest),
      wasmGuest,
      spinLimit: mb.spinLimit,
      args: { ...options.args },
      restored: host.internals.restored(),
      arch: vm.options.arch,
      recordResume: host.stolenTime.measures,
      runStartEpochMs: host.startEpochMs,
      stampBeforePosting: host.oversubscribed,
      // Isolation VMs: the buffers a vCPU thread builds its guest view from.
      isolation: vm.partition.extensionState(ISOLATION_STATE)?.shared,
    });
    const url = pool === undefined ? vcpuWorkerUrl() : undefined;
    const pooled = pool === undefined ? undefined : takeThreads(pool, host.vcpus);
    for (let vp = 0; vp < host.vcpus; vp++) {
      const w = pooled?.[vp] ?? new Worker(url!, { workerData: data(vp) });
      this.#workers.push(w);
      this.#ended.push(
        new Promise<boolean>((resolve) => {
          const onError = (e: unknown) => {
            host.fail(vp, `vCPU thread crashed: ${e instanceof Error ? e.message : String(e)}`);
            host.setPhase(vp, 'finished');
          };
          const onExit = () => {
            if (host.phase[vp] !== 'finished') {
              host.fail(vp, 'vCPU thread exited without finishing its program');
              host.setPhase(vp, 'finished');
            }
            resolve(false);
          };
          const onMessage = (m: unknown) => {
            if (m === 'idle') resolve(true);
          };
          w.once('error', onError);
          w.once('exit', onExit);
          w.on('message', onMessage);
          this.#detach.push(() => {
            w.off('error', onError);
            w.off('exit', onExit);
            w.off('message', onMessage);
          });
        }),
      );
      if (pooled !== undefined) w.postMessage(data(vp));
    }
  }

  /** Stops every thread now, wherever it is. */
  terminate(): void {
    for (const w of this.#workers) void w.terminate();
  }

  /**
   * The run is over: lets the threads end their run (a while, unless `now`), then stops what is
   * left. Pooled threads that ended cleanly go back to the pool instead.
   */
  async stop(now: boolean): Promise<void> {
    const clean: boolean[] = this.#workers.map(() => false);
    if (!now) {
      await Promise.race([
        Promise.all(this.#ended.map((p, i) => p.then((ok) => (clean[i] = ok)))),
        new Promise((r) => setTimeout(r, EXIT_GRACE_MS).unref()),
      ]);
    }
    for (const detach of this.#detach) detach();
    const pool = this.#pool;
    await Promise.all(
      this.#workers.map(async (w, i) => {
        if (pool !== undefined && clean[i]) giveThread(pool, w);
        else await w.terminate();
      }),
    );
  }
}
