/**
 * A vCPU thread's entry. Started with a run's `VcpuWorkerData` it runs that vCPU once and exits;
 * started pooled (`{ pooled: true }`) it runs each `VcpuWorkerData` posted to it, one at a time,
 * and answers `'idle'` when a run has ended (an error that escapes a run crashes the thread, as
 * it does unpooled, and the pool drops it).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runVcpu, type VcpuWorkerData } from './vcpu-run.js';

export type { CompiledWasmGuest, VcpuWorkerData } from './vcpu-run.js';

/** What a pooled thread is started with. */
export interface PooledVcpuBoot {
  readonly pooled: true;
}

const boot = workerData as VcpuWorkerData | PooledVcpuBoot;
if ('pooled' in boot) {
  const port = parentPort!;
  port.on('message', (run: VcpuWorkerData) => {
    runVcpu(run).then(
      () => port.postMessage('idle'),
      (e: unknown) => {
        // Outside the promise, so that it is the thread's uncaught error.
        setImmediate(() => {
          throw e;
        });
      },
    );
  });
} else {
  await runVcpu(boot);
}
