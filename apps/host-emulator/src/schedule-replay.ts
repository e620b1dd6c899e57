/**
 * `run --schedule FILE`: a schedule `explore` wrote, replayed. The file gives the seed (the
 * virtual clock), the vCPU count, the guest and its args; flags may repeat them but not differ.
 */
import { readFileSync } from 'node:fs';
import { replayStrategy } from './explore/record.js';
import { parseScheduleFile, ScheduleFileError } from './explore/schedule-file.js';
import { UsageError } from './run-inputs.js';

/** The `run` flags a schedule file gives or checks. */
export interface ScheduleReplayFlags {
  readonly schedule?: string;
  readonly seed?: number;
  readonly vcpus?: number;
  readonly guest?: string;
  readonly guestArg?: readonly string[];
  readonly restore?: string;
}

export function readScheduleForRun<T extends ScheduleReplayFlags>(
  opts: T,
): {
  opts: T;
  strategy: ReturnType<typeof replayStrategy>;
} {
  const path = opts.schedule!;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `--schedule '${path}': cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  let file: ReturnType<typeof parseScheduleFile>;
  try {
    file = parseScheduleFile(text, path);
  } catch (e) {
    if (e instanceof ScheduleFileError) throw new UsageError(e.message);
    throw e;
  }
  const clash = (flag: string, given: unknown, recorded: unknown) => {
    throw new UsageError(
      `${flag} ${String(given)}: the schedule '${path}' was recorded with ${String(recorded)} (leave ${flag} out or give that)`,
    );
  };
  if (opts.seed !== undefined && opts.seed !== file.seed) clash('--seed', opts.seed, file.seed);
  if (opts.vcpus !== undefined && opts.vcpus !== file.vcpus) clash('--vcpus', opts.vcpus, file.vcpus);
  if (opts.restore !== undefined) throw new UsageError(`--restore: a schedule replays a run from a fresh VM`);
  const fileArgs = Object.entries(file.args ?? {}).map(([k, v]) => `${k}=${v}`);
  if ((opts.guestArg ?? []).length > 0 && (opts.guestArg ?? []).join('\0') !== fileArgs.join('\0'))
    clash('--guest-arg', (opts.guestArg ?? []).join(' '), fileArgs.join(' ') || 'none');
  const guest = opts.guest ?? file.guest;
  return {
    opts: {
      ...opts,
      seed: file.seed,
      vcpus: file.vcpus,
      guestArg: fileArgs,
      ...(guest === undefined ? {} : { guest }),
    },
    strategy: replayStrategy(file.choices),
  };
}
