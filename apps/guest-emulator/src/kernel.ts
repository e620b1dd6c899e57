import { encodeHypercallControl, HvCallCode, hvStatusName } from '@pvlab/hypercall';
import {
  detectHyperV,
  enableHypercalls,
  GuestPageAllocator,
  type GuestProgramCpu,
  type HyperVInfo,
  initCpu,
  VpIndexTable,
} from '@pvlab/hypercall/guest';
import {
  CPU_ONLINE_GPA,
  HYPERCALL_PAGE_GPA,
  kernelMemoryBytes,
  MAX_KERNEL_CPUS,
  PAGES_PER_CPU,
  PER_CPU_PAGES_GPA,
  RING_VECTOR,
  STARTUP_VECTOR,
  VP_INDEX_TABLE_GPA,
} from './layout.js';

/** How the kernel runs. */
export interface KernelOptions {
  /** Per-CPU input/output areas: a page each, or one page split in two (default `separate`). */
  readonly perCpuLayout?: 'separate' | 'shared-page';
  /** Spin-wait notifications each CPU sends in the workload (default 4). */
  readonly spinWaits?: number;
}

/** What one CPU reports at the end. */
export interface KernelCpuReport {
  readonly vpIndex: number;
  readonly inputGpa: string;
  readonly outputGpa: string;
  /** HvCallNotifyLongSpinWait statuses, memory and fast form alternating. */
  readonly spinWaitStatuses: readonly string[];
  /** The IPI ring completed: this CPU got the ring vector from its neighbour. */
  readonly ringIpi: boolean;
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * The guest kernel, run on every vCPU. CPU 0 boots as Linux's `hyperv_init` does — detect
 * Hyper-V, report the guest OS id, enable the hypercall page — then brings each secondary CPU
 * online with a startup IPI and waits for it. Each CPU, as it comes online, allocates its
 * hypercall input/output pages and reads its VP index into `hv_vp_index[]` (VP_INVAL until then).
 * The workload: NotifyLongSpinWait in the memory and the fast form, and an IPI ring.
 */
export function runKernel(cpu: GuestProgramCpu, options: KernelOptions = {}): KernelCpuReport {
  if (cpu.vcpus > MAX_KERNEL_CPUS)
    cpu.fail(`the guest kernel supports ${MAX_KERNEL_CPUS} CPUs, not ${cpu.vcpus}`);
  if (cpu.memory.size < kernelMemoryBytes(cpu.vcpus)) {
    cpu.fail(`the guest kernel needs ${kernelMemoryBytes(cpu.vcpus)} bytes of RAM for ${cpu.vcpus} CPUs`);
  }
  const table = new VpIndexTable(
    cpu.vcpus,
    new Uint32Array(cpu.memory.buffer, Number(VP_INDEX_TABLE_GPA), cpu.vcpus),
  );
  const online = new Int32Array(cpu.memory.buffer, Number(CPU_ONLINE_GPA), cpu.vcpus);
  // Vectors that arrived while this CPU waited for something else stay here until it wants them.
  const received = new Set<number>();
  const waitFor = (vector: number) => {
    while (!received.has(vector)) for (const v of cpu.halt()) received.add(v);
    received.delete(vector);
  };

  const ctx = { cpu, memory: cpu.memory };
  let info: HyperVInfo;
  if (cpu.index === 0) {
    info = enableHypercalls(ctx, { hypercallPageGpa: HYPERCALL_PAGE_GPA });
    cpu.log(
      `Hyper-V: detected, features ${hex32(info.features.eax)} ${hex32(info.features.ebx)} ${hex32(info.features.edx)}, hints ${hex32(info.hints)}, max ${info.maxVps} VPs`,
    );
    cpu.log(`Hyper-V: hypercall page at GPA 0x${HYPERCALL_PAGE_GPA.toString(16)}`);
    table.reset();
  } else {
    waitFor(STARTUP_VECTOR);
    const detected = detectHyperV(cpu);
    if (!detected) cpu.fail('secondary CPU does not see Hyper-V');
    info = detected;
  }

  const state = initCpu(ctx, {
    cpu: cpu.index,
    info,
    allocator: new GuestPageAllocator(
      cpu.memory,
      PER_CPU_PAGES_GPA + BigInt(cpu.index * PAGES_PER_CPU * 4096),
      PER_CPU_PAGES_GPA + BigInt((cpu.index + 1) * PAGES_PER_CPU * 4096),
    ),
    vpIndexTable: table,
    layout: options.perCpuLayout ?? 'separate',
  });
  const pages = state.hypercalls.pages;
  cpu.log(
    `CPU${cpu.index}: online, VP index ${state.vpIndex}, input page 0x${pages.inputGpa.toString(16)}, output page 0x${pages.outputGpa.toString(16)}`,
  );
  Atomics.store(online, cpu.index, 1);

  if (cpu.index === 0) {
    // Bring up the secondaries one at a time, like the kernel's cpu_up loop.
    for (let ap = 1; ap < cpu.vcpus; ap++) {
      cpu.sendIpi(ap, STARTUP_VECTOR);
      while (Atomics.load(online, ap) === 0) cpu.pause();
    }
    cpu.log(`smp: Brought up ${cpu.vcpus} CPU${cpu.vcpus === 1 ? '' : 's'}`);
  }

  const spinWaits = options.spinWaits ?? 4;
  const statuses: string[] = [];
  for (let i = 0; i < spinWaits; i++) {
    const count = (info.spinWaitRetryCount * (i + 1)) >>> 0;
    const hc = state.hypercalls;
    if (i % 2 === 0) {
      const input = new Uint8Array(8);
      new DataView(input.buffer).setUint32(0, count, true);
      hc.writeInput(input);
      statuses.push(
        hvStatusName(
          hc.call(encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait })).status,
        ),
      );
    } else {
      statuses.push(hvStatusName(hc.fast8(HvCallCode.HvCallNotifyLongSpinWait, BigInt(count)).status));
    }
  }

  // The ring: each CPU sends to its right-hand neighbour (once that one is online) and waits for its left.
  const next = (cpu.index + 1) % cpu.vcpus;
  while (Atomics.load(online, next) === 0) cpu.pause();
  cpu.sendIpi(next, RING_VECTOR);
  waitFor(RING_VECTOR);

  const ok = statuses.filter((s) => s === 'HV_STATUS_SUCCESS').length;
  cpu.log(`CPU${cpu.index}: ${ok}/${spinWaits} long spin-wait notifications accepted, IPI ring closed`);
  const report: KernelCpuReport = {
    vpIndex: state.vpIndex,
    inputGpa: `0x${pages.inputGpa.toString(16)}`,
    outputGpa: `0x${pages.outputGpa.toString(16)}`,
    spinWaitStatuses: statuses,
    ringIpi: true,
  };
  cpu.report('kernel', report);
  return report;
}
