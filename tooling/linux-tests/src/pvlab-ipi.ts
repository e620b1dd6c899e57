/**
 * pvlab's own IPI path (`hvSendIpiMask`: `chooseIpi`, then the hypercall or the native APIC) run
 * on the same VP, over the state Linux's run left: its hv_vp_index[] and hv_max_vp_index, its
 * hints, and this CPU's input page. The differential test compares its exits and deliveries with
 * Linux's.
 */
import { GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { type HvCpuEnv, hvSendIpi, hvSendIpiMask, NativeApic, type PathOutcome } from '@pvlab/tlb-ipi/guest';
import type { LinuxVm } from './harness.ts';
import type { SendForm } from './ipi.ts';

/** An output page in the guest's own first MiB: IPI calls have no output. */
const OUTPUT_GPA = 0x2000n;

/** The helpers of a CPU without its input page yet: any input written to them overflows. */
const NO_INPUT_AREA = { inputGpa: 0n, outputGpa: 0n, inputBytes: 0, outputBytes: 0 };

/** The `HvCpuEnv` of CPU `self` as Linux's state in `lvm` has it. */
export function linuxEnv(lvm: LinuxVm, self: number): HvCpuEnv {
  const table = lvm.call(0, 'lt_vp_index');
  const hints = lvm.call(0, 'lt_hints') >>> 0;
  const maxVpIndex = lvm.call(0, 'lt_max_vp_index') >>> 0;
  return {
    self,
    presentCpus: lvm.count,
    vpIndex: { get: (cpu) => lvm.u32(table + 4 * cpu), maxVpIndex: () => maxVpIndex },
    remoteTlbFlush: ((hints >>> 2) & 1) === 1,
    clusterIpi: ((hints >>> 10) & 1) === 1,
    exProcessorMasks: ((hints >>> 11) & 1) === 1,
    inputPageBytes: lvm.call(0, 'lt_input_page', self) === 0 ? 0 : 4096,
  };
}

/** `form` as pvlab sends it from `sender`. */
export function pvlabSend(
  lvm: LinuxVm,
  sender: number,
  form: SendForm,
  vector: number,
  target: { readonly cpu: number; readonly mask: readonly number[] },
): PathOutcome {
  const env = linuxEnv(lvm, sender);
  const cpu = lvm.cpus[sender]!;
  const input = lvm.call(0, 'lt_input_page', sender);
  // Linux's hypercall page is always there once booted; a CPU before its hv_common_cpu_init has
  // no input page, so its helpers get no input area (fast calls only).
  const pages = input === 0 ? NO_INPUT_AREA : perCpuHypercallPages('separate', BigInt(input), OUTPUT_GPA);
  const hypercalls = new GuestHypercalls({ cpu, memory: lvm.vm.ram }, pages);
  const hv = { env: { ...env, hypercallPage: true }, hypercalls };
  const native = new NativeApic(cpu, (c) => c);
  const all = Array.from({ length: lvm.count }, (_, i) => i);
  switch (form) {
    case 'one':
      return hvSendIpi(hv, target.cpu, vector, native);
    case 'self':
      return hvSendIpi(hv, sender, vector, native);
    case 'mask':
      return hvSendIpiMask(hv, target.mask, vector, native);
    case 'maskAllButSelf':
      return hvSendIpiMask(hv, target.mask, vector, native, { excludeSelf: true });
    case 'allButSelf':
      return hvSendIpiMask(hv, all, vector, native, { excludeSelf: true });
    case 'all':
      return hvSendIpiMask(hv, all, vector, native);
  }
}
