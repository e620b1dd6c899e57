// The guest image pvlab-host runs by default: the kernel on every vCPU, with the options given
// as --guest-arg key=value (cpu.args).
import { isGuestFault } from '@pvlab/hypercall';
import type { GuestProgramCpu } from '@pvlab/hypercall/guest';
import { KernelArgError, kernelOptionsFromArgs } from './args.js';
import { arm64KernelOptionsFromArgs, runArm64Kernel } from './arm64-kernel.js';
import { runKernel } from './kernel.js';

/** The guest program entry point: runs the guest kernel on this vCPU. */
export default function guestEmulator(cpu: GuestProgramCpu): void {
  try {
    boot(cpu);
  } catch (e) {
    // An exception from the guest-emulator's own code (a VmbusGuestError, a bug) is a failing
    // guest, not a user's program that threw: the run exits 1. cpu.fail() and guest faults
    // already are failures and pass as they are.
    const failure = e instanceof Error && (e.name === 'GuestProgramFailure' || isGuestFault(e));
    if (!failure)
      cpu.fail(e instanceof Error ? `${e.name}: ${e.message}` : `guest-emulator threw ${String(e)}`);
    throw e;
  }
}

function boot(cpu: GuestProgramCpu): void {
  if (cpu.arch === 'arm64') {
    let arm64: ReturnType<typeof arm64KernelOptionsFromArgs>;
    try {
      arm64 = arm64KernelOptionsFromArgs(cpu.args);
    } catch (e) {
      cpu.fail((e as Error).message);
    }
    runArm64Kernel(cpu, arm64);
    return;
  }
  let options: ReturnType<typeof kernelOptionsFromArgs>;
  try {
    options = kernelOptionsFromArgs(cpu.args);
  } catch (e) {
    if (e instanceof KernelArgError) cpu.fail(e.message);
    throw e;
  }
  runKernel(cpu, options);
}
