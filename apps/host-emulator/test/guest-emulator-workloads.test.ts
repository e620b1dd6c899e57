import {
  guestImageUrl,
  type KernelCpuReport,
  shootdownKernelGva,
  shootdownPgd,
  shootdownUserGva,
} from '@pvlab/guest-emulator';
import { describe, expect, it } from 'vitest';
import { type CreateVmOptions, createVm, type RunResult, runGuest, type Vm } from '../src/index.ts';

const UNRELATED_GLOBAL = 0xffff_8000_0000_0000n;
const TLB_IPI_CALLS = [
  'HvCallFlushVirtualAddressSpace',
  'HvCallFlushVirtualAddressList',
  'HvCallFlushVirtualAddressSpaceEx',
  'HvCallFlushVirtualAddressListEx',
  'HvCallSendSyntheticClusterIpi',
  'HvCallSendSyntheticClusterIpiEx',
];

/** Runs the guest-emulator image; `prepare` sees the VM before the guest starts, `check` after it ends. */
async function boot(
  vcpus: number,
  options: {
    seed?: number;
    args?: Record<string, string>;
    vm?: CreateVmOptions;
    prepare?: (vm: Vm) => void;
    check?: (vm: Vm) => void;
  } = {},
): Promise<RunResult> {
  const vm = createVm({ vcpus, ...options.vm });
  options.prepare?.(vm);
  try {
    const r = await runGuest(vm, {
      guest: guestImageUrl(),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.args ? { args: options.args } : {}),
    });
    options.check?.(vm);
    return r;
  } finally {
    vm.close();
  }
}

const kernel = (r: RunResult) => r.reports.map((rep) => rep['kernel'] as KernelCpuReport);
const calls = (r: RunResult) =>
  new Set(
    r.events
      .flatMap((e) => (e.kind === 'hypercall' ? [e.name] : []))
      .filter((n) => TLB_IPI_CALLS.includes(n)),
  );

/**
 * Each VP caches: a user page of every sender's workload range (under that sender's mm), every
 * sender's kernel page (global), and an unrelated global page.
 */
function prefill(vm: Vm): void {
  for (let v = 0; v < vm.vcpus; v++) {
    for (let s = 0; s < vm.vcpus; s++) {
      vm.vp(v).tlb.fill(shootdownUserGva(s) + 0x1000n, 0x40_0000n, { addressSpace: shootdownPgd(s) });
      vm.vp(v).tlb.fill(shootdownKernelGva(s), 0x50_0000n, { global: true });
    }
    vm.vp(v).tlb.fill(UNRELATED_GLOBAL, 0x60_0000n, { global: true });
  }
}

/**
 * What every path must have done: user entries gone; sender s's kernel page gone on every other VP.
 * The native path flushes nothing global it was not asked to: VP s keeps its own kernel page and
 * the unrelated one. (The hypercall path may drop them: a 10 GiB range is a "Space" call without
 * NON_GLOBAL_MAPPINGS_ONLY, which flushes global entries too — spec 02 rule 3.)
 */
function expectShootdownsLanded(vm: Vm, path: 'hypercall' | 'native'): void {
  for (let v = 0; v < vm.vcpus; v++) {
    const entries = vm.vp(v).tlb.entries();
    expect(entries.filter((e) => !e.global)).toEqual([]);
    for (let s = 0; s < vm.vcpus; s++) {
      const kept = entries.some((e) => e.gva === shootdownKernelGva(s));
      if (v !== s) expect(kept, `VP ${v}: kernel page of sender ${s}`).toBe(false);
      else if (path === 'native') expect(kept, `VP ${v}: its own kernel page`).toBe(true);
    }
    if (path === 'native') expect(vm.vp(v).tlb.lookup(UNRELATED_GLOBAL)).toBe(0x60_0000n);
  }
}

