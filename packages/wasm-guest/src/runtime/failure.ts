/**
 * A guest fault or a wasm trap that leaves the guest becomes a `GuestProgramFailure` naming the
 * innermost C function (from the name section, which `-g` keeps) and its callers:
 * `#GP: RDMSR 0x12345 refused in read_bad ← guest_main ← pvlab_start`.
 */
import { isGuestFault } from '@pvlab/hypercall';
import { GuestProgramFailure } from '@pvlab/hypercall/guest';
import { isWasmTrap } from './wasm-api.js';

/** `    at name (wasm://wasm/<hash>:wasm-function[N]:0x…)` or `    at wasm://wasm/<hash>:wasm-function[N]:0x…`. */
const WASM_FRAME = /^\s*at (?:(\S.*?) \()?wasm:\/\/wasm\/[^:]*:(wasm-function\[\d+\]):0x[0-9a-f]+\)?$/;

/** Wasm frames named in a failure at most. */
const MAX_FRAMES = 8;

/** The wasm frames of `stack`, innermost first: C function names where the name section has them. */
export function wasmFrames(stack: string | undefined): string[] {
  const frames: string[] = [];
  for (const line of (stack ?? '').split('\n')) {
    const m = WASM_FRAME.exec(line);
    // V8 writes `module.function` when the name section names the module (wasm-ld: the output
    // file's name); C names have no dot.
    if (m) frames.push(m[1] === undefined ? m[2]! : m[1].slice(m[1].lastIndexOf('.') + 1));
  }
  return frames;
}

/** Stacks that reached an import are captured here, where the wasm frames are on top. */
const capturedFrames = new WeakMap<object, string[]>();

/**
 * Called in an import's catch: remembers the wasm frames below it (the error's own stack may be
 * cut off by `Error.stackTraceLimit` deep in the host's code) and returns the error to rethrow.
 */
export function atImport(e: unknown): unknown {
  if (typeof e === 'object' && e !== null && !capturedFrames.has(e)) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 64;
    const here = new Error().stack;
    Error.stackTraceLimit = limit;
    capturedFrames.set(e, wasmFrames(here));
  }
  return e;
}

function where(frames: readonly string[]): string {
  if (frames.length === 0) return '';
  const shown = frames.slice(0, MAX_FRAMES).join(' ← ');
  return ` in ${shown}${frames.length > MAX_FRAMES ? ' ← …' : ''}`;
}

/**
 * What leaves the guest's entry point: a `GuestProgramFailure` for a guest fault, a wasm trap or a
 * wasm stack overflow (naming the C function); `fail()`'s own failure and anything else (the host
 * ending the run, a host bug) unchanged.
 */
export function guestFailure(e: unknown): unknown {
  if (e instanceof GuestProgramFailure) return e;
  const overflow = e instanceof RangeError && wasmFrames(e.stack).length > 0 && /call stack/i.test(e.message);
  if (!isGuestFault(e) && !isWasmTrap(e) && !overflow) return e;
  const frames = capturedFrames.get(e) ?? wasmFrames(e.stack);
  const headline = isGuestFault(e) ? e.message : `wasm trap: ${e.message}`;
  return new GuestProgramFailure(`${headline}${where(frames)}`, { cause: e });
}
