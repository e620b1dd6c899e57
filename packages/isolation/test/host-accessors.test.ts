import { GuestMemory, isGuestFault } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { IsolatedGuestMemory, isolationExtension, VisibilityMap } from '../src/host/index.ts';
import { HostAccessError, IsolationFault } from '../src/index.ts';
import { BOUNDARY, RAM_BYTES, TestVm } from './fixtures.ts';

const PRIVATE_PFN = 0x20;
const SHARED_PFN = 0x21;
const READ_ONLY_PFN = 0x22;
const gpaOf = (pfn: number) => BigInt(pfn) << 12n;
const aliasOf = (pfn: number) => gpaOf(pfn) | BOUNDARY;

/** The openvmm guest-memory self-test, as a matrix: each cell reads or writes one byte. */
function matrixVm(): TestVm {
  const vm = new TestVm();
  vm.setVisibility([SHARED_PFN], 3);
  vm.setVisibility([READ_ONLY_PFN], 1);
  for (const pfn of [PRIVATE_PFN, SHARED_PFN, READ_ONLY_PFN]) vm.ram.writeU8(gpaOf(pfn) + 5n, pfn);
  return vm;
}

type Outcome = 'ok' | 'IsolationFault' | 'HostAccessError';
function outcome(f: () => unknown): Outcome {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof IsolationFault) return 'IsolationFault';
    if (e instanceof HostAccessError) return 'HostAccessError';
    throw e;
  }
}

describe('self-test matrix (spec 05 rule 3; openvmm guest-memory self-test)', () => {
  it.each<[string, number, 'private' | 'alias', Outcome, Outcome]>([
    ['private page below the boundary', PRIVATE_PFN, 'private', 'ok', 'ok'],
    ['private page through the alias', PRIVATE_PFN, 'alias', 'IsolationFault', 'IsolationFault'],
    ['shared page through the alias', SHARED_PFN, 'alias', 'ok', 'ok'],
    ['shared page below the boundary', SHARED_PFN, 'private', 'IsolationFault', 'IsolationFault'],
    ['read-only page through the alias (the guest may write it)', READ_ONLY_PFN, 'alias', 'ok', 'ok'],
    ['read-only page below the boundary', READ_ONLY_PFN, 'private', 'IsolationFault', 'IsolationFault'],
  ])('guest: %s → read %s, write %s', (_name, pfn, via, read, write) => {
    const vm = matrixVm();
    const mem = vm.state.guestMemory;
    const gpa = (via === 'alias' ? aliasOf(pfn) : gpaOf(pfn)) + 5n;
    expect([outcome(() => mem.read(gpa, 1)), outcome(() => mem.write(gpa, Uint8Array.of(9)))]).toEqual([
      read,
      write,
    ]);
    if (read === 'ok') expect(vm.ram.readU8(gpaOf(pfn) + 5n)).toBe(9);
  });

  it.each<[string, number, 'private' | 'alias', Outcome, Outcome]>([
    ['private page through the alias', PRIVATE_PFN, 'alias', 'HostAccessError', 'HostAccessError'],
    ['private page below the boundary', PRIVATE_PFN, 'private', 'HostAccessError', 'HostAccessError'],
    ['shared page through the alias', SHARED_PFN, 'alias', 'ok', 'ok'],
    ['shared page below the boundary', SHARED_PFN, 'private', 'HostAccessError', 'HostAccessError'],
    ['read-only page through the alias', READ_ONLY_PFN, 'alias', 'ok', 'HostAccessError'],
    ['read-only page below the boundary', READ_ONLY_PFN, 'private', 'HostAccessError', 'HostAccessError'],
  ])('host: %s → read %s, write %s', (_name, pfn, via, read, write) => {
    const vm = matrixVm();
    const host = vm.state.hostMemory;
    const gpa = (via === 'alias' ? aliasOf(pfn) : gpaOf(pfn)) + 5n;
    expect([outcome(() => host.read(gpa, 1)), outcome(() => host.write(gpa, Uint8Array.of(9)))]).toEqual([
      read,
      write,
    ]);
    if (read === 'ok') expect(host.read(gpa, 1)[0]).toBe(write === 'ok' ? 9 : pfn);
  });

  it('guest and host see the same bytes of a shared page', () => {
    const vm = matrixVm();
    vm.state.hostMemory.writeU64(aliasOf(SHARED_PFN) + 8n, 0x1122_3344_5566_7788n);
    expect(vm.state.guestMemory.readU64(aliasOf(SHARED_PFN) + 8n)).toBe(0x1122_3344_5566_7788n);
    vm.state.guestMemory.writeU32(aliasOf(SHARED_PFN) + 16n, 0xdead_beef);
    expect(vm.state.hostMemory.readU32(aliasOf(SHARED_PFN) + 16n)).toBe(0xdead_beef);
  });
});

