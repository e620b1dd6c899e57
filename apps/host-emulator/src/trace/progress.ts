import { Writable } from 'node:stream';
import { WriteStream } from 'node:tty';
import ora, { type Ora } from 'ora';

/** The least a progress stream must offer: `write`, and `isTTY` to say it is a terminal. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

/** Where and whether to show progress. */
export interface ProgressOptions {
  readonly stream: ProgressStream;
  /** Default: on when `stream` is a TTY, TERM is not `dumb` and CI is unset. Never on without a TTY. */
  readonly enabled?: boolean;
  /** How long a run must last before the line appears (ms, default 1000). */
  readonly delayMs?: number;
}

/** A progress line for a run; cheap to update often. */
export interface Progress {
  /** Sets the text shown (the latest text wins; nothing is shown before the delay). */
  update(text: string): void;
  /** Removes the line and stops the spinner; later calls do nothing. Call it in a `finally`. */
  stop(): void;
  /** Whether the line is on screen now. */
  readonly visible: boolean;
}

/** Default time a run must last before its progress line appears. */
export const PROGRESS_DELAY_MS = 1000;

const DISABLED: Progress = { update() {}, stop() {}, visible: false };

/**
 * Creates a progress line (an `ora` spinner) that appears only on a TTY and only once the run has
 * lasted longer than `delayMs`: updates before that are kept, never shown. Without a TTY it writes
 * nothing at all. The line appears on a timer (which does not keep the process alive) or on the
 * first `update` after the delay, whichever comes first, so a loop that rarely yields still shows it.
 */
export function createProgress(options: ProgressOptions): Progress {
  const { stream } = options;
  if (stream.isTTY !== true || !(options.enabled ?? interactiveEnvironment())) return DISABLED;
  const delayMs = options.delayMs ?? PROGRESS_DELAY_MS;
  const startedAt = performance.now();
  let text = '';
  let spinner: Ora | undefined;
  let stopped = false;

  const show = () => {
    if (stopped || spinner) return;
    spinner = ora({ stream: oraStream(stream), isEnabled: true, discardStdin: false, text }).start();
  };
  const timer = setTimeout(show, delayMs);
  timer.unref();

  return {
    update(next) {
      if (stopped) return;
      text = next;
      if (spinner) spinner.text = next;
      else if (performance.now() - startedAt > delayMs) show();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      spinner?.stop();
      spinner = undefined;
    },
    get visible() {
      return spinner !== undefined;
    },
  };
}

function interactiveEnvironment(): boolean {
  return process.env['TERM'] !== 'dumb' && !('CI' in process.env);
}

/** A real terminal stream goes to ora as it is; anything else through a TTY adapter. */
function oraStream(stream: ProgressStream): NodeJS.WritableStream {
  return stream instanceof WriteStream ? stream : new TtyAdapter(stream);
}

/**
 * Gives a bare `{ isTTY, write }` stream the cursor methods ora calls (as the ANSI sequences
 * node:readline would write), so a progress line works on any terminal-like stream.
 */
class TtyAdapter extends Writable {
  readonly isTTY = true;
  readonly #target: ProgressStream;

  constructor(target: ProgressStream) {
    super({
      decodeStrings: false,
      write: (chunk: unknown, _encoding, callback) => {
        target.write(String(chunk));
        callback();
      },
    });
    this.#target = target;
  }

  get columns(): number {
    return this.#target.columns ?? 80;
  }

  cursorTo(x: number): boolean {
    return this.write(`\u001b[${x + 1}G`);
  }

  moveCursor(dx: number, dy: number): boolean {
    const horizontal = dx < 0 ? `\u001b[${-dx}D` : dx > 0 ? `\u001b[${dx}C` : '';
    const vertical = dy < 0 ? `\u001b[${-dy}A` : dy > 0 ? `\u001b[${dy}B` : '';
    return this.write(horizontal + vertical);
  }

  clearLine(direction: -1 | 0 | 1): boolean {
    return this.write(direction < 0 ? '\u001b[1K' : direction > 0 ? '\u001b[0K' : '\u001b[2K');
  }
}
