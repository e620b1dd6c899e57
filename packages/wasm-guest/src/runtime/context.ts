/**
 * One vCPU's state on the JS side (the wasm side has its instance, stack and TLS): its cpu, guest
 * RAM, the interrupts taken from the cpu but not yet handed to C, and where its pending word is.
 */
import { GuestFault, type GuestMemory } from '@pvlab/hypercall';
import type { GuestBoundaryView, GuestCpu } from '@pvlab/hypercall/guest';
import type { WasmGuestMemoryMap } from '../wire/memory-map.js';

/**
 * What a wasm guest's vCPU runs on: the `GuestCpu` contract (a createVm VP on the direct harness),
 * with the rest of `GuestProgramCpu` optional. Without `halt`, `pvlab_halt` returns only for an
 * interrupt already pending (else #UD); without `pause` it is a no-op; without `log`/`report` the
 * output is kept on the `WasmVcpu`; without `takeInterrupts` none arrive; without `rdtsc` the
 * clock is `performance.now()`; without `invlpg`/`flushLocalTlb` those are #UD.
 */
export interface WasmGuestCpu extends GuestCpu {
  halt?(): number[];
  pause?(): void;
  log?(message: string): void;
  report?(key: string, value: unknown): void;
  takeInterrupts?(): number[];
  /**
   * `true` when an interrupt is pending, without taking it. Optional: the runtime asks it after
   * every exit and only then calls `takeInterrupts()`, which is much dearer (~100 ns on the direct
   * harness) than a look at the IRR (`PendingInterrupts.pending(vp)`).
   */
  interruptPending?(): boolean;
  /** The VM's clock as a 1 GHz TSC (nanoseconds; a number is rounded). */
  rdtsc?(): bigint | number;
  invlpg?(gva: bigint): void;
  flushLocalTlb?(includeGlobal?: boolean): void;
  /** Isolation VMs: the boundary view the `shared_read`/`shared_write` imports go through. */
  readonly isolation?: { readonly boundary: bigint; readonly memory: GuestBoundaryView } | undefined;
}

export interface VcpuContextOptions {
  readonly cpu: WasmGuestCpu;
  readonly index: number;
  readonly vcpus: number;
  readonly memory: GuestMemory;
  readonly map: WasmGuestMemoryMap;
  readonly args: Readonly<Record<string, string>>;
  readonly restored: boolean;
  readonly arch: 'x64' | 'arm64';
  /** `__heap_base`: the image's end. */
  readonly imageEnd: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class VcpuContext {
  readonly cpu: WasmGuestCpu;
  readonly options: VcpuContextOptions;
  readonly memory: GuestMemory;
  readonly view: DataView;
  /** Vectors taken from the cpu (or returned by halt) that C has not taken yet, in order. */
  readonly queue: number[] = [];
  /** The pending word's GPA (0 before `irq_flag_at`). */
  flagAt = 0;
  /** `log` output when the cpu has no `log`. */
  readonly logs: string[] = [];
  /** `report` output when the cpu has no `report`. */
  readonly reports = new Map<string, unknown>();

  constructor(options: VcpuContextOptions) {
    this.options = options;
    this.cpu = options.cpu;
    this.memory = options.memory;
    this.view = options.memory.view;
  }

  /** After a suspending import: queue what arrived and raise the pending word. */
  afterExit(): void {
    const cpu = this.cpu;
    if (cpu.interruptPending === undefined || cpu.interruptPending()) {
      const taken = cpu.takeInterrupts?.();
      if (taken !== undefined && taken.length > 0) this.queue.push(...taken);
    }
    if (this.queue.length > 0 && this.flagAt !== 0) this.view.setUint32(this.flagAt, 1, true);
  }

  /** The next vector for C, or -1 (the pending word cleared when none are left). */
  takeInterrupt(): number {
    if (this.queue.length === 0 && this.cpu.interruptPending?.() !== false) {
      const taken = this.cpu.takeInterrupts?.();
      if (taken !== undefined) this.queue.push(...taken);
    }
    const vector = this.queue.shift();
    if (this.queue.length === 0 && this.flagAt !== 0) this.view.setUint32(this.flagAt, 0, true);
    return vector ?? -1;
  }

  /** The RAM offset of `len` bytes at wasm address `ptr` (a `MEMORY` fault outside RAM). */
  at(ptr: number, len: number): number {
    const p = ptr >>> 0;
    if (len < 0 || p + len > this.memory.size) return this.memory.offsetOf(BigInt(p), len < 0 ? -1 : len);
    return p;
  }

  string(ptr: number, len: number): string {
    const offset = this.at(ptr, len);
    // TextDecoder takes no view of a SharedArrayBuffer: copy first.
    return decoder.decode(this.memory.bytes.slice(offset, offset + len));
  }

  /** Copies the UTF-8 of `text` to `ptr`, at most `max` bytes; returns its full length. */
  writeString(text: string, ptr: number, max: number): number {
    const bytes = encoder.encode(text);
    const n = Math.min(bytes.length, Math.max(0, max));
    this.memory.bytes.set(bytes.subarray(0, n), this.at(ptr, n));
    return bytes.length;
  }

  /** A #UD naming what this vCPU does not have. */
  missing(what: string, why: string): GuestFault {
    return new GuestFault('UD', `${what}: ${why}`);
  }
}
