// The guest image pvlab-host runs by default: the kernel on every vCPU, with default options.
import type { GuestProgramCpu } from '@pvlab/hypercall/guest';
import { runKernel } from './kernel.js';

/** The guest program entry point: runs the guest kernel on this vCPU. */
export default function guestEmulator(cpu: GuestProgramCpu): void {
  runKernel(cpu);
}
