/** The signals that interrupt a run. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The shell's exit codes for them: 128 + the signal number. */
export const INTERRUPT_EXIT_CODE: Readonly<Record<InterruptSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The reason a run was aborted with when the process got SIGINT or SIGTERM. */
export class RunInterrupted extends Error {
  override readonly name = 'RunInterrupted';
  readonly signal: InterruptSignal;

  constructor(signal: InterruptSignal) {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }

  get exitCode(): number {
    return INTERRUPT_EXIT_CODE[this.signal];
  }
}

/** The one line an interrupted run prints: it stopped, and which files it did not write. */
export function interruptedMessage(
  interrupted: RunInterrupted,
  files: { readonly trace?: string | undefined; readonly save?: string | undefined },
): string {
  const skipped = [
    ...(files.save === undefined ? [] : [`no snapshot (--save ${files.save})`]),
    ...(files.trace === undefined ? [] : [`no trace (--trace ${files.trace})`]),
  ];
  const written = skipped.length > 0 ? `, ${skipped.join(' and ')} written` : '';
  return `pvlab-host: ${interrupted.message}: the run was stopped${written}`;
}

/**
 * Makes SIGINT and SIGTERM stop the CLI promptly: the first aborts the returned signal with a
 * RunInterrupted (a run in progress stops its vCPU threads, writes nothing and returns the
 * signal's exit code) and sets that exit code; a second one exits at once. Handlers run between
 * the CLI's synchronous steps, so a file write (temporary file, then rename) is never cut in half.
 */
export function interruptOnSignals(): AbortSignal {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      const code = INTERRUPT_EXIT_CODE[name];
      if (controller.signal.aborted) process.exit(code);
      process.exitCode = code;
      controller.abort(new RunInterrupted(name));
    });
  }
  return controller.signal;
}
