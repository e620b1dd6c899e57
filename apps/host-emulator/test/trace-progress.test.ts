import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgress, PROGRESS_DELAY_MS, type ProgressStream } from '../src/trace/index.ts';

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
