import type { GuestMemory } from '@pvlab/hypercall';
import { SmcccFunction } from '../wire/ids.js';
import { SMCCC_RET_NOT_SUPPORTED } from '../wire/return-codes.js';
import {
  STOLEN_TIME_ATTRIBUTES,
  STOLEN_TIME_REVISION,
  StolenTimeRecord,
} from '../wire/stolen-time-record.js';
import type { SmcccGuestCpu } from './cpu.js';

/** A CPU's mapped stolen-time record. */
export interface StealClock {
  /** The record's IPA, as PV_TIME_ST returned it. */
  readonly ipa: bigint;
  /** Reads StolenTime with one 64-bit load (rule 6). */
  read(): bigint;
}

/** The result of `initStealClock`: the clock, or why this CPU has none. */
export type StealClockInit =
  | { readonly ok: true; readonly clock: StealClock }
  /** PV_TIME_ST answered NOT_SUPPORTED; Linux returns −EINVAL. */
  | { readonly ok: false; readonly errno: 'EINVAL'; readonly x0: bigint }
  /** The record has a revision or attributes this guest does not know; Linux warns once, −ENXIO. */
  | {
      readonly ok: false;
      readonly errno: 'ENXIO';
      readonly ipa: bigint;
      readonly revision: number;
      readonly attributes: number;
    };

/**
 * Linux's `stolen_time_cpu_online` (spec 06 rule 5), run on each CPU as it comes online: call
 * PV_TIME_ST; NOT_SUPPORTED fails; otherwise "map" the 64 bytes at the returned IPA and refuse a
 * record whose revision or attributes are not 0. As in Linux only −1 counts as failure: any other
 * X0 is taken as the IPA (a host that returns a bad one makes the load fault).
 */
export function initStealClock(cpu: SmcccGuestCpu): StealClockInit {
  const x0 = cpu.smccc(SmcccFunction.PV_TIME_ST)[0] ?? SMCCC_RET_NOT_SUPPORTED;
  if (x0 === SMCCC_RET_NOT_SUPPORTED) return { ok: false, errno: 'EINVAL', x0 };
  const ipa = x0;
  const revision = cpu.memory.readU32(ipa + BigInt(StolenTimeRecord.revision));
  const attributes = cpu.memory.readU32(ipa + BigInt(StolenTimeRecord.attributes));
  if (revision !== STOLEN_TIME_REVISION || attributes !== STOLEN_TIME_ATTRIBUTES) {
    return { ok: false, errno: 'ENXIO', ipa, revision, attributes };
  }
  const memory = cpu.memory;
  return { ok: true, clock: { ipa, read: () => readStolenTime(memory, ipa) } };
}

/**
 * `para_steal_clock` for a record at `ipa`: one little-endian 64-bit load of StolenTime
 * (single-copy atomic; the guest never writes the record).
 */
export function readStolenTime(memory: Pick<GuestMemory, 'readU64'>, ipa: bigint): bigint {
  return memory.readU64(ipa + BigInt(StolenTimeRecord.stolenTime));
}

/**
 * Per-CPU steal clocks as Linux keeps them (`stolen_time_region`): a CPU without a mapping reads
 * 0 (before it came online, after it went offline, or when its setup failed).
 */
export class StealClocks {
  readonly #clocks = new Map<number, StealClock>();

  /** Records `cpu`'s clock after a successful `initStealClock`. */
  online(cpu: number, clock: StealClock): void {
    this.#clocks.set(cpu, clock);
  }

  /** Drops `cpu`'s mapping (CPU offline). */
  offline(cpu: number): void {
    this.#clocks.delete(cpu);
  }

  /** `cpu`'s stolen time in ns, 0 without a mapping. */
  read(cpu: number): bigint {
    return this.#clocks.get(cpu)?.read() ?? 0n;
  }

  /** Every mapped CPU with its stolen time, ascending by CPU: what a per-CPU steal summary prints. */
  summary(): { readonly cpu: number; readonly ipa: bigint; readonly stolenNs: bigint }[] {
    return [...this.#clocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([cpu, clock]) => ({ cpu, ipa: clock.ipa, stolenNs: clock.read() }));
  }
}
