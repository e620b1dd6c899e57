import { type CpuidResult, HvCpuidLeaf, type HvFeatureName } from '@pvlab/hypercall';
import { HOST_MEMORY, type HostExtension } from '@pvlab/hypercall/host';
import {
  encodeIsolationConfig,
  type IsolationConfig,
  IsolationType,
  type IsolationTypeName,
  sharedGpaBoundary,
} from '../wire/isolation-config.js';
import { modifySparseGpaPageHostVisibility, querySparseGpaPageHostVisibility } from './hypercalls.js';
import {
  CONVERSION_CONTENTS,
  type ConversionContents,
  DEFAULT_SCRAMBLE_SEED,
  PageScrambler,
} from './scramble.js';
import { isolationSnapshotPart } from './snapshot.js';
import {
  ISOLATION_PACKAGE,
  ISOLATION_STATE,
  IsolationHostState,
  isolationHostState,
  type ReadOnlyVisibilityPolicy,
} from './state.js';

/** Feature bits the package exposes: the Isolation privilege (CPUID 0x40000003 EBX bit 22). */
export const ISOLATION_FEATURES: readonly HvFeatureName[] = ['Isolation'];

/** Options of an isolation VM (`createVm({ isolation })`). */
export interface IsolationOptions {
  /** boundary (vTOM) = 1 << bits; 1 << bits must be ≥ the RAM size. */
  readonly sharedGpaBoundaryBits: number;
  /** EBX 3:0; default `SNP`. */
  readonly isolationType?: IsolationTypeName | number;
  /** EAX bit 0; default `true` (vTOM mode with a paravisor, spec 05 rule 2). */
  readonly paravisorPresent?: boolean;
  /** EBX bit 5; default `true`. Fully enlightened TDX reports 0 (spec 05 rule 1). */
  readonly sharedGpaBoundaryActive?: boolean;
  /** How 0x00DB treats READ_ONLY; default `accept`. */
  readonly readOnlyVisibility?: ReadOnlyVisibilityPolicy;
  /** What a conversion leaves in a page; default `scramble`. */
  readonly conversion?: ConversionContents;
  /** Seed of the scrambler (u32); default `DEFAULT_SCRAMBLE_SEED`. */
  readonly seed?: number;
  /** Backing store of the visibility map (one byte per page), e.g. restored or shared with threads. */
  readonly visibilityBuffer?: SharedArrayBuffer;
}

/** The isolation `HostExtension`, plus the CPUID leaf the partition must report. */
export interface IsolationExtension extends HostExtension {
  /** The decoded leaf 0x4000000C this VM reports. */
  readonly config: IsolationConfig;
  /** The boundary (vTOM). */
  readonly boundary: bigint;
  /** Pass as `PartitionConfig.extraCpuidLeaves`: leaf 0x4000000C. */
  readonly cpuidLeaves: ReadonlyMap<number, CpuidResult>;
}

const POLICIES: readonly ReadOnlyVisibilityPolicy[] = ['accept', 'refuse'];

/** Validates the options (host/user errors throw one-line RangeErrors) and decodes them. */
export function isolationConfigOf(options: IsolationOptions): IsolationConfig {
  const bits = options.sharedGpaBoundaryBits;
  if (!Number.isInteger(bits) || bits < 12 || bits > 63) {
    throw new RangeError(
      `isolation sharedGpaBoundaryBits ${String(bits)} is not accepted: use an integer 12..63`,
    );
  }
  const type = options.isolationType ?? 'SNP';
  const isolationType = typeof type === 'number' ? type : IsolationType[type];
  if (
    isolationType === undefined ||
    !Number.isInteger(isolationType) ||
    isolationType < 0 ||
    isolationType > 15
  ) {
    throw new RangeError(
      `isolation type ${String(type)} is not accepted: use ${Object.keys(IsolationType).join(', ')} or 0..15`,
    );
  }
  return {
    paravisorPresent: options.paravisorPresent ?? true,
    isolationType,
    sharedGpaBoundaryActive: options.sharedGpaBoundaryActive ?? true,
    sharedGpaBoundaryBits: bits,
  };
}

/**
 * The isolation host side: exposes the Isolation privilege and leaf 0x4000000C (through
 * `cpuidLeaves`, which the partition needs at construction), registers 0x00DB and 0x011C, and
 * keeps an `IsolationHostState` under `isolation`. Bad options throw a RangeError naming them.
 */
export function isolationExtension(options: IsolationOptions): IsolationExtension {
  const config = isolationConfigOf(options);
  const boundary = sharedGpaBoundary(config.sharedGpaBoundaryBits);
  const readOnlyVisibility = options.readOnlyVisibility ?? 'accept';
  if (!POLICIES.includes(readOnlyVisibility)) {
    throw new RangeError(
      `readOnlyVisibility '${String(readOnlyVisibility)}' is not accepted: use ${POLICIES.join(' or ')}`,
    );
  }
  const conversion = options.conversion ?? 'scramble';
  if (!CONVERSION_CONTENTS.includes(conversion)) {
    throw new RangeError(
      `conversion '${String(conversion)}' is not accepted: use ${CONVERSION_CONTENTS.join(' or ')}`,
    );
  }
  const seed = options.seed ?? DEFAULT_SCRAMBLE_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`isolation seed ${seed} is not accepted: use an integer 0..0xffffffff`);
  }
  return {
    name: ISOLATION_PACKAGE,
    features: ISOLATION_FEATURES,
    config,
    boundary,
    cpuidLeaves: new Map([[HvCpuidLeaf.ISOLATION_CONFIG, encodeIsolationConfig(config)]]),
    install(partition) {
      const ram = partition.memory;
      if (BigInt(ram.size) > boundary) {
        throw new RangeError(
          `shared GPA boundary 0x${boundary.toString(16)} (bits ${config.sharedGpaBoundaryBits}) is below the end of RAM 0x${ram.size.toString(16)}: use more boundary bits`,
        );
      }
      const buffer = options.visibilityBuffer;
      if (buffer !== undefined && buffer.byteLength * 4096 !== ram.size) {
        throw new RangeError(
          `visibilityBuffer of ${buffer.byteLength} bytes does not cover ${ram.size} bytes of RAM: use one byte per 4 KiB page`,
        );
      }
      const state = new IsolationHostState({
        config,
        boundary,
        ram,
        scrambler: new PageScrambler(conversion, seed),
        readOnlyVisibility,
        visibilityBuffer: buffer,
      });
      partition.setExtensionState(ISOLATION_STATE, state);
      // Device models (VMBus) reach guest memory through the host's view, not around it.
      partition.setExtensionState(HOST_MEMORY, state.hostMemory);
      partition.dispatcher.register(modifySparseGpaPageHostVisibility(state));
      partition.dispatcher.register(querySparseGpaPageHostVisibility(state));
    },
    snapshotPart: (partition) => isolationSnapshotPart(isolationHostState(partition)),
  };
}
