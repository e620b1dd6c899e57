/**
 * One run of a vCPU thread: loads the guest program and runs it with a `GuestProgramCpu` whose
 * every hypervisor-visible instruction (VMCALL, RDMSR, WRMSR, CPUID, HLT) is an exit through this
 * vCPU's mailbox. The host completes each exit; the thread blocks until it does. Everything a run
 * touches is made here from its `VcpuWorkerData`, so a pooled thread runs one after another.
 */
import {
  type CpuidResult,
  GuestFault,
  GuestMemory,
  isGuestFault,
  PendingInterrupts,
  type WasmMemory,
  X2APIC_MSR_ICR,
  X2ApicIcr,
} from '@pvlab/hypercall';
import { type GuestProgram, type GuestProgramCpu, GuestProgramFailure } from '@pvlab/hypercall/guest';
import { IsolatedGuestMemory } from '@pvlab/isolation/host';
import { loadWasmGuest, type WasmGuestLayout, type WasmModule } from '@pvlab/wasm-guest';
import { errorHeadline, failureText, guestFrames, syntaxErrorLocation } from './guest-error.js';
import { resolveHostPackagesFor } from './host-packages.js';
import { Mailboxes } from './mailbox.js';
import { Completion, ExitKind, type ExitKindCode, FAST_SLOT_REGS, FailKind } from './mailbox-wire.js';

/** A wasm guest the host loaded once: the compiled module and what its bytes said of its layout. */
export interface CompiledWasmGuest {
  readonly module: WasmModule;
  readonly layout: WasmGuestLayout;
}

/** What the host hands each vCPU thread. */
export interface VcpuWorkerData {
  readonly vp: number;
  readonly vcpus: number;
  /** Guest RAM: the VM's shared WebAssembly.Memory (its buffer is rounded up to 64 KiB pages). */
  readonly memory: WasmMemory | SharedArrayBuffer;
  /** RAM's size in bytes: the GPA limit, not the buffer's length. */
  readonly memoryBytes: number;
  readonly mailboxes: SharedArrayBuffer;
  readonly interrupts: SharedArrayBuffer;
  /** URL of the guest program module (or of a `.wasm` guest). */
  readonly guestUrl: string;
  /** A `.wasm` guest the host loaded and compiled (undefined: a JavaScript guest). */
  readonly wasmGuest: CompiledWasmGuest | undefined;
  /** Spins before blocking on the mailbox (the host picks it from threads vs cores). */
  readonly spinLimit: number;
  /** The guest program's options. */
  readonly args: Readonly<Record<string, string>>;
  /** The VM was restored from a snapshot. */
  readonly restored: boolean;
  readonly arch: 'x64' | 'arm64';
  /** Record when this vCPU resumes after each exit (the host accounts stolen time from it). */
  readonly recordResume: boolean;
  /** When the run started (ms since the epoch): the mailbox's times count from it. */
  readonly runStartEpochMs: number;
  /**
   * Stamp hypercall exits before posting them, not after. With more busy threads than cores a
   * vCPU may lose its core right after posting, and a later stamp would then cut the slice short
   * (to zero if the host is done first); round trips there take futex wake-ups, so the clock read
   * no longer matters to them.
   */
  readonly stampBeforePosting: boolean;
  /** Isolation VMs: what `IsolatedGuestMemory.fromShared` needs for the guest's boundary view. */
  readonly isolation:
    | {
        memoryBuffer: SharedArrayBuffer;
        ramBytes: number;
        visibilityBuffer: SharedArrayBuffer;
        sharedGpaBoundaryBits: number;
      }
    | undefined;
}

/** Thrown into the guest when the host ends the run; unwinds the guest without a report. */
class RunTerminated extends Error {
  override readonly name = 'RunTerminated';
}