describe('IsolatedGuestMemory faults', () => {
  it('an IsolationFault is a MEMORY GuestFault naming the GPA, the page, its visibility and the right GPA', () => {
    const vm = matrixVm();
    let fault: unknown;
    try {
      vm.state.guestMemory.write(gpaOf(SHARED_PFN) + 0x10n, new Uint8Array(4), 'VMBus monitor page');
    } catch (e) {
      fault = e;
    }
    expect(isGuestFault(fault, 'MEMORY')).toBe(true);
    expect(fault).toBeInstanceOf(IsolationFault);
    const f = fault as IsolationFault;
    expect(f.message).toBe(
      '#MEMORY: VMBus monitor page: guest write of GPA 0x21010 through the private alias, but page 0x21 is shared (READ_WRITE): use 0x1000021010 (the shared alias, GPA | boundary)',
    );
    expect(f.details).toMatchObject({
      gpa: 0x21010n,
      pfn: 0x21n,
      visibility: 3,
      side: 'private',
      correctGpa: 0x10_0002_1010n,
    });
    expect(f.gpa).toBe(0x21010n);
    expect(f.message).not.toContain('\n');
  });

  it('an access spanning a good and a bad page faults at the bad page', () => {
    const vm = matrixVm();
    const err = ((): IsolationFault | undefined => {
      try {
        vm.state.guestMemory.read(aliasOf(READ_ONLY_PFN) + 0xff0n, 0x20);
        return undefined;
      } catch (e) {
        return e as IsolationFault;
      }
    })();
    // 0x22 (READ_ONLY) is shared, so its bytes are fine; 0x23 is private.
    expect(err?.details).toMatchObject({
      pfn: 0x23n,
      gpa: aliasOf(0x23),
      side: 'shared',
      correctGpa: gpaOf(0x23),
    });
    expect(() => vm.state.guestMemory.read(aliasOf(SHARED_PFN) + 0xff0n, 0x20)).not.toThrow();
  });

  it('GPAs with no RAM behind them (either side) are a MEMORY GuestFault, not an IsolationFault', () => {
    const mem = matrixVm().state.guestMemory;
    for (const gpa of [BigInt(RAM_BYTES), BOUNDARY + BigInt(RAM_BYTES) - 4n, BOUNDARY * 2n, -1n]) {
      let e: unknown;
      try {
        mem.read(gpa, 8);
      } catch (x) {
        e = x;
      }
      expect(isGuestFault(e, 'MEMORY')).toBe(true);
      expect(e).not.toBeInstanceOf(IsolationFault);
    }
  });

  it('tells the trace hook and counts it', () => {
    const vm = matrixVm();
    expect(() => vm.state.guestMemory.readU8(aliasOf(PRIVATE_PFN))).toThrow(IsolationFault);
    expect(vm.events.map((e) => e.kind)).toEqual(['guest-alias-fault']);
    expect(vm.state.counters.guestAliasFaults).toBe(1);
  });

  it('a vCPU thread builds the same view from the shared buffers', () => {
    const vm = matrixVm();
    const other = IsolatedGuestMemory.fromShared(vm.state.shared);
    expect(other.readU8(aliasOf(SHARED_PFN) + 5n)).toBe(SHARED_PFN);
    vm.setVisibility([SHARED_PFN], 0);
    expect(() => other.readU8(aliasOf(SHARED_PFN) + 5n)).toThrow(IsolationFault);
  });

  it('refuses a visibility map or boundary that does not fit the RAM (host errors)', () => {
    const memory = new GuestMemory(0x4000);
    expect(
      () => new IsolatedGuestMemory({ memory, visibility: new VisibilityMap(0x8000), boundary: 1n << 20n }),
    ).toThrow(/visibility map of 8 pages does not cover 16384 bytes/);
    expect(
      () => new IsolatedGuestMemory({ memory, visibility: new VisibilityMap(0x4000), boundary: 0x1000n }),
    ).toThrow(/boundary 0x1000 is below the end of RAM 0x4000/);
  });
});

