import { fc, test } from '@fast-check/vitest';
import { GuestFault, GuestMemory } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  hasPvStealClock,
  initStealClock,
  readStolenTime,
  type SmcccGuestCpu,
  StealClocks,
} from '../src/guest/index.ts';
import { PV_TIME_ST_DRAFT_V4, SmcccFunction, writeStolenTimeRecord } from '../src/index.ts';
import { SMCCC_RET_NOT_SUPPORTED } from '../src/wire/return-codes.ts';
import { RAM_BYTES, recordIpa, TestVm, VCPUS } from './fixtures.ts';

const NS = SMCCC_RET_NOT_SUPPORTED;
const { SMCCC_VERSION, SMCCC_ARCH_FEATURES, PV_TIME_FEATURES, PV_TIME_ST } = SmcccFunction;

/** Wraps a CPU to record every call it makes (function id and args). */
function recording(cpu: SmcccGuestCpu): { cpu: SmcccGuestCpu; calls: [number, ...bigint[]][] } {
  const calls: [number, ...bigint[]][] = [];
  return {
    calls,
    cpu: {
      memory: cpu.memory,
      smccc: (fid, ...args) => {
        calls.push([fid, ...args]);
        return cpu.smccc(fid, ...args);
      },
    },
  };
}

describe('hasPvStealClock — rule 2 (Linux has_pv_steal_clock)', () => {
  it('VERSION ≥ 1.1 → ARCH_FEATURES(0xC5000020) → PV_TIME_FEATURES(0xC5000021): available', () => {
    const vm = new TestVm().withRecords();
    const { cpu, calls } = recording(vm.cpu(0));
    expect(hasPvStealClock(cpu)).toEqual({ available: true, smcccVersion: { major: 1, minor: 1 } });
    expect(calls).toEqual([
      [SMCCC_VERSION],
      [SMCCC_ARCH_FEATURES, 0xc500_0020n],
      [PV_TIME_FEATURES, 0xc500_0021n],
    ]);
  });

  it.each([
    [
      'SMCCC 1.0 conduit (SMCCC_VERSION NOT_SUPPORTED)',
      () => new TestVm({ conduit: { version: { major: 1, minor: 0 } } }).withRecords(),
      'SMCCC_VERSION',
      { major: 1, minor: 0 },
      1,
    ],
    [
      'service hidden (ARCH_FEATURES says NOT_SUPPORTED)',
      () => new TestVm({ pvTime: { hidden: true } }).withRecords(),
      'SMCCC_ARCH_FEATURES',
      { major: 1, minor: 1 },
      2,
    ],
    [
      'no IPA set by the VMM (PV_TIME_FEATURES says NOT_SUPPORTED)',
      () => new TestVm(),
      'PV_TIME_FEATURES',
      { major: 1, minor: 1 },
      3,
    ],
  ] as const)('%s: unavailable, stops at that step', (_, makeVm, failedStep, smcccVersion, callsMade) => {
    const { cpu, calls } = recording(makeVm().cpu(1));
    expect(hasPvStealClock(cpu)).toEqual({ available: false, smcccVersion, failedStep, x0: NS });
    expect(calls).toHaveLength(callsMade);
  });

  it('a conduit that reports a version below 1.1 in a positive X0 fails the first step too', () => {
    const cpu: SmcccGuestCpu = { memory: new GuestMemory(RAM_BYTES), smccc: () => [0x10000n, 0n, 0n, 0n] };
    expect(hasPvStealClock(cpu)).toMatchObject({
      available: false,
      failedStep: 'SMCCC_VERSION',
      x0: 0x10000n,
    });
  });

  it('only SUCCESS counts: any other ARCH_FEATURES value (e.g. 1) fails', () => {
    const cpu: SmcccGuestCpu = {
      memory: new GuestMemory(RAM_BYTES),
      smccc: (fid) => [fid === SMCCC_VERSION ? 0x10002n : 1n],
    };
    expect(hasPvStealClock(cpu)).toMatchObject({
      available: false,
      failedStep: 'SMCCC_ARCH_FEATURES',
      x0: 1n,
    });
  });
});

