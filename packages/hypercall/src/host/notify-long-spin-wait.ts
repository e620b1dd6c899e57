import { HvCallCode } from '../wire/call-code.js';
import { HV_SPIN_WAIT_NEVER_NOTIFY } from '../wire/cpuid.js';
import { HvStatus } from '../wire/status.js';
import type { SimpleHypercallDescriptor } from './descriptor.js';
import type { HvPartition } from './partition.js';

/** HvCallNotifyLongSpinWait input: u32 SpinCount at 0, u32 RsvdZ at 4 (TLFS). */
export const NOTIFY_LONG_SPIN_WAIT_INPUT_BYTES = 8;

/**
 * HvCallNotifyLongSpinWait (0x0008, simple, fast allowed): an advisory call that only ever
 * returns HV_STATUS_SUCCESS (TLFS). Gated like KVM: the partition must recommend notifying
 * (leaf 0x40000004 EBX neither 0 nor 0xFFFFFFFF), else HV_STATUS_ACCESS_DENIED. A nonzero RsvdZ
 * is tolerated, as the TLFS names no error, and recorded as a diagnostic.
 */
export function notifyLongSpinWait(partition: HvPartition): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: HvCallCode.HvCallNotifyLongSpinWait,
    name: 'HvCallNotifyLongSpinWait',
    fixedInputBytes: NOTIFY_LONG_SPIN_WAIT_INPUT_BYTES,
    outputBytes: 0,
    fast: 'register',
    gate: {
      description: 'CPUID 0x40000004 EBX (spin-wait retry count) neither 0 nor 0xFFFFFFFF',
      isOpen: (f) => f.spinWaitRetryCount !== 0 && f.spinWaitRetryCount !== HV_SPIN_WAIT_NEVER_NOTIFY,
    },
    describe: {
      input: (v) => ({ spinCount: v.input.getUint32(0, true), rsvdZ: v.input.getUint32(4, true) }),
    },
    handler(call) {
      const vp = partition.vp(call.vp);
      vp.longSpinWaits++;
      vp.lastSpinCount = call.input.getUint32(0, true);
      const rsvd = call.input.getUint32(4, true);
      if (rsvd !== 0) {
        call.diagnose(
          'tlfs.notifyLongSpinWait.rsvdz',
          `HvCallNotifyLongSpinWait RsvdZ = 0x${rsvd.toString(16)}`,
        );
      }
      return HvStatus.SUCCESS;
    },
  };
}
