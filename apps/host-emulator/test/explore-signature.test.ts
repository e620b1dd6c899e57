import { describe, expect, it } from 'vitest';
import { failureSignature } from '../src/explore/index.ts';

describe('failureSignature', () => {
  it.each<[string, string]>([
    [
      'deadlock: vCPU 0, 1, 2 halted with no interrupt pending, and no vCPU left to wake them',
      'deadlock: vCPU # halted with no interrupt pending, and no vCPU left to wake them',
    ],
    [
      'deadlock: vCPU 3 halted with no interrupt pending; vCPU 1 suspended (vtl-return), and no vCPU left to wake them',
      'deadlock: vCPU # halted with no interrupt pending; vCPU # suspended (vtl-return), and no vCPU left to wake them',
    ],
    [
      'lost IPI: CPU 2 → CPU 3 (vector 0xc1, seq 17); the sender read hv_vp_index[3] = VP_INVAL (−1) while CPU 3 was coming online, sent by hypercall',
      'lost IPI: CPU # → CPU # (vector #, seq #); the sender read hv_vp_index[#] = VP_INVAL (−#) while CPU # was coming online, sent by hypercall',
    ],
    [
      'GuestFault: #GP: read of unknown MSR 0x400000ff\n    at guest (/tmp/unhandled-gp.mjs:3:7)',
      'GuestFault: #GP: read of unknown MSR # at guest (/tmp/unhandled-gp.mjs:#:#)',
    ],
    [
      '#GP: RDMSR 0x12345 refused in read_bad ← guest_main ← pvlab_start',
      '#GP: RDMSR # refused in read_bad ← guest_main ← pvlab_start',
    ],
    ['vCPU 1 expected VP index 7, read 1', 'vCPU # expected VP index #, read #'],
    [
      'the guest program threw on vCPU 0: RangeError: The number 4096.5 cannot be converted to a BigInt because it is not an integer',
      'the guest program threw on vCPU #: RangeError: The number # cannot be converted to a BigInt because it is not an integer',
    ],
    [
      'assertion failed: x64 HvCallFlushVirtualAddressSpaceEx 0x0013 on utf8',
      'assertion failed: x64 HvCallFlushVirtualAddressSpaceEx # on utf8',
    ],
    ['limit: 100000 exits and 2 and 3', 'limit: # exits and #'],
  ])('%j → %j', (message, signature) => {
    expect(failureSignature(message)).toBe(signature);
  });

  it('groups the same failure on other VPs and addresses, and keeps different failures apart', () => {
    const a =
      'lost IPI: CPU 1 → CPU 2 (vector 0xc0, seq 3); the sender read hv_vp_index[2] = 2, sent natively';
    const b =
      'lost IPI: CPU 3 → CPU 0 (vector 0xc3, seq 41); the sender read hv_vp_index[0] = 0, sent natively';
    const c =
      'lost IPI: CPU 3 → CPU 0 (vector 0xc3, seq 41); the sender read hv_vp_index[0] = 0, sent by hypercall';
    expect(failureSignature(a)).toBe(failureSignature(b));
    expect(failureSignature(b)).not.toBe(failureSignature(c));
    expect(failureSignature('deadlock: vCPU 1, 3 halted')).toBe(failureSignature('deadlock: vCPU 0 halted'));
  });
});
