import { fileURLToPath } from 'node:url';
import { guestImageUrl } from '@pvlab/guest-emulator';
import { HvCallCode } from '@pvlab/hypercall';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CompleteEvent,
  createVm,
  failedCalls,
  type HypercallEvent,
  type IsolationVm,
  type RunResult,
  runGuest,
  toChromeTrace,
  type Vm,
} from '../src/index.ts';

/** Runs `guest` (default: the guest-emulator) with seed 1, details on unless `details` is false. */
async function run(
  vm: Vm | IsolationVm,
  guest: string | URL = guestImageUrl(),
  details = true,
): Promise<RunResult> {
  if (details) vm.partition.dispatcher.recordDetails(true);
  try {
    return await runGuest(vm, { guest, seed: 1 });
  } finally {
    vm.close();
  }
}

/** The hypercall slices of a run's trace. */
function slices(r: RunResult, vcpus: number): CompleteEvent[] {
  const trace = toChromeTrace(r.events, { vcpus, guest: 'test', seed: 1 });
  return trace.traceEvents.filter((e): e is CompleteEvent => e.ph === 'X' && e.cat === 'hypercall');
}

/** The args of the first slice of call `name` (with `status`, SUCCESS by default). */
function argsOf(all: readonly CompleteEvent[], name: string, status = 'HV_STATUS_SUCCESS') {
  const slice = all.find((e) => e.name === name && e.args['status'] === status);
  expect(slice, `a ${name} slice with ${status}`).toBeDefined();
  return slice!.args;
}

describe('the trace says what each hypercall was (seeded guest-emulator boot, 4 vCPUs)', () => {
  let all: CompleteEvent[] = [];
  let result: RunResult;

  beforeAll(async () => {
    result = await run(createVm({ vcpus: 4 }));
    all = slices(result, 4);
  }, 120_000);

  it('boots, every hypercall a slice', () => {
    expect(result.failures).toEqual([]);
    expect(all.length).toBe(result.hypercalls);
  });

  it('core: HvCallNotifyLongSpinWait shows its input GPA and SpinCount', () => {
    expect(argsOf(all, 'HvCallNotifyLongSpinWait')).toMatchObject({
      inputGpa: expect.stringMatching(/^0x[0-9a-f]+$/),
      input: { spinCount: 4095, rsvdZ: 0 },
    });
  });

  it('tlb-ipi: flushes name their address space, flags, target VPs and GVA ranges', () => {
    const space = argsOf(all, 'HvCallFlushVirtualAddressSpace');
    expect(space['input']).toMatchObject({
      addressSpace: expect.stringMatching(/^0x/),
      flags: expect.any(Array),
      vps: expect.any(Array),
    });
    const list = argsOf(all, 'HvCallFlushVirtualAddressList')['input'] as Record<string, unknown>;
    expect(list['gvaRanges']).toEqual(
      expect.arrayContaining([
        { gva: expect.stringMatching(/^0x/), pages: expect.any(Number), pageBytes: 4096 },
      ]),
    );
    // The VP list is the processor mask's set bits.
    const mask = BigInt(list['processorMask'] as string);
    const vps = (list['vps'] as number[]).reduce((m, vp) => m | (1n << BigInt(vp)), 0n);
    expect(vps).toBe(mask);
  });

  it('tlb-ipi: a synthetic IPI shows its vector and the VPs it targets', () => {
    const ipi = argsOf(all, 'HvCallSendSyntheticClusterIpi');
    expect(ipi['fast']).toBe(true);
    expect(ipi['inputGpa']).toBeUndefined();
    expect(ipi['input']).toMatchObject({
      vector: expect.stringMatching(/^0x[0-9a-f]{2}$/),
      vps: expect.any(Array),
    });
  });

  it('vtl: register calls name each register, and Get shows the values it returned', () => {
    const get = argsOf(all, 'HvCallGetVpRegisters');
    expect(get['input']).toMatchObject({ vpIndex: 'self', registers: ['HvRegisterVsmVpStatus'] });
    expect(get['output']).toEqual({
      values: [{ name: 'HvRegisterVsmVpStatus', value: expect.stringMatching(/^0x/) }],
    });
    const set = argsOf(all, 'HvCallSetVpRegisters')['input'] as { registers: unknown[] };
    expect(set.registers[0]).toEqual({
      name: expect.stringMatching(/^HvRegister/),
      value: expect.stringMatching(/^0x/),
    });
    expect(argsOf(all, 'HvCallEnablePartitionVtl')['input']).toMatchObject({ targetVtl: 1 });
  });

  it('vmbus: PostMessage shows its message header, SignalEvent its connection and flag', () => {
    expect(argsOf(all, 'HvCallPostMessage')['input']).toEqual({
      connectionId: expect.any(Number),
      messageType: expect.stringMatching(/^0x/),
      payloadSize: expect.any(Number),
    });
    expect(argsOf(all, 'HvCallSignalEvent')['input']).toEqual({
      connectionId: expect.any(Number),
      flagNumber: expect.any(Number),
    });
  });

  it('a call that did not succeed says why: the suspended flush names the locked VP', () => {
    const suspended = argsOf(all, 'HvCallFlushVirtualAddressSpace', 'SUSPENDED');
    expect(suspended['reason']).toMatch(/^suspended: TLB flush of VP \d inhibited \(its TLB is locked\)$/);
    const failed = failedCalls(result.events);
    expect(failed.map((f) => [f.call, f.status, f.reason])).toEqual([
      ['HvCallFlushVirtualAddressSpace', 'SUSPENDED', suspended['reason']],
    ]);
    // SUCCESS carries no reason.
    expect(all.filter((e) => e.args['status'] === 'HV_STATUS_SUCCESS' && 'reason' in e.args)).toEqual([]);
  });
});

