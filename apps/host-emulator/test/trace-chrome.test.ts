import { fc, test } from '@fast-check/vitest';
import { HvCallCode } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  type ChromeTrace,
  type HypercallEvent,
  type RunEvent,
  stringifyTrace,
  TRACE_PID,
  type TraceEvent,
  toChromeTrace,
} from '../src/index.ts';

const META = { vcpus: 4, guest: 'guest-emulator' } as const;

function hypercall(vp: number, ts: number, dur: number, extra: Partial<HypercallEvent> = {}): HypercallEvent {
  return {
    kind: 'hypercall',
    vp,
    ts,
    dur,
    name: 'HvCallFlushVirtualAddressSpace',
    callCode: HvCallCode.HvCallFlushVirtualAddressSpace,
    control: '0x0000000000000002',
    fast: false,
    variableHeaderSize: 0,
    repCount: 0,
    repStartIndex: 0,
    status: 'HV_STATUS_SUCCESS',
    repsCompleted: 0,
    ...extra,
  };
}

/** Structural checks a trace must pass for Perfetto and chrome://tracing; returns the problems. */
function problems(trace: ChromeTrace): string[] {
  const out: string[] = [];
  const parsed = JSON.parse(stringifyTrace(trace)) as { traceEvents: unknown };
  if (!Array.isArray(parsed.traceEvents)) return ['traceEvents is not an array'];
  if (!['ns', 'ms'].includes(trace.displayTimeUnit)) out.push(`displayTimeUnit ${trace.displayTimeUnit}`);
  const threadNames = new Map<number, number>();
  const usedTids = new Set<number>();
  let processNames = 0;
  for (const [i, raw] of (parsed.traceEvents as Record<string, unknown>[]).entries()) {
    const where = `event ${i} ${JSON.stringify(raw)}`;
    for (const field of ['name', 'ph']) if (typeof raw[field] !== 'string') out.push(`${where}: ${field}`);
    for (const field of ['pid', 'tid', 'ts']) {
      if (typeof raw[field] !== 'number' || !Number.isFinite(raw[field])) out.push(`${where}: ${field}`);
    }
    if (raw['pid'] !== TRACE_PID) out.push(`${where}: pid`);
    const args = raw['args'];
    if (typeof args !== 'object' || args === null) out.push(`${where}: args`);
    const a = (args ?? {}) as Record<string, unknown>;
    const tid = raw['tid'] as number;
    switch (raw['ph']) {
      case 'M':
        if (raw['name'] === 'process_name') {
          processNames++;
          if (a['name'] !== 'pvlab guest') out.push(`${where}: process name`);
        } else if (raw['name'] === 'thread_name') {
          threadNames.set(tid, (threadNames.get(tid) ?? 0) + 1);
          if (typeof a['name'] !== 'string') out.push(`${where}: thread name`);
        } else if (raw['name'] === 'thread_sort_index' || raw['name'] === 'process_sort_index') {
          if (typeof a['sort_index'] !== 'number') out.push(`${where}: sort_index`);
        } else out.push(`${where}: unknown metadata`);
        break;
      case 'X':
        usedTids.add(tid);
        if (typeof raw['cat'] !== 'string') out.push(`${where}: cat`);
        if (!(typeof raw['dur'] === 'number' && Number.isFinite(raw['dur']) && raw['dur'] >= 0)) {
          out.push(`${where}: dur`);
        }
        if ((raw['ts'] as number) < 0) out.push(`${where}: ts < 0`);
        break;
      case 'i':
        usedTids.add(tid);
        if (typeof raw['cat'] !== 'string') out.push(`${where}: cat`);
        if (raw['s'] !== 't') out.push(`${where}: scope`);
        if ('dur' in raw) out.push(`${where}: instant with dur`);
        break;
      default:
        out.push(`${where}: ph`);
    }
  }
  if (processNames !== 1) out.push(`${processNames} process_name events`);
  for (const [tid, n] of threadNames) if (n !== 1) out.push(`tid ${tid} has ${n} thread_name events`);
  for (const tid of usedTids) if (!threadNames.has(tid)) out.push(`tid ${tid} has no thread_name`);
  return out;
}

const isSlice = (e: TraceEvent) => e.ph === 'X';
const named = (trace: ChromeTrace, name: string) => trace.traceEvents.filter((e) => e.name === name);