describe('initStealClock — rule 5 (Linux stolen_time_cpu_online)', () => {
  it('PV_TIME_ST gives the IPA; the zero-filled record is accepted and reads 0', () => {
    const vm = new TestVm().withRecords();
    const init = initStealClock(vm.cpu(2));
    expect(init.ok).toBe(true);
    if (!init.ok) return;
    expect(init.clock.ipa).toBe(recordIpa(2));
    expect(init.clock.read()).toBe(0n);
  });

  it('EINVAL when PV_TIME_ST answers NOT_SUPPORTED (no IPA)', () => {
    expect(initStealClock(new TestVm().cpu(0))).toEqual({ ok: false, errno: 'EINVAL', x0: NS });
  });

  it.each([
    ['revision 1', 1, 0],
    ['attributes 1', 0, 1],
    ['both', 0xffff_ffff, 0x8000_0000],
  ])('ENXIO for a record with %s (a revision this guest does not know)', (_, revision, attributes) => {
    const memory = new GuestMemory(RAM_BYTES);
    writeStolenTimeRecord(memory.view, 0x40, { revision, attributes, stolenTime: 5n });
    const cpu: SmcccGuestCpu = { memory, smccc: (fid) => [fid === PV_TIME_ST ? 0x40n : NS] };
    expect(initStealClock(cpu)).toEqual({ ok: false, errno: 'ENXIO', ipa: 0x40n, revision, attributes });
  });

  it('calls PV_TIME_ST (0xC5000021), never the draft id 0xC5000022', () => {
    const { cpu, calls } = recording(new TestVm().withRecords().cpu(0));
    initStealClock(cpu);
    expect(calls).toEqual([[PV_TIME_ST]]);
    expect(calls.flat()).not.toContain(PV_TIME_ST_DRAFT_V4);
  });

  it('as in Linux only −1 fails: another X0 is taken as the IPA, and a bad one faults on the load', () => {
    const cpu: SmcccGuestCpu = { memory: new GuestMemory(RAM_BYTES), smccc: () => [0xffff_ffff_ffff_fffen] };
    expect(() => initStealClock(cpu)).toThrow(GuestFault);
  });
});

describe('reading stolen time — rule 6', () => {
  it('one 64-bit little-endian load of StolenTime, no other access', () => {
    const memory = new GuestMemory(RAM_BYTES);
    memory.bytes.set([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01], 0x88);
    const loads: string[] = [];
    const spy = {
      readU64: (gpa: bigint) => {
        loads.push(`u64@0x${gpa.toString(16)}`);
        return memory.readU64(gpa);
      },
    };
    expect(readStolenTime(spy, 0x80n)).toBe(0x0123_4567_89ab_cdefn);
    expect(loads).toEqual(['u64@0x88']);
  });

  it('grows after preemption, per CPU (end to end: VMM sets IPAs, guest probes and maps, host preempts)', () => {
    const vm = new TestVm().withRecords();
    const clocks = new StealClocks();
    expect(hasPvStealClock(vm.cpu(0)).available).toBe(true);
    for (let i = 0; i < VCPUS; i++) {
      const init = initStealClock(vm.cpu(i));
      if (!init.ok) throw new Error(`CPU ${i}: ${init.errno}`);
      clocks.online(i, init.clock);
    }
    vm.pvTime.preempt(1, 2_000_000n);
    vm.pvTime.preempt(3, 5n);
    vm.pvTime.accountSteal(1, 10n); // not yet published: CPU 1 has not run again
    expect(clocks.summary()).toEqual([
      { cpu: 0, ipa: recordIpa(0), stolenNs: 0n },
      { cpu: 1, ipa: recordIpa(1), stolenNs: 2_000_000n },
      { cpu: 2, ipa: recordIpa(2), stolenNs: 0n },
      { cpu: 3, ipa: recordIpa(3), stolenNs: 5n },
    ]);
    vm.pvTime.beforeRun(1);
    expect(clocks.read(1)).toBe(2_000_010n);
  });

  it('a CPU without a mapping reads 0 (not online yet, offline, or setup failed)', () => {
    const vm = new TestVm().withRecords();
    const clocks = new StealClocks();
    const init = initStealClock(vm.cpu(0));
    if (!init.ok) throw new Error('setup failed');
    clocks.online(0, init.clock);
    vm.pvTime.preempt(0, 9n);
    expect(clocks.read(0)).toBe(9n);
    expect(clocks.read(1)).toBe(0n);
    clocks.offline(0);
    expect(clocks.read(0)).toBe(0n);
    expect(clocks.summary()).toEqual([]);
  });

  test.prop([fc.array(fc.bigInt({ min: 0n, max: 1n << 40n }), { maxLength: 20 })])(
    'the guest clock reads the sum of the preemptions since PV_TIME_ST and never goes back',
    (preemptions) => {
      const vm = new TestVm().withRecords();
      const init = initStealClock(vm.cpu(0));
      if (!init.ok) throw new Error('setup failed');
      let sum = 0n;
      let last = 0n;
      for (const ns of preemptions) {
        vm.pvTime.preempt(0, ns);
        sum += ns;
        const now = init.clock.read();
        expect(now).toBe(sum);
        expect(now >= last).toBe(true);
        last = now;
      }
    },
  );
});