describe('HostMemoryView refusals', () => {
  const refusal = (f: () => unknown): HostAccessError => {
    try {
      f();
    } catch (e) {
      if (e instanceof HostAccessError) return e;
      throw e;
    }
    throw new Error('expected a HostAccessError');
  };

  it.each([
    [
      'a private page through the alias',
      (vm: TestVm) => vm.state.hostMemory.read(aliasOf(PRIVATE_PFN), 16),
      'not-visible',
      'host read of GPA 0x1000020000 (+16 bytes) refused: page 0x20 (NOT_VISIBLE) is private; the host may read READ_ONLY/READ_WRITE pages and write READ_WRITE pages, only through the alias GPA | 0x1000000000',
    ],
    [
      'a write to a READ_ONLY page',
      (vm: TestVm) => vm.state.hostMemory.write(aliasOf(READ_ONLY_PFN), new Uint8Array(4)),
      'read-only',
      'host write of GPA 0x1000022000 (+4 bytes) refused: page 0x22 (READ_ONLY) is not host-writable; the host may read READ_ONLY/READ_WRITE pages and write READ_WRITE pages, only through the alias GPA | 0x1000000000',
    ],
    [
      'a private GPA (forgot the boundary)',
      (vm: TestVm) => vm.state.hostMemory.read(gpaOf(SHARED_PFN), 8, 'VMBus ring buffer'),
      'below-boundary',
      'VMBus ring buffer: host read of GPA 0x21000 (+8 bytes) refused: below the shared GPA boundary 0x1000000000, private space (page 0x21 (READ_WRITE)); the host may read READ_ONLY/READ_WRITE pages and write READ_WRITE pages, only through the alias GPA | 0x1000000000',
    ],
    [
      'an alias past RAM',
      (vm: TestVm) => vm.state.hostMemory.read(BOUNDARY + BigInt(RAM_BYTES), 1),
      'outside-ram',
      'host read of GPA 0x1000100000 (+1 bytes) refused: the alias names no RAM page; the host may read READ_ONLY/READ_WRITE pages and write READ_WRITE pages, only through the alias GPA | 0x1000000000',
    ],
  ])(
    '%s: one line naming the GPA, the page, its visibility and what is allowed',
    (_n, act, reason, message) => {
      const vm = matrixVm();
      const e = refusal(() => act(vm));
      expect(e.details.reason).toBe(reason);
      expect(e.message).toBe(message);
      expect(vm.events).toEqual([{ kind: 'host-access-refused', error: e }]);
      expect(vm.state.counters.hostAccessesRefused).toBe(1);
    },
  );

  it('a span is refused at its first non-visible page; allows() answers without throwing', () => {
    const vm = matrixVm();
    const host = vm.state.hostMemory;
    expect(refusal(() => host.read(aliasOf(READ_ONLY_PFN) + 0xff0n, 0x20)).details.pfn).toBe(0x23n);
    expect(host.allows(aliasOf(SHARED_PFN), 4096, 'write')).toBe(true);
    expect(host.allows(aliasOf(SHARED_PFN), 4097, 'read')).toBe(true); // runs into READ_ONLY 0x22
    expect(host.allows(aliasOf(SHARED_PFN), 4097, 'write')).toBe(false);
    expect(vm.events).toHaveLength(1);
  });

  it('a bad length is a RangeError (a host bug), not a refusal', () => {
    expect(() => matrixVm().state.hostMemory.read(aliasOf(SHARED_PFN), -1)).toThrow(RangeError);
  });

  it('aliasOfPage gives the GPA the host uses for a GPADL PFN (spec 05 rule 15)', () => {
    expect(matrixVm().state.hostMemory.aliasOfPage(0x21n)).toBe(0x10_0002_1000n);
  });
});

describe('isolationExtension options (host errors name the value and what is accepted)', () => {
  it.each([
    [{ sharedGpaBoundaryBits: 64 }, /sharedGpaBoundaryBits 64 is not accepted: use an integer 12\.\.63/],
    [
      { sharedGpaBoundaryBits: 36, isolationType: 'SEV' as never },
      /isolation type SEV is not accepted: use NONE, VBS, SNP, TDX/,
    ],
    [
      { sharedGpaBoundaryBits: 36, readOnlyVisibility: 'maybe' as never },
      /readOnlyVisibility 'maybe' .* accept or refuse/,
    ],
    [{ sharedGpaBoundaryBits: 36, conversion: 'keep' as never }, /conversion 'keep' .* scramble or zero/],
    [{ sharedGpaBoundaryBits: 36, seed: -1 }, /seed -1 is not accepted/],
  ])('%o', (options, message) => {
    expect(() => isolationExtension(options)).toThrow(message);
  });

  it('a boundary below the end of RAM is refused at install', () => {
    expect(() => new TestVm({ sharedGpaBoundaryBits: 16 })).toThrow(
      /boundary 0x10000 \(bits 16\) is below the end of RAM 0x100000/,
    );
  });

  it('exposes the leaf for PartitionConfig.extraCpuidLeaves', () => {
    const ext = isolationExtension({ sharedGpaBoundaryBits: 46 });
    expect(ext.boundary).toBe(0x4000_0000_0000n);
    expect([...ext.cpuidLeaves]).toEqual([[0x4000_000c, { eax: 1, ebx: 0xba2, ecx: 0, edx: 0 }]]);
    expect(ext.features).toEqual(['Isolation']);
  });
});
