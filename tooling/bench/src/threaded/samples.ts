import { type RoundRow, rowFromSamples } from '../suite.js';
import { SampleArea } from './protocol.js';

/** What one sample area says. */
export interface Samples {
  /** ms per batch. */
  readonly batches: number[];
  readonly t0: number;
  readonly t1: number;
  readonly timed: number;
  readonly wrong: number;
  readonly total: number;
}

export function readSamples(buffer: SharedArrayBuffer, byteOffset: number): Samples {
  const f = new Float64Array(buffer, byteOffset, SampleArea.BYTES / 8);
  const count = f[SampleArea.COUNT]!;
  return {
    batches: Array.from(f.subarray(SampleArea.HEADER, SampleArea.HEADER + count)),
    t0: f[SampleArea.T0]!,
    t1: f[SampleArea.T1]!,
    timed: f[SampleArea.TIMED]!,
    wrong: f[SampleArea.WRONG]!,
    total: f[SampleArea.TOTAL]!,
  };
}

/** A row from one sample area: each sample is ms per batch. */
export function samplesRow(id: string, name: string, batch: number, s: Samples): RoundRow {
  if (s.wrong !== 0) throw new Error(`threaded: ${id}: ${s.wrong} wrong results`);
  return rowFromSamples(
    { id, name, batch },
    s.batches.map((ms) => ms / 1000 / batch),
  );
}

/** µs rounded to three significant digits, as the tables show them. */
export const us = (v: number) => Number(v.toPrecision(3));
