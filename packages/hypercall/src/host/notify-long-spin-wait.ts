import { HV_SPIN_WAIT_NEVER_NOTIFY } from '../wire/cpuid.js';
import { NotifyLongSpinWaitInput } from '../wire/notify-long-spin-wait.js';
import { HvStatus } from '../wire/status.js';
import { defineHypercall } from './define-hypercall.js';
import type { SimpleHypercallDescriptor } from './descriptor.js';
import type { HvVpState } from './vp-state.js';

const { spinCount, rsvdZ } = NotifyLongSpinWaitInput.accessors;

/**
 * HvCallNotifyLongSpinWait (0x0008, simple, fast allowed): an advisory call that only ever
 * returns HV_STATUS_SUCCESS (TLFS). Gated like KVM: the partition must recommend notifying
 * (leaf 0x40000004 EBX neither 0 nor 0xFFFFFFFF), else HV_STATUS_ACCESS_DENIED. A nonzero RsvdZ
 * is tolerated, as the TLFS names no error, and recorded as a diagnostic.
 */
export function notifyLongSpinWait(partition: { vp(index: number): HvVpState }): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallNotifyLongSpinWait',
    input: NotifyLongSpinWaitInput,
    fast: 'register',
    gate: {
      description: 'CPUID 0x40000004 EBX (spin-wait retry count) neither 0 nor 0xFFFFFFFF',
      isOpen: (f) => f.spinWaitRetryCount !== 0 && f.spinWaitRetryCount !== HV_SPIN_WAIT_NEVER_NOTIFY,
    },
    describe: {
      input: (v) => ({ spinCount: spinCount.get(v.input), rsvdZ: rsvdZ.get(v.input) }),
    },
    handler(call) {
      const vp = partition.vp(call.vp);
      vp.longSpinWaits++;
      vp.lastSpinCount = spinCount.get(call.input);
      const rsvd = rsvdZ.get(call.input);
      if (rsvd !== 0) {
        call.diagnose(
          'tlfs.notifyLongSpinWait.rsvdz',
          `HvCallNotifyLongSpinWait RsvdZ = 0x${rsvd.toString(16)}`,
        );
      }
      return HvStatus.SUCCESS;
    },
  });
}
