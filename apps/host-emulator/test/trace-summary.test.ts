import { HvCallCode } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  clockNote,
  formatSummaryTable,
  type HypercallEvent,
  type RunEvent,
  summarizeHypercalls,
  summaryToJson,
} from '../src/index.ts';

function call(
  name: string,
  callCode: number,
  dur: number,
  status = 'HV_STATUS_SUCCESS',
  vp = 0,
): HypercallEvent {
  return {
    kind: 'hypercall',
    vp,
    ts: 0,
    dur,
    name,
    callCode,
    control: `0x${callCode.toString(16).padStart(16, '0')}`,
    fast: false,
    variableHeaderSize: 0,
    repCount: 0,
    repStartIndex: 0,
    status,
    repsCompleted: 0,
  };
}

const SPIN = 'HvCallNotifyLongSpinWait';
const FLUSH = 'HvCallFlushVirtualAddressSpace';
const IPI = 'HvCallSendSyntheticClusterIpi';

describe('summarizeHypercalls', () => {
  it('1..100 µs: mean 50.5, p99 99 (nearest rank)', () => {
    const events = Array.from({ length: 100 }, (_, i) => call(SPIN, HvCallCode[SPIN], 100 - i));
    const { calls, total } = summarizeHypercalls(events);
    expect(calls).toEqual([
      {
        call: SPIN,
        callCode: HvCallCode.HvCallNotifyLongSpinWait,
        count: 100,
        statuses: { HV_STATUS_SUCCESS: 100 },
        faults: {},
        meanUs: 50.5,
        p99Us: 99,
      },
    ]);
    expect(total).toEqual({
      count: 100,
      statuses: { HV_STATUS_SUCCESS: 100 },
      faults: {},
      meanUs: 50.5,
      p99Us: 99,
    });
  });

  it.each<[number[], number]>([
    [[7], 7],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10],
    [Array.from({ length: 200 }, (_, i) => i + 1), 198],
    [Array.from({ length: 101 }, (_, i) => i + 1), 100],
  ])('p99 by nearest rank of %j is %d', (durations, p99) => {
    expect(summarizeHypercalls(durations.map((d) => call(SPIN, HvCallCode[SPIN], d))).total.p99Us).toBe(p99);
  });

  it('groups by call, sorts by call code, counts statuses and faults apart (most frequent first) and totals everything', () => {
    const events: RunEvent[] = [
      call(IPI, HvCallCode[IPI], 4),
      call(FLUSH, HvCallCode[FLUSH], 1, 'HV_STATUS_INVALID_ALIGNMENT'),
      { kind: 'log', vp: 0, ts: 0, message: 'not a hypercall' },
      call(FLUSH, HvCallCode[FLUSH], 3),
      call(SPIN, HvCallCode[SPIN], 2),
      call(FLUSH, HvCallCode[FLUSH], 2),
      { kind: 'halt', vp: 1, ts: 1, dur: 1000, vectors: [] },
      call(IPI, HvCallCode[IPI], 0, '#UD', 1),
    ];
    const summary = summarizeHypercalls(events);
    expect(summary.calls.map((c) => [c.call, c.count, c.statuses, c.faults, c.meanUs, c.p99Us])).toEqual([
      [FLUSH, 3, { HV_STATUS_SUCCESS: 2, HV_STATUS_INVALID_ALIGNMENT: 1 }, {}, 2, 3],
      [SPIN, 1, { HV_STATUS_SUCCESS: 1 }, {}, 2, 2],
      [IPI, 2, { HV_STATUS_SUCCESS: 1 }, { '#UD': 1 }, 2, 4],
    ]);
    expect(Object.keys(summary.calls[0]!.statuses)).toEqual([
      'HV_STATUS_SUCCESS',
      'HV_STATUS_INVALID_ALIGNMENT',
    ]);
    expect(summary.total).toEqual({
      count: 6,
      statuses: { HV_STATUS_SUCCESS: 4, HV_STATUS_INVALID_ALIGNMENT: 1 },
      faults: { '#UD': 1 },
      meanUs: 2,
      p99Us: 4,
    });
  });

  it('does not depend on the order events arrived in', () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      call(
        i % 3 ? FLUSH : SPIN,
        i % 3 ? HvCallCode[FLUSH] : HvCallCode[SPIN],
        (i * 0.37) % 5,
        i % 7 ? 'HV_STATUS_SUCCESS' : '#UD',
      ),
    );
    const forward = JSON.stringify(summaryToJson(summarizeHypercalls(events)));
    expect(JSON.stringify(summaryToJson(summarizeHypercalls([...events].reverse())))).toBe(forward);
  });

  it('a run without hypercalls has no calls and an empty total', () => {
    const summary = summarizeHypercalls([{ kind: 'done', vp: 0, ts: 0, message: 'ok' }]);
    expect(summary).toEqual({
      calls: [],
      total: { count: 0, statuses: {}, faults: {}, meanUs: null, p99Us: null },
    });
  });
});

