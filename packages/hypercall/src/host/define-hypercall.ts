import { HvCallCode, type HvCallName } from '../wire/call-code.js';
import type { HvStatusCode } from '../wire/status.js';
import type { HypercallDecoder } from './call-detail.js';
import type {
  FastSupport,
  HypercallCall,
  HypercallGate,
  RepHypercallCall,
  RepHypercallDescriptor,
  RepOutcome,
  SimpleHypercallDescriptor,
} from './descriptor.js';

/** What a definition needs of a declared structure (`defineByteStruct`): its name and size. */
export interface HypercallStruct {
  readonly name: string;
  readonly size: number;
}

/**
 * The call a definition declares: a name of the `HvCallCode` table (its code comes from there),
 * or, for a call the table does not know (an experiment, a test), its own code and name.
 */
export type HypercallCallName = HvCallName | { readonly code: number; readonly name: string };

interface HypercallDefinitionBase {
  readonly call: HypercallCallName;
  /** The fixed input header; omitted for a call without one (fixedInputBytes 0). */
  readonly input?: HypercallStruct;
  /** Whether VariableHeaderSize may be nonzero (the variable part is declared with the call's wire). */
  readonly variableHeader?: boolean;
  readonly fast?: FastSupport;
  readonly gate?: HypercallGate;
  /** See `HypercallDescriptor.exactControl`. */
  readonly exactControl?: boolean;
  readonly describe?: HypercallDecoder;
}

/** A simple call: its header, its output (none when omitted) and one handler. */
export interface SimpleHypercallDefinition extends HypercallDefinitionBase {
  readonly kind: 'simple';
  readonly output?: HypercallStruct;
  handler(call: HypercallCall): HvStatusCode;
}

/** A rep call: its header, its rep input element, its rep output element (none when omitted). */
export interface RepHypercallDefinition extends HypercallDefinitionBase {
  readonly kind: 'rep';
  readonly inputElement: HypercallStruct;
  readonly outputElement?: HypercallStruct;
  handler(call: RepHypercallCall): RepOutcome;
}

/** A simple or a rep definition. */
export type HypercallDefinition = SimpleHypercallDefinition | RepHypercallDefinition;

/**
 * Declares a hypercall from the call-code table and its declared structures: the code and name
 * come from `HvCallCode`, and every size the dispatcher checks (`fixedInputBytes`,
 * `outputBytes`, `inputElementBytes`, `outputElementBytes`) from the structures, so none is
 * spelled by hand. The result is a plain `HypercallDescriptor`, registered as any other.
 */
export function defineHypercall(d: SimpleHypercallDefinition): SimpleHypercallDescriptor;
export function defineHypercall(d: RepHypercallDefinition): RepHypercallDescriptor;
export function defineHypercall(d: HypercallDefinition): SimpleHypercallDescriptor | RepHypercallDescriptor {
  const { code, name } = typeof d.call === 'string' ? { code: HvCallCode[d.call], name: d.call } : d.call;
  const options = {
    ...(d.variableHeader !== undefined && { variableHeader: d.variableHeader }),
    ...(d.fast !== undefined && { fast: d.fast }),
    ...(d.gate !== undefined && { gate: d.gate }),
    ...(d.exactControl !== undefined && { exactControl: d.exactControl }),
    ...(d.describe !== undefined && { describe: d.describe }),
  };
  const fixedInputBytes = d.input?.size ?? 0;
  if (d.kind === 'simple') {
    return {
      kind: 'simple',
      code,
      name,
      fixedInputBytes,
      outputBytes: d.output?.size ?? 0,
      ...options,
      handler: d.handler,
    };
  }
  return {
    kind: 'rep',
    code,
    name,
    fixedInputBytes,
    inputElementBytes: d.inputElement.size,
    outputElementBytes: d.outputElement?.size ?? 0,
    ...options,
    handler: d.handler,
  };
}
