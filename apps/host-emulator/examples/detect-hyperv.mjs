// A guest program that uses pvlab's guest library, and needs no package.json of its own: copy
// this file into any folder and run it —
//   pvlab-host run --vcpus 2 --guest detect-hyperv.mjs
// `@pvlab/*` imports resolve from pvlab-host's own installation.
import { decodeHypercallResult, encodeHypercallControl, hvStatusName } from '@pvlab/hypercall';
import { detectHyperV } from '@pvlab/hypercall/guest';

const HV_X64_MSR_GUEST_OS_ID = 0x40000000n;
const HV_X64_MSR_HYPERCALL = 0x40000001n;
const NOTIFY_LONG_SPIN_WAIT = 0x0008;

/** @param {import('@pvlab/host-emulator').GuestProgramCpu} cpu */
export default function detect(cpu) {
  const hyperv = detectHyperV(cpu);
  if (!hyperv) cpu.fail('CPUID does not say Hyper-V');
  cpu.report('hyperv', {
    maxLeaf: `0x${hyperv.maxLeaf.toString(16)}`,
    spinWaitRetryCount: hyperv.spinWaitRetryCount,
    accessVpIndex: hyperv.has('AccessVpIndex'),
  });
  if (cpu.index !== 0) return;
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100n << 48n);
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, 0x1000n | 1n);
  const control = encodeHypercallControl({ callCode: NOTIFY_LONG_SPIN_WAIT, fast: true });
  const { status } = decodeHypercallResult(cpu.fastHypercall(control, [100n]).result);
  cpu.log(`NotifyLongSpinWait: ${hvStatusName(status)}`);
}
