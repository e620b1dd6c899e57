import { describe, expect, it } from 'vitest';
import { structLayout } from '../src/testing/struct-layout.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl } from '../src/wire/control.ts';
import { NotifyLongSpinWaitInput } from '../src/wire/notify-long-spin-wait.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { HvStatus, hvStatusName } from '../src/wire/status.ts';
import {
  enableTestHypercalls,
  fastCall,
  INPUT_GPA,
  makePartition,
  memoryCall,
  titled,
  writeU64s,
} from './fixtures.ts';

const NOTIFY = HvCallCode.HvCallNotifyLongSpinWait;
const memoryForm = encodeHypercallControl({ callCode: NOTIFY });
const fastForm = encodeHypercallControl({ callCode: NOTIFY, fast: true });

function setup(spinWaitRetryCount = 0xfff) {
  const partition = makePartition({ spinWaitRetryCount, vcpus: 3 });
  enableTestHypercalls(partition);
  const status = (vp: number, regs: ReturnType<typeof memoryCall>) =>
    decodeHypercallResult(partition.hypercall(vp, regs)).status;
  return { partition, status };
}

describe('HvCallNotifyLongSpinWait (0x0008) — simple, fast allowed', () => {
  it('is registered by every partition with its TLFS shape', () => {
    const d = makePartition().dispatcher.descriptor(NOTIFY);
    expect(d).toMatchObject({
      kind: 'simple',
      name: 'HvCallNotifyLongSpinWait',
      fixedInputBytes: 8,
      fast: 'register',
    });
    expect(NotifyLongSpinWaitInput.size).toBe(8);
    expect(structLayout(NotifyLongSpinWaitInput)).toBe('0: u32 spinCount · 4: u32 rsvdZ (RsvdZ) (8 B)');
  });

  it('memory form: SpinCount (u32 at 0) is recorded for the calling VP only', () => {
    const { partition, status } = setup();
    writeU64s(partition, INPUT_GPA, [0x1234n]);
    expect(status(1, memoryCall(memoryForm, INPUT_GPA, 0n))).toBe(HvStatus.SUCCESS);
    expect(partition.vp(1)).toMatchObject({ longSpinWaits: 1, lastSpinCount: 0x1234 });
    expect(partition.vp(0)).toMatchObject({ longSpinWaits: 0, lastSpinCount: 0 });
    expect(partition.vp(2)).toMatchObject({ longSpinWaits: 0, lastSpinCount: 0 });
    expect(partition.diagnostics()).toEqual([]);
  });

  it('fast form: the input is RDX (SpinCount in RDX[31:0]); R8 is not part of the 8-byte input', () => {
    const { partition, status } = setup();
    expect(status(2, fastCall(fastForm, [0xffff_fffen, 0xdead_beefn]))).toBe(HvStatus.SUCCESS);
    expect(status(2, fastCall(fastForm, [7n, 0n]))).toBe(HvStatus.SUCCESS);
    expect(partition.vp(2)).toMatchObject({ longSpinWaits: 2, lastSpinCount: 7 });
    expect(partition.diagnostics()).toEqual([]);
  });

  it.each(
    titled(
      [
        {
          form: 'memory',
          regs: (p: ReturnType<typeof makePartition>) => {
            writeU64s(p, INPUT_GPA, [0x5_0000_0001n]);
            return memoryCall(memoryForm, INPUT_GPA, 0n);
          },
        },
        { form: 'fast', regs: () => fastCall(fastForm, [0x5_0000_0001n]) },
      ],
      (c) => `${c.form} form: RsvdZ (u32 at 4) nonzero → SUCCESS (TLFS names no error) plus a diagnostic`,
    ),
  )('%s', (_title, { regs }) => {
    const { partition, status } = setup();
    expect(status(1, regs(partition))).toBe(HvStatus.SUCCESS);
    expect(partition.vp(1).lastSpinCount).toBe(1);
    expect(partition.diagnostics()).toEqual([
      { rule: 'tlfs.notifyLongSpinWait.rsvdz', vp: 1, message: 'HvCallNotifyLongSpinWait RsvdZ = 0x5' },
    ]);
  });

  it.each(
    titled(
      [
        { count: 0, status: HvStatus.ACCESS_DENIED, calls: 0 },
        { count: 0xffff_ffff, status: HvStatus.ACCESS_DENIED, calls: 0 },
        { count: 1, status: HvStatus.SUCCESS, calls: 1 },
        { count: 0xffff_fffe, status: HvStatus.SUCCESS, calls: 1 },
      ],
      (c) =>
        `rule 13 (KVM): spin-wait retry count 0x${c.count.toString(16)} in 0x40000004 EBX → ${hvStatusName(c.status)}`,
    ),
  )('%s', (_title, { count, status: expected, calls }) => {
    const { partition, status } = setup(count);
    expect(status(0, fastCall(fastForm, [1n]))).toBe(expected);
    expect(status(0, memoryCall(memoryForm, INPUT_GPA, 0n))).toBe(expected);
    expect(partition.vp(0).longSpinWaits).toBe(2 * calls);
  });

  it.each(
    titled(
      [
        {
          rule: 'rule 2: RepCount≠0 on a simple call',
          control: encodeHypercallControl({ callCode: NOTIFY, repCount: 1 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 3: a variable header it does not have',
          control: encodeHypercallControl({ callCode: NOTIFY, variableHeaderSize: 1 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 4: misaligned input GPA',
          control: memoryForm,
          rdx: INPUT_GPA + 4n,
          status: HvStatus.INVALID_ALIGNMENT,
        },
      ],
      (c) => `${c.rule} → ${hvStatusName(c.status)}`,
    ),
  )('%s', (_title, { control, rdx, status: expected }) => {
    const { partition, status } = setup();
    expect(status(0, memoryCall(control, rdx ?? INPUT_GPA, 0n))).toBe(expected);
    expect(partition.vp(0).longSpinWaits).toBe(0);
  });

  it('has no output: a misaligned or out-of-RAM output GPA does not matter', () => {
    const { status } = setup();
    expect(status(0, memoryCall(memoryForm, INPUT_GPA, 0xffff_ffff_ffff_fff3n))).toBe(HvStatus.SUCCESS);
  });
});
