/**
 * Fixtures for the guest room: a partition built directly (no tlb-ipi host: the six calls answer
 * INVALID_HYPERCALL_CODE, so only the native fallback completes), guest CPUs over its VPs that
 * record every hypercall with a snapshot of the input page, and a cooperative SMP harness where
 * a CPU's PAUSE lets the other CPUs take their interrupts.
 */
import {
  decodeHypercallControl,
  encodeHypercallResult,
  GuestMemory,
  HV_X64_MSR_VP_INDEX,
  type HvFeatureName,
  HvStatus,
  X2APIC_MSR_ICR,
  X2ApicIcr,
} from '@pvlab/hypercall';
import {
  detectHyperV,
  type GuestCpu,
  GuestHypercalls,
  perCpuHypercallPages,
  VP_INVAL,
  VpIndexTable,
} from '@pvlab/hypercall/guest';
import { CORE_FEATURES, type HvPartition } from '@pvlab/hypercall/host';
import { type PartitionGuestCpu, partitionGuestCpu, testPartition } from '@pvlab/hypercall/testing';
import { type HvCpu, type HvCpuEnv, hvCpuEnv, Idt, NativeApic, TlbShootdown } from '../src/guest/index.ts';

/** The three recommendations that open the guest's enlightened paths. */
export const TLB_IPI_HINTS: readonly HvFeatureName[] = [
  'RemoteTlbFlushRecommended',
  'ClusterIpiRecommended',
  'ExProcessorMasksRecommended',
];

/** CPU n's input page is at INPUT_BASE + n × 8 KiB, its output page 4 KiB above. */
export const INPUT_BASE = 0x10_0000n;
/** The native shootdown's request blocks. */
export const SHOOTDOWN_GPA = 0x8_0000n;

/** A hypercall as the guest issued it, with the input page as it was at the VMCALL. */
export interface RecordedCall {
  readonly control: bigint;
  readonly callCode: number;
  readonly fast: boolean;
  readonly repCount: number;
  readonly variableHeaderSize: number;
  /** Memory form: the first 4 KiB of the input page; fast form: RDX‖R8. */
  readonly input: Uint8Array;
  readonly status: number;
}

/** Answers a hypercall in place of the host (to see the guest take the SUCCESS path). */
export type Responder = (call: Omit<RecordedCall, 'status'>) => bigint | undefined;

/** A responder that returns SUCCESS with every rep completed, as KVM does (spec 02 rule 14). */
export const answerSuccess: Responder = (call) => encodeHypercallResult(HvStatus.SUCCESS, call.repCount);

/** A guest vCPU over a partition VP that records hypercalls, ICR writes and local flushes. */
export class RecordingCpu implements GuestCpu {
  readonly index: number;
  readonly calls: RecordedCall[] = [];
  readonly icr: { target: number; vector: number }[] = [];
  respond: Responder | undefined;
  pauseHook: () => void = () => {};
  readonly #p: HvPartition;
  /** Executes the calls the responder leaves to the host. */
  readonly #direct: PartitionGuestCpu;

  constructor(partition: HvPartition, vp: number) {
    this.#p = partition;
    this.index = vp;
    this.#direct = partitionGuestCpu(partition, vp);
  }

  cpuid(leaf: number) {
    return this.#p.cpuid(leaf);
  }
  readMsr(msr: bigint): bigint {
    return this.#p.readMsr(this.index, msr);
  }
  writeMsr(msr: bigint, value: bigint): void {
    if (msr === X2APIC_MSR_ICR) {
      const icr = X2ApicIcr.decode(value);
      this.icr.push({ target: icr.Destination, vector: icr.Vector });
    }
    this.#p.writeMsr(this.index, msr, value);
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    return this.#record(control, this.#p.memory.read(inputGpa, 4096), () =>
      this.#direct.hypercall(control, inputGpa, outputGpa),
    );
  }
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    const image = new Uint8Array(16);
    const view = new DataView(image.buffer);
    view.setBigUint64(0, input[0] ?? 0n, true);
    view.setBigUint64(8, input[1] ?? 0n, true);
    const result = this.#record(control, image, () => this.#direct.fastHypercall(control, input).result);
    return { result, output: [] };
  }
  sendIpi(target: number, vector: number): void {
    this.writeMsr(X2APIC_MSR_ICR, X2ApicIcr.encode({ Vector: vector, Destination: target }));
  }
  halt(): number[] {
    const v = this.#p.interrupts.take(this.index);
    if (v.length === 0) throw new Error(`CPU ${this.index} halted with nothing pending`);
    return v;
  }
  takeInterrupts(): number[] {
    return this.#p.interrupts.take(this.index);
  }
  pause(): void {
    this.pauseHook();
  }
  invlpg(gva: bigint): void {
    this.#p.invlpg(this.index, gva);
  }
  flushLocalTlb(includeGlobal?: boolean): void {
    this.#p.flushLocalTlb(this.index, includeGlobal === true);
  }

  #record(control: bigint, input: Uint8Array, run: () => bigint): bigint {
    const c = decodeHypercallControl(control);
    const call = {
      control,
      callCode: c.callCode,
      fast: c.fast,
      repCount: c.repCount,
      variableHeaderSize: c.variableHeaderSize,
      input,
    };
    const result = this.respond?.(call) ?? run();
    this.calls.push({ ...call, status: Number(result & 0xffffn) });
    return result;
  }
}

