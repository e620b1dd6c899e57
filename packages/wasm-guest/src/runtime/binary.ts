/**
 * Reads what the runtime needs from a guest module's bytes without instantiating it (its start
 * function, `__wasm_init_memory`, would write guest RAM): the imports with their function types,
 * the memory import's limits, the exports, and the constant value of each defined global (so
 * `__heap_base` and `__tls_size`). Anything malformed or truncated is a `WasmGuestLoadError`
 * naming the byte offset; no other exception leaves this module.
 */
import { WasmGuestLoadError } from './errors.js';

export type WasmExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';

export interface WasmFuncType {
  readonly params: readonly string[];
  readonly results: readonly string[];
}

export interface WasmBinaryImport {
  readonly module: string;
  readonly name: string;
  readonly kind: WasmExternKind;
  /** Functions: their type. */
  readonly type?: WasmFuncType | undefined;
  /** Memories: their limits in 64 KiB pages. */
  readonly memory?: {
    readonly minPages: number;
    readonly maxPages?: number | undefined;
    readonly shared: boolean;
  };
}

export interface WasmBinary {
  readonly imports: readonly WasmBinaryImport[];
  readonly exports: ReadonlyMap<string, { readonly kind: WasmExternKind; readonly index: number }>;
  /** Index space of globals: imported ones first (`undefined`: not a constant), then defined ones. */
  readonly globals: readonly (number | bigint | undefined)[];
}

const KINDS: readonly WasmExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];
const VALTYPES: Readonly<Record<number, string>> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
  112: 'funcref',
  111: 'externref',
};
const SECTION = { type: 1, import: 2, global: 6, export: 7 } as const;
const decoder = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new WasmGuestLoadError(`not a readable wasm module: ${what} at byte ${this.pos}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most `bits` bits, as a number (bits <= 32) or bigint. */
  uleb(bits: 32): number;
  uleb(bits: 64): bigint;
  uleb(bits: 32 | 64): number | bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (i >= Math.ceil(bits / 7)) this.fail(`a LEB128 longer than ${bits} bits`);
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    if (result >= 1n << BigInt(bits)) this.fail(`a LEB128 above ${bits} bits`);
    return bits === 32 ? Number(result) : result;
  }

  /** A signed LEB128 of `bits` bits. */
  sleb(bits: 32 | 64): bigint {
    let result = 0n;
    let shift = 0n;
    let b = 0;
    for (let i = 0; ; i++) {
      if (i >= Math.ceil(bits / 7)) this.fail(`a signed LEB128 longer than ${bits} bits`);
      b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    if ((b & 0x40) !== 0) result -= 1n << shift;
    return BigInt.asIntN(bits, result);
  }

  name(): string {
    const length = this.uleb(32);
    if (length > this.end - this.pos) this.fail(`a name of ${length} bytes past the end`);
    const text = decoder.decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  valtype(): string {
    const code = this.byte();
    return VALTYPES[code] ?? this.fail(`value type 0x${code.toString(16)}`);
  }

  limits(): { minPages: number; maxPages?: number; shared: boolean } {
    const flags = this.byte();
    if (flags > 7) this.fail(`memory limits flags 0x${flags.toString(16)}`);
    const wide = (flags & 4) !== 0;
    const read = () => (wide ? Number(this.uleb(64)) : this.uleb(32));
    const minPages = read();
    const maxPages = (flags & 1) !== 0 ? read() : undefined;
    return maxPages === undefined
      ? { minPages, shared: (flags & 2) !== 0 }
      : { minPages, maxPages, shared: (flags & 2) !== 0 };
  }

  /** A constant expression: its value when it is one `i32.const`/`i64.const`, else `undefined`. */
  constExpr(): number | bigint | undefined {
    let value: number | bigint | undefined;
    let ops = 0;
    for (;;) {
      const op = this.byte();
      if (op === 0x0b) return ops === 1 ? value : undefined;
      ops++;
      value = undefined;
      if (op === 0x41) value = Number(this.sleb(32));
      else if (op === 0x42) value = this.sleb(64);
      else if (op === 0x23 || op === 0xd2)
        this.uleb(32); // global.get, ref.func
      else if (op === 0xd0)
        this.byte(); // ref.null
      else if (!EXTENDED_CONST_OPS.has(op)) this.fail(`constant expression opcode 0x${op.toString(16)}`);
    }
  }
}

/** i32/i64 add, sub, mul: the extended-const proposal's operators. */
const EXTENDED_CONST_OPS = new Set([0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e]);

/** The module's imports, exports and constant globals, read from its bytes. */
export function readWasmBinary(bytes: Uint8Array): WasmBinary {
  const top = new Reader(bytes, 0, bytes.length);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const b of magic) if (top.byte() !== b) top.fail('no wasm magic and version 1 header');
  const types: WasmFuncType[] = [];
  const imports: WasmBinaryImport[] = [];
  const globals: (number | bigint | undefined)[] = [];
  const exports = new Map<string, { kind: WasmExternKind; index: number }>();
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.uleb(32);
    if (size > top.end - top.pos) top.fail(`section ${id} of ${size} bytes past the end`);
    const r = new Reader(bytes, top.pos, top.pos + size);
    top.pos += size;
    if (id === SECTION.type) readTypes(r, types);
    else if (id === SECTION.import) readImports(r, types, imports, globals);
    else if (id === SECTION.global) {
      for (let n = r.uleb(32); n > 0; n--) {
        r.valtype();
        r.byte();
        globals.push(r.constExpr());
      }
    } else if (id === SECTION.export) {
      for (let n = r.uleb(32); n > 0; n--) {
        const name = r.name();
        const kind = KINDS[r.byte()] ?? r.fail('an export kind');
        exports.set(name, { kind, index: r.uleb(32) });
      }
    }
  }
  return { imports, exports, globals };
}

function readTypes(r: Reader, types: WasmFuncType[]): void {
  for (let n = r.uleb(32); n > 0; n--) {
    if (r.byte() !== 0x60) r.fail('a type that is not a function type');
    const params: string[] = [];
    for (let p = r.uleb(32); p > 0; p--) params.push(r.valtype());
    const results: string[] = [];
    for (let p = r.uleb(32); p > 0; p--) results.push(r.valtype());
    types.push({ params, results });
  }
}

function readImports(
  r: Reader,
  types: readonly WasmFuncType[],
  imports: WasmBinaryImport[],
  globals: (number | bigint | undefined)[],
): void {
  for (let n = r.uleb(32); n > 0; n--) {
    const module = r.name();
    const name = r.name();
    const kind = KINDS[r.byte()] ?? r.fail('an import kind');
    if (kind === 'function') {
      const index = r.uleb(32);
      imports.push({ module, name, kind, type: types[index] ?? r.fail(`function type ${index} undefined`) });
    } else if (kind === 'memory') {
      imports.push({ module, name, kind, memory: r.limits() });
    } else if (kind === 'table') {
      r.byte();
      r.limits();
      imports.push({ module, name, kind });
    } else if (kind === 'global') {
      r.valtype();
      r.byte();
      globals.push(undefined);
      imports.push({ module, name, kind });
    } else {
      r.byte();
      r.uleb(32);
      imports.push({ module, name, kind });
    }
  }
}
