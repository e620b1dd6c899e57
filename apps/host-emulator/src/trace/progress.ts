import { Writable } from 'node:stream';
import ora, { type Ora } from 'ora';

/**
 * The least a progress stream must offer: `write`, and `isTTY` to say it is a terminal. Its
 * `columns` may be anything a terminal reports (0 or missing: unknown) and may change at any time.
 */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  write(chunk: string): unknown;
  /** A terminal's `'resize'` event (node:tty emits it as soon as the window changed). */
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
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

/** Below this width the progress line is not shown (it comes back when the terminal widens). */
export const MIN_PROGRESS_COLUMNS = 20;

/** The width assumed when the terminal reports none, or 0 (`script`, `docker run -t`, serial consoles). */
const UNKNOWN_COLUMNS = 80;

/** A terminal's width as the line is laid out: 0, missing or nonsense reads as unknown (80). */
export function progressColumns(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns >= 1
    ? Math.floor(columns)
    : UNKNOWN_COLUMNS;
}

/**
 * `text` cut to fit one line beside the spinner frame and its space, one column short of the
 * edge so the terminal never wraps it (a wrapped line would be cleared wrongly after a resize).
 */
function fitText(text: string, columns: number): string {
  const room = columns - 3;
  const chars = [...text];
  return chars.length <= room ? text : `${chars.slice(0, Math.max(0, room - 1)).join('')}…`;
}

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
  let due = false;
  const adapter = new TtyAdapter(stream);

  // Shown once due, and while the terminal is wide enough; the width is read again on every
  // update and resize, so a resized terminal hides, shows or refits the line before ora draws it
  // (drawn for the old width, a line ora counts as several would clear the lines above it).
  const refresh = () => {
    if (stopped || !due) return;
    const columns = adapter.columns;
    if (columns < MIN_PROGRESS_COLUMNS) {
      spinner?.stop();
      spinner = undefined;
      return;
    }
    const fitted = fitText(text, columns);
    if (spinner) spinner.text = fitted;
    else spinner = ora({ stream: adapter, isEnabled: true, discardStdin: false, text: fitted }).start();
  };
  const timer = setTimeout(() => {
    due = true;
    refresh();
  }, delayMs);
  timer.unref();
  stream.on?.('resize', refresh);

  return {
    update(next) {
      if (stopped) return;
      text = next;
      if (!due && performance.now() - startedAt > delayMs) due = true;
      refresh();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      stream.off?.('resize', refresh);
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

/**
 * What ora draws on, for every stream (a real terminal too): the cursor methods ora calls, as
 * the ANSI sequences node:readline would write, and the width as `progressColumns` reads it. ora
 * divides by `columns` to count the lines it must clear: a terminal reporting 0 columns made that
 * Infinity, and its clearing loop wrote `ESC[1A ESC[0K` forever without yielding (so no signal
 * handler ran either).
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
    return progressColumns(this.#target.columns);
  }

  get rows(): number | undefined {
    const rows = this.#target.rows;
    return rows !== undefined && Number.isFinite(rows) && rows >= 1 ? Math.floor(rows) : undefined;
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
