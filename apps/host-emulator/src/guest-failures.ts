/**
 * How the CLI shows a failed run's reasons: the reason's line, and for an exception the guest's
 * own stack frames below it (`    at fn (file:line:column)`), as Node prints them. A guest that
 * would not load is one line, its place (`file:line:column`) in front.
 */
import type { RunFailure } from './threaded/run-api.js';

/** Where a failure happened: the innermost frame of the guest. */
export interface FailureLocation {
  readonly file: string;
  readonly line: number;
  readonly column?: number;
}

/** The place a frame (`fn (file:line:col)` or `file:line[:col]`) names. */
export function frameLocation(frame: string): FailureLocation | undefined {
  const m = /^(?:.*? \()?(.+?):(\d+)(?::(\d+))?\)?$/.exec(frame);
  if (!m) return undefined;
  return { file: m[1]!, line: Number(m[2]), ...(m[3] === undefined ? {} : { column: Number(m[3]) }) };
}

/** The failure as `--json` reports it: the stack as given, and its innermost place. */
export function failureToJson(f: RunFailure): RunFailure & { location?: FailureLocation } {
  const location = f.stack?.[0] === undefined ? undefined : frameLocation(f.stack[0]);
  return location === undefined ? f : { ...f, location };
}

/** `file:line:column` of the innermost frame. */
const place = (frame: string) => {
  const l = frameLocation(frame);
  return l === undefined ? frame : `${l.file}:${l.line}${l.column === undefined ? '' : `:${l.column}`}`;
};

/** The stderr lines of a failure (each starting `pvlab-host:`, frames indented below). */
export function formatFailure(f: RunFailure): string {
  const who = f.vps.length > 0 ? ` on vCPU ${f.vps.join(', ')}` : '';
  if (f.kind === 'load') {
    return `pvlab-host: ${f.stack?.[0] === undefined ? '' : `${place(f.stack[0])}: `}${f.message}\n`;
  }
  const what = f.kind === 'throw' ? 'the guest program threw' : 'guest failed';
  const frames = (f.stack ?? []).map((frame) => `    at ${frame}\n`).join('');
  return `pvlab-host: ${what}${who}: ${f.message}\n${frames}`;
}
