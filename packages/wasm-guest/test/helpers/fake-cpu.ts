/**
 * A vCPU for import plumbing tests: records every call, answers from what the test set, and runs
 * the test's hooks at exits (so a test can run other vCPUs in the middle of one's guest_main).
 */
import { type CpuidResult, GuestFault, GuestMemory } from '@pvlab/hypercall';
import type { GuestBoundaryView, GuestProgramCpu } from '@pvlab/hypercall/guest';
import { GuestProgramFailure } from '@pvlab/hypercall/guest';
import type { WasmGuestCpu } from '../../src/index.ts';

export interface Call {
  readonly op: string;
  readonly args: readonly unknown[];
}

export class FakeCpu implements WasmGuestCpu {
  readonly calls: Call[] = [];
  /** MSRs that exist; any other access is a #GP. */
  readonly msrs = new Map<bigint, bigint>();
  /** What the next hypercalls return (RAX) and the fast output values. */
  result = 0n;
  fastOutput: bigint[] = [];
  /** Vectors the next takeInterrupts() hands out (then empty). */
  pending: number[] = [];
  /** Run at every pause() / halt() / log(). */
  onPause: (() => void) | undefined;
  onHalt: (() => number[]) | undefined;
  onLog: ((text: string) => void) | undefined;
  readonly logs: string[] = [];
  readonly reports = new Map<string, unknown>();

  #record(op: string, ...args: unknown[]): void {
    this.calls.push({ op, args });
  }

  ops(): string[] {
    return this.calls.map((c) => c.op);
  }

  cpuid(leaf: number): CpuidResult {
    this.#record('cpuid', leaf);
    return { eax: leaf ^ 0x11111111, ebx: 0xdeadbeef, ecx: 0x80000000, edx: 7 };
  }
  readMsr(msr: bigint): bigint {
    this.#record('readMsr', msr);
    const v = this.msrs.get(msr);
    if (v === undefined) throw new GuestFault('GP', `RDMSR 0x${msr.toString(16)} refused`);
    return v;
  }
  writeMsr(msr: bigint, value: bigint): void {
    this.#record('writeMsr', msr, value);
    if (!this.msrs.has(msr)) throw new GuestFault('GP', `WRMSR 0x${msr.toString(16)} refused`);
    this.msrs.set(msr, value);
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    this.#record('hypercall', control, inputGpa, outputGpa);
    return this.result;
  }
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    this.#record('fastHypercall', control, [...input]);
    return { result: this.result, output: [...this.fastOutput] };
  }
  takeInterrupts(): number[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }
}

/** A FakeCpu that takes RCX, RDX and R8 as u32 halves (`hypercallWords`), as the VMs' vCPUs do. */
export class FakeWordsCpu extends FakeCpu {
  hypercallWords(cLo: number, cHi: number, rdxLo: number, rdxHi: number, r8Lo: number, r8Hi: number): bigint {
    this.calls.push({ op: 'hypercallWords', args: [cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi] });
    return this.result;
  }
}

/** A FakeCpu with every optional exit, for `guest.program()`. */
export class FakeProgramCpu extends FakeCpu implements GuestProgramCpu {
  readonly arch = 'x64' as const;
  isolation: { readonly boundary: bigint; readonly memory: GuestBoundaryView } | undefined;
  clock = 1000n;

  constructor(
    readonly index: number,
    readonly vcpus: number,
    readonly memory: GuestMemory,
    readonly args: Readonly<Record<string, string>> = {},
    readonly restored = false,
  ) {
    super();
  }

  smccc(): bigint[] {
    throw new GuestFault('UD', 'HVC (SMCCC) does not exist on x64');
  }
  halt(): number[] {
    this.calls.push({ op: 'halt', args: [] });
    const taken = this.onHalt?.() ?? this.takeInterrupts();
    return taken;
  }
  sendIpi(targetVp: number, vector: number): void {
    this.calls.push({ op: 'sendIpi', args: [targetVp, vector] });
  }
  invlpg(gva: bigint): void {
    this.calls.push({ op: 'invlpg', args: [gva] });
  }
  flushLocalTlb(includeGlobal = false): void {
    this.calls.push({ op: 'flushLocalTlb', args: [includeGlobal] });
  }
  pause(): void {
    this.calls.push({ op: 'pause', args: [] });
    this.onPause?.();
  }
  interruptPending(): boolean {
    return this.pending.length > 0;
  }
  rdtsc(): bigint {
    this.clock += 10n;
    return this.clock;
  }
  log(message: string): void {
    this.logs.push(message);
    this.onLog?.(message);
  }
  report(key: string, value: unknown): void {
    this.reports.set(key, value);
  }
  fail(message: string): never {
    throw new GuestProgramFailure(message);
  }
}

/** 16 MiB of RAM as a shared WebAssembly.Memory, as every VM has. */
export function vmMemory(bytes = 16 << 20): GuestMemory {
  return new GuestMemory(bytes);
}
