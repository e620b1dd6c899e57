import type { GuestProgramCpu } from '@pvlab/hypercall/guest';
import {
  CPU_ONLINE_GPA,
  CPU_UP_GPA,
  KERNEL_GLOBALS_GPA,
  type KernelLayout,
  VMBUS_STATE_GPA,
} from './layout.js';

/**
 * A VM restored from a snapshot (`cpu.restored`): `--save` wrote it when every CPU had returned,
 * so the places the CPUs met at say "done" — every CPU online and up, the end-of-run counters
 * full, the VTL scenario's flags set, the IPI tags and shootdown requests of the last round. The
 * boot CPU clears them (to what fresh RAM holds) before it starts the others, which wait for its
 * startup IPI, so that the new run's waits can end. What lives in the host is kept: the
 * hypercall page and VTL1 are enabled again (both idempotent), the VMBus connection and its open
 * channel are resumed from the driver's record (`vmbus-state.ts`), which this leaves alone.
 */
export function resetRunState(cpu: GuestProgramCpu, layout: KernelLayout): void {
  const m = cpu.memory;
  m.fill(CPU_ONLINE_GPA, cpu.vcpus * 4, 0);
  m.fill(CPU_UP_GPA, cpu.vcpus * 4, 0);
  // The end-of-run counters and the VTL flags: the kernel-globals page up to the VMBus record.
  m.fill(KERNEL_GLOBALS_GPA, Number(VMBUS_STATE_GPA - KERNEL_GLOBALS_GPA), 0);
  // The IPI workload's tags and stray records, the native shootdown's request blocks.
  m.fill(layout.ipiTags, Number(layout.vmbus - layout.ipiTags), 0);
}
