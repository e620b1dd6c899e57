/**
 * The IPI exits of a run, decoded the way the TLFS lays them out, so tests compare what a guest
 * sent rather than raw registers: HvCallSendSyntheticClusterIpi (0x000B, fast: RDX = vector,
 * R8 = processor mask), HvCallSendSyntheticClusterIpiEx (0x0015, memory form: vector, reserved,
 * then an HV_VP_SET: format, valid-bank mask, one u64 bank per variable-header unit) and native
 * x2APIC ICR writes.
 */
import { decodeHypercallControl, HvCallCode, X2APIC_MSR_ICR, X2ApicIcr } from '@pvlab/hypercall';
import type { Exit, LinuxVm } from './harness.ts';

export type IpiExit =
  | {
      readonly call: 0x000b;
      readonly vector: number;
      readonly processorMask: bigint;
      readonly status: number;
    }
  | {
      readonly call: 0x0015;
      readonly vector: number;
      /** 0 = HV_GENERIC_SET_SPARSE_4K, 1 = HV_GENERIC_SET_ALL. */
      readonly format: number;
      readonly validBankMask: bigint;
      readonly banks: readonly bigint[];
      readonly repCount: number;
      readonly status: number;
    }
  | { readonly call: 'icr'; readonly destination: number; readonly vector: number };

/** HV_GENERIC_SET_* (TLFS 7.9.3). */
export const HV_GENERIC_SET_SPARSE_4K = 0;
export const HV_GENERIC_SET_ALL = 1;

/** Decodes each exit as an IPI; anything else (another call, another MSR) throws with the exit. */
export function ipiExits(exits: readonly Exit[]): IpiExit[] {
  return exits.map((e) => {
    if (e.kind === 'wrmsr' && e.msr === X2APIC_MSR_ICR) {
      const icr = X2ApicIcr.decode(e.value);
      return { call: 'icr', destination: icr.Destination, vector: icr.Vector };
    }
    if (e.kind === 'fast') {
      const c = decodeHypercallControl(e.control);
      if (c.callCode === HvCallCode.HvCallSendSyntheticClusterIpi && e.registers.length === 2) {
        return {
          call: 0x000b,
          vector: Number(e.registers[0]! & 0xffff_ffffn),
          processorMask: e.registers[1]!,
          status: Number(e.result & 0xffffn),
        };
      }
    }
    if (e.kind === 'hypercall') {
      const c = decodeHypercallControl(e.control);
      if (c.callCode === HvCallCode.HvCallSendSyntheticClusterIpiEx && !c.fast) {
        const v = new DataView(e.input.buffer, e.input.byteOffset, e.input.byteLength);
        const banks = Array.from({ length: c.variableHeaderSize }, (_, i) =>
          v.getBigUint64(24 + 8 * i, true),
        );
        return {
          call: 0x0015,
          vector: v.getUint32(0, true),
          format: Number(v.getBigUint64(8, true)),
          validBankMask: v.getBigUint64(16, true),
          banks,
          repCount: c.repCount,
          status: Number(e.result & 0xffffn),
        };
      }
    }
    throw new Error(
      `not an IPI exit: ${JSON.stringify(e, (_, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x))}`,
    );
  });
}

/** The VPs an HV_VP_SET names: bank i bit j is VP 64 i + j, for each bank the valid mask lists. */
export function sparseVps(validBankMask: bigint, banks: readonly bigint[]): number[] {
  const vps: number[] = [];
  let bank = 0;
  for (let i = 0; i < 64; i++) {
    if (((validBankMask >> BigInt(i)) & 1n) === 0n) continue;
    const word = banks[bank++] ?? 0n;
    for (let j = 0; j < 64; j++) if ((word >> BigInt(j)) & 1n) vps.push(64 * i + j);
  }
  return vps;
}

/** The bits of a 64-bit processor mask. */
export function maskVps(mask: bigint): number[] {
  return Array.from({ length: 64 }, (_, i) => i).filter((i) => (mask >> BigInt(i)) & 1n);
}

/** The ways a guest driver's `lt_send` reaches `apic` (guests/hv-apic.c). */
export const Send = { one: 0, mask: 1, maskAllButSelf: 2, allButSelf: 3, all: 4, self: 5 } as const;
export type SendForm = keyof typeof Send;

/** Writes `cpus` into the driver's cpumask (CPU n = bit n of its u32 words). */
export function setMask(lvm: LinuxVm, cpus: Iterable<number>): void {
  const at = lvm.call(0, 'lt_mask_bits');
  const words = new Uint32Array(Math.ceil(lvm.count / 32));
  for (const cpu of cpus) words[cpu >> 5]! |= 1 << (cpu & 31);
  words.forEach((w, i) => {
    lvm.vm.ram.view.setUint32(at + 4 * i, w, true);
  });
}

/** The CPUs an `lt_send` form targets, as the caller meant them (not how it sends them). */
export function intendedTargets(
  form: SendForm,
  sender: number,
  cpu: number,
  mask: readonly number[],
  vcpus: number,
): number[] {
  const all = Array.from({ length: vcpus }, (_, i) => i);
  switch (form) {
    case 'one':
      return [cpu];
    case 'self':
      return [sender];
    case 'mask':
      return [...new Set(mask)].sort((a, b) => a - b);
    case 'maskAllButSelf':
      return [...new Set(mask)].filter((c) => c !== sender).sort((a, b) => a - b);
    case 'allButSelf':
      return all.filter((c) => c !== sender);
    case 'all':
      return all;
  }
}
