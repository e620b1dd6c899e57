/**
 * The JS side of every import in the table, over one vCPU's context. Its keys are checked against
 * the table (`satisfies WasmGuestImportFunctions`). Statuses come back to C unchanged; a fault
 * (`GuestFault`) leaves through the import and ends the program, except where a `_safe` form
 * turns #GP into -5. Each import that throws records the wasm frames below it (`atImport`).
 */
import { GuestFault, isGuestFault } from '@pvlab/hypercall';
import { GuestProgramFailure } from '@pvlab/hypercall/guest';
import {
  WASM_GUEST_VCPU_INFO_FIELDS,
  type WasmGuestImportFunctions,
  type WasmGuestVcpuInfoField,
} from '../wire/imports.js';
import type { VcpuContext } from './context.js';
import { atImport } from './failure.js';
import { FAST_REGISTER_SLOTS, readRegisterImage, writeRegisterOutput } from './registers.js';

/** Linux's -EIO: what the `_safe` MSR forms return on #GP. */
export const MSR_SAFE_EIO = -5;

const TWO_64 = 1n << 64n;
/** An i64 from wasm (signed) as the unsigned value the cpu takes; no new bigint when it is positive. */
const u64 = (v: bigint) => (v < 0n ? v + TWO_64 : v);
/** A register from the i32 halves wasm passes (signed in JS), bits 31:0 first. */
const join = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
type WordsCpu = VcpuContext['cpu'] & { hypercallWords: Vmcall };
type Vmcall = (cLo: number, cHi: number, rdxLo: number, rdxHi: number, r8Lo: number, r8Hi: number) => bigint;
const msrOf = (msr: number) => BigInt(msr >>> 0);

/** The `_safe` MSR forms: 0, or `MSR_SAFE_EIO` when the access raised #GP (any other fault unwinds). */
function gpAsStatus(access: () => void): number {
  try {
    access();
    return 0;
  } catch (e) {
    if (!isGuestFault(e, 'GP')) throw e;
    return MSR_SAFE_EIO;
  }
}

/** performance.now() in ns, when the cpu has no clock of its own. */
function hostClockNs(): bigint {
  return BigInt(Math.round(performance.now() * 1e6));
}

/** A reported integer: a JS number when it is exact, else its decimal string. */
function reportValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v.toString();
}

