import { encodeHypercallControl, HvCallCode, hvStatusName } from '@pvlab/hypercall';
import {
  detectHyperV,
  enableHypercalls,
  type GuestHypercalls,
  GuestPageAllocator,
  type GuestProgramCpu,
  type HyperVInfo,
  initCpu,
  VpIndexTable,
} from '@pvlab/hypercall/guest';
import {
  CsdLockTimeout,
  type HvCpu,
  hvCpuEnv,
  hvSendIpiMask,
  Idt,
  NativeApic,
  TlbShootdown,
} from '@pvlab/tlb-ipi/guest';
import { GetVtlError, type GetVtlLayout, getVtl } from '@pvlab/vtl/guest';
import { IpiWorkload } from './ipi-workload.js';
import { type IsolationWorkloadReport, runIsolationWorkload } from './isolation-workload.js';
import { type KernelOptions, WORKLOADS } from './kernel-options.js';
import {
  BRINGUP_IPI_SENDERS,
  CPU_ONLINE_GPA,
  CPU_UP_GPA,
  HYPERCALL_PAGE_GPA,
  KERNEL_GLOBALS_GPA,
  KernelGlobal,
  kernelLayout,
  kernelMemoryBytes,
  MAX_KERNEL_CPUS,
  PAGES_PER_CPU,
  RING_VECTOR,
  SMP_DONE_VECTOR,
  STARTUP_VECTOR,
  VMBUS_VECTOR,
  VP_INDEX_TABLE_GPA,
} from './layout.js';
import { resetRunState } from './resume.js';
import { runTlbWorkload, type TlbWorkloadCounts } from './tlb-workload.js';
import { runVmbusWorkload, type VmbusWorkloadReport } from './vmbus-workload.js';
import { runVtlScenario, type VtlScenarioReport } from './vtl-workload.js';

/** What one CPU reports at the end. */
export interface KernelCpuReport {
  readonly vpIndex: number;
  readonly inputGpa: string;
  readonly outputGpa: string;
  /** HvCallNotifyLongSpinWait statuses, memory and fast form alternating. */
  readonly spinWaitStatuses: readonly string[];
  /** The IPI ring completed: this CPU got the ring vector from its neighbour. */
  readonly ringIpi: boolean;
  /** The IPI workload: IPIs sent (one per target), received, strays, and its rounds by path. */
  readonly ipi: {
    readonly sent: number;
    readonly received: number;
    readonly stray: number;
    readonly paths: Record<string, number>;
  };
  /** The TLB-shootdown workload: shootdowns by path, and native requests served for others. */
  readonly tlb: TlbWorkloadCounts & { readonly served: number };
  /** The VTL get_vtl() read as the CPU came online (null when the hypervisor does not give both AccessVsm and AccessVpRegisters). */
  readonly bootVtl: number | null;
  /** The VTL1 scenario (CPUs 0 and 1). */
  readonly vtl: VtlScenarioReport;
  /** The VMBus echo channel (CPU 0). */
  readonly vmbus: VmbusWorkloadReport | null;
  /** The four shared places of an isolation VM (CPU 0; null in an ordinary VM). */
  readonly isolation: IsolationWorkloadReport | null;
}

const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const sum = (paths: Record<string, number>, hypercall: boolean) =>
  Object.entries(paths)
    .filter(([k]) => k.startsWith('HvCall') === hypercall && !k.startsWith('none'))
    .reduce((n, [, v]) => n + v, 0);

/**
 * The guest kernel, run on every vCPU. CPU 0 boots as Linux's `hyperv_init` does — detect
 * Hyper-V, report the guest OS id, enable the hypercall page, set `hv_vp_index[]` to VP_INVAL —
 * then brings each secondary CPU up with a startup IPI and waits for it. A CPU coming online sets
 * itself in `cpu_online_mask` and turns interrupts on, then (`hv_cpu_init`) allocates its
 * hypercall pages and reads its VP index into `hv_vp_index[]`. The workloads: NotifyLongSpinWait,
 * IPIs that start while the secondaries come online (checked by CPU 0 at the end), an IPI ring,
 * and TLB shootdowns — by the spec 02 hypercalls when the hypervisor recommends them, natively
 * otherwise.
 */
