/**
 * A Linux guest on the direct harness: a `createVm` VM with one wasm instance per vCPU, each over
 * a recording cpu that logs the exits the host sees (hypercalls with their input bytes, MSR
 * writes) and the interrupts the vCPU took, so a test can check both against what it asked for.
 */
import type { CreateVmOptions, VirtualProcessor, Vm } from '@pvlab/host-emulator';
import { createVm } from '@pvlab/host-emulator';
import type { CpuidResult } from '@pvlab/hypercall';
import { decodeHypercallControl, HV_PAGE_SIZE, X2APIC_MSR_ICR, X2ApicIcr } from '@pvlab/hypercall';
import { loadWasmGuest, type WasmGuest, type WasmGuestCpu, type WasmVcpu } from '@pvlab/wasm-guest';

/** One exit as the host saw it. `input` is the input page from the input GPA to its page's end. */
export type Exit =
  | {
      readonly vp: number;
      readonly kind: 'hypercall';
      readonly control: bigint;
      readonly inputGpa: bigint;
      readonly outputGpa: bigint;
      readonly input: Uint8Array;
      readonly result: bigint;
    }
  | {
      readonly vp: number;
      readonly kind: 'fast';
      readonly control: bigint;
      readonly registers: readonly bigint[];
      readonly result: bigint;
    }
  | { readonly vp: number; readonly kind: 'wrmsr'; readonly msr: bigint; readonly value: bigint };

/** The cpu a wasm instance runs on: the VP itself, with every exit and interrupt written down. */
export class RecordingCpu implements WasmGuestCpu {
  readonly #vp: VirtualProcessor;
  readonly #vm: Vm;
  readonly #exits: Exit[];
  /** Vectors this vCPU's guest took from the host (then handled in C). */
  readonly received: number[] = [];

  constructor(vm: Vm, vp: VirtualProcessor, exits: Exit[]) {
    this.#vm = vm;
    this.#vp = vp;
    this.#exits = exits;
  }

  get index(): number {
    return this.#vp.index;
  }

  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    if (decodeHypercallControl(control).fast) {
      // A VMCALL with the fast bit (Linux's hv_do_fast_hypercall8/16): RDX and R8 are the input.
      const result = this.#vp.hypercall(control, inputGpa, outputGpa);
      this.#exits.push({ vp: this.index, kind: 'fast', control, registers: [inputGpa, outputGpa], result });
      return result;
    }
    const input = this.#snapshot(inputGpa);
    const result = this.#vp.hypercall(control, inputGpa, outputGpa);
    this.#exits.push({ vp: this.index, kind: 'hypercall', control, inputGpa, outputGpa, input, result });
    return result;
  }

  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    const r = this.#vp.fastHypercall(control, input);
    this.#exits.push({ vp: this.index, kind: 'fast', control, registers: [...input], result: r.result });
    return r;
  }

  readMsr(msr: bigint): bigint {
    return this.#vp.readMsr(msr);
  }

  writeMsr(msr: bigint, value: bigint): void {
    this.#vp.writeMsr(msr, value);
    this.#exits.push({ vp: this.index, kind: 'wrmsr', msr, value });
  }

  cpuid(leaf: number): CpuidResult {
    return this.#vp.cpuid(leaf);
  }

  takeInterrupts(): number[] {
    const taken = this.#vp.takeInterrupts();
    this.received.push(...taken);
    return taken;
  }

  /** A native fixed IPI (pvlab's NativeApic sends through this). */
  sendIpi(targetVp: number, vector: number): void {
    this.writeMsr(X2APIC_MSR_ICR, X2ApicIcr.encode({ Vector: vector, Destination: targetVp }));
  }

  #snapshot(gpa: bigint): Uint8Array {
    const ram = this.#vm.ram;
    if (gpa >= BigInt(ram.size)) return new Uint8Array();
    const offset = Number(gpa);
    return ram.read(gpa, Math.min(HV_PAGE_SIZE - (offset % HV_PAGE_SIZE), ram.size - offset));
  }
}

/** A VM running one Linux guest module on every vCPU, driven through its exports. */
export class LinuxVm {
  readonly vm: Vm;
  readonly guest: WasmGuest;
  readonly cpus: readonly RecordingCpu[];
  readonly vcpus: readonly WasmVcpu[];
  /** Every exit so far, in order (`takeExits` empties it). */
  readonly exits: Exit[] = [];

  constructor(wasm: Uint8Array, options: CreateVmOptions & { vcpus: number }) {
    this.vm = createVm(options);
    this.guest = loadWasmGuest(wasm);
    const map = this.guest.memoryMap({ ramBytes: this.vm.ram.size, vcpus: options.vcpus });
    const cpus: RecordingCpu[] = [];
    const vcpus: WasmVcpu[] = [];
    for (let i = 0; i < options.vcpus; i++) {
      const cpu = new RecordingCpu(this.vm, this.vm.vp(i), this.exits);
      cpus.push(cpu);
      vcpus.push(this.guest.instantiate({ cpu, index: i, vcpus: options.vcpus, memory: this.vm.ram, map }));
    }
    this.cpus = cpus;
    this.vcpus = vcpus;
  }

  get count(): number {
    return this.vcpus.length;
  }

  /** Calls export `name` on vCPU `cpu`. */
  call(cpu: number, name: string, ...args: (number | bigint)[]): number {
    return Number(this.vcpus[cpu]!.call(name, ...args));
  }

  /** The exits since the last call. */
  takeExits(): Exit[] {
    return this.exits.splice(0);
  }

  /** What each VP received since the last call: taken by its guest, or still pending at the host. */
  takeDeliveries(): number[][] {
    return this.cpus.map((cpu, i) => {
      const all = [...cpu.received.splice(0), ...this.vm.vp(i).takeInterrupts()];
      return all.sort((a, b) => a - b);
    });
  }

  /** A u32 of guest memory. */
  u32(gpa: number): number {
    return this.vm.ram.view.getUint32(gpa, true);
  }

  close(): void {
    this.vm.close();
  }
}
