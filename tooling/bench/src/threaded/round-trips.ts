import { availableParallelism } from 'node:os';
import { type BenchRow, medianRounds, type RoundRow, type TimingOptions } from '../suite.js';
import { POSTMESSAGE_BATCH, ROUND_TRIP_BATCH } from './budget.js';
import { directFast } from './direct-fast.js';
import { runSpinWaitLoop } from './guest-run.js';
import { runMailboxPeer } from './mailbox-peer.js';
import { runPostMessagePeer } from './postmessage-peer.js';
import { runRawPeer } from './raw-peer.js';
import { type Samples, samplesRow } from './samples.js';
import type { SpinSource } from './spin-source.js';

interface Case {
  readonly id: string;
  readonly name: string;
  readonly batch: number;
  run(): Promise<Samples>;
}

/** One case in one round, over its whole timed window. */
export interface RoundTripWindow {
  /** Round trips per second over the window (stalls included). */
  readonly perSec: number;
  /** µs per call of each batch. */
  readonly perCallUs: number[];
}

export interface RoundTrips {
  readonly rows: BenchRow[];
  /** Per case, per round. */
  readonly windows: Map<string, RoundTripWindow[]>;
  /** Per pvlab case, per round: the host-side µs of every hypercall exit. */
  readonly hostDetail: Map<string, number[][]>;
}

/**
 * The 1-vCPU round-trip rows: pvlab's fast and memory-form calls under `runGuest`, the raw and
 * postMessage peers, and the diagnostics, every case once per round, round after round.
 */
export async function measureRoundTrips(
  timing: TimingOptions,
  spin: SpinSource,
  progress: (line: string) => void,
): Promise<RoundTrips> {
  const pairSpin = spin.spinLimitFor(2, availableParallelism());
  const hostDetail = new Map<string, number[][]>();
  const pvlab = (form: 'fast' | 'memory', id: string) => async () => {
    const r = await runSpinWaitLoop(1, form, ROUND_TRIP_BATCH, timing, spin);
    hostDetail.set(id, [...(hostDetail.get(id) ?? []), r.hostUs]);
    return r.perVp[0]!;
  };
  const cases: Case[] = [
    {
      id: 'pvlab-fast',
      name: 'pvlab runGuest 1 vCPU: fast NotifyLongSpinWait (RDX)',
      batch: ROUND_TRIP_BATCH,
      run: pvlab('fast', 'pvlab-fast'),
    },
    {
      id: 'pvlab-memory',
      name: 'pvlab runGuest 1 vCPU: NotifyLongSpinWait (memory, 8 B in)',
      batch: ROUND_TRIP_BATCH,
      run: pvlab('memory', 'pvlab-memory'),
    },
    {
      id: 'raw-atomics',
      name: `peer: raw Atomics ping-pong, spin ≤${pairSpin} then wait`,
      batch: ROUND_TRIP_BATCH,
      run: () => runRawPeer(timing, spin),
    },
    {
      id: 'postmessage',
      name: 'postMessage ping-pong (worker → main → worker)',
      batch: POSTMESSAGE_BATCH,
      run: () => runPostMessagePeer(timing, spin),
    },
  ];
  const { module } = spin;
  if (module) {
    const withModule = { ...spin, module };
    cases.push(
      {
        id: 'mailbox-null',
        name: 'diag: pvlab Mailboxes, empty exit, bare host loop',
        batch: ROUND_TRIP_BATCH,
        run: () => runMailboxPeer('null', timing, withModule),
      },
      {
        id: 'mailbox-dispatch',
        name: 'diag: Mailboxes + partition.hypercall (lean host)',
        batch: ROUND_TRIP_BATCH,
        run: () => runMailboxPeer('dispatch', timing, withModule),
      },
    );
  }
  cases.push({
    id: 'direct-fast',
    name: 'diag: vp.fastHypercall on one thread (no round trip)',
    batch: ROUND_TRIP_BATCH,
    run: async () => directFast(timing),
  });

  const rounds: RoundRow[][] = [];
  const windows = new Map<string, RoundTripWindow[]>();
  for (let round = 1; round <= timing.rounds; round++) {
    const rows: RoundRow[] = [];
    for (const c of cases) {
      const samples = await c.run();
      rows.push(samplesRow(c.id, c.name, c.batch, samples));
      windows.set(c.id, [
        ...(windows.get(c.id) ?? []),
        {
          perSec: samples.timed / ((samples.t1 - samples.t0) / 1000),
          perCallUs: samples.batches.map((ms) => (ms * 1000) / c.batch),
        },
      ]);
      progress(`  round ${round}/${timing.rounds}: ${c.id} done`);
    }
    rounds.push(rows);
  }
  return { rows: medianRounds(rounds), windows, hostDetail };
}
