/**
 * Typed ports between a partition and its packages: a package keeps its host state under an
 * `ExtensionKey` it exports, so readers get the state's type without a cast; the core declares
 * the ports one package provides and another consumes (`HOST_MEMORY`).
 */

/**
 * The key of one piece of host state in a partition (`partition.setExtensionState(key, state)`,
 * `partition.extensionState(key)`). Keys are compared by `name`, so two copies of a package (its
 * source and its bundled dist) still reach the same state.
 */
export class ExtensionKey<T> {
  /** Carries `T` for the type checker only (never set). */
  declare readonly __state: (state: T) => T;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Guest memory as the host sees it in an isolation VM (spec 05 rule 10): RAM only through the
 * shared alias (GPA ≥ `boundary`) of pages the guest made host-visible. A refused `read`/`write`
 * throws an Error naming the GPA, page and `place` (and tells the provider's trace) — never
 * silently. Provided by `@pvlab/isolation/host`, consumed by device models (`@pvlab/vmbus-ring`).
 */
export interface HostMemoryAccess {
  /** vTOM: GPA `g | boundary` is the shared alias of RAM GPA `g`. */
  readonly boundary: bigint;
  /** `true` when `read`/`write` (per `access`) of `[gpa, gpa + length)` would be allowed. */
  allows(gpa: bigint, length: number, access: 'read' | 'write'): boolean;
  read(gpa: bigint, length: number, place?: string): Uint8Array;
  write(gpa: bigint, data: Uint8Array, place?: string): void;
}

/** The host-memory port: absent in an ordinary VM, where the host reaches RAM by GPA. */
export const HOST_MEMORY = new ExtensionKey<HostMemoryAccess>('host-memory');
