// A guest program in TypeScript: pvlab-host bundles it with esbuild before the run (types are
// not checked then: run `tsc` for that), and maps stack frames back to this file. Run it —
//   pvlab-host run --vcpus 2 --guest spin-wait.ts --guest-arg spins=100
// Like a JavaScript guest, it needs no package.json of its own.
import type { GuestProgramCpu } from '@pvlab/host-emulator';
import { decodeHypercallResult, encodeHypercallControl, HvStatus, hvStatusName } from '@pvlab/hypercall';

const HV_X64_MSR_GUEST_OS_ID = 0x4000_0000n;
const HV_X64_MSR_HYPERCALL = 0x4000_0001n;
const NOTIFY_LONG_SPIN_WAIT = 0x0008;

/** NotifyLongSpinWait with `spins` as SpinCount, memory form: the input is in this vCPU's page. */
function notifyLongSpinWait(cpu: GuestProgramCpu, spins: number): number {
  const input = 0x20000n + BigInt(cpu.index) * 0x1000n;
  cpu.memory.writeU32(input, spins);
  const control = encodeHypercallControl({ callCode: NOTIFY_LONG_SPIN_WAIT });
  return decodeHypercallResult(cpu.hypercall(control, input, 0n)).status;
}

export default function spinWait(cpu: GuestProgramCpu): void {
  const spins = Number(cpu.args.spins ?? '100');
  if (!Number.isInteger(spins) || spins < 0) cpu.fail(`spins=${cpu.args.spins}: give a whole number`);
  // Linux reports itself first; the hypercall page is ignored until then.
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100n << 48n);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, 0x1000n | 1n);
  const status = notifyLongSpinWait(cpu, spins);
  if (status !== HvStatus.SUCCESS) cpu.fail(`NotifyLongSpinWait answered ${hvStatusName(status)}`);
  cpu.report('status', hvStatusName(status));
}
