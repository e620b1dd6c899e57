import { decodeSmcccFunctionId, isSmcccFunctionId, SMCCC_SVE_STATE_HINT } from '../wire/function-id.js';
import { SmcccFunction, smcccFunctionName } from '../wire/ids.js';
import { SMCCC_RET_NOT_SUPPORTED, SMCCC_RET_SUCCESS, smcccRegister } from '../wire/return-codes.js';
import {
  encodeSmcccVersion,
  SMCCC_VERSION_1_1,
  type SmcccVersion,
  smcccVersionAtLeast,
} from '../wire/version.js';

/** X0..X3 after a call, each an unsigned 64-bit register value. */
export type SmcccRegisters = [x0: bigint, x1: bigint, x2: bigint, x3: bigint];

/**
 * What a service returns: X0 alone or X0..X3 (missing registers are 0). Values may be signed
 * (`-1n`); the conduit writes them sign-extended as u64 (spec 06 rule 9).
 */
export type SmcccServiceResult = bigint | readonly bigint[];

/** One SMCCC function the host implements. */
export interface SmcccService {
  /** The exact function id (u32) it answers. */
  readonly functionId: number;
  /** Name for traces; defaults to the spec name of the id. */
  readonly name?: string;
  /**
   * What SMCCC_ARCH_FEATURES reports for this id while the service is visible: a value (default
   * SUCCESS), or `false` when the function is discovered another way (KVM: PV_TIME_ST, found
   * through PV_TIME_FEATURES).
   */
  readonly archFeatures?: bigint | false;
  /** `false` hides the service: the call and ARCH_FEATURES answer NOT_SUPPORTED (KVM's firmware bitmaps). */
  visible?(vcpu: number): boolean;
  /**
   * Handles a call from `vcpu`. `args` are X1.. (W1.. zero-extended for an SMC32 id), always at
   * least 7 of them (absent ones are 0). Guest-controlled input must never make it throw.
   */
  call(vcpu: number, args: readonly bigint[]): SmcccServiceResult;
}

/** Options of an `SmcccConduit`. */
export interface SmcccConduitOptions {
  /** The number of vCPUs; `call` refuses other indexes. */
  readonly vcpus: number;
  /**
   * What SMCCC_VERSION reports (default 1.1). At 1.0 neither SMCCC_VERSION nor ARCH_FEATURES is
   * implemented (both answer NOT_SUPPORTED, which guests read as 1.0). From 1.3 on, the SVE-state
   * hint (bit 16) of a fast call's id is ignored when the id is looked up.
   */
  readonly version?: SmcccVersion;
}

/** The most argument registers an SMCCC call has (X1..X17, SMCCC 1.2). */
export const SMCCC_MAX_ARGS = 17;
/** Argument registers every service sees (X1..X7, SMCCC 1.1). */
const MIN_ARGS = 7;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const U32_MASK = 0xffff_ffffn;
const SMCCC_1_3: SmcccVersion = { major: 1, minor: 3 };

/**
 * The SMCCC conduit (HVC/SMC) of an arm64 VM: a registry of services keyed by function id.
 * `call` never throws on guest-controlled values: an id nothing answers is NOT_SUPPORTED.
 */
export class SmcccConduit {
  readonly vcpus: number;
  readonly version: SmcccVersion;
  readonly #services = new Map<number, SmcccService>();
  readonly #stripHint: boolean;

  constructor(options: SmcccConduitOptions) {
    const { vcpus } = options;
    if (!Number.isInteger(vcpus) || vcpus < 1) {
      throw new RangeError(`SmcccConduit vcpus = ${vcpus} is not accepted: use an integer ≥ 1`);
    }
    this.vcpus = vcpus;
    this.version = options.version ?? SMCCC_VERSION_1_1;
    const versionResult = encodeSmcccVersion(this.version); // throws on an impossible version
    this.#stripHint = smcccVersionAtLeast(this.version, SMCCC_1_3);
    if (smcccVersionAtLeast(this.version, SMCCC_VERSION_1_1)) {
      this.register({ functionId: SmcccFunction.SMCCC_VERSION, call: () => versionResult });
      this.register({
        functionId: SmcccFunction.SMCCC_ARCH_FEATURES,
        // SMC32: X1 arrives as W1, already zero-extended.
        call: (vcpu, args) => this.archFeatures(vcpu, Number(args[0] ?? 0n)),
      });
    }
  }

