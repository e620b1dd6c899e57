import type { DetailValue } from '@pvlab/hypercall/host';
import type { RunEvent } from './events.js';
import { hexCallCode, hexVector, round3 } from './units.js';

/** What the trace says about the run as a whole. */
export interface TraceMeta {
  readonly vcpus: number;
  readonly seed?: number;
  /** The guest image or program that ran. */
  readonly guest: string;
}

/** A value in a trace event's `args`: a decoded call's input and output are nested JSON. */
export type TraceArg = DetailValue;

/** `ph: 'M'`: names and orders the process and the vCPU tracks. */
export interface MetadataEvent {
  readonly name: 'process_name' | 'process_sort_index' | 'thread_name' | 'thread_sort_index';
  readonly cat: '__metadata';
  readonly ph: 'M';
  readonly ts: 0;
  readonly pid: number;
  readonly tid: number;
  readonly args: { readonly name: string } | { readonly sort_index: number };
}

/** `ph: 'X'`: a complete slice (hypercall, MSR/CPUID exit, halt). */
export interface CompleteEvent {
  readonly name: string;
  readonly cat: 'hypercall' | 'smccc' | 'msr' | 'cpuid' | 'halt';
  readonly ph: 'X';
  readonly ts: number;
  readonly dur: number;
  readonly pid: number;
  readonly tid: number;
  readonly args: Readonly<Record<string, TraceArg>>;
}

/** `ph: 'i'` with thread scope: an interrupt or a guest log/report/done/fail. */
export interface InstantEvent {
  readonly name: string;
  readonly cat: 'interrupt' | 'guest' | 'pv-time' | 'isolation';
  readonly ph: 'i';
  readonly s: 't';
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly args: Readonly<Record<string, TraceArg>>;
}

/** One entry of `traceEvents`. */
export type TraceEvent = MetadataEvent | CompleteEvent | InstantEvent;

/** The Chrome trace-event "JSON Object Format" that Perfetto and chrome://tracing open. */
export interface ChromeTrace {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: 'ns' | 'ms';
  readonly otherData: {
    readonly tool: 'pvlab-host';
    readonly guest: string;
    readonly vcpus: number;
    readonly seed?: number;
    /** `virtual` with a seed (times are the scheduler's clock), `real` without. */
    readonly clock: 'virtual' | 'real';
  };
}

/** The trace's single process: the partition. */
export const TRACE_PID = 1;

/** The track (tid) of vCPU `vp`: tid 0 is left to the process, as Chrome's own traces do. */
export function vcpuTid(vp: number): number {
  return vp + 1;
}

/**
 * Converts a run's events to Chrome trace-event JSON: one track per vCPU (also for idle ones, and
 * for any vp ≥ `meta.vcpus` an event names), hypercalls/MSR/CPUID/halts as slices, interrupts and
 * guest messages as instant events. Events are ordered by time, then vCPU, then input order, so
 * the result does not depend on how per-vCPU streams were merged; the same input always gives the
 * same JSON. Throws a RangeError on an event no runner can produce (negative or non-finite time).
 */
export function toChromeTrace(events: readonly RunEvent[], meta: TraceMeta): ChromeTrace {
  if (!Number.isSafeInteger(meta.vcpus) || meta.vcpus < 0) {
    throw new RangeError(`trace: vcpus must be a non-negative integer, got ${meta.vcpus}`);
  }
  let tracks = meta.vcpus;
  const converted = events.map((event, index) => {
    checkEvent(event, index);
    tracks = Math.max(tracks, event.vp + 1);
    return { index, event: convert(event) };
  });
  converted.sort((a, b) => a.event.ts - b.event.ts || a.event.tid - b.event.tid || a.index - b.index);

  const metadata: MetadataEvent[] = [
    metadataEvent('process_name', 0, { name: 'pvlab guest' }),
    metadataEvent('process_sort_index', 0, { sort_index: 0 }),
  ];
  for (let vp = 0; vp < tracks; vp++) {
    metadata.push(metadataEvent('thread_name', vcpuTid(vp), { name: `vCPU ${vp}` }));
    metadata.push(metadataEvent('thread_sort_index', vcpuTid(vp), { sort_index: vp }));
  }
  return {
    traceEvents: [...metadata, ...converted.map((c) => c.event)],
    displayTimeUnit: 'ns',
    otherData: {
      tool: 'pvlab-host',
      guest: meta.guest,
      vcpus: meta.vcpus,
      ...(meta.seed === undefined ? {} : { seed: meta.seed }),
      clock: meta.seed === undefined ? 'real' : 'virtual',
    },
  };
}

