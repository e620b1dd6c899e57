/**
 * Every import's JS side, driven from C (test/guests/imports.c) over a cpu that records its calls:
 * values reach the cpu and come back to C unchanged; faults end the call as a failure naming the
 * C function; the optional exits fall back or fault #UD on a cpu without them.
 */
import { GuestFault } from '@pvlab/hypercall';
import { type GuestBoundaryView, GuestProgramFailure } from '@pvlab/hypercall/guest';
import { describe, expect, it } from 'vitest';
import { MSR_SAFE_EIO, WASM_GUEST_IMPORTS, type WasmGlobal } from '../src/index.ts';
import { wasmApi } from '../src/runtime/wasm-api.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';
import { direct, u64 } from './helpers/direct.ts';
import { FakeCpu, FakeProgramCpu, FakeWordsCpu } from './helpers/fake-cpu.ts';

const one = (args?: Record<string, string>) =>
  direct('imports', 2, (i, memory) => new FakeProgramCpu(i, 2, memory, args ?? {}), args ? { args } : {});
const bare = () => direct('imports', 1, () => new FakeCpu());

/** The GuestProgramFailure `f` throws. */
function failure(f: () => unknown): GuestProgramFailure {
  try {
    f();
  } catch (e) {
    if (e instanceof GuestProgramFailure) return e;
    throw e;
  }
  throw new Error('expected a GuestProgramFailure');
}

