// The tree's arch/x86/hyperv/hv_apic.c, whole and unmodified, on 140 vCPUs of the direct
// harness: every way it sends an IPI, each checked against the exits the host saw and against
// what every one of the 140 VPs received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinuxVm } from '../src/harness.ts';
import {
  HV_GENERIC_SET_ALL,
  HV_GENERIC_SET_SPARSE_4K,
  type IpiExit,
  intendedTargets,
  ipiExits,
  Send,
  type SendForm,
  setMask,
} from '../src/ipi.ts';
import { bootLinux, linux } from '../src/suite.ts';

const VCPUS = 140;
const ALL = Array.from({ length: VCPUS }, (_, i) => i);

/** Whom a send names: the CPU of send_IPI, the mask of send_IPI_mask*. */
interface Target {
  readonly cpu?: number;
  readonly mask?: readonly number[];
}
type Case = readonly [
  name: string,
  sender: number,
  form: SendForm,
  target: Target,
  targets: readonly number[],
];

/** Sends through `apic` on `sender`; returns the decoded exits and what every VP received. */
function send(lvm: LinuxVm, sender: number, form: SendForm, vector: number, target: Target = {}) {
  setMask(lvm, target.mask ?? []);
  lvm.call(sender, 'lt_send', Send[form], target.cpu ?? 0, vector);
  return { exits: ipiExits(lvm.takeExits()), received: lvm.takeDeliveries() };
}

/** `vector` at each of `targets`, nothing anywhere else. */
function only(targets: readonly number[], vector: number): number[][] {
  return ALL.map((vp) => (targets.includes(vp) ? [vector] : []));
}

const bits = (vps: readonly number[]) => vps.reduce((m, vp) => m | (1n << BigInt(vp)), 0n);

/** The sparse HV_VP_SET Linux builds: banks 0..highest, each VP's bit in its bank. */
function sparse(vector: number, vps: readonly number[]): IpiExit {
  const nBanks = Math.floor(Math.max(...vps) / 64) + 1;
  const banks = Array.from({ length: nBanks }, (_, b) =>
    bits(vps.filter((vp) => vp >> 6 === b).map((vp) => vp & 63)),
  );
  return {
    call: 0x0015,
    vector,
    format: HV_GENERIC_SET_SPARSE_4K,
    validBankMask: (1n << BigInt(nBanks)) - 1n,
    banks,
    repCount: 0,
    status: 0,
  };
}

const icrWrites = (vps: readonly number[], vector: number): IpiExit[] =>
  vps.map((destination) => ({ call: 'icr', destination, vector }));

