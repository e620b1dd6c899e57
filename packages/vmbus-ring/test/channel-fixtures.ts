/**
 * Fixtures for the channel tests: a partition built directly from `HvPartition` with the VMBus
 * extension (no createVm: the package must not depend on the host-emulator app), a guest CPU
 * over one of its VPs, and a guest VMBus driver with its SynIC pages in place.
 */
import {
  decodeHypercallResult,
  encodeHypercallControl,
  GuestMemory,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HvCallCode,
  type HvFeatureName,
  type HvStatusCode,
} from '@pvlab/hypercall';
import { type GuestCpu, GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { CORE_FEATURES, HvPartition, X64HypercallRegisters } from '@pvlab/hypercall/host';
import { GuestSynic, VmbusClient, type VmbusIsolationOptions } from '../src/guest/index.ts';
import {
  VMBUS_FEATURES,
  type VmbusDevice,
  type VmbusHostOptions,
  type VmbusHostState,
  vmbusExtension,
  vmbusHostState,
} from '../src/host/index.ts';
import { PostMessageInput } from '../src/wire/synic.ts';

export const RAM_BYTES = 0x40_0000;
export const HYPERCALL_PAGE_GPA = 0x1000n;
export const INPUT_GPA = 0x2000n;
export const OUTPUT_GPA = 0x3000n;
export const SIMP_PFN = 4n;
export const SIEFP_PFN = 5n;
export const MONITOR_PAGES: readonly [bigint, bigint] = [0x6000n, 0x7000n];
export const VMBUS_VECTOR = 0xf3;
/** Ring pages are taken from here on. */
export const RING_BASE_PFN = 0x100n;
const LINUX_GUEST_OS_ID = 0x8100n << 48n;

/** A guest vCPU over partition VP `vp`: every instruction is a direct call into the host. */
export class DirectCpu implements GuestCpu {
  constructor(
    readonly partition: HvPartition,
    readonly index: number,
  ) {}
  cpuid(leaf: number) {
    return this.partition.cpuid(leaf);
  }
  readMsr(msr: bigint): bigint {
    return this.partition.readMsr(this.index, msr);
  }
  writeMsr(msr: bigint, value: bigint): void {
    this.partition.writeMsr(this.index, msr, value);
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    const regs = this.partition.vp(this.index).registers;
    regs.control = control;
    regs.rdx = inputGpa;
    regs.r8 = outputGpa;
    return this.partition.hypercall(this.index, regs);
  }
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    const regs = this.partition.vp(this.index).registers;
    regs.control = control;
    regs.loadSlots(input);
    return { result: this.partition.hypercall(this.index, regs), output: [] };
  }
}

export interface ChannelVmOptions extends Partial<VmbusHostOptions> {
  vcpus?: number;
  drop?: readonly HvFeatureName[];
}

/** A partition with the VMBus host and hypercalls enabled. */
export class ChannelVm {
  readonly partition: HvPartition;
  readonly host: VmbusHostState;
  readonly memory: GuestMemory;
  readonly woken: [vp: number, vector: number][] = [];

  constructor(options: ChannelVmOptions = {}) {
    const drop = new Set(options.drop ?? []);
    this.memory = new GuestMemory(RAM_BYTES);
    this.partition = new HvPartition({
      memory: this.memory,
      vcpus: options.vcpus ?? 2,
      vendor: 'intel',
      features: [...CORE_FEATURES, ...VMBUS_FEATURES].filter((f) => !drop.has(f)),
      spinWaitRetryCount: 0xfff,
      physicalAddressBits: 48,
      maxRepsPerCall: 0xfff,
      extensions: [
        vmbusExtension({
          devices: options.devices ?? [],
          ...(options.versions ? { versions: options.versions } : {}),
          ...(options.messageQueueDepth ? { messageQueueDepth: options.messageQueueDepth } : {}),
        }),
      ],
    });
    this.host = vmbusHostState(this.partition);
    this.partition.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    this.partition.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
    this.partition.onInterrupt((vp, vector) => this.woken.push([vp, vector]));
  }

  cpu(vp = 0): DirectCpu {
    return new DirectCpu(this.partition, vp);
  }

  /** HvCallPostMessage from `vp` with the input at INPUT_GPA. */
  postMessage(
    fields: {
      connectionId: number;
      messageType?: number;
      payloadSize?: number;
      payload?: Uint8Array;
      reserved?: number;
    },
    vp = 0,
  ): HvStatusCode {
    const payload = fields.payload ?? new Uint8Array(0);
    this.memory.write(
      INPUT_GPA,
      PostMessageInput.encode({
        connectionId: fields.connectionId,
        reserved: fields.reserved ?? 0,
        messageType: fields.messageType ?? 1,
        payloadSize: fields.payloadSize ?? payload.length,
        payload: payload.subarray(0, 240),
      }),
    );
    return this.call(vp, HvCallCode.HvCallPostMessage, false, [], INPUT_GPA);
  }

  /** HvCallSignalEvent from `vp` (fast by default). */
  signalEvent(value: bigint, vp = 0, fast = true): HvStatusCode {
    if (fast) return this.call(vp, HvCallCode.HvCallSignalEvent, true, [value]);
    this.memory.writeU64(INPUT_GPA, value);
    return this.call(vp, HvCallCode.HvCallSignalEvent, false, [], INPUT_GPA);
  }

  call(
    vp: number,
    code: number,
    fast: boolean,
    slots: readonly bigint[],
    inputGpa = INPUT_GPA,
  ): HvStatusCode {
    const regs = new X64HypercallRegisters();
    regs.control = encodeHypercallControl({ callCode: code, fast });
    if (fast) regs.loadSlots(slots);
    else {
      regs.rdx = inputGpa;
      regs.r8 = OUTPUT_GPA;
    }
    return decodeHypercallResult(this.partition.hypercall(vp, regs)).status;
  }
}

/** A guest driver on VP 0 with its SynIC enabled (in an isolation VM when `isolation` is given). */
export function guestDriver(
  vm: ChannelVm,
  options: { wait?: () => void; isolation?: VmbusIsolationOptions } = {},
) {
  const cpu = vm.cpu(0);
  const hypercalls = new GuestHypercalls(
    { cpu, memory: vm.memory },
    perCpuHypercallPages('separate', INPUT_GPA, OUTPUT_GPA),
  );
  const synic = new GuestSynic(cpu, vm.memory, {
    simpPfn: SIMP_PFN,
    siefpPfn: SIEFP_PFN,
    vector: VMBUS_VECTOR,
  });
  synic.enable();
  const client = new VmbusClient({
    cpu,
    memory: vm.memory,
    hypercalls,
    synic,
    monitorPages: MONITOR_PAGES,
    ...(options.wait ? { wait: options.wait } : {}),
    ...(options.isolation ? { isolation: options.isolation } : {}),
  });
  return { cpu, hypercalls, synic, client };
}

/** `count` PFNs from `RING_BASE_PFN + start`, every other page (non-contiguous runs), shuffled by `seed`. */
export function ringPfns(count: number, start = 0, seed = 1): bigint[] {
  const pfns = Array.from({ length: count }, (_, i) => RING_BASE_PFN + BigInt(start + 2 * i));
  let s = seed;
  for (let i = pfns.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [pfns[i], pfns[j]] = [pfns[j]!, pfns[i]!];
  }
  return pfns;
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type { VmbusDevice };
