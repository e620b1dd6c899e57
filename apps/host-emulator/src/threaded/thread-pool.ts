/**
 * The pool of vCPU threads a campaign's runs share. Imports nothing of the host (so that
 * `RunGuestOptions` can name it) and names no Node type (a consumer may lack @types/node);
 * `workers.ts` starts, takes and gives back the threads.
 */

/**
 * vCPU threads kept between runs: a campaign of many short runs pays a thread's start-up (~25 ms)
 * once, not per run. A run takes threads, posts each its `VcpuWorkerData`, and gives them back
 * once they answered that the run ended; a thread that crashed, exited or had to be stopped is
 * dropped. A JavaScript guest's module is imported once per thread and stays loaded: its
 * module-level state carries from one run to the next (keep a run's state inside the program).
 * `close()` ends every thread; an idle pool does not keep the process alive.
 */
export class VcpuThreadPool {
  constructor() {
    pools.set(this, { idle: [], closed: false });
  }

  /** Idle threads now. */
  get idle(): number {
    return poolState(this).idle.length;
  }

  async close(): Promise<void> {
    const state = poolState(this);
    state.closed = true;
    await Promise.all(state.idle.splice(0).map((w) => w.terminate()));
  }
}

/**
 * A pool's threads, kept out of the class and typed without Node's `Worker` (which only
 * `workers.ts` handles), so that the public declaration names no Node type.
 */
export interface PoolState {
  readonly idle: { terminate(): Promise<number> }[];
  closed: boolean;
}
const pools = new WeakMap<VcpuThreadPool, PoolState>();
/** The threads and state of `pool` (for `workers.ts`). */
export const poolState = (pool: VcpuThreadPool): PoolState => pools.get(pool)!;
