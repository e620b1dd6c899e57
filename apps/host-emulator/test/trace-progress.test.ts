import { EventEmitter } from 'node:events';
import { stripVTControlCharacters } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createProgress,
  MIN_PROGRESS_COLUMNS,
  PROGRESS_DELAY_MS,
  type ProgressStream,
} from '../src/index.ts';

/** A stream that records what was written to it. */
function recorder(isTTY: boolean): ProgressStream & { readonly output: string[] } {
  const output: string[] = [];
  return { isTTY, columns: 100, output, write: (chunk: string) => output.push(chunk) };
}

const text = (s: { output: string[] }) => s.output.join('');

describe('createProgress', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it('prints nothing at all when the stream is not a TTY, however long the run', () => {
    vi.useFakeTimers();
    const stream = recorder(false);
    const progress = createProgress({ stream, enabled: true });
    for (let i = 0; i < 50; i++) {
      progress.update(`${i} hypercalls · 1/1 vCPUs running`);
      vi.advanceTimersByTime(200);
    }
    expect(progress.visible).toBe(false);
    progress.stop();
    expect(stream.output).toEqual([]);
  });

  it('prints nothing when disabled, even on a TTY', () => {
    vi.useFakeTimers();
    const stream = recorder(true);
    const progress = createProgress({ stream, enabled: false });
    progress.update('12 hypercalls');
    vi.advanceTimersByTime(5000);
    progress.stop();
    expect(stream.output).toEqual([]);
  });

  it('is off by default in CI and on a dumb terminal', () => {
    vi.useFakeTimers();
    for (const [name, value] of [
      ['CI', 'true'],
      ['TERM', 'dumb'],
    ] as const) {
      vi.stubEnv(name, value);
      const stream = recorder(true);
      const progress = createProgress({ stream });
      progress.update('x');
      vi.advanceTimersByTime(5000);
      progress.stop();
      expect(stream.output).toEqual([]);
      vi.unstubAllEnvs();
    }
  });

  it('on a TTY shows nothing for the first second, then the latest text', () => {
    vi.useFakeTimers();
    const stream = recorder(true);
    const progress = createProgress({ stream, enabled: true });
    try {
      progress.update('1 hypercalls · 4/4 vCPUs running');
      vi.advanceTimersByTime(PROGRESS_DELAY_MS - 1);
      progress.update('12,345 hypercalls · 3/4 vCPUs running');
      expect(progress.visible).toBe(false);
      expect(stream.output).toEqual([]);

      vi.advanceTimersByTime(2);
      expect(progress.visible).toBe(true);
      expect(text(stream)).toContain('12,345 hypercalls · 3/4 vCPUs running');
      expect(text(stream)).not.toContain('1 hypercalls · 4/4');

      progress.update('20,000 hypercalls · 1/4 vCPUs running');
      vi.advanceTimersByTime(500);
      expect(text(stream)).toContain('20,000 hypercalls · 1/4 vCPUs running');
    } finally {
      progress.stop();
    }
    expect(progress.visible).toBe(false);
    const written = stream.output.length;
    progress.update('after stop');
    vi.advanceTimersByTime(5000);
    progress.stop();
    expect(stream.output).toHaveLength(written);
  });

  it('a run that ends within the second never prints', () => {
    vi.useFakeTimers();
    const stream = recorder(true);
    const progress = createProgress({ stream, enabled: true });
    progress.update('done soon');
    vi.advanceTimersByTime(900);
    progress.stop();
    vi.advanceTimersByTime(5000);
    expect(stream.output).toEqual([]);
  });

  it('appears on the first update after the delay even if the event loop never ran its timer', () => {
    // Only the clock is fake: the (unref’d) timer is real and cannot fire during this synchronous test.
    vi.useFakeTimers({ toFake: ['performance'] });
    const stream = recorder(true);
    const progress = createProgress({ stream, enabled: true });
    try {
      progress.update('busy');
      vi.advanceTimersByTime(PROGRESS_DELAY_MS);
      progress.update('still busy');
      expect(stream.output).toEqual([]);
      vi.advanceTimersByTime(1);
      progress.update('busy for a while');
      expect(progress.visible).toBe(true);
      expect(text(stream)).toContain('busy for a while');
    } finally {
      progress.stop();
    }
  });
});

/**
 * A terminal of `columns` (changeable, as a resize does) that records what is written, and
 * throws once more than `budget` characters came: a progress line that floods its terminal
 * fails the test instead of hanging it.
 */
function terminal(columns: number | undefined, budget = 256 * 1024) {
  const output: string[] = [];
  let written = 0;
  const stream = {
    isTTY: true,
    columns,
    output,
    write(chunk: string) {
      written += chunk.length;
      if (written > budget) throw new Error(`unbounded output: over ${budget} characters`);
      output.push(chunk);
      return true;
    },
  };
  return stream;
}

/** The spinner frames written (one chunk each), without their escape sequences. */
const frames = (s: { output: string[] }) =>
  s.output.map((c) => stripVTControlCharacters(c)).filter((c) => c.includes('hypercalls'));

/**
 * Advances the fake clock 1 ms at a time, so a spinner frame that floods its terminal throws
 * before another frame is drawn (fake timers would go on running the rest of a longer advance).
 */
function tick(ms: number): void {
  for (let i = 0; i < ms; i++) vi.advanceTimersByTime(1);
}

const CURSOR_UP = '\u001b[1A';
const LONG_TEXT = `${'1,234,567 hypercalls · 4/4 vCPUs running · '.repeat(4)}end`;