describe('the trace of an isolation VM', () => {
  it('HvCallModifySparseGpaPageHostVisibility shows the visibility and the PFNs', {
    timeout: 60_000,
  }, async () => {
    const guest = fileURLToPath(new URL('./guests/isolation-share.mjs', import.meta.url));
    const r = await run(createVm({ vcpus: 2, isolation: { sharedGpaBoundaryBits: 36 } }), guest);
    expect(r.failures).toEqual([]);
    expect(argsOf(slices(r, 2), 'HvCallModifySparseGpaPageHostVisibility')['input']).toEqual({
      partitionId: '0xffffffffffffffff',
      hostVisibility: 'READ_WRITE',
      pfns: ['0x40'],
    });
  });
});

describe('details off (no --trace, no --json)', () => {
  it('records no detail: trace slices keep their control fields, status and reps only', {
    timeout: 60_000,
  }, async () => {
    const vm = createVm({ vcpus: 2 });
    const r = await run(vm, guestImageUrl(), false);
    expect(r.failures).toEqual([]);
    expect(r.events.filter((e) => e.kind === 'hypercall' && e.detail !== undefined)).toEqual([]);
    for (const e of slices(r, 2)) {
      expect(Object.keys(e.args).sort()).toEqual(
        [
          'code',
          'control',
          'fast',
          'repCount',
          'repStartIndex',
          'repsCompleted',
          'status',
          'variableHeaderSize',
        ].sort(),
      );
    }
  });
});

describe('toChromeTrace and failedCalls with a detail', () => {
  const event: HypercallEvent = {
    kind: 'hypercall',
    vp: 1,
    ts: 2.5,
    dur: 0.5,
    name: 'HvCallSendSyntheticClusterIpi',
    callCode: HvCallCode.HvCallSendSyntheticClusterIpi,
    control: '0x1000b',
    fast: true,
    variableHeaderSize: 0,
    repCount: 0,
    repStartIndex: 0,
    status: 'HV_STATUS_INVALID_PARAMETER',
    repsCompleted: 0,
    detail: {
      input: { vector: '0x5', targetVtl: 0, processorMask: '0x6', vps: [1, 2] },
      reason: 'Vector 0x5 is outside 0x10..0xff',
    },
  };

  it('puts the detail beside the control fields in the slice args', () => {
    const trace = toChromeTrace([event], { vcpus: 2, guest: 'test' });
    const slice = trace.traceEvents.find((e) => e.ph === 'X');
    expect(slice?.args).toEqual({
      code: '0x000b',
      control: '0x1000b',
      fast: true,
      variableHeaderSize: 0,
      repCount: 0,
      repStartIndex: 0,
      status: 'HV_STATUS_INVALID_PARAMETER',
      repsCompleted: 0,
      input: { vector: '0x5', targetVtl: 0, processorMask: '0x6', vps: [1, 2] },
      reason: 'Vector 0x5 is outside 0x10..0xff',
    });
  });

  it('failedCalls lists the failing call with its detail, and no successful one', () => {
    const ok: HypercallEvent = { ...event, status: 'HV_STATUS_SUCCESS', detail: {} };
    expect(failedCalls([ok, event])).toEqual([
      {
        vp: 1,
        ts: 2.5,
        call: 'HvCallSendSyntheticClusterIpi',
        control: '0x1000b',
        status: 'HV_STATUS_INVALID_PARAMETER',
        repsCompleted: 0,
        ...event.detail,
      },
    ]);
  });
});
