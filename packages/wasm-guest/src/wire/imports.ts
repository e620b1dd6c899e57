/**
 * THE import table of a wasm guest: every function the module may import from the runtime, in
 * module `pvlab`. It is the one source: `scripts/gen-imports-h.mjs` writes the C declarations of
 * `sdk/include/pvlab/imports.h` from it (a test fails when that file differs), the runtime's
 * import object is typed from it, and `loadWasmGuest` refuses a module importing anything else.
 * Wasm types are i32/i64 only (i64 arrives in JS as a signed bigint). The hypercalls take their
 * 64-bit registers as u32 halves (`*_lo` = bits 31:0): a bigint made per argument at the boundary
 * costs more than the rest of a short call, and the host reads registers as halves anyway.
 */

/** The import module of every runtime function. */
export const WASM_GUEST_IMPORT_MODULE = 'pvlab';

export type WasmValueType = 'i32' | 'i64';

/** One parameter: its C name and wasm type. */
export interface WasmGuestImportParam {
  readonly name: string;
  readonly type: WasmValueType;
}

/** One row of the table. */
export interface WasmGuestImport {
  /** The raw import name (the C declaration is `__pvlab_import_<name>`). */
  readonly name: string;
  readonly params: readonly WasmGuestImportParam[];
  /** The result type, or `null` for none. */
  readonly result: WasmValueType | null;
  /**
   * An exit and a scheduling point: the vCPU may block in it (threaded host), and Asyncify
   * (issue 17) may unwind through it. After it returns the runtime flags pending interrupts.
   */
  readonly suspends: boolean;
  /** One line for the header's doc comment. */
  readonly doc: string;
}

const i32 = (name: string) => ({ name, type: 'i32' }) as const;
const i64 = (name: string) => ({ name, type: 'i64' }) as const;

export const WASM_GUEST_IMPORTS = [
  {
    name: 'hypercall',
    params: [
      i32('control_lo'),
      i32('control_hi'),
      i32('input_gpa_lo'),
      i32('input_gpa_hi'),
      i32('output_gpa_lo'),
      i32('output_gpa_hi'),
    ],
    result: 'i64',
    suspends: true,
    doc: 'Memory-form VMCALL (RCX = control, RDX = input GPA, R8 = output GPA), each as u32 halves; returns RAX.',
  },
  {
    name: 'hypercall_fast',
    params: [i32('control_lo'), i32('control_hi'), i32('rdx_lo'), i32('rdx_hi'), i32('r8_lo'), i32('r8_hi')],
    result: 'i64',
    suspends: true,
    doc: 'Fast VMCALL with two register inputs (RDX, R8), each register as u32 halves, XMM untouched as on hardware (Linux hv_do_fast_hypercall8/16); returns RAX.',
  },
  {
    name: 'hypercall_xmm',
    params: [i64('control'), i32('regs_ptr'), i32('in_count')],
    result: 'i64',
    suspends: true,
    doc: 'XMM fast VMCALL: regs_ptr -> u64[14] (RDX, R8, XMM0.lo .. XMM5.hi), the first in_count are input; output slots are written back in place; returns RAX.',
  },
  {
    name: 'rdmsr',
    params: [i32('msr')],
    result: 'i64',
    suspends: true,
    doc: 'RDMSR; a refused access (#GP) ends the vCPU program as failed.',
  },
  {
    name: 'wrmsr',
    params: [i32('msr'), i64('value')],
    result: null,
    suspends: true,
    doc: 'WRMSR; a refused access (#GP) ends the vCPU program as failed.',
  },
  {
    name: 'rdmsr_safe',
    params: [i32('msr'), i32('value_ptr')],
    result: 'i32',
    suspends: true,
    doc: 'RDMSR into *value_ptr (u64): 0, or -5 (-EIO) on #GP with *value_ptr untouched.',
  },
  {
    name: 'wrmsr_safe',
    params: [i32('msr'), i64('value')],
    result: 'i32',
    suspends: true,
    doc: 'WRMSR: 0, or -5 (-EIO) on #GP.',
  },
  {
    name: 'cpuid',
    params: [i32('leaf'), i32('out_ptr')],
    result: null,
    suspends: true,
    doc: 'CPUID: writes u32[4] eax, ebx, ecx, edx at out_ptr.',
  },
  {
    name: 'rdtsc',
    params: [],
    result: 'i64',
    suspends: false,
    doc: "The VM's clock as a 1 GHz TSC (nanoseconds; virtual in seeded runs).",
  },
  {
    name: 'halt',
    params: [],
    result: null,
    suspends: true,
    doc: 'HLT with interrupts enabled (sti; hlt): returns when an interrupt is pending.',
  },
  {
    name: 'pause',
    params: [],
    result: null,
    suspends: true,
    doc: 'PAUSE: a scheduling point; a spin loop must call it to be interruptible.',
  },
  {
    name: 'invlpg',
    params: [i64('gva')],
    result: null,
    suspends: true,
    doc: "INVLPG: drops the page holding gva from this vCPU's TLB.",
  },
  {
    name: 'flush_tlb',
    params: [i32('include_global')],
    result: null,
    suspends: true,
    doc: 'A local TLB flush: MOV to CR3, or with include_global a CR4.PGE toggle.',
  },
  {
    name: 'take_interrupt',
    params: [],
    result: 'i32',
    suspends: false,
    doc: 'The next pending vector (acknowledged), or -1; clears the pending word when none are left.',
  },
  {
    name: 'irq_flag_at',
    params: [i32('ptr')],
    result: null,
    suspends: false,
    doc: "Where this vCPU's u32 interrupt-pending word is (in its TLS).",
  },
  {
    name: 'vcpu_info',
    params: [i32('out_ptr')],
    result: null,
    suspends: false,
    doc: 'Fills struct pvlab_vcpu_info at out_ptr.',
  },
  {
    name: 'guest_arg',
    params: [i32('key_ptr'), i32('key_len'), i32('buf_ptr'), i32('buf_len')],
    result: 'i32',
    suspends: false,
    doc: "--guest-arg key=value: the value's full length (copies min(length, buf_len) bytes, no NUL), or -1 when absent.",
  },
  {
    name: 'log',
    params: [i32('ptr'), i32('len')],
    result: null,
    suspends: true,
    doc: 'Prints one line of UTF-8 in the boot log.',
  },
  {
    name: 'report',
    params: [i32('key_ptr'), i32('key_len'), i64('value')],
    result: null,
    suspends: true,
    doc: 'Reports a named integer (a JS number when safe, else a decimal string).',
  },
  {
    name: 'report_str',
    params: [i32('key_ptr'), i32('key_len'), i32('val_ptr'), i32('val_len')],
    result: null,
    suspends: true,
    doc: 'Reports a named string.',
  },
  {
    name: 'fail',
    params: [i32('ptr'), i32('len')],
    result: null,
    suspends: false,
    doc: "Never returns: the vCPU's program fails with this text.",
  },
  {
    name: 'shared_read',
    params: [i64('gpa'), i32('ptr'), i32('len')],
    result: null,
    suspends: true,
    doc: 'Isolation VMs: copies len bytes at gpa, read through the boundary view, to ptr; #UD in an ordinary VM.',
  },
  {
    name: 'shared_write',
    params: [i64('gpa'), i32('ptr'), i32('len')],
    result: null,
    suspends: true,
    doc: 'Isolation VMs: copies len bytes at ptr to gpa, written through the boundary view; #UD in an ordinary VM.',
  },
] as const satisfies readonly WasmGuestImport[];

