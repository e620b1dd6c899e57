import {
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HV_X64_MSR_VP_INDEX,
  HypercallMsr,
  linuxGuestOsId,
  linuxVersionCode,
} from '../wire/msr.js';
import { HV_PAGE_SIZE } from '../wire/page.js';
import type { GuestContext } from './cpu.js';
import { detectHyperV, type HyperVInfo } from './detect.js';
import { GuestHypercalls, type PerCpuPageLayout, perCpuHypercallPages } from './hypercalls.js';
import type { GuestPageAllocator } from './page-allocator.js';
import type { VpIndexTable } from './vp-index.js';

/** Raised when the guest cannot bring up the hypercall interface. */
export class GuestBootError extends Error {
  override readonly name = 'GuestBootError';
}

/** The GUEST_OS_ID pvlab's guest reports by default: Linux 6.12.0 in the open-source form. */
export const DEFAULT_GUEST_OS_ID = linuxGuestOsId(linuxVersionCode(6, 12, 0));

/**
 * The boot CPU's part of Linux `hyperv_init`: detect Hyper-V, report the guest OS id, enable the
 * hypercall page at `hypercallPageGpa`, and check that the hypervisor took it.
 */
export function enableHypercalls(
  ctx: GuestContext,
  options: { hypercallPageGpa: bigint; guestOsId?: bigint },
): HyperVInfo {
  const { cpu } = ctx;
  const info = detectHyperV(cpu);
  if (!info)
    throw new GuestBootError('not running on Hyper-V: CPUID 0x40000000 is not "Microsoft Hv" / "Hv#1"');
  if (!info.has('AccessHypercallMsrs')) {
    throw new GuestBootError(
      'the hypervisor does not expose AccessHypercallMsrs (CPUID 0x40000003 EAX bit 5)',
    );
  }
  if (options.hypercallPageGpa % BigInt(HV_PAGE_SIZE) !== 0n) {
    throw new GuestBootError(
      `hypercall page GPA 0x${options.hypercallPageGpa.toString(16)} is not page-aligned`,
    );
  }
  cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, options.guestOsId ?? DEFAULT_GUEST_OS_ID);
  const raw = cpu.readMsr(HV_X64_MSR_HYPERCALL);
  // Preserve the RsvdP bits as read; set Enable and the page number.
  const rsvdP = raw & HypercallMsr.field('RsvdP').mask;
  const fields = { ...HypercallMsr.decode(raw), Enable: 1, Gpfn: Number(options.hypercallPageGpa >> 12n) };
  const value = HypercallMsr.encode(fields) | rsvdP;
  cpu.writeMsr(HV_X64_MSR_HYPERCALL, value);
  if (HypercallMsr.decode(cpu.readMsr(HV_X64_MSR_HYPERCALL)).Enable !== 1) {
    throw new GuestBootError(
      'HV_X64_MSR_HYPERCALL did not keep Enable: the hypervisor refused the hypercall page',
    );
  }
  return info;
}

/** One CPU's hypercall state after `initCpu`. */
export interface GuestCpuState {
  readonly cpu: number;
  /** VP index read from HV_X64_MSR_VP_INDEX, or VP_INVAL when the MSR is not exposed. */
  readonly vpIndex: number;
  readonly hypercalls: GuestHypercalls;
}

/**
 * A CPU's part of Linux `hv_cpu_init`/`hv_common_cpu_init` as it comes online: allocate its
 * input/output areas and record its VP index in the table (the entry stays VP_INVAL until then).
 */
export function initCpu(
  ctx: GuestContext,
  options: {
    cpu: number;
    info: HyperVInfo;
    allocator: GuestPageAllocator;
    layout?: PerCpuPageLayout;
    vpIndexTable: VpIndexTable;
  },
): GuestCpuState {
  const layout = options.layout ?? 'separate';
  const first = options.allocator.allocPages(1);
  const pages = perCpuHypercallPages(
    layout,
    first,
    layout === 'separate' ? options.allocator.allocPages(1) : undefined,
  );
  let vpIndex = options.vpIndexTable.get(options.cpu);
  if (options.info.has('AccessVpIndex')) {
    vpIndex = Number(ctx.cpu.readMsr(HV_X64_MSR_VP_INDEX) & 0xffff_ffffn);
    options.vpIndexTable.set(options.cpu, vpIndex);
  }
  return { cpu: options.cpu, vpIndex, hypercalls: new GuestHypercalls(ctx, pages) };
}
