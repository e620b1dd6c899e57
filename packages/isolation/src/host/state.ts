import type { GuestMemory } from '@pvlab/hypercall';
import { ExtensionKey, type HvPartition } from '@pvlab/hypercall/host';
import type { HostAccessError, IsolationFault } from '../errors.js';
import type { IsolationConfig } from '../wire/isolation-config.js';
import { HostMemoryView } from './host-memory.js';
import { IsolatedGuestMemory } from './isolated-guest-memory.js';
import type { PageScrambler } from './scramble.js';
import { VisibilityMap } from './visibility-map.js';

/** The package name, under which the host state is kept in the partition. */
export const ISOLATION_PACKAGE = 'isolation';

/** How HvCallModifySparseGpaPageHostVisibility treats HostVisibility 1 (READ_ONLY). */
export type ReadOnlyVisibilityPolicy =
  /** Accepted, as the TLFS and Linux's enum allow: the host may read, not write. */
  | 'accept'
  /** INVALID_PARAMETER, as openvmm (hardware cannot express host-read-only, spec 05 rule 6). */
  | 'refuse';

/** Something the trace should show. */
export type IsolationEvent =
  | {
      readonly kind: 'visibility-changed';
      readonly vp: number;
      readonly visibility: number;
      /** PFNs the call named. */
      readonly pages: number;
      /** Pages whose private/shared state flipped (their contents were scrambled). */
      readonly converted: number;
    }
  | { readonly kind: 'host-access-refused'; readonly error: HostAccessError }
  | { readonly kind: 'guest-alias-fault'; readonly fault: IsolationFault };

/** Counters for tests and the summary table. */
export interface IsolationCounters {
  /** 0x00DB invocations that returned SUCCESS. */
  modifyCalls: number;
  /** 0x011C invocations that returned SUCCESS. */
  queryCalls: number;
  /** Pages converted private↔shared (scrambled). */
  pagesConverted: number;
  hostAccessesRefused: number;
  guestAliasFaults: number;
}

/**
 * The isolation host state of one partition: the boundary, the visibility bitmap (shared memory),
 * the scrambler, and the two memory views — `guestMemory` (what `vm.memory` should be) and
 * `hostMemory` (what `vm.hostMemory` should be).
 */
export class IsolationHostState {
  readonly config: IsolationConfig;
  readonly boundary: bigint;
  readonly ram: GuestMemory;
  readonly visibility: VisibilityMap;
  readonly scrambler: PageScrambler;
  readonly readOnlyVisibility: ReadOnlyVisibilityPolicy;
  readonly guestMemory: IsolatedGuestMemory;
  readonly hostMemory: HostMemoryView;
  readonly counters: IsolationCounters = {
    modifyCalls: 0,
    queryCalls: 0,
    pagesConverted: 0,
    hostAccessesRefused: 0,
    guestAliasFaults: 0,
  };
  readonly #listeners: ((event: IsolationEvent) => void)[] = [];

  constructor(options: {
    config: IsolationConfig;
    boundary: bigint;
    ram: GuestMemory;
    scrambler: PageScrambler;
    readOnlyVisibility: ReadOnlyVisibilityPolicy;
    visibilityBuffer?: SharedArrayBuffer | undefined;
  }) {
    this.config = options.config;
    this.boundary = options.boundary;
    this.ram = options.ram;
    this.scrambler = options.scrambler;
    this.readOnlyVisibility = options.readOnlyVisibility;
    this.visibility = new VisibilityMap(options.visibilityBuffer ?? options.ram.size);
    this.guestMemory = new IsolatedGuestMemory({
      memory: options.ram,
      visibility: this.visibility,
      boundary: this.boundary,
      onFault: (fault) => {
        this.counters.guestAliasFaults++;
        this.emit({ kind: 'guest-alias-fault', fault });
      },
    });
    this.hostMemory = new HostMemoryView(options.ram, this.visibility, this.boundary, (error) => {
      this.counters.hostAccessesRefused++;
      this.emit({ kind: 'host-access-refused', error });
    });
  }

  /** Calls `listener` for every isolation event; returns a function that removes it. */
  onEvent(listener: (event: IsolationEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Tells every listener. */
  emit(event: IsolationEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** What a vCPU thread needs to build its own `IsolatedGuestMemory` (`IsolatedGuestMemory.fromShared`). */
  get shared(): {
    memoryBuffer: SharedArrayBuffer;
    ramBytes: number;
    visibilityBuffer: SharedArrayBuffer;
    sharedGpaBoundaryBits: number;
  } {
    return {
      memoryBuffer: this.ram.buffer,
      ramBytes: this.ram.size,
      visibilityBuffer: this.visibility.buffer,
      sharedGpaBoundaryBits: this.config.sharedGpaBoundaryBits,
    };
  }
}

/** The key of the isolation host state in a partition. */
export const ISOLATION_STATE = new ExtensionKey<IsolationHostState>(ISOLATION_PACKAGE);

/** The isolation host state installed in `partition`, or an Error when the package is not installed. */
export function isolationHostState(partition: HvPartition): IsolationHostState {
  const state = partition.extensionState(ISOLATION_STATE);
  if (state === undefined)
    throw new Error(`the ${ISOLATION_PACKAGE} package is not installed in this partition`);
  return state;
}
