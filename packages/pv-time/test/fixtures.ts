import { GuestMemory } from '@pvlab/hypercall';
import type { SmcccGuestCpu } from '../src/guest/index.ts';
import {
  installPvTime,
  PvTimeHost,
  type PvTimeHostOptions,
  SmcccConduit,
  type SmcccConduitOptions,
} from '../src/host/index.ts';

/** 64 KiB of RAM, 4 vCPUs. */
export const RAM_BYTES = 0x1_0000;
export const VCPUS = 4;
/** Rule 8: the records share one 64 KiB-aligned region, 64 bytes apart (here the last 4 KiB page). */
export const RECORDS_BASE = 0xf000n;
export const recordIpa = (vcpu: number): bigint => RECORDS_BASE + 64n * BigInt(vcpu);

/** A fresh VM per case: memory, an SMCCC conduit and the PV-time host installed in it. */
export class TestVm {
  readonly memory: GuestMemory;
  readonly conduit: SmcccConduit;
  readonly pvTime: PvTimeHost;

  constructor(
    options: {
      pvTime?: PvTimeHostOptions;
      conduit?: Partial<SmcccConduitOptions>;
      memory?: GuestMemory;
    } = {},
  ) {
    this.memory = options.memory ?? new GuestMemory(RAM_BYTES);
    this.conduit = new SmcccConduit({ vcpus: VCPUS, ...options.conduit });
    this.pvTime = new PvTimeHost(this.memory, VCPUS, options.pvTime);
    installPvTime(this.conduit, this.pvTime);
  }

  /** Sets every vCPU's record IPA, as a VMM does before the first run. */
  withRecords(): this {
    for (let i = 0; i < VCPUS; i++) this.pvTime.setStolenTimeIpa(i, recordIpa(i));
    return this;
  }

  smccc(vcpu: number, functionId: number, ...args: bigint[]): bigint[] {
    return this.conduit.call(vcpu, functionId, args);
  }

  /** The guest's view of vCPU `i`. */
  cpu(vcpu: number): SmcccGuestCpu {
    return { smccc: (fid, ...args) => this.smccc(vcpu, fid, ...args), memory: this.memory };
  }

  /** Every record's 64 bytes, for "only the target changed" checks. */
  records(): number[][] {
    return Array.from({ length: VCPUS }, (_, i) => [...this.memory.read(recordIpa(i), 64)]);
  }
}
