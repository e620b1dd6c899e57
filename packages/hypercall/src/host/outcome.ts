import { GuestFault, type GuestFaultValue } from '../guest-fault.js';
import { HypercallSuspended, type HypercallSuspension } from './suspend.js';

/**
 * What one hypercall came to, as OpenVMM's dispatcher reports it (`advance_ip` with a result, or
 * `retry`): the TLFS result value (RAX; the caller advances RIP), a suspension of the caller (RIP
 * stays: the guest re-executes the call once `waitingOn` is resumed), or a fault the guest takes
 * instead of a result. `typeof outcome === 'bigint'` tells a result from the other two, which a
 * `kind` tells apart.
 */
export type DispatchOutcome = bigint | HypercallSuspension | GuestFaultValue;

/** The exception the throwing APIs (`HvPartition.hypercall`) raise for an outcome that is no result. */
export function outcomeError(
  outcome: HypercallSuspension | GuestFaultValue,
): GuestFault | HypercallSuspended {
  return outcome.kind === 'fault' ? GuestFault.of(outcome) : HypercallSuspended.of(outcome);
}