describe('createProgress on terminals of any width', () => {
  afterEach(() => vi.useRealTimers());

  /**
   * Runs a progress line for `steps` updates 100 ms apart, calling `each` before every update. A
   * test that throws (a flooded terminal) leaves the line unstopped: stopping it would clear it,
   * and clearing is what floods.
   */
  function drive(stream: ProgressStream, steps: number, each: (step: number) => void = () => {}) {
    vi.useFakeTimers();
    try {
      const progress = createProgress({ stream, enabled: true });
      tick(PROGRESS_DELAY_MS + 1);
      for (let step = 0; step < steps; step++) {
        each(step);
        progress.update(`${step} hypercalls · 1/1 vCPUs running`);
        tick(100);
      }
      progress.stop();
      return progress;
    } finally {
      // Drops the timers of a line left running.
      vi.useRealTimers();
    }
  }

  it('a terminal reporting 0 columns (unknown) gets a one-line progress line, laid out for 80', () => {
    const stream = terminal(0);
    drive(stream, 20);
    const shown = frames(stream);
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.at(-1)).toContain('19 hypercalls · 1/1 vCPUs running');
    // One line: clearing it never moves the cursor up.
    expect(stream.output.join('')).not.toContain(CURSOR_UP);
  });

  it('no columns at all reads as 80 too, and a long text is cut to fit one line', () => {
    for (const columns of [undefined, 0, Number.NaN, -3]) {
      vi.useFakeTimers();
      const stream = terminal(columns);
      const progress = createProgress({ stream, enabled: true });
      tick(PROGRESS_DELAY_MS + 1);
      progress.update(`1 hypercalls ${LONG_TEXT}`);
      tick(300);
      progress.stop();
      const last = frames(stream).at(-1)!;
      expect([...last].length).toBe(79);
      expect(last.endsWith('…')).toBe(true);
      vi.useRealTimers();
    }
  });

  it(`a terminal narrower than ${MIN_PROGRESS_COLUMNS} columns (1 here) shows no line and stays quiet`, () => {
    const stream = terminal(1);
    const progress = drive(stream, 20);
    expect(progress.visible).toBe(false);
    expect(stream.output).toEqual([]);
  });

  it('a huge terminal shows the whole text on one line', () => {
    const stream = terminal(1_000_000);
    vi.useFakeTimers();
    const progress = createProgress({ stream, enabled: true });
    tick(PROGRESS_DELAY_MS + 1);
    progress.update(`7 hypercalls ${LONG_TEXT}`);
    tick(300);
    progress.stop();
    expect(frames(stream).at(-1)).toContain(LONG_TEXT);
    expect(stream.output.join('')).not.toContain(CURSOR_UP);
  });

  it('a resized terminal refits the line, hides it when too narrow and shows it again when wider', () => {
    const stream = terminal(100);
    const widths = [100, 30, 5, 0, 1, 40, 12, 200];
    const seen: { columns: number | undefined; visible: boolean; frame: string | undefined }[] = [];
    vi.useFakeTimers();
    const progress = createProgress({ stream, enabled: true });
    tick(PROGRESS_DELAY_MS + 1);
    for (const columns of widths) {
      stream.columns = columns;
      const before = stream.output.length;
      progress.update(`${columns} hypercalls ${LONG_TEXT}`);
      tick(300);
      const frame = stream.output.slice(before).map((c) => stripVTControlCharacters(c));
      seen.push({
        columns,
        visible: progress.visible,
        frame: frame.filter((c) => c.includes('hypercalls')).at(-1),
      });
    }
    progress.stop();
    for (const { columns, visible, frame } of seen) {
      const layout = columns === 0 ? 80 : (columns ?? 80);
      expect(visible).toBe(layout >= MIN_PROGRESS_COLUMNS);
      if (layout < MIN_PROGRESS_COLUMNS) expect(frame).toBeUndefined();
      else expect([...frame!].length).toBeLessThanOrEqual(layout - 1);
    }
    expect(stream.output.join('')).not.toContain(CURSOR_UP);
  });

  it("a terminal's resize event refits or hides the line at once, before the next update", () => {
    const stream = Object.assign(new EventEmitter(), terminal(100));
    vi.useFakeTimers();
    const progress = createProgress({ stream, enabled: true });
    tick(PROGRESS_DELAY_MS + 1);
    progress.update(`5 hypercalls ${LONG_TEXT}`);
    tick(100);
    expect(progress.visible).toBe(true);
    stream.columns = 1;
    stream.emit('resize');
    expect(progress.visible).toBe(false);
    stream.columns = 30;
    stream.emit('resize');
    expect(progress.visible).toBe(true);
    tick(100);
    expect([...frames(stream).at(-1)!].length).toBe(29);
    progress.stop();
    expect(stream.listenerCount('resize')).toBe(0);
    expect(stream.output.join('')).not.toContain(CURSOR_UP);
  });

  test.prop(
    [
      fc.array(fc.oneof(fc.integer({ min: -2, max: 300 }), fc.constantFrom(Number.NaN, Infinity, 1e12)), {
        minLength: 1,
        maxLength: 12,
      }),
    ],
    {
      numRuns: 100,
    },
  )('any sequence of widths gives a bounded, single-line progress line', (widths) => {
    const stream = terminal(widths[0], 64 * 1024);
    drive(stream, widths.length, (step) => {
      stream.columns = widths[step];
    });
    expect(stream.output.join('')).not.toContain(CURSOR_UP);
  });
});
