import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ISOLATION_STATE } from '@pvlab/isolation/host';
import type { ThreadedHost } from './host.js';
import { ThreadedHostError } from './run-api.js';
import type { CompiledWasmGuest, VcpuWorkerData } from './vcpu-worker.js';

/** How long a run's end waits for the vCPU threads to exit on their own before it stops them. */
const EXIT_GRACE_MS = 1000;

/** Where the bundled vCPU worker is: beside this module in `dist`, or in `dist` when run from `src`. */
function vcpuWorkerUrl(): URL {
  for (const rel of ['./vcpu.mjs', '../vcpu.mjs', '../../dist/vcpu.mjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new ThreadedHostError(
    'the vCPU worker bundle (dist/vcpu.mjs) is missing: build @pvlab/host-emulator first',
  );
}

/** The guest as a URL (a path, a `file:` string or a URL). */
export function guestUrl(guest: string | URL): string {
  if (guest instanceof URL) return guest.href;
  return guest.startsWith('file:') ? guest : pathToFileURL(guest).href;
}

/**
 * The vCPU threads of one run, one worker per vCPU: started with what each needs, watched for a
 * crash or an exit before its program finished (each a failure of the run), and stopped at the end.
 */
export class VcpuThreads {
  readonly #workers: Worker[] = [];
  readonly #exited: Promise<void>[] = [];

  /** `wasmGuest`: a `.wasm` guest the host loaded (`loadWasmGuestFor`); undefined for JavaScript guests. */
  constructor(host: ThreadedHost, wasmGuest: CompiledWasmGuest | undefined) {
    const { vm, mb, options } = host;
    const url = vcpuWorkerUrl();
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
    for (let vp = 0; vp < host.vcpus; vp++) {
      const w = new Worker(url, { workerData: data(vp) });
      this.#workers.push(w);
      this.#exited.push(
        new Promise((resolve) => {
          w.once('error', (e) => {
            host.fail(vp, `vCPU thread crashed: ${e instanceof Error ? e.message : String(e)}`);
            host.setPhase(vp, 'finished');
          });
          w.once('exit', () => {
            if (host.phase[vp] !== 'finished') {
              host.fail(vp, 'vCPU thread exited without finishing its program');
              host.setPhase(vp, 'finished');
            }
            resolve();
          });
        }),
      );
    }
  }

  /** Stops every thread now, wherever it is. */
  terminate(): void {
    for (const w of this.#workers) void w.terminate();
  }

  /** The run is over: lets the threads exit (a while, unless `now`), then stops what is left. */
  async stop(now: boolean): Promise<void> {
    if (!now) {
      await Promise.race([
        Promise.all(this.#exited),
        new Promise((r) => setTimeout(r, EXIT_GRACE_MS).unref()),
      ]);
    }
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
