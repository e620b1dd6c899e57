/**
 * What `runGuest` takes and gives: its options, the progress it reports, the result and the
 * failures it names, and the error it raises when the threaded host itself breaks.
 */
import type { ScheduleStrategy } from '../explore/strategy.js';
import type { RunEvent } from '../trace/events.js';
import type { RunSchedule } from './scheduler.js';
import type { VcpuThreadPool } from './thread-pool.js';

/** How to run a guest program on vCPU threads. */
export interface RunGuestOptions {
  /** Path or `file:` URL of the guest program module (its default export runs on every vCPU). */
  readonly guest: string | URL;
  /** Deterministic mode: one vCPU runs at a time, in an order drawn from this seed, on a virtual clock. */
  readonly seed?: number;
  /**
   * With `seed`: what picks the vCPU at each scheduling decision instead of the seed's uniform
   * choice (a PCT strategy, a replay of a recorded choice list).
   */
  readonly schedule?: ScheduleStrategy;
  /**
   * Run on threads from this pool, and give them back, instead of starting and ending a thread
   * per vCPU: what a campaign of many short runs wants (a thread costs ~25 ms to start).
   */
  readonly threads?: VcpuThreadPool;
  /** Each boot-log line as the guest writes it. */
  readonly onLog?: (vp: number, line: string) => void;
  /** Called every few milliseconds with the run's progress. */
  readonly onProgress?: (progress: RunProgress) => void;
  /**
   * Seeded runs: ends the run as failed (a `run` failure starting `limit:`) when it has made this
   * many exits without ending. A budget in exits, not time, so the verdict does not depend on the
   * machine's load (what `explore` uses for livelocks).
   */
  readonly maxExits?: number;
  /** Ends the run as failed after this long (default: no limit). */
  readonly timeoutMs?: number;
  /** Options for the guest program (`cpu.args`). */
  readonly args?: Readonly<Record<string, string>>;
  /**
   * Stops the run when aborted (noticed within a time slice, ~10 ms): the vCPU threads are
   * terminated and `runGuest` rejects with `signal.reason`.
   */
  readonly signal?: AbortSignal;
}

/** A progress snapshot. */
export interface RunProgress {
  readonly hypercalls: number;
  readonly running: number;
  readonly vcpus: number;
  readonly elapsedMs: number;
}

/**
 * Why a run failed: the guest module did not load (`load`) or the program threw an exception of
 * its own (`throw`) — both bad user input; the program failed (`program`: cpu.fail(), an
 * unhandled GuestFault, a failed assertion); or the run itself did (`run`: deadlock, timeout, a
 * vCPU thread that died).
 */
export interface RunFailure {
  readonly kind: 'load' | 'throw' | 'program' | 'run';
  readonly message: string;
  /** The vCPUs that failed this way (empty for run failures). */
  readonly vps: readonly number[];
  /**
   * An exception's stack: the guest's own frames (`fn (file:line:column)`), innermost first; a
   * load-time SyntaxError's place (`file:line:column`). Absent when there is none.
   */
  readonly stack?: readonly string[];
}

/** How a run ended. */
export interface RunResult {
  readonly passed: boolean;
  /** Why vCPUs failed (one entry per distinct reason, with the vCPUs that gave it). */
  readonly failures: readonly RunFailure[];
  /** Values the guest reported, per vCPU. */
  readonly reports: readonly Record<string, unknown>[];
  /** Every exit, interrupt and log line, in the order the host saw them. */
  readonly events: readonly RunEvent[];
  readonly log: readonly { readonly vp: number; readonly line: string }[];
  readonly hypercalls: number;
  /** Wall-clock duration. */
  readonly durationMs: number;
  readonly seed: number | undefined;
  /** Seeded runs: the schedule the run followed (its choice list replays it). */
  readonly schedule?: RunSchedule;
}

export { ThreadedHostError } from './host-error.js';
