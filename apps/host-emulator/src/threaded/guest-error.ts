/**
 * What a vCPU thread tells the host about a guest program's exception: `Name: message` on the
 * first line, then the guest's own stack frames, one per line (`fn (file:line:column)`). Frames of
 * the vCPU thread itself (the worker bundle) and of Node's internals are left out; file URLs
 * become paths. A SyntaxError from loading carries no frame of the guest, so its place is found
 * from the stack's source excerpt or by `node --check`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `    at fn (file:line:col)` / `    at file:line:col` / `    at async fn (…)`. */
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

/** A file URL (query and hash dropped) as a path; anything else as it is. */
function displayFile(file: string): string {
  if (!file.startsWith('file:')) return file;
  try {
    return fileURLToPath(file.replace(/[?#].*$/, ''));
  } catch {
    return file;
  }
}

/** The guest's frames of `stack`, without those of `ownUrl` (the vCPU thread) or Node's. */
export function guestFrames(stack: string | undefined, ownUrl: string): string[] {
  const frames: string[] = [];
  for (const line of (stack ?? '').split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const [, fn, file, row, col] = m;
    if (file!.startsWith('node:') || file === ownUrl || file!.startsWith(`${ownUrl}?`)) continue;
    const where = `${displayFile(file!)}:${row}:${col}`;
    frames.push(fn ? `${fn} (${where})` : where);
  }
  return frames;
}

/**
 * Where a load-time SyntaxError is: Node puts `file:line`, the source line and a caret line in
 * front of the stack for some (a missing export), and `node --check` prints the same for a parse
 * error of the guest file. `file:line:column`, or undefined when neither says.
 */
export function syntaxErrorLocation(e: Error, guestUrl: string): string | undefined {
  const fromStack = excerptLocation(e.stack ?? '');
  if (fromStack !== undefined || e.name !== 'SyntaxError' || !guestUrl.startsWith('file:')) return fromStack;
  const check = spawnSync(process.execPath, ['--check', fileURLToPath(guestUrl)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return check.status === 0 ? undefined : excerptLocation(check.stderr ?? '');
}

/** `file:line` + source line + `   ^^^` → `file:line:column` (column 1-based, of the first caret). */
function excerptLocation(text: string): string | undefined {
  const lines = text.split('\n');
  const head = /^(.+):(\d+)$/.exec(lines[0] ?? '');
  if (!head) return undefined;
  const caret = lines[2]?.search(/\^/) ?? -1;
  return `${displayFile(head[1]!)}:${head[2]}${caret >= 0 ? `:${caret + 1}` : ''}`;
}

/** One line for the exception itself: `Name: message` (a message's own line breaks become spaces). */
export function errorHeadline(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.replace(/\s*\n\s*/g, ' ');
  return `guest threw ${String(e)}`.replace(/\s*\n\s*/g, ' ');
}

/** What a vCPU thread reports of a failure: the reason (as many lines as it has) and the guest's frames. */
export interface GuestFailureReport {
  readonly message: string;
  readonly stack: readonly string[];
}

/** The failure as it crosses the mailbox (JSON, so a reason keeps its own line breaks). */
export function failureText(message: string, frames: readonly string[]): string {
  return JSON.stringify({ message, stack: frames } satisfies GuestFailureReport);
}

/** The host's reading of `failureText`; anything else (a cut-off message) is all reason, no frames. */
export function parseFailureText(text: string): GuestFailureReport {
  try {
    const r = JSON.parse(text) as Partial<GuestFailureReport>;
    if (
      typeof r.message === 'string' &&
      Array.isArray(r.stack) &&
      r.stack.every((f) => typeof f === 'string')
    )
      return { message: r.message, stack: r.stack };
  } catch {
    // not JSON: fall through
  }
  return { message: text, stack: [] };
}