describe('guest-emulator workloads on vCPU threads', () => {
  it.each([undefined, 3])(
    'by hypercall (tlb-ipi installed): every workload IPI reaches its target, the shootdowns land (seed %s)',
    async (seed) => {
      const r = await boot(4, {
        ...(seed === undefined ? {} : { seed }),
        prepare: prefill,
        check: (vm) => expectShootdownsLanded(vm, 'hypercall'),
      });
      expect(r.failures).toEqual([]);
      expect(r.log.map((l) => l.line)).toContainEqual(expect.stringMatching(/^ipi: (\d+)\/\1 workload IPIs/));
      const reports = kernel(r);
      expect(reports.map((k) => k.tlb.paths)).toContainEqual(
        expect.objectContaining({ HvCallFlushVirtualAddressList: 2, HvCallFlushVirtualAddressSpace: 2 }),
      );
      expect(reports[0]!.tlb.shootdowns).toBe(5);
      expect(calls(r)).toEqual(
        new Set([
          'HvCallFlushVirtualAddressSpace',
          'HvCallFlushVirtualAddressList',
          'HvCallSendSyntheticClusterIpi',
        ]),
      );
    },
  );

  it('native=1: no tlb-ipi hypercall; native shootdowns land and keep global pages they were not asked to flush', async () => {
    const r = await boot(4, {
      seed: 7,
      args: { native: '1' },
      prepare: prefill,
      check: (vm) => expectShootdownsLanded(vm, 'native'),
    });
    expect(r.failures).toEqual([]);
    expect(calls(r)).toEqual(new Set());
    const reports = kernel(r);
    expect(reports.map((k) => k.tlb.served).reduce((a, b) => a + b)).toBe(4 * 4 * 3 + 3);
    expect(reports[1]!.tlb.paths).toEqual({ 'native (not-recommended)': 4 });
  });

  it('without the tlb-ipi package the hints are absent and the kernel goes native by itself', async () => {
    const r = await boot(3, { seed: 2, vm: { packages: { 'tlb-ipi': false } } });
    expect(r.failures).toEqual([]);
    expect(calls(r)).toEqual(new Set());
    expect(kernel(r)[0]!.ipi.paths).toEqual({ 'native (not-recommended)': expect.any(Number) });
  });

  it.each([0, 1, 2])('the fixed kernel loses no IPI during bring-up (seed %i)', async (seed) => {
    const r = await boot(4, { seed });
    expect(r.failures).toEqual([]);
    // The window was hit: a round went native because a target had no VP index yet.
    expect(kernel(r).some((k) => (k.ipi.paths['native (vp-inval)'] ?? 0) > 0)).toBe(true);
  });

  it.each([
    [
      { 'vp-index-bug': '1' },
      /^lost IPI: CPU \d → CPU \d \(vector 0xc\d, seq \d+\); the sender read hv_vp_index\[\d\] = VP_INVAL \(−1\) while CPU \d was coming online, sent by hypercall/,
    ],
    [
      { 'vp-index-bug': '1', native: '1' },
      /^lost IPI: .* = VP_INVAL \(−1\) while CPU \d was coming online, sent natively/,
    ],
    [
      { 'vp-index-bug': 'stale-zero' },
      /^wrong target: CPU \d → CPU \d \(vector 0xc\d, seq \d+\) arrived at CPU 0; the sender read hv_vp_index\[\d\] = 0 while/,
    ],
  ])('the historical bug %j, seed 0: the run fails naming the IPI', async (args, message) => {
    const r = await boot(4, { seed: 0, args });
    expect(r.passed).toBe(false);
    expect(r.failures).toEqual([{ kind: 'program', vps: [0], message: expect.stringMatching(message) }]);
  });

  it('vp-index-bug, seed 0: the failure lists every lost IPI, one a line, not a count of the rest', async () => {
    const r = await boot(4, { seed: 0, args: { 'vp-index-bug': '1' } });
    const message = r.failures[0]!.message;
    expect(message).not.toMatch(/and \d+ more/);
    const lines = message.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line).toMatch(/^lost IPI: CPU \d → CPU \d \(vector 0xc\d, seq \d+\); /);
  });

  it('an unknown --guest-arg fails the run with what is accepted', async () => {
    const r = await boot(1, { args: { workload: 'bogus' } });
    expect(r.failures).toEqual([
      {
        kind: 'program',
        vps: [0],
        message:
          "--guest-arg workload=bogus: use 'all', 'none' or a comma list of spin-wait, ipi, ring, tlb, vtl, vmbus, isolation",
      },
    ]);
  });

  it('65 vCPUs: targets across the bank boundary take the Ex forms (0x0013, 0x0014, 0x0015)', async () => {
    const r = await boot(65, { args: { workload: 'ipi,tlb' } });
    expect(r.failures).toEqual([]);
    expect(calls(r)).toEqual(new Set(TLB_IPI_CALLS.filter((c) => c !== 'HvCallFlushVirtualAddressList')));
    expect(kernel(r)[1]!.tlb.paths).toEqual({
      HvCallFlushVirtualAddressListEx: 2,
      HvCallFlushVirtualAddressSpaceEx: 2,
    });
  }, 120_000);

  it('workload=tlb runs the shootdowns alone', async () => {
    const r = await boot(2, { seed: 4, args: { workload: 'tlb' } });
    expect(r.failures).toEqual([]);
    expect(
      kernel(r).map((k) => [k.spinWaitStatuses.length, k.ringIpi, k.ipi.sent, k.tlb.shootdowns]),
    ).toEqual([
      [0, false, 0, 5],
      [0, false, 0, 4],
    ]);
  });
});
