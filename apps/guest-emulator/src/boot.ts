import { encodeHypercallControl, HvCallCode, HvStatus, hvStatusName } from '@pvlab/hypercall';
import {
  enableHypercalls,
  type GuestContext,
  type GuestCpuState,
  GuestPageAllocator,
  initCpu,
  type PerCpuPageLayout,
  VpIndexTable,
} from '@pvlab/hypercall/guest';

/** How the guest boots. */
export interface GuestBootOptions {
  /** Where the guest's page allocator starts (default 1 MiB, above the "firmware" area). */
  readonly heapBase?: bigint;
  /** Per-CPU input/output areas: a page each, or one page split in two (default `separate`). */
  readonly perCpuLayout?: PerCpuPageLayout;
  /** Spin-wait notifications each CPU sends in the workload (default 4). */
  readonly spinWaits?: number;
  /** Receives each boot-log line as it is written. */
  readonly log?: (line: string) => void;
}

/** What one CPU did. */
export interface GuestCpuReport {
  readonly cpu: number;
  readonly vpIndex: number;
  readonly inputGpa: bigint;
  readonly outputGpa: bigint;
  /** HvCallNotifyLongSpinWait results, memory and fast form alternating. */
  readonly spinWaitStatuses: string[];
}

/** The boot log and per-CPU results. */
export interface GuestBootReport {
  readonly log: string[];
  readonly cpus: GuestCpuReport[];
  readonly hypercallPageGpa: bigint;
}

/**
 * Boots the guest on every CPU the way Linux does on Hyper-V: the boot CPU detects the hypervisor,
 * reports its guest OS id and enables the hypercall page; then each CPU comes online in turn,
 * allocates its input/output pages and reads its VP index. The workload notifies long spin waits
 * from every CPU, alternating the memory and the fast form.
 */
export function bootGuest(cpus: readonly GuestContext[], options: GuestBootOptions = {}): GuestBootReport {
  const log: string[] = [];
  const say = (line: string) => {
    log.push(line);
    options.log?.(line);
  };
  const bsp = cpus[0];
  if (!bsp) throw new RangeError('bootGuest needs at least one CPU');
  const allocator = new GuestPageAllocator(bsp.memory, options.heapBase ?? 0x10_0000n);
  const hypercallPageGpa = allocator.allocPages(1);
  const info = enableHypercalls(bsp, { hypercallPageGpa });
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  say(
    `Hyper-V: detected, max leaf ${hex(info.maxLeaf)}, features ${hex(info.features.eax)} ${hex(info.features.ebx)} ${hex(info.features.edx)}, hints ${hex(info.hints)}`,
  );
  say(`Hyper-V: hypercall page at GPA 0x${hypercallPageGpa.toString(16)}, ${info.maxVps} VPs supported`);

  const vpIndexTable = new VpIndexTable(cpus.length);
  const states: GuestCpuState[] = [];
  cpus.forEach((ctx, cpu) => {
    const state = initCpu(ctx, {
      cpu,
      info,
      allocator,
      vpIndexTable,
      layout: options.perCpuLayout ?? 'separate',
    });
    states.push(state);
    const p = state.hypercalls.pages;
    say(
      `CPU${cpu}: online, VP index ${state.vpIndex}, input page 0x${p.inputGpa.toString(16)}, output page 0x${p.outputGpa.toString(16)}`,
    );
  });

  const spinWaits = options.spinWaits ?? 4;
  const reports = states.map((state) => {
    const statuses: string[] = [];
    for (let i = 0; i < spinWaits; i++) {
      const count = info.spinWaitRetryCount * (i + 1);
      const hc = state.hypercalls;
      let status: number;
      if (i % 2 === 0) {
        const input = new Uint8Array(8);
        new DataView(input.buffer).setUint32(0, count >>> 0, true);
        hc.writeInput(input);
        status = hc.call(encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait })).status;
      } else {
        status = hc.fast8(HvCallCode.HvCallNotifyLongSpinWait, BigInt(count >>> 0)).status;
      }
      statuses.push(hvStatusName(status));
    }
    const ok = statuses.filter((s) => s === hvStatusName(HvStatus.SUCCESS)).length;
    say(`CPU${state.cpu}: ${ok}/${spinWaits} long spin-wait notifications accepted`);
    const p = state.hypercalls.pages;
    return {
      cpu: state.cpu,
      vpIndex: state.vpIndex,
      inputGpa: p.inputGpa,
      outputGpa: p.outputGpa,
      spinWaitStatuses: statuses,
    };
  });
  return { log, cpus: reports, hypercallPageGpa };
}
