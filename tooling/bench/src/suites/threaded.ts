import { availableParallelism, loadavg } from 'node:os';
import type { BenchSuite } from '../suite.js';
import { POSTMESSAGE_BATCH, ROUND_TRIP_BATCH } from '../threaded/budget.js';
import { roundTripRatios } from '../threaded/round-trip-ratios.js';
import { hostTable, windowTable } from '../threaded/round-trip-tables.js';
import { measureRoundTrips } from '../threaded/round-trips.js';
import { measureScaling } from '../threaded/scaling.js';
import { loadSpinSource } from '../threaded/spin-source.js';

const LOADED = 1.5;

/**
 * The cross-thread hypercall round trip (guest vCPU → host thread → guest) against a raw
 * two-thread Atomics ping-pong with the same wait strategy and against postMessage, then vCPU
 * scaling. The pieces live in `../threaded/`.
 */
export const threaded: BenchSuite = {
  name: 'threaded',
  async run(timing, progress) {
    const load0 = loadavg()[0]!;
    const cores = availableParallelism();
    const spin = await loadSpinSource();
    const notes: string[] = [];
    if (load0 > LOADED) {
      notes.push(
        `MACHINE LOADED: 1-minute load average ${load0.toFixed(2)} at the start (> ${LOADED}) on ${cores} CPUs; ` +
          'cross-thread figures need both threads on a core, so expect them slower and noisier than on an idle machine',
      );
    }
    const { rows, windows, hostDetail } = await measureRoundTrips(timing, spin, progress);
    const ratios = roundTripRatios(rows, spin.module !== null, notes);
    const scaling = await measureScaling(timing, spin, progress);
    ratios.push(...scaling.ratios);

    notes.push(spin.note);
    notes.push(
      `round-trip rows: ${timing.warmupMs} ms warmup then ${timing.timeMs} ms of batches (${ROUND_TRIP_BATCH} calls; postMessage ${POSTMESSAGE_BATCH}), timed on the calling thread (guest vCPU / peer worker); rme uses 1.96`,
    );
    const load1 = loadavg()[0]!;
    notes.push(
      `load average (1 min) ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end (it includes this run's own threads); ${cores} CPUs`,
    );
    return {
      title:
        'Threaded hypercall round trip (guest vCPU → host thread → guest) vs a raw two-thread Atomics ping-pong with the same wait strategy, postMessage, and vCPU scaling',
      rows,
      ratios,
      tables: [windowTable(rows, windows), hostTable(rows, hostDetail), scaling.table],
      notes,
    };
  },
};
