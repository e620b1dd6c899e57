import { HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  enablePartitionVtl,
  enableVpVtl,
  GET_VTL_LAYOUTS,
  GetVtlError,
  getVpRegisters,
  getVtl,
  getVtlOutputGpa,
  setVpRegisters,
  vtlCall,
  vtlReturn,
} from '../src/guest/index.ts';
import { inputVtl } from '../src/wire/input-vtl.ts';
import { HvRegisterName as R } from '../src/wire/registers.ts';
import { guestOn, TestVm } from './fixtures.ts';

describe('get_vtl (spec 03 rules 5–7)', () => {
  it.each(GET_VTL_LAYOUTS)('%s: reads the active VTL', (layout) => {
    const vm = new TestVm();
    vm.enable(2, [1]);
    vm.runIn(1, 2);
    const { ctx, hc } = guestOn(vm, 1);
    expect(getVtl(ctx, hc, { layout })).toBe(2);
  });

  it.each([
    ['fixed', false],
    ['split-page', false],
    ['array-helper', false],
    ['overlap-bug', true],
    ['fixed-size-helper-bug', true],
  ] as const)('%s: strict mode overlap diagnostic fired = %s', (layout, fires) => {
    const vm = new TestVm();
    const { ctx, hc } = guestOn(vm, 0);
    getVtl(ctx, hc, { layout });
    const overlaps = vm.partition.diagnostics().filter((d) => d.rule === 'spec01.rule6.overlap');
    expect(overlaps.length).toBe(fires ? 1 : 0);
    if (fires) expect(overlaps[0]?.message).toMatch(/input list \[0x4000, \+20\) overlaps output list/);
  });

  it('output GPAs: fixed = the output page, split = +2048, array helper = +24, bug = +0 / +16', () => {
    const vm = new TestVm();
    const { hc } = guestOn(vm, 0);
    expect(GET_VTL_LAYOUTS.map((l) => getVtlOutputGpa(hc, l))).toEqual([
      0x5000n,
      0x4800n,
      0x4018n,
      0x4000n,
      0x4010n,
    ]);
    expect(() => getVtlOutputGpa(hc, 'nope' as 'fixed')).toThrow(
      /get_vtl layout 'nope': use fixed, split-page/,
    );
  });

  it('without CONFIG_HYPERV_VTL_MODE: constant 0, no hypercall', () => {
    const vm = new TestVm();
    vm.enable(1, [0]);
    vm.runIn(0, 1);
    const { ctx, hc } = guestOn(vm, 0);
    const before = vm.partition.diagnostics().length;
    expect(getVtl(ctx, hc, { vtlMode: false })).toBe(0);
    expect(vm.partition.diagnostics().length).toBe(before);
  });

  it('a failing call BUG()s: GetVtlError', () => {
    const vm = new TestVm({ drop: ['AccessVpRegisters'] });
    const { ctx, hc } = guestOn(vm, 0);
    expect(() => getVtl(ctx, hc)).toThrow(GetVtlError);
  });
});

describe('getVpRegisters / setVpRegisters helpers', () => {
  it('read any list with continuation (maxRepsPerCall 2) and batching', () => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    const { hc } = guestOn(vm, 3);
    const names = [R.VpIndex, R.VsmVpStatus, R.VpIndex, R.VsmCodePageOffsets, R.VsmPartitionStatus];
    const r = getVpRegisters(hc, names);
    expect(r).toMatchObject({ status: HvStatus.SUCCESS, completed: 5, invocations: 3 });
    expect(r.values).toEqual([3n, 0x1_0000n, 3n, 0x02_0010n, 0x2_0001n]);
  });

  it('300 names need two batches (256 values fit one 4 KiB output page)', () => {
    const vm = new TestVm();
    const { hc } = guestOn(vm, 2);
    const r = getVpRegisters(
      hc,
      Array.from({ length: 300 }, () => R.VpIndex),
    );
    expect([r.status, r.completed, r.invocations]).toEqual([HvStatus.SUCCESS, 300, 2]);
    expect(new Set(r.values)).toEqual(new Set([2n]));
  });

  it('stops at a failing element and reports the values before it', () => {
    const vm = new TestVm();
    const { hc } = guestOn(vm, 0);
    const r = getVpRegisters(hc, [R.VpIndex, 0x77, R.VpIndex]);
    expect([r.status, r.completed, r.values]).toEqual([HvStatus.UNKNOWN_REGISTER_NAME, 1, [0n]]);
  });

  it('set then get, another VP and an explicit VTL', () => {
    const vm = new TestVm({ maxRepsPerCall: 1 });
    vm.enable(1, [0, 1, 2, 3]);
    vm.runIn(0, 1);
    const { hc } = guestOn(vm, 0);
    const w = setVpRegisters(
      hc,
      [
        { name: R.VpAssistPage, value: 0x9001n },
        { name: R.VsmVina, value: 0x131n },
      ],
      { vpIndex: 2, inputVtl: inputVtl(0) },
    );
    expect(w).toEqual({ status: HvStatus.SUCCESS, completed: 2, invocations: 2 });
    expect(
      getVpRegisters(hc, [R.VpAssistPage, R.VsmVina], { vpIndex: 2, inputVtl: inputVtl(0) }).values,
    ).toEqual([0x9001n, 0x131n]);
    expect(setVpRegisters(hc, [{ name: R.VpIndex, value: 0n }])).toMatchObject({
      status: HvStatus.ACCESS_DENIED,
      completed: 0,
    });
  });
});

describe('enablePartitionVtl / enableVpVtl / vtlCall / vtlReturn helpers', () => {
  it('the VTL bring-up sequence: enable partition VTL1, enable it on the VP, call, return', () => {
    const vm = new TestVm();
    const { ctx, hc } = guestOn(vm, 1);
    expect(enablePartitionVtl(hc, 1, { enableMbec: true })).toBe(HvStatus.SUCCESS);
    expect(enablePartitionVtl(hc, 1)).toBe(HvStatus.VTL_ALREADY_ENABLED);
    expect(enableVpVtl(hc, 1, { context: new Uint8Array(224).fill(0xcc) })).toBe(HvStatus.SUCCESS);
    expect(enableVpVtl(hc, 1)).toBe(HvStatus.VTL_ALREADY_ENABLED);
    expect(getVtl(ctx, hc)).toBe(0);
    vtlCall(ctx);
    expect(getVtl(ctx, hc)).toBe(1);
    vtlReturn(ctx);
    expect(getVtl(ctx, hc)).toBe(0);
    expect(vm.vtl.vp(1).registers(1).initialContext?.[223]).toBe(0xcc);
    expect(() => enableVpVtl(hc, 1, { context: new Uint8Array(72) })).toThrow(
      /context of 72 bytes: the x64 context is 224 bytes/,
    );
  });
});
