/**
 * A test-only reader for what `WebAssembly.Module.imports` does not tell in Node 20: the memory
 * import's limits and shared flag, exported globals' initial values, and the data segments.
 */

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
  readonly shared: boolean;
}

export interface ModuleFacts {
  readonly memoryImports: MemoryImport[];
  /** Exported i32 globals with a constant initial value, by export name. */
  readonly globals: Map<string, number>;
  /** Total bytes of all data segments. */
  readonly dataBytes: number;
  readonly sections: Set<number>;
}

export function readModuleFacts(bytes: Uint8Array): ModuleFacts {
  let at = 8; // magic and version
  const u = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return result;
    }
  };
  const s = () => {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[at++]!;
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
  };
  const name = () => {
    const n = u();
    const text = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return text;
  };
  const limits = () => {
    const flags = u();
    const initial = u();
    const maximum = flags & 1 ? u() : undefined;
    return { flags, initial, maximum };
  };
  const constExpr = (): number | undefined => {
    let value: number | undefined;
    const op = bytes[at++];
    if (op === 0x41) value = s();
    while (bytes[at++] !== 0x0b) {
      // skip any other expression to its end
    }
    return value;
  };

  const memoryImports: MemoryImport[] = [];
  const globalInits: (number | undefined)[] = [];
  const exported: [string, number][] = [];
  const sections = new Set<number>();
  let dataBytes = 0;
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const size = u();
    const end = at + size;
    sections.add(id);
    if (id === 2) {
      for (let n = u(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = bytes[at++];
        if (kind === 0) u();
        else if (kind === 1) {
          at++;
          limits();
        } else if (kind === 2) {
          const l = limits();
          memoryImports.push({
            module,
            name: field,
            initialPages: l.initial,
            maximumPages: l.maximum,
            shared: (l.flags & 2) !== 0,
          });
        } else if (kind === 3) {
          at += 2;
          globalInits.push(undefined);
        } else throw new Error(`import kind ${kind}`);
      }
    } else if (id === 6) {
      for (let n = u(); n > 0; n--) {
        at += 2; // value type, mutability
        globalInits.push(constExpr());
      }
    } else if (id === 7) {
      for (let n = u(); n > 0; n--) {
        const field = name();
        const kind = bytes[at++];
        const index = u();
        if (kind === 3) exported.push([field, index]);
      }
    } else if (id === 11) {
      for (let n = u(); n > 0; n--) {
        const flags = u();
        if (flags === 2) u();
        if (flags !== 1) constExpr();
        const len = u();
        dataBytes += len;
        at += len;
      }
    }
    at = end;
  }
  const globals = new Map<string, number>();
  for (const [field, index] of exported) {
    const v = globalInits[index];
    if (v !== undefined) globals.set(field, v >>> 0);
  }
  return { memoryImports, globals, dataBytes, sections };
}

/** The WebAssembly JS API as these tests use it (TypeScript's ES libs do not declare it). */
interface WasmModuleApi {
  new (bytes: Uint8Array): object;
  imports(m: object): { module: string; name: string; kind: string }[];
  exports(m: object): { name: string; kind: string }[];
  customSections(m: object, name: string): ArrayBuffer[];
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: WasmModuleApi } }).WebAssembly.Module;

/** Compiles `bytes` (throws when they are not a valid module) and lists what the JS API tells. */
export function inspectModule(bytes: Uint8Array) {
  const m = new WasmModule(bytes);
  return {
    imports: WasmModule.imports(m),
    exports: WasmModule.exports(m).map((e) => e.name),
    customSections: (name: string) => WasmModule.customSections(m, name),
  };
}
