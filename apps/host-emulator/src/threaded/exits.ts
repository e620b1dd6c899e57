import { type GuestFaultValue, isGuestFault } from '@pvlab/hypercall';
import { smcccFunctionName, smcccReturnCodeName } from '@pvlab/pv-time';
import { parseFailureText } from './guest-error.js';
import type { ThreadedHost } from './host.js';
import type { HypercallExitPath } from './hypercall-exit.js';
import { Completion, ExitKind, FailKind } from './mailbox-wire.js';
import { ThreadedHostError } from './run-api.js';

/** X1..X14: the SMCCC arguments a vCPU mailbox carries. */
const SMCCC_ARG_REGS = 14;

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/**
 * Handles the exit `vp` posted, whatever its kind: leaves its completion in `host.pending` and
 * its phase set for the scheduler, which releases it. (A parallel run's running vCPU takes its
 * hypercall exits on the short path instead; see `runParallel`.)
 */
export function handleExit(host: ThreadedHost, hypercalls: HypercallExitPath, vp: number): void {
  const mb = host.mb;
  const kind = mb.kind(vp);
  host.currentVp = vp;
  host.pending[vp] = Completion.OK;
  host.setPhase(vp, 'stopped');
  host.stolenTime.exited(vp);
  if (host.terminating) {
    host.pending[vp] = Completion.TERMINATE;
    host.setPhase(vp, 'finished');
    return;
  }
  if (kind === ExitKind.HYPERCALL) {
    // Seeded runs come here, and parallel ones that account stolen time (arm64, where VMCALL
    // never exits). Such an exit is timed as it is handled, and counted so that the vCPU's stamps
    // of later exits still pair up.
    if (!host.scheduler) host.log.countExit(vp);
    hypercalls.exit(vp, host.now(), false);
    return;
  }
  // Other exits carry their time from before they were posted.
  const ts = host.exitTime(vp);
  switch (kind) {
    case ExitKind.START:
    case ExitKind.YIELD:
      return;
    case ExitKind.RDMSR:
    case ExitKind.WRMSR:
    case ExitKind.CPUID:
      msrOrCpuid(host, vp, kind, ts);
      return;
    case ExitKind.SMCCC:
      smccc(host, vp, ts);
      return;
    case ExitKind.INVLPG:
      host.vm.partition.invlpg(vp, mb.reg(vp, 0));
      return;
    case ExitKind.FLUSH_TLB:
      host.vm.partition.flushLocalTlb(vp, mb.reg(vp, 0) === 1n);
      return;
    case ExitKind.RDTSC:
      // ts is µs on the run's clock (the virtual one when seeded); the TSC ticks at 1 GHz.
      mb.setReg(vp, 0, BigInt(Math.round(ts * 1000)));
      return;
    case ExitKind.HALT:
      if (host.vm.partition.interrupts.pending(vp)) {
        host.event({ kind: 'halt', vp, ts, dur: 0, vectors: host.vm.partition.interrupts.peek(vp) });
        return;
      }
      host.setPhase(vp, 'halted');
      host.haltedAt[vp] = ts;
      return;
    case ExitKind.LOG: {
      const line = mb.readMessage(vp);
      host.lines.push({ vp, line });
      host.event({ kind: 'log', vp, ts, message: line });
      host.options.onLog?.(vp, line);
      return;
    }
    case ExitKind.REPORT: {
      const text = mb.readMessage(vp);
      const [key, value] = JSON.parse(text) as [string, unknown];
      host.reports[vp]![key] = value;
      host.event({ kind: 'report', vp, ts, message: text });
      return;
    }
    case ExitKind.DONE:
      host.setPhase(vp, 'finished');
      host.event({ kind: 'done', vp, ts, message: 'passed' });
      return;
    case ExitKind.FAIL: {
      const { message, stack } = parseFailureText(mb.readMessage(vp));
      host.setPhase(vp, 'finished');
      host.event({ kind: 'fail', vp, ts, message });
      const why = Number(mb.reg(vp, 0));
      host.fail(
        vp,
        message,
        why === FailKind.LOAD ? 'load' : why === FailKind.THROW ? 'throw' : 'program',
        stack,
      );
      // One failing vCPU fails the run: the others are told to unwind.
      host.terminate();
      return;
    }
    default:
      throw new ThreadedHostError(`vCPU ${vp} posted unknown exit kind ${kind}`);
  }
}

/** A fault the exit came to, for the vCPU (completion FAULT) and the trace (`#GP`). */
function fault(host: ThreadedHost, vp: number, f: GuestFaultValue): string {
  host.faultRecord(vp, f);
  host.pending[vp] = Completion.FAULT;
  return `#${f.vector}`;
}

/** The fault value of a `GuestFault` an exit threw; anything else is a host bug, rethrown. */
function thrownFault(e: unknown): GuestFaultValue {
  if (!isGuestFault(e)) throw e;
  return e.fault;
}

function msrOrCpuid(host: ThreadedHost, vp: number, kind: number, ts: number): void {
  const mb = host.mb;
  const p = host.vm.partition;
  const index = mb.reg(vp, 0);
  let value = '';
  let faulted: string | undefined;
  if (kind === ExitKind.CPUID) {
    const r = p.cpuid(Number(index & 0xffff_ffffn));
    for (const [i, v] of [r.eax, r.ebx, r.ecx, r.edx].entries()) mb.setReg(vp, i, BigInt(v));
    value = `${hex(r.eax)}:${hex(r.ebx)}:${hex(r.ecx)}:${hex(r.edx)}`;
  } else if (kind === ExitKind.RDMSR) {
    const v = p.readMsrOutcome(vp, index);
    if (typeof v === 'bigint') {
      mb.setReg(vp, 0, v);
      value = hex(v);
    } else faulted = fault(host, vp, v);
  } else {
    const v = mb.reg(vp, 1);
    value = hex(v);
    const f = p.writeMsrOutcome(vp, index, v);
    if (f !== undefined) faulted = fault(host, vp, f);
  }
  const dur = host.exitDuration(ts);
  const name = kind === ExitKind.CPUID ? 'cpuid' : kind === ExitKind.RDMSR ? 'rdmsr' : 'wrmsr';
  host.event({ kind: name, vp, ts, dur, index: hex(index), value, ...(faulted ? { fault: faulted } : {}) });
}

/** arm64 HVC through the SMCCC conduit (PV time's calls among them). */
function smccc(host: ThreadedHost, vp: number, ts: number): void {
  const mb = host.mb;
  const functionId = Number(mb.reg(vp, 0) & 0xffff_ffffn);
  const args: bigint[] = [];
  for (let i = 1; i <= SMCCC_ARG_REGS; i++) args.push(mb.reg(vp, i));
  let results: bigint[] = [];
  let status: string;
  try {
    results = [...host.internals.smcccCall(vp, functionId, args)];
    for (const [i, v] of results.entries()) mb.setReg(vp, i, v);
    status = smcccReturnCodeName(results[0]!) ?? 'value';
  } catch (e) {
    status = fault(host, vp, thrownFault(e));
  }
  // Trailing zero arguments are the registers the guest left unused: keep the trace readable.
  while (args.length > 0 && args[args.length - 1] === 0n) args.pop();
  host.event({
    kind: 'smccc',
    vp,
    ts,
    dur: host.exitDuration(ts),
    name: smcccFunctionName(functionId),
    functionId,
    args: args.map(hex),
    results: results.map(hex),
    status,
  });
}