  /** Adds a service. Throws when its id is not a u32 or is already taken (a host bug). */
  register(service: SmcccService): void {
    const id = service.functionId;
    if (!isSmcccFunctionId(id)) {
      throw new RangeError(`SMCCC service function id ${id} is not accepted: use an integer 0..0xffffffff`);
    }
    const taken = this.#services.get(id);
    if (taken) {
      throw new Error(
        `SMCCC function id 0x${id.toString(16)} is already served by ${serviceName(taken)}; register each id once`,
      );
    }
    this.#services.set(id, service);
  }

  /** The service registered for `functionId`, if any. */
  service(functionId: number): SmcccService | undefined {
    return this.#services.get(functionId);
  }

  /** Every registered function id, ascending. */
  functionIds(): number[] {
    return [...this.#services.keys()].sort((a, b) => a - b);
  }

  /** The trace name of a function id: the service's name, the spec name, or `unknown 0x…`. */
  nameOf(functionId: number): string {
    const s = this.#services.get(functionId);
    return s ? serviceName(s) : smcccFunctionName(functionId);
  }

  /**
   * SMCCC_ARCH_FEATURES(`queried`) as `vcpu` sees it: the service's value when it is registered
   * and visible, NOT_SUPPORTED otherwise.
   */
  archFeatures(vcpu: number, queried: number): bigint {
    const s = this.#services.get(queried);
    if (!s || s.archFeatures === false || (s.visible && !s.visible(vcpu))) return SMCCC_RET_NOT_SUPPORTED;
    return smcccRegister(s.archFeatures ?? SMCCC_RET_SUCCESS);
  }

  /**
   * Runs an SMCCC call from `vcpu` and returns X0..X3 as unsigned 64-bit values. `functionId`
   * outside u32, args that are not u64, more than 17 args or a bad vCPU index are host-usage
   * errors (RangeError): a guest cannot produce them.
   */
  call(vcpu: number, functionId: number, args: readonly bigint[] = []): SmcccRegisters {
    this.#checkVcpu(vcpu);
    if (!isSmcccFunctionId(functionId)) {
      throw new RangeError(`SMCCC function id ${functionId} is not accepted: use an integer 0..0xffffffff`);
    }
    if (args.length > SMCCC_MAX_ARGS) {
      throw new RangeError(`SMCCC call with ${args.length} args is not accepted: at most ${SMCCC_MAX_ARGS}`);
    }
    args.forEach((a, i) => {
      if (typeof a !== 'bigint' || a < 0n || a > U64_MAX) {
        throw new RangeError(`SMCCC X${i + 1} = ${String(a)} is not accepted: use a bigint 0..2^64-1`);
      }
    });
    const id = functionId;
    const fields = decodeSmcccFunctionId(id);
    const lookup = this.#stripHint && fields.fast ? (id & ~SMCCC_SVE_STATE_HINT) >>> 0 : id;
    const service = this.#services.get(lookup);
    if (!service || (service.visible && !service.visible(vcpu))) return notSupported();
    // An SMC32 callee sees W registers: the upper halves of X1.. are not part of the call.
    const regs = Array.from({ length: Math.max(MIN_ARGS, args.length) }, (_, i) => {
      const a = args[i] ?? 0n;
      return fields.convention === 32 ? a & U32_MASK : a;
    });
    return toRegisters(service.call(vcpu, regs));
  }

  #checkVcpu(vcpu: number): void {
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.vcpus) {
      throw new RangeError(`vCPU ${vcpu} is not a vCPU of this VM: use 0..${this.vcpus - 1}`);
    }
  }
}

function serviceName(s: SmcccService): string {
  return s.name ?? smcccFunctionName(s.functionId);
}

function notSupported(): SmcccRegisters {
  return [SMCCC_RET_NOT_SUPPORTED, 0n, 0n, 0n];
}

function toRegisters(result: SmcccServiceResult): SmcccRegisters {
  if (typeof result === 'bigint') return [smcccRegister(result), 0n, 0n, 0n];
  return [
    smcccRegister(result[0] ?? SMCCC_RET_NOT_SUPPORTED),
    smcccRegister(result[1] ?? 0n),
    smcccRegister(result[2] ?? 0n),
    smcccRegister(result[3] ?? 0n),
  ];
}