describe('toChromeTrace — structure', () => {
  it('names the process and gives every vCPU a sorted track, also the ones with no events', () => {
    const trace = toChromeTrace([hypercall(0, 1, 2), hypercall(2, 3, 1)], META);
    expect(problems(trace)).toEqual([]);
    expect(named(trace, 'process_name')).toEqual([
      {
        name: 'process_name',
        cat: '__metadata',
        ph: 'M',
        ts: 0,
        pid: TRACE_PID,
        tid: 0,
        args: { name: 'pvlab guest' },
      },
    ]);
    const threads = named(trace, 'thread_name').map((e) => [e.tid, e.args]);
    expect(threads).toEqual([0, 1, 2, 3].map((vp) => [vp + 1, { name: `vCPU ${vp}` }]));
    const sorts = named(trace, 'thread_sort_index').map((e) => [e.tid, e.args]);
    expect(sorts).toEqual([0, 1, 2, 3].map((vp) => [vp + 1, { sort_index: vp }]));
  });

  it('an empty run still has a track per vCPU and nothing else', () => {
    const trace = toChromeTrace([], { vcpus: 2, guest: 'g' });
    expect(problems(trace)).toEqual([]);
    expect(trace.traceEvents.filter((e) => e.ph !== 'M')).toEqual([]);
    expect(named(trace, 'thread_name')).toHaveLength(2);
  });

  it('records the run in otherData: the seed and a virtual clock with a seed, a real clock without', () => {
    expect(toChromeTrace([], { vcpus: 1, guest: 'g', seed: 42 }).otherData).toEqual({
      tool: 'pvlab-host',
      guest: 'g',
      vcpus: 1,
      seed: 42,
      clock: 'virtual',
    });
    const unseeded = toChromeTrace([], { vcpus: 1, guest: 'g' }).otherData;
    expect(unseeded).toEqual({ tool: 'pvlab-host', guest: 'g', vcpus: 1, clock: 'real' });
    expect('seed' in unseeded).toBe(false);
  });

  it('adds a track for an event on a vp beyond `vcpus` instead of dropping it', () => {
    const trace = toChromeTrace([hypercall(5, 0, 1)], META);
    expect(problems(trace)).toEqual([]);
    expect(named(trace, 'thread_name').map((e) => e.tid)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(trace.otherData.vcpus).toBe(4);
  });

  it.each<[string, RunEvent]>([
    ['a negative ts', hypercall(0, -1, 1)],
    ['a NaN ts', hypercall(0, Number.NaN, 1)],
    ['an infinite dur', hypercall(0, 0, Number.POSITIVE_INFINITY)],
    ['a negative dur', hypercall(0, 0, -0.5)],
    ['a fractional vp', hypercall(0.5, 0, 1)],
    ['a negative vp', { kind: 'log', vp: -1, ts: 0, message: 'x' }],
  ])('refuses an event with %s (a runner bug) with a RangeError naming it', (_case, event) => {
    expect(() => toChromeTrace([hypercall(0, 0, 0), event], META)).toThrow(/event 1 \(/);
    expect(() => toChromeTrace([event], META)).toThrow(RangeError);
  });

  it('refuses a vcpus count that is not a non-negative integer', () => {
    expect(() => toChromeTrace([], { vcpus: -1, guest: 'g' })).toThrow(RangeError);
    expect(() => toChromeTrace([], { vcpus: 1.5, guest: 'g' })).toThrow(RangeError);
  });
});

describe('toChromeTrace — events', () => {
  it('a hypercall is a complete slice in cat "hypercall" with the control fields, status and reps', () => {
    const event = hypercall(1, 10.5, 2.25, {
      name: 'HvCallFlushVirtualAddressListEx',
      callCode: HvCallCode.HvCallFlushVirtualAddressListEx,
      control: '0x0000000300010014',
      fast: true,
      variableHeaderSize: 1,
      repCount: 3,
      repStartIndex: 0,
      status: 'HV_STATUS_INVALID_PARAMETER',
      repsCompleted: 1,
    });
    const [slice] = toChromeTrace([event], META).traceEvents.filter(isSlice);
    expect(slice).toEqual({
      name: 'HvCallFlushVirtualAddressListEx',
      cat: 'hypercall',
      ph: 'X',
      ts: 10.5,
      dur: 2.25,
      pid: TRACE_PID,
      tid: 2,
      args: {
        code: '0x0014',
        control: '0x0000000300010014',
        fast: true,
        variableHeaderSize: 1,
        repCount: 3,
        repStartIndex: 0,
        status: 'HV_STATUS_INVALID_PARAMETER',
        repsCompleted: 1,
      },
    });
  });

  it('MSR and CPUID exits are slices in cat "msr" / "cpuid", with the fault only when there was one', () => {
    const trace = toChromeTrace(
      [
        { kind: 'rdmsr', vp: 0, ts: 1, dur: 0.5, index: '0x40000001', value: '0x0' },
        { kind: 'wrmsr', vp: 0, ts: 2, dur: 0.5, index: '0x40000099', value: '0x1', fault: '#GP' },
        { kind: 'cpuid', vp: 0, ts: 3, dur: 0.5, index: '0x40000000', value: '0x40000006:0x7263694d:0:0' },
      ],
      META,
    );
    expect(trace.traceEvents.filter(isSlice).map((e) => [e.name, e.cat, e.args])).toEqual([
      ['RDMSR 0x40000001', 'msr', { index: '0x40000001', value: '0x0' }],
      ['WRMSR 0x40000099', 'msr', { index: '0x40000099', value: '0x1', fault: '#GP' }],
      ['CPUID 0x40000000', 'cpuid', { index: '0x40000000', value: '0x40000006:0x7263694d:0:0' }],
    ]);
  });

  it('a halt is an HLT slice with its vectors; an interrupt is an instant on the target vCPU', () => {
    const trace = toChromeTrace(
      [
        { kind: 'halt', vp: 3, ts: 5, dur: 40, vectors: [0x2f, 0xf3] },
        { kind: 'interrupt', vp: 3, ts: 45, vector: 0x2f },
        { kind: 'interrupt', vp: 0, ts: 46, vector: 0x5 },
      ],
      META,
    );
    expect(problems(trace)).toEqual([]);
    expect(named(trace, 'HLT')).toEqual([
      {
        name: 'HLT',
        cat: 'halt',
        ph: 'X',
        ts: 5,
        dur: 40,
        pid: TRACE_PID,
        tid: 4,
        args: { vectors: ['0x2f', '0xf3'] },
      },
    ]);
    expect(trace.traceEvents.filter((e) => e.ph === 'i')).toEqual([
      {
        name: 'interrupt 0x2f',
        cat: 'interrupt',
        ph: 'i',
        s: 't',
        ts: 45,
        pid: TRACE_PID,
        tid: 4,
        args: { vector: '0x2f' },
      },
      {
        name: 'interrupt 0x05',
        cat: 'interrupt',
        ph: 'i',
        s: 't',
        ts: 46,
        pid: TRACE_PID,
        tid: 1,
        args: { vector: '0x05' },
      },
    ]);
  });

  it('log, report, done and fail are instant events carrying the message', () => {
    const kinds = ['log', 'report', 'done', 'fail'] as const;
    const trace = toChromeTrace(
      kinds.map((kind, i) => ({ kind, vp: 1, ts: i, message: `${kind} message` })),
      META,
    );
    expect(trace.traceEvents.filter((e) => e.ph === 'i').map((e) => [e.name, e.cat, e.tid, e.args])).toEqual(
      kinds.map((kind) => [kind, 'guest', 2, { message: `${kind} message` }]),
    );
  });

  it('keeps zero-duration slices with dur: 0', () => {
    const [slice] = toChromeTrace([hypercall(0, 7, 0)], META).traceEvents.filter(isSlice);
    expect(slice).toMatchObject({ ph: 'X', ts: 7, dur: 0 });
    expect(stringifyTrace(toChromeTrace([hypercall(0, 7, 0)], META))).toContain('"dur":0,');
  });

  it('rounds times to 3 decimals, rounding slice ends so touching slices still touch', () => {
    const trace = toChromeTrace([hypercall(0, 1.2344, 0.0004), hypercall(0, 1.2348, 1 / 3)], META);
    const [a, b] = trace.traceEvents.filter(isSlice) as [
      TraceEvent & { dur: number },
      TraceEvent & { dur: number },
    ];
    expect([a.ts, a.dur, b.ts, b.dur]).toEqual([1.234, 0.001, 1.235, 0.333]);
    expect(a.ts + a.dur).toBeCloseTo(b.ts, 9);
  });
});

describe('toChromeTrace — determinism', () => {
  const run: RunEvent[] = [
    hypercall(0, 0, 1.5),
    hypercall(1, 0.25, 1),
    { kind: 'interrupt', vp: 1, ts: 2, vector: 0x2f },
    { kind: 'halt', vp: 1, ts: 1.25, dur: 0.75, vectors: [0x2f] },
    hypercall(0, 1.5, 0.5, { status: 'HV_STATUS_INVALID_ALIGNMENT' }),
    { kind: 'log', vp: 0, ts: 2, message: 'CPU0: online' },
    { kind: 'done', vp: 0, ts: 2, message: 'ok' },
  ];

  it('the same events give byte-identical JSON', () => {
    const a = stringifyTrace(toChromeTrace(run, { ...META, seed: 7 }));
    const b = stringifyTrace(toChromeTrace(structuredClone(run), { ...META, seed: 7 }));
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual(toChromeTrace(run, { ...META, seed: 7 }));
  });

  it('merging the per-vCPU streams in another order gives a valid and identical trace', () => {
    const vp0 = run.filter((e) => e.vp === 0);
    const vp1 = run.filter((e) => e.vp === 1);
    const merged = [...vp1, ...vp0];
    const trace = toChromeTrace(merged, META);
    expect(problems(trace)).toEqual([]);
    expect(stringifyTrace(trace)).toBe(stringifyTrace(toChromeTrace(run, META)));
  });

  it('keeps the order of one vCPU’s events that share a timestamp', () => {
    const trace = toChromeTrace(run, META);
    const atTwoOnVp0 = trace.traceEvents.filter((e) => e.tid === 1 && e.ts === 2).map((e) => e.name);
    expect(atTwoOnVp0).toEqual(['log', 'done']);
  });

  it('writes one trace event per line', () => {
    const text = stringifyTrace(toChromeTrace(run, META));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('{"traceEvents":[');
    expect(lines).toHaveLength(1 + 2 + 8 + run.length + 1);
    expect(text.endsWith('}\n')).toBe(true);
  });
});

// ---- property: any events give a structurally valid trace ----

const time = fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true });
const vp = fc.integer({ min: 0, max: 7 });
const hex = fc.nat().map((n) => `0x${n.toString(16)}`);
const eventArb: fc.Arbitrary<RunEvent> = fc.oneof(
  fc.record({
    kind: fc.constant('hypercall' as const),
    vp,
    ts: time,
    dur: time,
    name: fc.string(),
    callCode: fc.integer({ min: 0, max: 0xffff }),
    control: hex,
    fast: fc.boolean(),
    variableHeaderSize: fc.nat(63),
    repCount: fc.nat(4095),
    repStartIndex: fc.nat(4095),
    status: fc.string(),
    repsCompleted: fc.nat(4095),
  }),
  fc.record(
    {
      kind: fc.constantFrom('rdmsr' as const, 'wrmsr' as const, 'cpuid' as const),
      vp,
      ts: time,
      dur: time,
      index: hex,
      value: hex,
      fault: fc.constantFrom('#GP', '#UD'),
    },
    { requiredKeys: ['kind', 'vp', 'ts', 'dur', 'index', 'value'] },
  ),
  fc.record({
    kind: fc.constant('halt' as const),
    vp,
    ts: time,
    dur: time,
    vectors: fc.array(fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({
    kind: fc.constant('interrupt' as const),
    vp,
    ts: time,
    vector: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constantFrom('log' as const, 'report' as const, 'done' as const, 'fail' as const),
    vp,
    ts: time,
    message: fc.string(),
  }),
);

/** A random interleaving of the per-vCPU streams: each vCPU's events keep their relative order. */
function interleave(events: readonly RunEvent[], keys: readonly number[]): RunEvent[] {
  const byVp = new Map<number, number[]>();
  for (const [i, e] of events.entries()) byVp.set(e.vp, [...(byVp.get(e.vp) ?? []), i]);
  const key = new Array<number>(events.length);
  for (const indices of byVp.values()) {
    const sorted = indices.map((i) => keys[i]!).sort((a, b) => a - b);
    indices.forEach((i, k) => {
      key[i] = sorted[k]!;
    });
  }
  return events
    .map((e, i) => ({ e, k: key[i]!, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.e);
}

describe('toChromeTrace — properties', () => {
  test.prop([
    fc.array(eventArb, { maxLength: 60 }),
    fc.integer({ min: 1, max: 8 }),
    fc.option(fc.nat(), { nil: undefined }),
  ])(
    'any events give a valid trace: every slice has finite ts, dur ≥ 0 and a tid in range',
    (events, vcpus, seed) => {
      const trace = toChromeTrace(
        events,
        seed === undefined ? { vcpus, guest: 'g' } : { vcpus, guest: 'g', seed },
      );
      expect(problems(trace)).toEqual([]);
      const tracks = Math.max(vcpus, ...events.map((e) => e.vp + 1));
      for (const e of trace.traceEvents) {
        if (e.ph === 'M') continue;
        expect(Number.isFinite(e.ts) && e.ts >= 0).toBe(true);
        expect(e.tid >= 1 && e.tid <= tracks).toBe(true);
        if (e.ph === 'X') expect(Number.isFinite(e.dur) && e.dur >= 0).toBe(true);
      }
      expect(trace.traceEvents.filter((e) => e.ph !== 'M')).toHaveLength(events.length);
    },
  );

  test.prop([
    fc
      .array(eventArb, { maxLength: 40 })
      .chain((events) =>
        fc.tuple(
          fc.constant(events),
          fc.array(fc.nat(), { minLength: events.length, maxLength: events.length }),
        ),
      ),
  ])('interleaving the per-vCPU streams differently gives the same JSON', ([events, keys]) => {
    const a = stringifyTrace(toChromeTrace(events, META));
    expect(stringifyTrace(toChromeTrace(interleave(events, keys), META))).toBe(a);
  });
});