/** One guest CPU of a `GuestSmp`. */
export interface SmpCpu {
  readonly cpu: RecordingCpu;
  readonly hv: HvCpu;
  readonly idt: Idt;
  readonly apic: NativeApic;
  readonly shootdown: TlbShootdown;
}

/**
 * A guest of `vcpus` CPUs on one thread: hypercalls enabled, each CPU with its input page and
 * VP index (unless listed in `offline`: then its hv_vp_index[] entry stays VP_INVAL), interrupts
 * on, a native APIC and a native shootdown. A CPU's PAUSE runs the other CPUs' interrupt windows.
 */
export class GuestSmp {
  readonly partition: HvPartition;
  readonly memory: GuestMemory;
  readonly table: VpIndexTable;
  readonly cpus: SmpCpu[] = [];

  constructor(options: {
    vcpus: number;
    hints?: readonly HvFeatureName[];
    offline?: readonly number[];
    vpInvalCheck?: boolean;
  }) {
    const vcpus = options.vcpus;
    this.memory = new GuestMemory(Number(INPUT_BASE) + vcpus * 0x2000);
    this.partition = testPartition({
      memory: this.memory,
      vcpus,
      features: [...CORE_FEATURES, ...(options.hints ?? TLB_IPI_HINTS)],
    });
    this.table = new VpIndexTable(vcpus);
    for (let i = 0; i < vcpus; i++) {
      if (!options.offline?.includes(i))
        this.table.set(i, Number(this.partition.readMsr(i, HV_X64_MSR_VP_INDEX)));
    }
    for (let i = 0; i < vcpus; i++) {
      const cpu = new RecordingCpu(this.partition, i);
      const info = detectHyperV(cpu);
      if (!info) throw new Error('the partition does not look like Hyper-V');
      const base = INPUT_BASE + BigInt(i) * 0x2000n;
      const hypercalls = new GuestHypercalls(
        { cpu, memory: this.memory },
        perCpuHypercallPages('separate', base, base + 0x1000n),
      );
      const env: HvCpuEnv = hvCpuEnv({
        self: i,
        presentCpus: vcpus,
        vpIndex: this.table,
        info,
        hypercalls,
        ...(options.vpInvalCheck === undefined ? {} : { vpInvalCheck: options.vpInvalCheck }),
      });
      const hv: HvCpu = { env, hypercalls };
      const idt = new Idt(cpu);
      const apic = new NativeApic(cpu, (n) => n);
      const shootdown = new TlbShootdown({
        memory: this.memory,
        gpa: SHOOTDOWN_GPA,
        cpus: vcpus,
        self: i,
        cpu,
        idt,
        sendIpiMask: (targets, vector) => {
          apic.sendIpiMask(targets, vector, false);
        },
      });
      idt.enable();
      cpu.pauseHook = () => {
        for (const other of this.cpus) if (other.cpu !== cpu) other.idt.poll();
      };
      this.cpus.push({ cpu, hv, idt, apic, shootdown });
    }
  }

  cpu(i: number): SmpCpu {
    const c = this.cpus[i];
    if (c === undefined) throw new RangeError(`no CPU ${i}`);
    return c;
  }
}

/** A VP index lookup for pure choice tests: CPU n → `vps[n]` (VP_INVAL where undefined). */
export function lookup(vps: readonly (number | undefined)[]) {
  return {
    get: (cpu: number) => vps[cpu] ?? VP_INVAL,
    maxVpIndex: () => Math.max(-1, ...vps.filter((v): v is number => v !== undefined && v !== VP_INVAL)),
  };
}

/** An HvCpuEnv with every recommendation on and a 4 KiB input page. */
export function env(vps: readonly (number | undefined)[], overrides: Partial<HvCpuEnv> = {}): HvCpuEnv {
  return {
    self: 0,
    presentCpus: vps.length,
    vpIndex: lookup(vps),
    remoteTlbFlush: true,
    clusterIpi: true,
    exProcessorMasks: true,
    inputPageBytes: 4096,
    ...overrides,
  };
}

/** Little-endian bytes of u64 values (spec 02 layouts are little-endian). */
export function u64le(...values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    view.setBigUint64(8 * i, BigInt.asUintN(64, v), true);
  });
  return out;
}

/** Concatenates byte arrays. */
export function bytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A u32 vector followed by four zero bytes (TargetVtl 0, flags/padding 0). */
export function vectorHeader(vector: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, vector, true);
  return out;
}
