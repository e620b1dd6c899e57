import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type ChromeTrace, stringifyTrace } from './chrome.js';

/** Writing a trace file failed; nothing was left at the path. `cause` is the file-system error. */
export class TraceWriteError extends Error {
  override readonly name = 'TraceWriteError';
}

/**
 * Writes a trace atomically: to a temporary file in the same directory (so the rename cannot cross
 * file systems), flushed, then renamed over `path`. On any failure the temporary file is removed and
 * a one-line TraceWriteError is thrown, so a failed run never leaves a partial trace, and an older
 * file at `path` stays as it was.
 */
export function writeTraceFile(path: string, trace: ChromeTrace): void {
  writeFileAtomically(path, stringifyTrace(trace), 'trace file', TraceWriteError);
}

/**
 * Writes `text` to `path` atomically (temporary file, fsync, rename); on failure removes the
 * temporary file and throws `ErrorClass` with one line naming the path and the reason.
 */
export function writeFileAtomically(
  path: string,
  text: string,
  what: string,
  ErrorClass: new (message: string, options: { cause: unknown }) => Error,
): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fd = openSync(temp, 'wx');
    created = true;
    try {
      const bytes = Buffer.from(text, 'utf8');
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    if (created) rmSync(temp, { force: true });
    throw new ErrorClass(`cannot write ${what} ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a parent of it is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

/** A one-line reason for a file-system error. */
export function describeFsError(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
  if (code === undefined) return String(error);
  const reason = REASONS[code];
  return reason === undefined ? code : `${reason} (${code})`;
}