describe('summaryToJson', () => {
  it('spells call codes in hex and rounds times to 3 decimals', () => {
    const json = summaryToJson(
      summarizeHypercalls([call(FLUSH, HvCallCode[FLUSH], 1 / 3), call(FLUSH, HvCallCode[FLUSH], 2 / 3)]),
    );
    expect(json).toEqual({
      calls: [
        {
          call: FLUSH,
          code: '0x0002',
          count: 2,
          statuses: { HV_STATUS_SUCCESS: 2 },
          faults: {},
          meanUs: 0.5,
          p99Us: 0.667,
        },
      ],
      total: { count: 2, statuses: { HV_STATUS_SUCCESS: 2 }, faults: {}, meanUs: 0.5, p99Us: 0.667 },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('keeps null times for an empty run', () => {
    expect(summaryToJson(summarizeHypercalls([])).total).toEqual({
      count: 0,
      statuses: {},
      faults: {},
      meanUs: null,
      p99Us: null,
    });
  });
});

describe('formatSummaryTable', () => {
  const summary = summarizeHypercalls([
    call(FLUSH, HvCallCode[FLUSH], 1.5, 'HV_STATUS_INVALID_ALIGNMENT'),
    call(FLUSH, HvCallCode[FLUSH], 2.5),
    call(FLUSH, HvCallCode[FLUSH], 120.25),
    call(SPIN, HvCallCode[SPIN], 0.125),
  ]);

  it('renders aligned columns with a totals row, status names without HV_STATUS_', () => {
    expect(formatSummaryTable(summary)).toBe(
      [
        'call                            count  statuses                       mean µs   p99 µs',
        '------------------------------  -----  -----------------------------  -------  -------',
        'HvCallFlushVirtualAddressSpace      3  SUCCESS×2 INVALID_ALIGNMENT×1   41.417  120.250',
        'HvCallNotifyLongSpinWait            1  SUCCESS×1                        0.125    0.125',
        '------------------------------  -----  -----------------------------  -------  -------',
        'total                               4  SUCCESS×3 INVALID_ALIGNMENT×1   31.094  120.250',
      ].join('\n'),
    );
  });

  it('every row has the same column boundaries and no colour codes or trailing spaces', () => {
    const lines = formatSummaryTable(summary).split('\n');
    const widths = lines[1]!.split('  ').map((dashes) => dashes.length);
    const ends = widths.map((_, i) => widths.slice(0, i + 1).reduce((a, b) => a + b, 0) + 2 * i);
    for (const line of lines) {
      expect(line.includes('\u001b')).toBe(false);
      expect(line).toBe(line.trimEnd());
      expect(line.length).toBe(ends.at(-1));
      // Each boundary between columns is two spaces in every row.
      for (const end of ends.slice(0, -1)) expect(line.slice(end, end + 2)).toBe('  ');
    }
  });

  it('a seeded run says its times are virtual, under the totals', () => {
    const lines = formatSummaryTable(summary, { clock: 'virtual' }).split('\n');
    expect(lines.slice(0, -1).join('\n')).toBe(formatSummaryTable(summary));
    expect(lines.at(-1)).toBe(
      'times are virtual: the seeded scheduler counts each exit, nothing is measured',
    );
  });

  it.each([
    [
      { clock: 'real', threads: 5, cores: 2 } as const,
      /oversubscribed: 5 busy threads \(vCPUs \+ host\) on 2 cores/,
    ],
    [{ clock: 'real', threads: 2, cores: 2 } as const, /^$/],
    [{ clock: 'real', threads: 2, cores: 8 } as const, /^$/],
  ])('a parallel run notes oversubscription next to its latencies (%j)', (clock, note) => {
    expect(clockNote(clock)).toMatch(note);
    const table = formatSummaryTable(summary, clock);
    expect(table.endsWith(clockNote(clock) || '120.250')).toBe(true);
  });

  it('an empty run renders the header and a total of 0', () => {
    expect(formatSummaryTable(summarizeHypercalls([]))).toBe(
      [
        'call   count  statuses  mean µs  p99 µs',
        '-----  -----  --------  -------  ------',
        'total      0  -               -       -',
      ].join('\n'),
    );
  });

  it('a call that faulted (#MEMORY: its input GPA outside RAM) shows in a faults column, not as a status', () => {
    const table = formatSummaryTable(
      summarizeHypercalls([
        call(FLUSH, HvCallCode[FLUSH], 2, '#MEMORY'),
        call(FLUSH, HvCallCode[FLUSH], 1),
        call(SPIN, HvCallCode[SPIN], 1),
      ]),
    );
    expect(table).toBe(
      [
        'call                            count  statuses   faults     mean µs  p99 µs',
        '------------------------------  -----  ---------  ---------  -------  ------',
        'HvCallFlushVirtualAddressSpace      2  SUCCESS×1  #MEMORY×1    1.500   2.000',
        'HvCallNotifyLongSpinWait            1  SUCCESS×1  -            1.000   1.000',
        '------------------------------  -----  ---------  ---------  -------  ------',
        'total                               3  SUCCESS×2  #MEMORY×1    1.333   2.000',
      ].join('\n'),
    );
  });

  it('stays aligned for any content: names with astral characters, huge counts and times', () => {
    const name = 'HvCallTest🚀ÄÖÜ';
    const many = Array.from({ length: 12_345 }, () => call(name, 0x7777, 123_456.789));
    const lines = formatSummaryTable(
      summarizeHypercalls([...many, call(SPIN, HvCallCode[SPIN], 0.5, '#GP')]),
    ).split('\n');
    const width = (l: string) => [...l].length;
    const ruleWidths = lines[1]!.split('  ').map((d) => d.length);
    for (const line of lines) {
      // Each column boundary is two spaces at the same code-point offset on every row.
      const points = [...line];
      let end = 0;
      for (const w of ruleWidths.slice(0, -1)) {
        end += w;
        expect(points.slice(end, end + 2).join('')).toBe('  ');
        end += 2;
      }
      expect(width(line)).toBeLessThanOrEqual(end + ruleWidths.at(-1)!);
    }
    expect(lines.find((l) => l.startsWith(name))).toMatch(
      /12345 {2}SUCCESS×12345 {2}- +123456\.789 {2}123456\.789$/,
    );
  });
});
