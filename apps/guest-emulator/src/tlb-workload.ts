import {
  type FlushRequest,
  type HvCpu,
  hvFlushTlbOthers,
  type NativeTlbFlusher,
  pathOutcomeName,
  TLB_FLUSH_ALL,
} from '@pvlab/tlb-ipi/guest';
import {
  SHOOTDOWN_KERNEL_GVA,
  SHOOTDOWN_PGD_BASE,
  SHOOTDOWN_USER_BIG_GVA,
  SHOOTDOWN_USER_GVA,
  WORKLOAD_SENDERS,
} from './layout.js';

const PAGE = 4096n;

/** The page directory of sender `cpu`'s mm in the TLB-shootdown workload. */
export function shootdownPgd(cpu: number): bigint {
  return SHOOTDOWN_PGD_BASE + BigInt(cpu) * PAGE;
}

/** The 4 user pages sender `cpu` flushes first. */
export function shootdownUserGva(cpu: number): bigint {
  return SHOOTDOWN_USER_GVA + BigInt(cpu) * 0x10_0000n;
}

/** The 2 kernel pages sender `cpu` flushes. */
export function shootdownKernelGva(cpu: number): bigint {
  return SHOOTDOWN_KERNEL_GVA + BigInt(cpu) * 0x1_0000n;
}

/** The flushes sender `cpu` sends to every other CPU, in order, each picking a different call. */
export function shootdownRequests(cpu: number): FlushRequest[] {
  const pgd = shootdownPgd(cpu);
  const user = shootdownUserGva(cpu);
  const kernel = shootdownKernelGva(cpu);
  return [
    { pgd, start: user, end: user + 4n * PAGE },
    { pgd, start: SHOOTDOWN_USER_BIG_GVA, end: SHOOTDOWN_USER_BIG_GVA + (10n << 30n) },
    { pgd, start: 0n, end: TLB_FLUSH_ALL },
    { pgd: null, start: kernel, end: kernel + 2n * PAGE },
  ];
}

/** What this CPU's shootdowns did, by path. */
export interface TlbWorkloadCounts {
  shootdowns: number;
  /** By call name for the hypercall path, `native (reason)` / `none (reason)` otherwise. */
  readonly paths: Record<string, number>;
}

/**
 * The TLB-shootdown workload, once every CPU is online: each of the first `WORKLOAD_SENDERS`
 * CPUs flushes its mm on every other CPU — a 4-page range (List), a 10 GiB range (Space), the
 * whole mm (Space, non-global) — and 2 kernel pages (List, every address space); CPU 0 then
 * flushes all user mappings on every present CPU, itself included (ALL_PROCESSORS). A flush
 * with no target is not made (a one-CPU VM only makes the last).
 */
export function runTlbWorkload(options: {
  readonly self: number;
  readonly cpus: number;
  readonly hv: HvCpu;
  readonly native: NativeTlbFlusher;
}): TlbWorkloadCounts {
  const { self, cpus, hv, native } = options;
  const counts: TlbWorkloadCounts = { shootdowns: 0, paths: {} };
  if (self >= Math.min(cpus, WORKLOAD_SENDERS)) return counts;
  const all = Array.from({ length: cpus }, (_, cpu) => cpu);
  const others = all.filter((cpu) => cpu !== self);
  const flush = (targets: readonly number[], request: FlushRequest) => {
    // As flush_tlb_mm_range: no other CPU, no remote flush.
    if (targets.length === 0) return;
    const key = pathOutcomeName(hvFlushTlbOthers(hv, targets, request, native));
    counts.paths[key] = (counts.paths[key] ?? 0) + 1;
    counts.shootdowns++;
  };
  for (const request of shootdownRequests(self)) flush(others, request);
  if (self === 0) flush(all, { pgd: null, start: 0n, end: TLB_FLUSH_ALL });
  return counts;
}