/** Runs the guest program on this thread as vCPU `data.vp` of one run; resolves when it has ended. */
export function runVcpu(data: VcpuWorkerData): Promise<void> {
  const vp = data.vp;
  const mb = new Mailboxes(data.mailboxes, data.vcpus, data.spinLimit);
  const memory = new GuestMemory(data.memory, data.memoryBytes);
  const irr = new PendingInterrupts(data.vcpus, data.interrupts);
  /** This vCPU's mailbox registers (RCX/RAX at `R0`, then RDX, R8, XMM0.lo …): stored directly on the hot path. */
  const { regs, first: R0 } = mb.registers(vp);
  /** The same registers as u32 halves: RCX at `W0`, RDX at `W0 + 2`, R8 at `W0 + 4`. */
  const { words: regWords, first: W0 } = mb.registerWords(vp);
  let terminated = false;

  /** RDX, R8 and XMM0..XMM5 live in mailbox registers 1..14 (the host writes output in place). */
  const FAST_SLOTS = FAST_SLOT_REGS;

  /** The x86 exits an arm64 vCPU does not have, and the arm64 one an x64 vCPU does not have. */
  function requireArch(arch: 'x64' | 'arm64', what: string): void {
    if (data.arch !== arch) throw new GuestFault('UD', `${what} does not exist on ${data.arch}`);
  }

  /** Most arguments an SMCCC call takes here (X1..X14: the mailbox's registers). */
  const SMCCC_MAX_ARGS = 14;

  /** ms since the run started, as the host counts (the epoch is only used once, for the offset). */
  const clockBase = performance.timeOrigin - data.runStartEpochMs;
  const clock = () => clockBase + performance.now();

  function exit(kind: ExitKindCode): void {
    // Other exits write registers 1.. too (CPUID, WRMSR, SMCCC): count every fast slot as set.
    dirtySlots = FAST_SLOTS;
    mb.setTime(vp, clock());
    completed(mb.postExitAndWait(vp, kind));
  }

  /** Hypercall exits posted so far: exit `n` leaves its stamp in slot `n & 3` (see `setHypercallStamp`). */
  let hypercallExits = 0;

  /**
   * A VMCALL exit, the hot path: the clock is read after posting, while the host handles the call,
   * so the reading does not lengthen the round trip (before posting when oversubscribed).
   */
  function hypercallExit(): void {
    const seq = ++hypercallExits;
    if (data.stampBeforePosting) {
      mb.setHypercallStamp(vp, seq, clock());
      mb.postExit(vp, ExitKind.HYPERCALL);
    } else {
      mb.postExit(vp, ExitKind.HYPERCALL);
      mb.setHypercallStamp(vp, seq, clock());
    }
    completed(mb.waitForCompletion(vp));
  }

  function completed(completion: number): void {
    if (data.recordResume) mb.setResumedAt(vp, clock());
    if (completion === Completion.OK) return;
    if (completion === Completion.FAULT) throw mb.readFault(vp);
    terminated = true;
    throw new RunTerminated('the host ended the run');
  }

  function message(kind: ExitKindCode, text: string): void {
    mb.writeMessage(vp, text);
    exit(kind);
  }

  const cpu: GuestProgramCpu = {
    index: vp,
    vcpus: data.vcpus,
    args: Object.freeze({ ...data.args }),
    restored: data.restored,
    arch: data.arch,
    isolation:
      data.isolation === undefined
        ? undefined
        : {
            boundary: 1n << BigInt(data.isolation.sharedGpaBoundaryBits),
            memory: IsolatedGuestMemory.fromShared(data.isolation),
          },
    memory,
    smccc(functionId: number, ...args: bigint[]): bigint[] {
      requireArch('arm64', 'HVC (SMCCC)');
      if (!Number.isInteger(functionId) || functionId < 0 || functionId > 0xffff_ffff) {
        throw new RangeError(`smccc: function id ${functionId} is not a 32-bit value (W0)`);
      }
      if (args.length > SMCCC_MAX_ARGS) {
        throw new RangeError(`smccc takes at most ${SMCCC_MAX_ARGS} arguments (X1..X14); got ${args.length}`);
      }
      mb.setReg(vp, 0, BigInt(functionId));
      for (let i = 0; i < SMCCC_MAX_ARGS; i++) mb.setReg(vp, i + 1, i < args.length ? args[i]! : 0n);
      exit(ExitKind.SMCCC);
      return [mb.reg(vp, 0), mb.reg(vp, 1), mb.reg(vp, 2), mb.reg(vp, 3)];
    },
    cpuid(leaf: number): CpuidResult {
      requireArch('x64', 'CPUID');
      mb.setReg(vp, 0, BigInt(leaf >>> 0));
      exit(ExitKind.CPUID);
      const r = (i: number) => Number(mb.reg(vp, i) & 0xffff_ffffn);
      return { eax: r(0), ebx: r(1), ecx: r(2), edx: r(3) };
    },
    readMsr(msr: bigint): bigint {
      requireArch('x64', 'RDMSR');
      mb.setReg(vp, 0, msr);
      exit(ExitKind.RDMSR);
      return mb.reg(vp, 0);
    },
    writeMsr(msr: bigint, value: bigint): void {
      requireArch('x64', 'WRMSR');
      mb.setReg(vp, 0, msr);
      mb.setReg(vp, 1, value);
      exit(ExitKind.WRMSR);
    },
    hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
      if (data.arch !== 'x64') requireArch('x64', 'VMCALL');
      // RDX and R8 change; the XMM registers keep what the last call left in them.
      regs[R0 + 1] = inputGpa;
      regs[R0 + 2] = outputGpa;
      if (dirtySlots < 2) dirtySlots = 2;
      regs[R0] = control;
      hypercallExit();
      noteOutputSlots();
      return mb.reg(vp, 0);
    },
    hypercallWords(
      cLo: number,
      cHi: number,
      rdxLo: number,
      rdxHi: number,
      r8Lo: number,
      r8Hi: number,
    ): bigint {
      if (data.arch !== 'x64') requireArch('x64', 'VMCALL');
      regWords[W0 + 2] = rdxLo;
      regWords[W0 + 3] = rdxHi;
      regWords[W0 + 4] = r8Lo;
      regWords[W0 + 5] = r8Hi;
      if (dirtySlots < 2) dirtySlots = 2;
      regWords[W0] = cLo;
      regWords[W0 + 1] = cHi;
      hypercallExit();
      noteOutputSlots();
      return mb.reg(vp, 0);
    },
    fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
      const n = input.length;
      if (n > FAST_SLOTS) {
        throw new RangeError(
          `fastHypercall takes at most ${FAST_SLOTS} input values (RDX, R8, XMM0..XMM5); got ${n}`,
        );
      }
      if (data.arch !== 'x64') requireArch('x64', 'VMCALL');
      for (let i = 0; i < n; i++) regs[R0 + 1 + i] = input[i]!;
      // The slots after the input read as zero: clear those an earlier exit may have set.
      if (dirtySlots > n) mb.zeroRegs(vp, n + 1, dirtySlots + 1);
      dirtySlots = n;
      regs[R0] = control;
      hypercallExit();
      const count = noteOutputSlots();
      const output: bigint[] = [];
      if (count > 0) {
        const first = mb.outputFirstSlot(vp);
        for (let i = 0; i < count; i++) output.push(mb.reg(vp, first + i + 1));
      }
      return { result: mb.reg(vp, 0), output };
    },
    halt(): number[] {
      exit(ExitKind.HALT);
      return irr.take(vp);
    },
    takeInterrupts(): number[] {
      return irr.take(vp);
    },
    interruptPending(): boolean {
      return irr.mayBePending(vp);
    },
    sendIpi(targetVp: number, vector: number): void {
      cpu.writeMsr(X2APIC_MSR_ICR, X2ApicIcr.encode({ Vector: vector, Destination: targetVp }));
    },
    pause(): void {
      exit(ExitKind.YIELD);
    },
    rdtsc(): bigint {
      requireArch('x64', 'RDTSC');
      exit(ExitKind.RDTSC);
      return mb.reg(vp, 0);
    },
    invlpg(gva: bigint): void {
      mb.setReg(vp, 0, gva);
      exit(ExitKind.INVLPG);
    },
    flushLocalTlb(includeGlobal = false): void {
      mb.setReg(vp, 0, includeGlobal ? 1n : 0n);
      exit(ExitKind.FLUSH_TLB);
    },
    log(text: string): void {
      message(ExitKind.LOG, String(text));
    },
    report(key: string, value: unknown): void {
      message(ExitKind.REPORT, JSON.stringify([String(key), value ?? null]));
    },
    fail(reason: string): never {
      throw new GuestProgramFailure(String(reason));
    },
  };

  /**
   * Fast-call slots (1-based mailbox registers 1..dirtySlots) that may hold a nonzero value: what
   * the last input or output left there. Unknown at the start, so all of them.
   */
  let dirtySlots: number = FAST_SLOTS;

  /** The output slots the completed hypercall wrote; they now count as set. */
  function noteOutputSlots(): number {
    const count = mb.outputSlotCount(vp);
    if (count > 0) dirtySlots = Math.max(dirtySlots, mb.outputFirstSlot(vp) + count);
    return count;
  }

  /**
   * A guest that fails — `cpu.fail()`, an unhandled fault, a failed assertion — is a failing guest;
   * any other exception is a bug in the guest program itself.
   */
  function failKind(e: unknown): number {
    const failed =
      e instanceof GuestProgramFailure ||
      isGuestFault(e) ||
      (e instanceof Error && e.name === 'AssertionError');
    return failed ? FailKind.PROGRAM : FailKind.THROW;
  }

  /** Frames a failure reports at most (the message area holds a few KiB). */
  const MAX_FRAMES = 12;

  /** The failure text: `cpu.fail()`'s reason as given (every line of it); an exception with the guest's frames. */
  function describe(e: unknown, prefix = ''): string {
    if (e instanceof GuestProgramFailure) return failureText(prefix + e.message, []);
    const frames = e instanceof Error ? guestFrames(e.stack, import.meta.url).slice(0, MAX_FRAMES) : [];
    return failureText(prefix + errorHeadline(e), frames);
  }

  /** A load failure: a SyntaxError names its place (`file:line:column`) as its one frame. */
  function describeLoad(e: unknown): string {
    const prefix = 'cannot load the guest program: ';
    const where = e instanceof Error ? syntaxErrorLocation(e, data.guestUrl) : undefined;
    return where === undefined ? describe(e, prefix) : failureText(prefix + errorHeadline(e), [where]);
  }

  /** A JavaScript guest's default export. */
  async function importGuestProgram(): Promise<GuestProgram> {
    resolveHostPackagesFor(data.guestUrl, import.meta.url);
    const mod = (await import(data.guestUrl)) as { default?: unknown };
    if (typeof mod.default !== 'function') {
      throw new TypeError(
        'the guest module has no default export function (export default function (cpu) { … })',
      );
    }
    return mod.default as GuestProgram;
  }

  async function main(): Promise<void> {
    let program: GuestProgram;
    try {
      // A C guest: `guest_main` on this vCPU's own instance of the module over guest RAM.
      const wasm = data.wasmGuest;
      program =
        wasm === undefined ? await importGuestProgram() : loadWasmGuest(wasm.module, wasm.layout).program();
    } catch (e) {
      // Every vCPU fails to load the same way; the host reports the reason once.
      mb.setReg(vp, 0, BigInt(FailKind.LOAD));
      message(ExitKind.FAIL, describeLoad(e));
      return;
    }
    try {
      exit(ExitKind.START);
      await program(cpu);
      message(ExitKind.DONE, 'passed');
    } catch (e) {
      if (terminated) return;
      try {
        mb.setReg(vp, 0, BigInt(failKind(e)));
        message(ExitKind.FAIL, describe(e));
      } catch {
        // The host ended the run while we reported; nothing more to say.
      }
    }
  }

  return main();
}
