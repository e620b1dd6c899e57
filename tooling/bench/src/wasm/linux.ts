/**
 * Linux's `hv_send_ipi_mask` (the tree's unmodified hv_apic.c, booted as Linux boots it on a
 * 140-vCPU createVm VM) called from C in a loop, against pvlab's own guest-side IPI path
 * (`hvSendIpiMask` of @pvlab/tlb-ipi, JavaScript) sending the same IPI from the same VP over the
 * state Linux's boot left: the fast HvCallSendSyntheticClusterIpi (0x000B) to VPs below 64, and
 * HvCallSendSyntheticClusterIpiEx (0x0015) when a target is VP 64 or above.
 */
import { readFileSync } from 'node:fs';
import { createVm, type VirtualProcessor } from '@pvlab/host-emulator';
import { type CpuidResult, X2APIC_MSR_ICR, X2ApicIcr } from '@pvlab/hypercall';
import { GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { type HvCpuEnv, hvSendIpiMask, NativeApic } from '@pvlab/tlb-ipi/guest';
import { loadWasmGuest, type WasmGuestCpu, type WasmVcpu } from '@pvlab/wasm-guest';
import { type BenchCase, type BenchRow, measure, type TimingOptions } from '../suite.js';

export const LINUX_VCPUS = 140;
const VCPUS = LINUX_VCPUS;
const SENDER = 0;
const VECTOR = 0xf3;
/** Sends per sample (~1 µs each). */
const BATCH = 100;
/** guests/hv-apic.c's `enum lt_how`: SEND_MASK is apic->send_IPI_mask = hv_send_ipi_mask. */
const SEND_MASK = 1;
const SEND_IPI = 0x000b;
const SEND_IPI_EX = 0x0015;
/** An output GPA in the guest's own first MiB (IPI calls have no output), as linux-tests uses. */
const OUTPUT_GPA = 0x2000n;

/** The sender's cpu: the VP, counting every hypercall it makes by call code and every failed one. */
class CountingCpu implements WasmGuestCpu {
  readonly vp: VirtualProcessor;
  fast = 0;
  ex = 0;
  wrong = 0;
  constructor(vp: VirtualProcessor) {
    this.vp = vp;
  }
  get index(): number {
    return this.vp.index;
  }
  /** A native fixed IPI: WRMSR x2APIC ICR (pvlab's NativeApic; not taken by these rows). */
  sendIpi(targetVp: number, vector: number): void {
    this.writeMsr(X2APIC_MSR_ICR, X2ApicIcr.encode({ Vector: vector, Destination: targetVp }));
  }
  #count(control: bigint, result: bigint): void {
    const code = Number(control & 0xffffn);
    if (code === SEND_IPI) this.fast++;
    else if (code === SEND_IPI_EX) this.ex++;
    if (result !== 0n) this.wrong++;
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    const r = this.vp.hypercall(control, inputGpa, outputGpa);
    this.#count(control, r);
    return r;
  }
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    const r = this.vp.fastHypercall(control, input);
    this.#count(control, r.result);
    return r;
  }
  readMsr(msr: bigint): bigint {
    return this.vp.readMsr(msr);
  }
  writeMsr(msr: bigint, value: bigint): void {
    this.vp.writeMsr(msr, value);
  }
  cpuid(leaf: number): CpuidResult {
    return this.vp.cpuid(leaf);
  }
  takeInterrupts(): number[] {
    return this.vp.takeInterrupts();
  }
  interruptPending(): boolean {
    return this.vp.interruptPending();
  }
  rdtsc(): bigint {
    return this.vp.rdtsc();
  }
}

