import type { HypercallControlFields } from '../wire/control.js';
import type { HvStatusCode } from '../wire/status.js';

/** A value a call's decoder produces: plain JSON, with 64-bit values and addresses as hex strings. */
export type DetailValue =
  | string
  | number
  | boolean
  | null
  | readonly DetailValue[]
  | { readonly [key: string]: DetailValue };

/** A decoded input or output: field name → value, in the wire layout's order. */
export type DetailFields = { readonly [key: string]: DetailValue };

/**
 * What a descriptor's decoder sees of one call, read while the call is dispatched (the guest
 * reuses its input pages, so a later decode would read other bytes). The views are the
 * dispatcher's staging buffers: read them inside the decoder, keep no reference.
 */
export interface DescribeView {
  readonly control: HypercallControlFields;
  /** The whole input list as the handler saw it: fixed header, variable header, every rep element. */
  readonly input: DataView;
  readonly variableHeaderBytes: number;
  /**
   * The output area: what the dispatcher wrote to the guest is bytes [0, outputBytes) for a
   * simple call that succeeded, elements [RepStartIndex, repsCompleted) for a rep call.
   */
  readonly output: DataView;
  readonly status: HvStatusCode;
  readonly repsCompleted: number;
}

/**
 * How a descriptor describes its calls for traces and `--json`: small plain objects built from
 * the package's wire layouts. Must never throw, whatever the input bytes (a property test holds
 * every registered decoder to that); they run only while details are recorded.
 */
export interface HypercallDecoder {
  input?(view: DescribeView): DetailFields;
  /** Called only when some output was written (see `DescribeView.output`). */
  output?(view: DescribeView): DetailFields;
}

/**
 * A diagnostic a call raised (its VP is the caller). A type literal, not an interface, so that a
 * detail stays plain JSON (`DetailValue`) for traces.
 */
export type CallDiagnostic = {
  /** Spec rule id, e.g. `spec01.rule6.overlap`. */
  readonly rule: string;
  readonly message: string;
};

/**
 * What one call was, beyond its control fields and status: the list GPAs (memory calls), the
 * decoded input and output, for every status other than SUCCESS the rule or check that chose
 * it, and the diagnostics it raised. Recorded only while `HypercallDispatcher.recordDetails(true)`
 * is on.
 */
export interface HypercallDetail {
  /** Memory calls: the input and output list GPAs (RDX, R8), hex. */
  readonly inputGpa?: string;
  readonly outputGpa?: string;
  /** Absent when a generic check refused the call before its input was read, or no decoder exists. */
  readonly input?: DetailFields;
  readonly output?: DetailFields;
  /** One phrase: why the host chose a status other than SUCCESS (or suspended the caller). */
  readonly reason?: string;
  /** The conformance diagnostics recorded while the call ran, oldest first; absent when none. */
  readonly diagnostics?: readonly CallDiagnostic[];
}

/** A u64 (or a GPA) as `0x…`. */
export function hex64(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

/** A bit mask's set bits as indexes (bit `i` of the u64 at `offset`, plus `base`), ascending. */
export function setBits(view: DataView, offset: number, base = 0): number[] {
  const out: number[] = [];
  if (offset < 0 || offset + 8 > view.byteLength) return out;
  for (let half = 0; half < 2; half++) {
    let w = view.getUint32(offset + 4 * half, true);
    while (w !== 0) {
      const low = w & -w;
      out.push(base + 32 * half + 31 - Math.clz32(low));
      w = (w & ~low) >>> 0;
    }
  }
  return out;
}

/**
 * Runs a decoder, turning a decoder bug into a field rather than an exception: tracing must never
 * stop the host (the property tests are what keeps decoders from throwing).
 */
export function safeDescribe(
  describe: ((view: DescribeView) => DetailFields) | undefined,
  view: DescribeView,
): DetailFields | undefined {
  if (describe === undefined) return undefined;
  try {
    return describe(view);
  } catch (e) {
    return { decodeError: e instanceof Error ? e.message : String(e) };
  }
}

/** What the dispatcher knows of a call when it records its detail. */
export interface DetailFacts {
  /** Memory calls: the GPA of each list the call has (both when the call's shape is unknown). */
  readonly inputGpa: bigint | undefined;
  readonly outputGpa: bigint | undefined;
  readonly decoder: HypercallDecoder | undefined;
  /** The staged call, or undefined when a generic rule refused it before its input was read. */
  readonly view: DescribeView | undefined;
  readonly outputWritten: boolean;
  readonly status: HvStatusCode;
  /** Set by a rule, a handler's `call.fail`, or a fault/suspension. */
  readonly reason: string | undefined;
  readonly diagnostics: readonly CallDiagnostic[];
}

/** The detail of one call from what the dispatcher knew. */
export function buildDetail(f: DetailFacts): HypercallDetail {
  const input = f.view ? safeDescribe(f.decoder?.input?.bind(f.decoder), f.view) : undefined;
  const output =
    f.view && f.outputWritten ? safeDescribe(f.decoder?.output?.bind(f.decoder), f.view) : undefined;
  const reason = f.reason ?? (f.status === 0 ? undefined : 'the handler gave no reason');
  return {
    ...(f.inputGpa === undefined ? {} : { inputGpa: hex64(f.inputGpa) }),
    ...(f.outputGpa === undefined ? {} : { outputGpa: hex64(f.outputGpa) }),
    ...(input ? { input } : {}),
    ...(output ? { output } : {}),
    ...(reason === undefined ? {} : { reason }),
    ...(f.diagnostics.length === 0 ? {} : { diagnostics: f.diagnostics }),
  };
}