function metadataEvent(name: MetadataEvent['name'], tid: number, args: MetadataEvent['args']): MetadataEvent {
  return { name, cat: '__metadata', ph: 'M', ts: 0, pid: TRACE_PID, tid, args };
}

function checkEvent(event: RunEvent, index: number): void {
  const where = `trace: event ${index} (${event.kind})`;
  if (!Number.isSafeInteger(event.vp) || event.vp < 0) {
    throw new RangeError(`${where}: vp must be a non-negative integer, got ${event.vp}`);
  }
  if (!Number.isFinite(event.ts) || event.ts < 0) {
    throw new RangeError(`${where}: ts must be a finite time ≥ 0 µs, got ${event.ts}`);
  }
  if (
    'dur' in event &&
    (!Number.isFinite(event.dur) || event.dur < 0 || !Number.isFinite(event.ts + event.dur))
  ) {
    throw new RangeError(`${where}: dur must be a finite duration ≥ 0 µs, got ${event.dur}`);
  }
}

function slice(
  event: { readonly vp: number; readonly ts: number; readonly dur: number },
  name: string,
  cat: CompleteEvent['cat'],
  args: CompleteEvent['args'],
): CompleteEvent {
  // Round the end rather than the duration, so slices that touch before rounding still touch after.
  const ts = round3(event.ts);
  const dur = round3(round3(event.ts + event.dur) - ts);
  return { name, cat, ph: 'X', ts, dur, pid: TRACE_PID, tid: vcpuTid(event.vp), args };
}

function instant(
  event: { readonly vp: number; readonly ts: number },
  name: string,
  cat: InstantEvent['cat'],
  args: InstantEvent['args'],
): InstantEvent {
  return { name, cat, ph: 'i', s: 't', ts: round3(event.ts), pid: TRACE_PID, tid: vcpuTid(event.vp), args };
}

function convert(event: RunEvent): CompleteEvent | InstantEvent {
  switch (event.kind) {
    case 'hypercall':
      return slice(event, event.name, 'hypercall', {
        code: hexCallCode(event.callCode),
        control: event.control,
        fast: event.fast,
        variableHeaderSize: event.variableHeaderSize,
        repCount: event.repCount,
        repStartIndex: event.repStartIndex,
        status: event.status,
        repsCompleted: event.repsCompleted,
        // The decoded call: inputGpa/outputGpa, input, output, reason (see HypercallDetail).
        ...event.detail,
      });
    case 'smccc':
      return slice(event, event.name, 'smccc', {
        functionId: `0x${event.functionId.toString(16)}`,
        args: event.args,
        results: event.results,
        status: event.status,
      });
    case 'isolation':
      return instant(event, event.what, 'isolation', { message: event.message });
    case 'steal':
      return instant(event, 'stolen time', 'pv-time', { stolenNs: event.stolenNs });
    case 'rdmsr':
    case 'wrmsr':
    case 'cpuid': {
      const args = { index: event.index, value: event.value };
      return slice(
        event,
        `${event.kind.toUpperCase()} ${event.index}`,
        event.kind === 'cpuid' ? 'cpuid' : 'msr',
        event.fault === undefined ? args : { ...args, fault: event.fault },
      );
    }
    case 'halt':
      return slice(event, 'HLT', 'halt', { vectors: event.vectors.map(hexVector) });
    case 'interrupt':
      return instant(event, `interrupt ${hexVector(event.vector)}`, 'interrupt', {
        vector: hexVector(event.vector),
      });
    case 'log':
    case 'report':
    case 'done':
    case 'fail':
      return instant(event, event.kind, 'guest', { message: event.message });
  }
}

/**
 * Serialises a trace as JSON with one trace event per line, so two runs' traces diff line by line.
 * Deterministic: key order is fixed by construction, nothing depends on the wall clock.
 */
export function stringifyTrace(trace: ChromeTrace): string {
  const events = trace.traceEvents.map((e) => JSON.stringify(e)).join(',\n');
  return (
    `{"traceEvents":[\n${events}\n],` +
    `"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},` +
    `"otherData":${JSON.stringify(trace.otherData)}}\n`
  );
}