/** Boots Linux on every vCPU, then times both IPI paths; checks every call and the deliveries. */
export function measureLinuxIpi(
  wasmPath: string,
  timing: TimingOptions,
  progress: (line: string) => void,
): BenchRow[] {
  const vm = createVm({ vcpus: VCPUS });
  const guest = loadWasmGuest(readFileSync(wasmPath));
  const map = guest.vmMemoryMap({ ramBytes: vm.memory.size, vcpus: VCPUS, arch: 'x64' });
  const sender = new CountingCpu(vm.vp(SENDER));
  const vcpus: WasmVcpu[] = [];
  for (let i = 0; i < VCPUS; i++) {
    const cpu = i === SENDER ? sender : vm.vp(i);
    vcpus.push(guest.instantiate({ cpu, index: i, vcpus: VCPUS, memory: vm.memory, map }));
  }
  const call = (cpu: number, name: string, ...args: number[]) => Number(vcpus[cpu]!.call(name, ...args));
  // Linux's boot: the shim's platform steps and hv_apic_init() on CPU 0, then hv_common_cpu_init() everywhere.
  call(0, 'lt_boot');
  for (let i = 0; i < VCPUS; i++) {
    const r = call(i, 'lt_cpu_up');
    if (r !== 0) throw new Error(`wasm-guest: Linux's hv_common_cpu_init() on CPU ${i} returned ${r}`);
  }

  // pvlab's path over the state Linux left (as tooling/linux-tests/src/pvlab-ipi.ts builds it).
  const table = call(0, 'lt_vp_index');
  const hints = call(0, 'lt_hints') >>> 0;
  const maxVpIndex = call(0, 'lt_max_vp_index') >>> 0;
  const input = call(0, 'lt_input_page', SENDER);
  const env: HvCpuEnv = {
    self: SENDER,
    presentCpus: VCPUS,
    vpIndex: {
      get: (cpu) => vm.memory.view.getUint32(table + 4 * cpu, true),
      maxVpIndex: () => maxVpIndex,
    },
    remoteTlbFlush: ((hints >>> 2) & 1) === 1,
    clusterIpi: ((hints >>> 10) & 1) === 1,
    exProcessorMasks: ((hints >>> 11) & 1) === 1,
    inputPageBytes: input === 0 ? 0 : 4096,
  };
  const hv = {
    env,
    hypercalls: new GuestHypercalls(
      { cpu: sender, memory: vm.memory },
      perCpuHypercallPages('separate', BigInt(input), OUTPUT_GPA),
    ),
  };
  const native = new NativeApic(sender, (c) => c);

  // Linux's cpumask for lt_send: CPU n is bit n of the words at lt_mask_bits().
  const maskAt = call(0, 'lt_mask_bits');
  const setMask = (cpus: readonly number[]) => {
    for (let w = 0; w < Math.ceil(VCPUS / 32); w++) vm.memory.view.setUint32(maskAt + 4 * w, 0, true);
    for (const c of cpus)
      vm.memory.view.setUint32(
        maskAt + 4 * (c >> 5),
        vm.memory.view.getUint32(maskAt + 4 * (c >> 5), true) | (1 << (c & 31)),
        true,
      );
  };
  const fastTargets = [1, 2, 3] as const;
  const exTargets = [1, 65] as const;

  /** Sends that did not make exactly one call of `code` each, or that failed. */
  const checked = (code: number, send: () => void): number => {
    const { fast, ex, wrong } = sender;
    send();
    const made = code === SEND_IPI ? sender.fast - fast : sender.ex - ex;
    const other = code === SEND_IPI ? sender.ex - ex : sender.fast - fast;
    return Math.abs(BATCH - made) + other + (sender.wrong - wrong);
  };
  const pvlabSend = (targets: readonly number[]) => () => {
    for (let k = 0; k < BATCH; k++) {
      const o = hvSendIpiMask(hv, targets, VECTOR, native);
      if (o.path !== 'hypercall' || o.status !== 0) sender.wrong++;
    }
  };
  const cases: BenchCase[] = [
    {
      id: 'linux-ipi-fast',
      name: `Linux C hv_send_ipi_mask, VPs ${fastTargets.join(',')}: 0x000B fast`,
      batch: BATCH,
      run: () =>
        checked(SEND_IPI, () => {
          setMask(fastTargets);
          call(SENDER, 'lt_send_loop', SEND_MASK, 0, VECTOR, BATCH);
        }),
    },
    {
      id: 'pvlab-ipi-fast',
      name: `pvlab JS hvSendIpiMask, VPs ${fastTargets.join(',')}: 0x000B fast`,
      batch: BATCH,
      run: () => checked(SEND_IPI, pvlabSend(fastTargets)),
    },
    {
      id: 'linux-ipi-ex',
      name: `Linux C hv_send_ipi_mask, VPs ${exTargets.join(',')}: 0x0015 Ex`,
      batch: BATCH,
      run: () =>
        checked(SEND_IPI_EX, () => {
          setMask(exTargets);
          call(SENDER, 'lt_send_loop', SEND_MASK, 0, VECTOR, BATCH);
        }),
    },
    {
      id: 'pvlab-ipi-ex',
      name: `pvlab JS hvSendIpiMask, VPs ${exTargets.join(',')}: 0x0015 Ex`,
      batch: BATCH,
      run: () => checked(SEND_IPI_EX, pvlabSend(exTargets)),
    },
  ];
  for (let i = 0; i < VCPUS; i++) vm.vp(i).takeInterrupts();
  const rows = measure(cases, timing, progress);
  // Both paths delivered the vector to exactly the targets (IRR bits: repeated IPIs coalesce).
  const targets = new Set<number>([...fastTargets, ...exTargets]);
  for (let i = 0; i < VCPUS; i++) {
    const got = vm.vp(i).takeInterrupts();
    const want = targets.has(i) ? [VECTOR] : [];
    if (got.join() !== want.join())
      throw new Error(
        `wasm-guest: VP ${i} received [${got.join(', ')}] from the IPI rows, expected [${want.join(', ')}]`,
      );
  }
  vm.close();
  return rows;
}