export function importObject(ctx: VcpuContext): WasmGuestImportFunctions {
  const { cpu, view } = ctx;
  const o = ctx.options;
  const info: Record<WasmGuestVcpuInfoField, number> = {
    cpu: o.index,
    cpus: o.vcpus,
    restored: o.restored ? 1 : 0,
    arch: o.arch === 'arm64' ? 1 : 0,
    pages_gpa: o.map.pages.gpa,
    pages_bytes: o.map.pages.bytes,
    image_end: o.imageEnd,
    reserved: 0,
  };
  const output = (key: string, value: unknown) => {
    if (cpu.report) cpu.report(key, value);
    else ctx.reports.set(key, value);
  };

  // RCX, RDX and R8 arrive as i32 halves: a cpu that takes them so sees no bigint at all.
  // (A method call, not a bound function: V8 inlines it into the import.)
  const withWords = cpu.hypercallWords ? (cpu as WordsCpu) : undefined;
  const vmcall: Vmcall = withWords
    ? (cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi) => withWords.hypercallWords(cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi)
    : (cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi) =>
        cpu.hypercall(join(cLo, cHi), join(rdxLo, rdxHi), join(r8Lo, r8Hi));

  // The memory and the fast form are the same VMCALL: with the fast bit in the control RDX and
  // R8 are the input, the XMM registers keep what they held, as on hardware; RAX is all the C
  // caller gets back.
  const vmcallImport: Vmcall = (cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi) => {
    try {
      const r = vmcall(cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi);
      ctx.afterExit();
      return r;
    } catch (e) {
      throw atImport(e);
    }
  };

  return {
    hypercall: vmcallImport,
    hypercall_fast: vmcallImport,
    hypercall_xmm(control, regsPtr, inCount) {
      try {
        if (!(inCount >= 0 && inCount <= FAST_REGISTER_SLOTS)) {
          throw new GuestFault('UD', `hypercall_xmm: in_count ${inCount} is not 0..${FAST_REGISTER_SLOTS}`);
        }
        const at = ctx.at(regsPtr, 8 * FAST_REGISTER_SLOTS);
        const { result, output } = cpu.fastHypercall(u64(control), readRegisterImage(view, at, inCount));
        writeRegisterOutput(view, at, inCount, output);
        ctx.afterExit();
        return result;
      } catch (e) {
        throw atImport(e);
      }
    },
    rdmsr(msr) {
      try {
        const v = cpu.readMsr(msrOf(msr));
        ctx.afterExit();
        return v;
      } catch (e) {
        throw atImport(e);
      }
    },
    wrmsr(msr, value) {
      try {
        cpu.writeMsr(msrOf(msr), u64(value));
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    rdmsr_safe(msr, valuePtr) {
      try {
        const at = ctx.at(valuePtr, 8);
        const status = gpAsStatus(() => view.setBigUint64(at, cpu.readMsr(msrOf(msr)), true));
        ctx.afterExit();
        return status;
      } catch (e) {
        throw atImport(e);
      }
    },
    wrmsr_safe(msr, value) {
      try {
        const status = gpAsStatus(() => cpu.writeMsr(msrOf(msr), u64(value)));
        ctx.afterExit();
        return status;
      } catch (e) {
        throw atImport(e);
      }
    },
    cpuid(leaf, outPtr) {
      try {
        const at = ctx.at(outPtr, 16);
        const r = cpu.cpuid(leaf >>> 0);
        view.setUint32(at, r.eax, true);
        view.setUint32(at + 4, r.ebx, true);
        view.setUint32(at + 8, r.ecx, true);
        view.setUint32(at + 12, r.edx, true);
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    rdtsc() {
      const t = cpu.rdtsc?.();
      if (t === undefined) return hostClockNs();
      return typeof t === 'bigint' ? t : BigInt(Math.round(t));
    },
    halt() {
      try {
        if (ctx.queue.length === 0) {
          if (cpu.halt) ctx.queue.push(...cpu.halt());
          else if (cpu.takeInterrupts) ctx.queue.push(...cpu.takeInterrupts());
          if (ctx.queue.length === 0) {
            throw ctx.missing(
              'HLT with no interrupt pending',
              'this vCPU has no halt() to wait with (the direct harness): deliver one before pvlab_halt()',
            );
          }
        }
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    pause() {
      try {
        cpu.pause?.();
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    invlpg(gva) {
      try {
        if (!cpu.invlpg) throw ctx.missing('INVLPG', 'this vCPU has no TLB (no invlpg())');
        cpu.invlpg(u64(gva));
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    flush_tlb(includeGlobal) {
      try {
        if (!cpu.flushLocalTlb) throw ctx.missing('a TLB flush', 'this vCPU has no TLB (no flushLocalTlb())');
        cpu.flushLocalTlb(includeGlobal !== 0);
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    take_interrupt() {
      return ctx.takeInterrupt();
    },
    irq_flag_at(ptr) {
      try {
        ctx.flagAt = ctx.at(ptr, 4);
        if (ctx.queue.length > 0) view.setUint32(ctx.flagAt, 1, true);
      } catch (e) {
        throw atImport(e);
      }
    },
    vcpu_info(outPtr) {
      try {
        const at = ctx.at(outPtr, 4 * WASM_GUEST_VCPU_INFO_FIELDS.length);
        for (const [i, f] of WASM_GUEST_VCPU_INFO_FIELDS.entries())
          view.setUint32(at + 4 * i, info[f.name], true);
      } catch (e) {
        throw atImport(e);
      }
    },
    guest_arg(keyPtr, keyLen, bufPtr, bufLen) {
      try {
        const key = ctx.string(keyPtr, keyLen);
        if (!Object.hasOwn(o.args, key)) return -1;
        return ctx.writeString(o.args[key]!, bufPtr, bufLen);
      } catch (e) {
        throw atImport(e);
      }
    },
    log(ptr, len) {
      try {
        const text = ctx.string(ptr, len);
        if (cpu.log) cpu.log(text);
        else ctx.logs.push(text);
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    report(keyPtr, keyLen, value) {
      try {
        output(ctx.string(keyPtr, keyLen), reportValue(value));
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    report_str(keyPtr, keyLen, valPtr, valLen) {
      try {
        output(ctx.string(keyPtr, keyLen), ctx.string(valPtr, valLen));
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    fail(ptr, len) {
      throw new GuestProgramFailure(ctx.string(ptr, len));
    },
    shared_read(gpa, ptr, len) {
      try {
        const iso = cpu.isolation;
        if (!iso) throw ctx.missing('shared_read', 'not an isolation VM (no boundary view)');
        const from = iso.memory.offsetOf(u64(gpa), len, 'read', 'pvlab_shared_read');
        ctx.memory.bytes.set(iso.memory.ram.bytes.subarray(from, from + len), ctx.at(ptr, len));
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
    shared_write(gpa, ptr, len) {
      try {
        const iso = cpu.isolation;
        if (!iso) throw ctx.missing('shared_write', 'not an isolation VM (no boundary view)');
        const to = iso.memory.offsetOf(u64(gpa), len, 'write', 'pvlab_shared_write');
        const from = ctx.at(ptr, len);
        iso.memory.ram.bytes.set(ctx.memory.bytes.subarray(from, from + len), to);
        ctx.afterExit();
      } catch (e) {
        throw atImport(e);
      }
    },
  } satisfies WasmGuestImportFunctions;
}