type Row = (typeof WASM_GUEST_IMPORTS)[number];

/** The raw import names. */
export type WasmGuestImportName = Row['name'];

type JsValue<T extends WasmValueType> = T extends 'i64' ? bigint : number;
type JsParams<P extends readonly WasmGuestImportParam[]> = {
  -readonly [I in keyof P]: JsValue<P[I]['type']>;
};
type JsResult<R> = R extends WasmValueType ? JsValue<R> : undefined;

/** The JS side of every import, typed from the table: i32 is a number, i64 a bigint. */
export type WasmGuestImportFunctions = {
  readonly [R in Row as R['name']]: (...args: JsParams<R['params']>) => JsResult<R['result']>;
};

/** The imports that suspend: Asyncify's `asyncify-imports` list (issue 17), `pvlab.<name>`. */
export const WASM_GUEST_ASYNCIFY_IMPORTS: readonly string[] = WASM_GUEST_IMPORTS.filter(
  (r) => r.suspends,
).map((r) => `${WASM_GUEST_IMPORT_MODULE}.${r.name}`);

/** The table's row for `name`, or `undefined`. */
export function wasmGuestImport(name: string): WasmGuestImport | undefined {
  return WASM_GUEST_IMPORTS.find((r) => r.name === name);
}

/**
 * `struct pvlab_vcpu_info`: eight u32 fields, 32 bytes, written by the `vcpu_info` import and
 * declared in C from this list (with `_Static_assert`s on its size and every offset).
 */
export const WASM_GUEST_VCPU_INFO_FIELDS = [
  { name: 'cpu', doc: "this vCPU's number (VP index)" },
  { name: 'cpus', doc: "the VM's vCPU count" },
  { name: 'restored', doc: '1 when the VM was restored from a snapshot' },
  { name: 'arch', doc: '0 x64, 1 arm64' },
  { name: 'pages_gpa', doc: "the page allocator's region" },
  { name: 'pages_bytes', doc: "the page allocator's size in bytes" },
  { name: 'image_end', doc: "the image's end (__heap_base)" },
  { name: 'reserved', doc: 'zero' },
] as const;

export type WasmGuestVcpuInfoField = (typeof WASM_GUEST_VCPU_INFO_FIELDS)[number]['name'];

/** `sizeof(struct pvlab_vcpu_info)`. */
export const WASM_GUEST_VCPU_INFO_BYTES = WASM_GUEST_VCPU_INFO_FIELDS.length * 4;