export function runKernel(cpu: GuestProgramCpu, options: KernelOptions = {}): KernelCpuReport {
  if (cpu.vcpus > MAX_KERNEL_CPUS)
    cpu.fail(`the guest kernel supports ${MAX_KERNEL_CPUS} CPUs, not ${cpu.vcpus}`);
  if (cpu.memory.size < kernelMemoryBytes(cpu.vcpus)) {
    cpu.fail(`the guest kernel needs ${kernelMemoryBytes(cpu.vcpus)} bytes of RAM for ${cpu.vcpus} CPUs`);
  }
  const layout = kernelLayout(cpu.vcpus);
  const workloads = new Set(options.workloads ?? WORKLOADS);
  const bug = options.vpIndexBug ?? 'none';
  const table = new VpIndexTable(
    cpu.vcpus,
    new Uint32Array(cpu.memory.buffer, Number(VP_INDEX_TABLE_GPA), cpu.vcpus),
  );
  const online = new Int32Array(cpu.memory.buffer, Number(CPU_ONLINE_GPA), cpu.vcpus);
  const up = new Int32Array(cpu.memory.buffer, Number(CPU_UP_GPA), cpu.vcpus);
  const globals = new Int32Array(cpu.memory.buffer, Number(KERNEL_GLOBALS_GPA), 2);
  const allUp = () => {
    for (let i = 0; i < cpu.vcpus; i++) if (Atomics.load(up, i) === 0) return false;
    return true;
  };

  // Interrupt handling: off until this CPU is online; vectors that arrive before are kept.
  const idt = new Idt(cpu);
  let ringIpi = false;
  idt.register(RING_VECTOR, () => {
    ringIpi = true;
  });
  idt.register(SMP_DONE_VECTOR, () => {});
  // The VMBus SINT: the workload polls its message slot and rings, so the interrupt only wakes.
  idt.register(VMBUS_VECTOR, () => {});
  // This CPU's IPI path (Linux's hv_apic ops over the native APIC), ready once hv_cpu_init ran.
  let hv: HvCpu | undefined;
  // The fixed kernel addresses a native IPI by the firmware's APIC id (= the CPU number in
  // pvlab's VM), known before the CPU is online. The buggy one takes hv_vp_index[] for it.
  const apic = new NativeApic(cpu, bug === 'none' ? (n) => n : (n) => table.get(n));
  const sendIpiMask = (cpus: readonly number[], vector: number, excludeSelf: boolean) => {
    if (hv === undefined) throw new Error('an IPI before hv_cpu_init');
    return hvSendIpiMask(hv, cpus, vector, apic, { excludeSelf });
  };
  const shootdown = new TlbShootdown({
    memory: cpu.memory,
    gpa: layout.shootdown,
    cpus: cpu.vcpus,
    self: cpu.index,
    cpu,
    idt,
    sendIpiMask: (cpus, vector) => {
      sendIpiMask(cpus, vector, false);
    },
  });
  const ipiWorkload = new IpiWorkload({
    memory: cpu.memory,
    layout,
    self: cpu.index,
    cpus: cpu.vcpus,
    table,
    online,
    up,
    idt,
  });

  const ctx = { cpu, memory: cpu.memory };
  let info: HyperVInfo;
  if (cpu.index === 0) {
    if (cpu.restored) {
      resetRunState(cpu, layout);
      cpu.log('resume: restored VM — per-run state cleared; hypercall page, VTL and VMBus kept');
    }
    info = enableHypercalls(ctx, { hypercallPageGpa: HYPERCALL_PAGE_GPA });
    cpu.log(
      `Hyper-V: detected, features ${hex32(info.features.eax)} ${hex32(info.features.ebx)} ${hex32(info.features.edx)}, hints ${hex32(info.hints)}, max ${info.maxVps} VPs`,
    );
    cpu.log(`Hyper-V: hypercall page at GPA 0x${HYPERCALL_PAGE_GPA.toString(16)}`);
    // The 'stale-zero' bug: the table keeps the zeros guest RAM starts with.
    if (bug !== 'stale-zero') table.reset();
  } else {
    while (!idt.consume(STARTUP_VECTOR)) idt.halt();
    const detected = detectHyperV(cpu);
    if (!detected) cpu.fail('secondary CPU does not see Hyper-V');
    info = detected;
  }
  // start_secondary: set_cpu_online, then interrupts on. The VP index comes later, from
  // hv_cpu_init (a hotplug callback): until then hv_vp_index[] says VP_INVAL for this CPU.
  Atomics.store(online, cpu.index, 1);
  idt.enable();

  const state = initCpu(ctx, {
    cpu: cpu.index,
    info,
    allocator: new GuestPageAllocator(
      cpu.memory,
      layout.perCpuPages + BigInt(cpu.index * PAGES_PER_CPU * 4096),
      layout.perCpuPages + BigInt((cpu.index + 1) * PAGES_PER_CPU * 4096),
    ),
    vpIndexTable: table,
    layout: options.perCpuLayout ?? 'separate',
  });
  const pages = state.hypercalls.pages;
  // Linux (CONFIG_HYPERV_VTL_MODE) reads its VTL once per CPU with get_vtl(): HvCallGetVpRegisters
  // (AccessVpRegisters, CPUID 0x40000003 EBX bit 17) of HvRegisterVsmVpStatus, a VSM register
  // (AccessVsm, bit 16). Without both the hypervisor offers no VTL to read: the CPU is in VTL 0.
  const canGetVtl = ((info.features.ebx >>> 16) & 3) === 3;
  const vsm = canGetVtl ? getVtlLayoutOrFixed(options) : undefined;
  let bootVtl: number | null = null;
  if (vsm !== undefined) {
    try {
      bootVtl = getVtl(ctx, state.hypercalls, { layout: vsm });
    } catch (e) {
      if (e instanceof GetVtlError) cpu.fail(e.message);
      throw e;
    }
  }
  cpu.log(
    `CPU${cpu.index}: online, VP index ${state.vpIndex}, input page 0x${pages.inputGpa.toString(16)}, output page 0x${pages.outputGpa.toString(16)}${bootVtl === null ? '' : `, VTL ${bootVtl}`}`,
  );
  const env = hvCpuEnv({
    self: cpu.index,
    presentCpus: cpu.vcpus,
    vpIndex: table,
    info,
    hypercalls: state.hypercalls,
    vpInvalCheck: bug !== 'inval',
  });
  hv = {
    env: options.native ? { ...env, remoteTlbFlush: false, clusterIpi: false } : env,
    hypercalls: state.hypercalls,
  };
  Atomics.store(up, cpu.index, 1);

  const statuses: string[] = [];
  const spinWaits = workloads.has('spin-wait') ? (options.spinWaits ?? 4) : 0;
  // While CPUs come online, every CPU that is up (the first few) IPIs the online ones each time
  // one appears.
  const bringUpTraffic = () => {
    if (workloads.has('ipi')) ipiWorkload.round('bring-up', sendIpiMask);
    cpu.pause();
    idt.poll();
  };
  // CPUs that send no bring-up traffic halt until CPU 0 says every CPU is up.
  const spinsDuringBringUp = (n: number) => workloads.has('ipi') && n < BRINGUP_IPI_SENDERS;
  if (cpu.index === 0) {
    // Bring up the secondaries one at a time, like the kernel's cpu_up loop.
    for (let ap = 1; ap < cpu.vcpus; ap++) {
      cpu.sendIpi(ap, STARTUP_VECTOR);
      while (Atomics.load(up, ap) === 0) bringUpTraffic();
    }
    cpu.log(`smp: Brought up ${cpu.vcpus} CPU${cpu.vcpus === 1 ? '' : 's'}`);
    for (let n = 1; n < cpu.vcpus - 1; n++) if (!spinsDuringBringUp(n)) cpu.sendIpi(n, SMP_DONE_VECTOR);
    notifySpinWaits(state.hypercalls, info, spinWaits, statuses);
  } else {
    notifySpinWaits(state.hypercalls, info, spinWaits, statuses);
    if (spinsDuringBringUp(cpu.index)) while (!allUp()) bringUpTraffic();
    else idt.haltUntil(allUp);
  }

  if (workloads.has('ipi')) ipiWorkload.round('online', sendIpiMask);
  if (workloads.has('ring')) {
    // The ring: each CPU sends to its right-hand neighbour and waits for its left-hand one.
    cpu.sendIpi((cpu.index + 1) % cpu.vcpus, RING_VECTOR);
    idt.haltUntil(() => ringIpi);
  }
  let tlb: TlbWorkloadCounts = { shootdowns: 0, paths: {} };
  if (workloads.has('tlb')) {
    try {
      tlb = runTlbWorkload({ self: cpu.index, cpus: cpu.vcpus, hv, native: shootdown });
    } catch (e) {
      if (e instanceof CsdLockTimeout) cpu.fail(e.message);
      throw e;
    }
  }

  let vtl: VtlScenarioReport = { role: 'none' };
  if (workloads.has('vtl')) {
    // The scenario needs AccessVsm (CPUID 0x40000003 EBX bit 16), the VTL register calls and
    // the flush hypercalls (a native shootdown has no flush inhibit to wait for).
    if (((info.features.ebx >>> 16) & 1) === 1 && vsm !== undefined && hv.env.remoteTlbFlush) {
      vtl = runVtlScenario(cpu, ctx, state.hypercalls, (n) => table.get(n), vsm);
    } else if (cpu.index === 0) {
      cpu.log('vtl: no VSM (AccessVsm/AccessVpRegisters) or no flush hypercalls: scenario skipped');
    }
  }

  let vmbus: VmbusWorkloadReport | null = null;
  if (workloads.has('vmbus') && cpu.index === 0) {
    // SynIC MSRs (AccessSynicRegs, CPUID 0x40000003 EAX bit 2) and PostMessages/SignalEvents (EBX bits 4, 5).
    const synic = ((info.features.eax >>> 2) & 1) === 1 && ((info.features.ebx >>> 4) & 3) === 3;
    if (synic) {
      const untrusted = options.untrustedHost === true || cpu.isolation !== undefined;
      vmbus = runVmbusWorkload(cpu, state.hypercalls, layout.vmbus, options.vmbusPackets ?? 2000, untrusted);
    } else cpu.log('vmbus: no SynIC (AccessSynicRegs, PostMessages, SignalEvents): workload skipped');
  }

  let isolation: IsolationWorkloadReport | null = null;
  if (workloads.has('isolation') && cpu.index === 0 && cpu.isolation) {
    isolation = runIsolationWorkload(cpu, state.hypercalls, layout.isolation, options.isolationForget);
  }

  // Everyone done, then everyone takes its last interrupts: no IPI can be in flight after that.
  Atomics.add(globals, KernelGlobal.workloadsDone / 4, 1);
  idt.spinUntil(() => Atomics.load(globals, KernelGlobal.workloadsDone / 4) === cpu.vcpus);
  idt.poll();
  Atomics.add(globals, KernelGlobal.drained / 4, 1);
  if (cpu.index === 0 && workloads.has('ipi')) {
    idt.spinUntil(() => Atomics.load(globals, KernelGlobal.drained / 4) === cpu.vcpus);
    const verdict = ipiWorkload.verdict();
    if (verdict.problems.length > 0) {
      // Every problem, one a line, not the first and a count: the user wants each IPI that went astray.
      cpu.fail(verdict.problems.join('\n'));
    }
    cpu.log(`ipi: ${verdict.delivered}/${verdict.sent} workload IPIs reached their target CPU`);
  }

  const ok = statuses.filter((s) => s === 'HV_STATUS_SUCCESS').length;
  const ipi = { ...ipiWorkload.counters };
  const parts = [
    ...(spinWaits > 0 ? [`${ok}/${spinWaits} long spin-wait notifications accepted`] : []),
    ...(workloads.has('ring') ? ['IPI ring closed'] : []),
    ...(workloads.has('ipi')
      ? [`IPI rounds ${sum(ipi.paths, true)} by hypercall + ${sum(ipi.paths, false)} native`]
      : []),
    ...(workloads.has('tlb')
      ? [`TLB shootdowns ${sum(tlb.paths, true)} by hypercall + ${sum(tlb.paths, false)} native`]
      : []),
  ];
  if (parts.length > 0) cpu.log(`CPU${cpu.index}: ${parts.join(', ')}`);
  const report: KernelCpuReport = {
    vpIndex: state.vpIndex,
    inputGpa: `0x${pages.inputGpa.toString(16)}`,
    outputGpa: `0x${pages.outputGpa.toString(16)}`,
    spinWaitStatuses: statuses,
    ringIpi,
    ipi,
    tlb: { ...tlb, served: shootdown.counters.served },
    bootVtl,
    vtl,
    vmbus,
    isolation,
  };
  cpu.report('kernel', report);
  return report;
}

function getVtlLayoutOrFixed(options: KernelOptions): GetVtlLayout {
  return options.getVtlLayout ?? 'fixed';
}

/** HvCallNotifyLongSpinWait `count` times, alternating the memory and the fast form. */
function notifySpinWaits(hc: GuestHypercalls, info: HyperVInfo, count: number, statuses: string[]): void {
  for (let i = 0; i < count; i++) {
    const spins = (info.spinWaitRetryCount * (i + 1)) >>> 0;
    if (i % 2 === 0) {
      const input = new Uint8Array(8);
      new DataView(input.buffer).setUint32(0, spins, true);
      hc.writeInput(input);
      statuses.push(
        hvStatusName(
          hc.call(encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait })).status,
        ),
      );
    } else {
      statuses.push(hvStatusName(hc.fast8(HvCallCode.HvCallNotifyLongSpinWait, BigInt(spins)).status));
    }
  }
}
