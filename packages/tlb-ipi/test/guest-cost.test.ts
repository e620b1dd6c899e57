import { describe, expect, it } from 'vitest';
import { type CostStrategy, ipiCost, shootdownCost, TLB_FLUSH_ALL } from '../src/guest/index.ts';

const pages4 = { pgd: 0x1000n, start: 0x7000_0000n, end: 0x7000_4000n };
const full = { pgd: 0x1000n, start: 0n, end: TLB_FLUSH_ALL } as const;

describe('shootdownCost — bytes of input and hypercalls per shootdown, Linux vs always-Ex', () => {
  it.each<[string, number[], typeof pages4 | typeof full, CostStrategy, string, number]>([
    ['VPs {1,2,3}, 4 pages', [1, 2, 3], pages4, 'linux', 'HvCallFlushVirtualAddressList', 32],
    ['VPs {1,2,3}, 4 pages', [1, 2, 3], pages4, 'always-ex', 'HvCallFlushVirtualAddressListEx', 48],
    ['VPs {1,2,3}, full', [1, 2, 3], full, 'linux', 'HvCallFlushVirtualAddressSpace', 24],
    ['VPs {1,2,3}, full', [1, 2, 3], full, 'always-ex', 'HvCallFlushVirtualAddressSpaceEx', 40],
    ['VPs {1,65}, 4 pages', [1, 65], pages4, 'linux', 'HvCallFlushVirtualAddressListEx', 56],
    ['VPs {1,65}, 4 pages', [1, 65], pages4, 'always-ex', 'HvCallFlushVirtualAddressListEx', 56],
    ['VPs {2,130}, full', [2, 130], full, 'linux', 'HvCallFlushVirtualAddressSpaceEx', 56],
    ['VPs {2,130}, full', [2, 130], full, 'always-ex', 'HvCallFlushVirtualAddressSpaceEx', 56],
  ])('%s, %s → %s, %i bytes', (_case, vps, request, strategy, call, inputBytes) => {
    expect(shootdownCost(vps, request, strategy)).toEqual({ call, hypercalls: 1, inputBytes });
  });

  it('every present CPU: Linux flushes with ALL_PROCESSORS in 24 bytes; always-Ex names every bank', () => {
    const all = Array.from({ length: 128 }, (_, i) => i);
    expect(shootdownCost(all, full, 'linux', { presentCpus: 128 })).toEqual({
      call: 'HvCallFlushVirtualAddressSpace',
      hypercalls: 1,
      inputBytes: 24,
    });
    expect(shootdownCost(all, full, 'always-ex', { presentCpus: 128 }).inputBytes).toBe(48);
  });

  it('IPIs: 16 register bytes for 0x000B below VP 64, 24 + 8n memory bytes for 0x0015', () => {
    expect(ipiCost([1, 2, 3], 0xf2, 'linux')).toEqual({
      call: 'HvCallSendSyntheticClusterIpi',
      hypercalls: 1,
      inputBytes: 16,
    });
    expect(ipiCost([1, 2, 3], 0xf2, 'always-ex')).toEqual({
      call: 'HvCallSendSyntheticClusterIpiEx',
      hypercalls: 1,
      inputBytes: 32,
    });
    expect(ipiCost([1, 65], 0xf2, 'linux').inputBytes).toBe(40);
  });

  it('an empty target set costs nothing', () => {
    expect(shootdownCost([], full, 'linux')).toEqual({ call: 'none', hypercalls: 0, inputBytes: 0 });
  });
});
