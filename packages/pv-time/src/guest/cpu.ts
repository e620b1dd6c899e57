import type { GuestMemory } from '@pvlab/hypercall';

/**
 * What the guest side needs of a CPU: the SMCCC conduit (HVC) and loads from guest memory.
 * `createVm({ arch: 'arm64' })`'s `vm.vp(i)` plus `vm.memory`, or a guest program's CPU, fit it.
 */
export interface SmcccGuestCpu {
  /** Issues an SMCCC call; returns X0..X3 (at least X0) as unsigned 64-bit values. */
  smccc(functionId: number, ...args: bigint[]): readonly bigint[];
  /** Guest memory; the steal clock only loads from it. */
  readonly memory: Pick<GuestMemory, 'readU32' | 'readU64'>;
}