describe.skipIf(CLANG_MISSING !== undefined)(`the imports from C ${CLANG_MISSING ?? ''}`, () => {
  it('the guest using every wrapper imports exactly the table, and nothing else but its memory', () => {
    const module = new (wasmApi().Module)(compileGuest('imports'));
    const imports = wasmApi().Module.imports(module);
    expect(imports.filter((i) => i.kind === 'memory')).toEqual([
      { module: 'env', name: 'memory', kind: 'memory' },
    ]);
    const functions = imports.filter((i) => i.kind !== 'memory');
    expect(functions.every((i) => i.module === 'pvlab' && i.kind === 'function')).toBe(true);
    expect(functions.map((i) => i.name).sort()).toEqual(WASM_GUEST_IMPORTS.map((r) => r.name).sort());
  });

  it('hypercalls: RCX, RDX, R8 reach the cpu as unsigned 64-bit values and RAX comes back unchanged', () => {
    const { cpus, vcpus } = one();
    const cpu = cpus[0]!;
    cpu.result = 0xffff_0000_0000_0013n;
    const control = 0x8000_0000_0fff_0002n;
    expect(u64(vcpus[0]!.call('hc', control, 0x1000n, 0xffff_ffff_ffff_f000n))).toBe(0xffff_0000_0000_0013n);
    expect(cpu.calls.at(-1)).toEqual({ op: 'hypercall', args: [control, 0x1000n, 0xffff_ffff_ffff_f000n] });
    cpu.result = 0x1_0000_0000n;
    expect(u64(vcpus[0]!.call('hc_fast', 0x1_0008n, 7n, 0x8000_0000_0000_0000n))).toBe(0x1_0000_0000n);
    // The fast form is the same VMCALL with the fast bit: RDX and R8 carry the input values.
    expect(cpu.calls.at(-1)).toEqual({ op: 'hypercall', args: [0x1_0008n, 7n, 0x8000_0000_0000_0000n] });
  });

  it('hypercalls: a cpu with hypercallWords gets the registers as u32 halves, no bigint on the way', () => {
    const { cpus, vcpus } = direct('imports', 1, () => new FakeWordsCpu());
    const cpu = cpus[0]!;
    cpu.result = 0xffff_0000_0000_0013n;
    const control = 0x8000_0000_0fff_0002n;
    expect(u64(vcpus[0]!.call('hc', control, 0x1000n, 0xffff_ffff_ffff_f000n))).toBe(0xffff_0000_0000_0013n);
    // Wasm passes i32 signed; the cpu takes each half modulo 2^32 (its register file is a Uint32Array).
    const halves = () => (cpu.calls.at(-1)!.args as number[]).map((w) => w >>> 0);
    expect(cpu.calls.at(-1)!.op).toBe('hypercallWords');
    expect(halves()).toEqual([0x0fff_0002, 0x8000_0000, 0x1000, 0, 0xffff_f000, 0xffff_ffff]);
    expect(u64(vcpus[0]!.call('hc_fast', 0x1_0008n, 7n, 0x8000_0000_0000_0001n))).toBe(
      0xffff_0000_0000_0013n,
    );
    expect(halves()).toEqual([0x1_0008, 0, 7, 0, 1, 0x8000_0000]);
    expect(cpu.ops()).not.toContain('hypercall');
  });

  it('the XMM form passes in_count input slots and writes the output from the pair after them', () => {
    const { cpus, vcpus, memory } = one();
    const cpu = cpus[0]!;
    const v = vcpus[0]!;
    const regs = v.call('xmm_regs') as number;
    for (let i = 0; i < 14; i++) memory.view.setBigUint64(regs + 8 * i, BigInt(i + 1) * 0x1111n, true);
    cpu.fastOutput = [0xaaaan, 0xbbbbn, 0xffff_ffff_ffff_ffffn];
    cpu.result = 2n;
    expect(u64(v.call('hc_xmm', 0x1_0013n, 5))).toBe(2n);
    expect(cpu.calls.at(-1)?.args[1]).toEqual([0x1111n, 0x2222n, 0x3333n, 0x4444n, 0x5555n]);
    const after = Array.from({ length: 14 }, (_, i) => memory.view.getBigUint64(regs + 8 * i, true));
    // 5 input slots: the output starts at slot 6 (XMM2.lo).
    expect(after).toEqual([
      ...[1, 2, 3, 4, 5, 6].map((k) => BigInt(k) * 0x1111n),
      0xaaaan,
      0xbbbbn,
      0xffff_ffff_ffff_ffffn,
      ...[10, 11, 12, 13, 14].map((k) => BigInt(k) * 0x1111n),
    ]);
    expect(failure(() => v.call('hc_xmm', 0x1_0013n, 15)).message).toMatch(
      /^#UD: hypercall_xmm: in_count 15 .* in hc_xmm/,
    );
  });

  it('MSRs: plain forms reach the cpu; _safe forms return 0, or -5 on #GP leaving the value untouched', () => {
    const { cpus, vcpus, memory } = one();
    const cpu = cpus[0]!;
    const v = vcpus[0]!;
    cpu.msrs.set(0x4000_0001n, 0x1234_5678_9abc_def0n);
    expect(u64(v.call('rdmsr', 0x4000_0001))).toBe(0x1234_5678_9abc_def0n);
    v.call('wrmsr', 0x4000_0001, -1n);
    expect(cpu.msrs.get(0x4000_0001n)).toBe(0xffff_ffff_ffff_ffffn);
    const value = v.call('safe_value_ptr') as number;
    memory.view.setBigUint64(value, 0x5a5an, true);
    expect(v.call('rdmsr_safe', 0x1234)).toBe(MSR_SAFE_EIO);
    expect(memory.view.getBigUint64(value, true)).toBe(0x5a5an);
    expect(v.call('rdmsr_safe', 0x4000_0001)).toBe(0);
    expect(memory.view.getBigUint64(value, true)).toBe(0xffff_ffff_ffff_ffffn);
    expect(v.call('wrmsr_safe', 0x1234, 1n)).toBe(-5);
    expect(v.call('wrmsr_safe', 0x4000_0001, 9n)).toBe(0);
    expect(cpu.msrs.get(0x4000_0001n)).toBe(9n);
    // The high bit of an MSR number survives the i32.
    v.call('rdmsr_safe', 0xc000_0080);
    expect(cpu.calls.at(-1)).toEqual({ op: 'readMsr', args: [0xc000_0080n] });
  });

  it('a #GP from plain rdmsr fails the program naming the C function and its callers', () => {
    const { vcpus } = one();
    const f = failure(() => vcpus[0]!.call('read_bad_msr'));
    expect(f.message).toBe('#GP: RDMSR 0x12345678 refused in read_bad_msr');
    const deep = failure(() => vcpus[0]!.call('deep_fault', 20)).message;
    // Deeper than Error.stackTraceLimit: the frames are taken where the import threw.
    expect(deep).toMatch(
      /^#GP: RDMSR 0x12345678 refused in read_bad_msr ← deep_fault ← deep_fault ← .* ← …$/,
    );
  });

  it('a wasm trap fails the program naming the function; the next entry starts on a fresh stack', () => {
    const { vcpus, map } = one();
    const v = vcpus[0]!;
    expect(failure(() => v.call('do_trap')).message).toBe('wasm trap: unreachable in do_trap');
    expect(failure(() => v.call('out_of_bounds', 0xffff_fff0)).message).toBe(
      'wasm trap: memory access out of bounds in out_of_bounds',
    );
    expect(failure(() => v.call('stack_fault')).message).toMatch(/ in stack_fault$/);
    const sp = v.exports.__stack_pointer as WasmGlobal;
    expect(sp.value).toBeLessThan(map.vcpu[0]!.stack.top);
    v.call('pause');
    expect(sp.value).toBe(map.vcpu[0]!.stack.top);
  });

  it('cpuid writes eax, ebx, ecx, edx; rdtsc reads the cpu clock', () => {
    const { vcpus, memory } = one();
    const v = vcpus[0]!;
    v.call('cpuid', 0x4000_0003);
    const out = v.call('cpuid_ptr') as number;
    const regs = [0, 4, 8, 12].map((o) => memory.view.getUint32(out + o, true));
    expect(regs).toEqual([(0x4000_0003 ^ 0x11111111) >>> 0, 0xdeadbeef, 0x80000000, 7]);
    expect(u64(v.call('rdtsc'))).toBe(1010n);
    expect(u64(v.call('rdtsc'))).toBe(1020n);
  });

  it('send_ipi is WRMSR x2APIC ICR; invlpg, flush_tlb and pause reach the cpu', () => {
    const { cpus, vcpus } = one();
    const cpu = cpus[0]!;
    cpu.msrs.set(0x830n, 0n);
    vcpus[0]!.call('send_ipi', 1, 0x2f);
    expect(cpu.calls.at(-1)).toEqual({ op: 'writeMsr', args: [0x830n, (1n << 32n) | 0x2fn] });
    vcpus[0]!.call('invlpg', 0xffff_8000_0000_1000n);
    vcpus[0]!.call('flush_tlb', 1);
    vcpus[0]!.call('pause');
    expect(cpu.calls.slice(-3)).toEqual([
      { op: 'invlpg', args: [0xffff_8000_0000_1000n] },
      { op: 'flushLocalTlb', args: [true] },
      { op: 'pause', args: [] },
    ]);
  });

  it('guest_arg: the full length, a NUL-terminated copy cut to the buffer, -1 when absent', () => {
    const { vcpus, memory } = one({ mode: 'fast', long: 'abcdefghijklmnopqrstuvwxyz', empty: '' });
    const v = vcpus[0]!;
    const key = v.call('key_buf_ptr') as number;
    const buf = v.call('arg_buf_ptr') as number;
    const arg = (k: string) => {
      memory.bytes.set(new TextEncoder().encode(`${k}\0`), key);
      return v.call('arg', key);
    };
    const text = () => {
      const end = memory.bytes.indexOf(0, buf);
      return new TextDecoder().decode(memory.bytes.slice(buf, end));
    };
    expect(arg('mode')).toBe(4);
    expect(text()).toBe('fast');
    expect(arg('long')).toBe(26);
    expect(text()).toBe('abcdefghijklmno');
    expect(arg('empty')).toBe(0);
    expect(text()).toBe('');
    expect(arg('missing')).toBe(-1);
    expect(arg('constructor')).toBe(-1);
  });

  it('vcpu_info: the vCPU, the count, restored, the arch, the page region and the image end', () => {
    const { vcpus, cpus, map, guest } = one();
    vcpus[1]!.call('info');
    expect(Object.fromEntries(cpus[1]!.reports)).toEqual({
      cpu: 1,
      cpus: 2,
      restored: 0,
      arch: 0,
      pages_gpa: map.pages.gpa,
      pages_bytes: map.pages.bytes,
      image_end: 0x10_0000 + guest.layout.imageBytes,
    });
  });

  it('report, report_str, log and fail', () => {
    const { vcpus, cpus } = one();
    vcpus[0]!.call('report_big');
    expect(Object.fromEntries(cpus[0]!.reports)).toEqual({
      small: -42,
      big: '-9223372036854775808',
      name: 'héllo',
    });
    vcpus[1]!.call('log_line', 3);
    expect(cpus[1]!.logs).toEqual(['line 3 of vCPU 1']);
    const f = failure(() => vcpus[1]!.call('fail_with', 7));
    expect(f.message).toBe('failed with code 7 on vCPU 1');
  });

  it('shared_read/shared_write copy through the boundary view, which checks the alias', () => {
    const { cpus, vcpus, memory } = one();
    const boundary = 1n << 30n;
    const seen: unknown[][] = [];
    cpus[0]!.isolation = {
      boundary,
      memory: {
        ram: memory,
        offsetOf(gpa: bigint, length: number, access?: string, place?: string) {
          seen.push([gpa, length, access, place]);
          if (gpa < boundary)
            throw new GuestFault('MEMORY', `${place}: private GPA 0x${gpa.toString(16)}`, gpa);
          return Number(gpa - boundary);
        },
      } as unknown as GuestBoundaryView,
    };
    const v = vcpus[0]!;
    const buf = v.call('shared_buf_ptr') as number;
    memory.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 0x5000);
    v.call('shared_read', boundary | 0x5000n, 8);
    expect([...memory.bytes.subarray(buf, buf + 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    memory.bytes.set([9, 9, 9], buf);
    v.call('shared_write', boundary | 0x6000n, 3);
    expect([...memory.bytes.subarray(0x6000, 0x6004)]).toEqual([9, 9, 9, 0]);
    expect(seen).toEqual([
      [boundary | 0x5000n, 8, 'read', 'pvlab_shared_read'],
      [boundary | 0x6000n, 3, 'write', 'pvlab_shared_write'],
    ]);
    expect(failure(() => v.call('shared_read', 0x5000n, 8)).message).toMatch(
      /pvlab_shared_read: private GPA 0x5000 in shared_read$/,
    );
  });

  it('shared_read/shared_write are #UD in an ordinary VM', () => {
    const { vcpus } = one();
    expect(failure(() => vcpus[0]!.call('shared_read', 0x1000n, 8)).message).toBe(
      '#UD: shared_read: not an isolation VM (no boundary view) in shared_read',
    );
  });
});

describe.skipIf(CLANG_MISSING !== undefined)(
  `a bare direct-harness cpu (GuestCpu only) ${CLANG_MISSING ?? ''}`,
  () => {
    it('keeps log and report output on the vCPU, pauses as a no-op, reads the host clock', () => {
      const { vcpus } = bare();
      const v = vcpus[0]!;
      v.call('log_line', 1);
      v.call('report_big');
      v.call('pause');
      expect(v.logs).toEqual(['line 1 of vCPU 0']);
      expect(v.reports.get('small')).toBe(-42);
      const t1 = u64(v.call('rdtsc'));
      const t2 = u64(v.call('rdtsc'));
      expect(t1).toBeGreaterThan(0n);
      expect(t2).toBeGreaterThanOrEqual(t1);
    });

    it('faults #UD with a clear message for what it does not have', () => {
      const { vcpus } = bare();
      const v = vcpus[0]!;
      expect(failure(() => v.call('invlpg', 0n)).message).toBe(
        '#UD: INVLPG: this vCPU has no TLB (no invlpg()) in invlpg',
      );
      expect(failure(() => v.call('flush_tlb', 0)).message).toMatch(/^#UD: a TLB flush: .* in flush_tlb$/);
      expect(failure(() => v.call('halt')).message).toMatch(
        /^#UD: HLT with no interrupt pending: this vCPU has no halt\(\) .* in halt$/,
      );
    });
  },
);