describe.skipIf(linux === null)(`hv_apic.c on ${VCPUS} vCPUs (direct harness)`, () => {
  let lvm: LinuxVm;
  beforeAll(() => {
    lvm = bootLinux('hv-apic', VCPUS);
  });
  afterAll(() => lvm?.close());

  it('hv_apic_init installs the IPI hypercalls: the hints say ClusterIpi and ExProcessorMasks', () => {
    expect(lvm.vcpus[0]!.logs).toContain('Hyper-V: Using IPI hypercalls');
    expect((lvm.call(0, 'lt_hints') >>> 10) & 0b11).toBe(0b11);
  });

  it.each<Case>([
    ['send_IPI_mask to VPs 1, 2, 63', 0, 'mask', { mask: [1, 2, 63] }, [1, 2, 63]],
    ['send_IPI to VP 63', 130, 'one', { cpu: 63 }, [63]],
    ['send_IPI_self', 9, 'self', {}, [9]],
    ['send_IPI_mask_allbutself, every VP below 64', 5, 'maskAllButSelf', { mask: [4, 5, 6, 40] }, [4, 6, 40]],
  ])('fast HvCallSendSyntheticClusterIpi (0x000B): %s', (_, sender, form, target, targets) => {
    const r = send(lvm, sender, form, 0x31, target);
    expect(r.exits).toEqual([{ call: 0x000b, vector: 0x31, processorMask: bits(targets), status: 0 }]);
    expect(r.received).toEqual(only(targets, 0x31));
  });

  it.each<Case>([
    ['a VP in each of banks 0, 1, 2', 0, 'mask', { mask: [1, 64, 129, 139] }, [1, 64, 129, 139]],
    ['bank 1 empty between banks 0 and 2', 0, 'mask', { mask: [5, 130] }, [5, 130]],
    ['send_IPI to VP 100 (one VP above 63)', 7, 'one', { cpu: 100 }, [100]],
    ['send_IPI_mask_allbutself leaving the sender out', 70, 'maskAllButSelf', { mask: [3, 70, 80] }, [3, 80]],
    [
      'send_IPI_allbutself: all-but-self as a sparse set',
      70,
      'allButSelf',
      {},
      ALL.filter((vp) => vp !== 70),
    ],
  ])('HvCallSendSyntheticClusterIpiEx (0x0015), sparse: %s', (_, sender, form, target, targets) => {
    const r = send(lvm, sender, form, 0xec, target);
    expect(r.exits).toEqual([sparse(0xec, targets)]);
    expect(r.received).toEqual(only(targets, 0xec));
  });

  it.each<readonly [string, number, SendForm, readonly number[]]>([
    ['send_IPI_all', 3, 'all', []],
    ['send_IPI_mask with every present CPU', 139, 'mask', ALL],
  ])('HvCallSendSyntheticClusterIpiEx (0x0015), HV_GENERIC_SET_ALL: %s', (_, sender, form, mask) => {
    const r = send(lvm, sender, form, 0xfd, { mask });
    expect(r.exits).toEqual([
      {
        call: 0x0015,
        vector: 0xfd,
        format: HV_GENERIC_SET_ALL,
        validBankMask: 0n,
        banks: [],
        repCount: 0,
        status: 0,
      },
    ]);
    expect(r.received).toEqual(only(ALL, 0xfd));
  });

  it('send_IPI_mask_allbutself with only the sender in the mask sends nothing', () => {
    const r = send(lvm, 70, 'maskAllButSelf', 0x40, { mask: [70] });
    expect(r.exits).toEqual([]);
    expect(r.received).toEqual(only([], 0x40));
  });

  it.each([
    ['below 64', [1, 2], 0x0f],
    ['above 63', [1, 100, 139], 0x0f],
    ['vector 0', [7], 0],
  ])(
    'an invalid vector (< 0x10) goes native, %s: ICR writes the APIC drops, nothing received',
    (_, mask, vector) => {
      const r = send(lvm, 0, 'mask', vector, { mask });
      expect(r.exits).toEqual(icrWrites(mask, vector));
      expect(r.received).toEqual(only([], vector));
    },
  );

  it('a target whose hv_vp_index[] is VP_INVAL sends the whole mask native, fast path and Ex path', () => {
    lvm.call(0, 'lt_forget_vp', 5);
    try {
      for (const mask of [
        [4, 5, 6],
        [5, 100],
      ]) {
        const r = send(lvm, 0, 'mask', 0x50, { mask });
        expect(r.exits).toEqual(icrWrites(mask, 0x50));
        expect(r.received).toEqual(only(mask, 0x50));
      }
    } finally {
      lvm.call(5, 'lt_cpu_up');
    }
    expect(send(lvm, 0, 'mask', 0x50, { mask: [5, 100] }).exits).toEqual([sparse(0x50, [5, 100])]);
  });
});

describe.skipIf(linux === null)('hv_apic.c without the hints it needs (direct harness)', () => {
  it('without ExProcessorMasksRecommended: below 64 fast, above 63 the native ICR path', () => {
    const lvm = bootLinux('hv-apic', VCPUS, { features: { ExProcessorMasksRecommended: false } });
    try {
      expect(send(lvm, 0, 'mask', 0x61, { mask: [2, 3] }).exits).toEqual([
        { call: 0x000b, vector: 0x61, processorMask: 0b1100n, status: 0 },
      ]);
      for (const [sender, form, target] of [
        [0, 'mask', { mask: [2, 64, 129] }],
        [9, 'one', { cpu: 100 }],
        [70, 'allButSelf', {}],
        [70, 'all', {}],
      ] as const) {
        const targets = intendedTargets(
          form,
          sender,
          'cpu' in target ? target.cpu : 0,
          'mask' in target ? target.mask : [],
          VCPUS,
        );
        const r = send(lvm, sender, form, 0x62, {
          ...target,
          mask: 'mask' in target ? [...target.mask] : [],
        });
        expect(r.exits).toEqual(icrWrites(targets, 0x62));
        expect(r.received).toEqual(only(targets, 0x62));
      }
    } finally {
      lvm.close();
    }
  });

  it('without ClusterIpiRecommended hv_apic_init leaves the native APIC in place', () => {
    const lvm = bootLinux('hv-apic', VCPUS, { features: { ClusterIpiRecommended: false } });
    try {
      expect(lvm.vcpus[0]!.logs).not.toContain('Hyper-V: Using IPI hypercalls');
      const r = send(lvm, 0, 'mask', 0x70, { mask: [1, 100] });
      expect(r.exits).toEqual(icrWrites([1, 100], 0x70));
      expect(r.received).toEqual(only([1, 100], 0x70));
    } finally {
      lvm.close();
    }
  });
});
