import { GuestFault, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { HV_X64_MSR_EOM, HV_X64_MSR_SCONTROL, hvSintMsr, SignalEventValue, SynicSint } from '../src/index.ts';
import {
  HV_MESSAGE_FLAG_PENDING,
  HV_X64_MSR_SIEFP,
  HV_X64_MSR_SIMP,
  HV_X64_MSR_SVERSION,
} from '../src/wire/synic.ts';
import { ChannelVm, INPUT_GPA, RAM_BYTES } from './channel-fixtures.ts';

const SIMP = 0x4000n;
const SIEFP = 0x5000n;

function enabledVm(options: { sintValue?: bigint } = {}) {
  const vm = new ChannelVm();
  const p = vm.partition;
  p.writeMsr(0, HV_X64_MSR_SIMP, SIMP | 1n);
  p.writeMsr(0, HV_X64_MSR_SIEFP, SIEFP | 1n);
  p.writeMsr(0, hvSintMsr(2), options.sintValue ?? SynicSint.encode({ Vector: 0x40 }));
  p.writeMsr(0, HV_X64_MSR_SCONTROL, 1n);
  return vm;
}

function gp(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof GuestFault) return e.vector;
    throw e;
  }
  return 'none';
}

describe('SynIC MSRs', () => {
  it('every SynIC MSR is #GP without AccessSynicRegs, and readable with it', () => {
    const without = new ChannelVm({ drop: ['AccessSynicRegs'] });
    const msrs = [
      HV_X64_MSR_SCONTROL,
      HV_X64_MSR_SVERSION,
      HV_X64_MSR_SIEFP,
      HV_X64_MSR_SIMP,
      HV_X64_MSR_EOM,
      hvSintMsr(0),
      hvSintMsr(15),
    ];
    expect(msrs.map((m) => gp(() => without.partition.readMsr(0, m)))).toEqual(msrs.map(() => 'GP'));
    const vm = new ChannelVm();
    expect(msrs.map((m) => vm.partition.readMsr(0, m))).toEqual([0n, 1n, 0n, 0n, 0n, 0x1_0000n, 0x1_0000n]);
  });

  it('SVERSION is read-only (#GP on write)', () => {
    expect(gp(() => new ChannelVm().partition.writeMsr(0, HV_X64_MSR_SVERSION, 1n))).toBe('GP');
  });

  it('KVM synic_set_sint: an unmasked SINT with vector < 16 is #GP; masked it is accepted', () => {
    const vm = new ChannelVm();
    expect(gp(() => vm.partition.writeMsr(0, hvSintMsr(2), SynicSint.encode({ Vector: 15 })))).toBe('GP');
    expect(
      gp(() => vm.partition.writeMsr(0, hvSintMsr(2), SynicSint.encode({ Vector: 15, Masked: 1 }))),
    ).toBe('none');
    expect(vm.partition.readMsr(0, hvSintMsr(2))).toBe(0x1_000fn);
  });

  it('SIMP/SIEFP outside RAM is #GP; enabling clears the page', () => {
    const vm = new ChannelVm();
    expect(gp(() => vm.partition.writeMsr(0, HV_X64_MSR_SIMP, BigInt(RAM_BYTES) | 1n))).toBe('GP');
    vm.memory.fill(SIEFP, 4096, 0xaa);
    vm.partition.writeMsr(0, HV_X64_MSR_SIEFP, SIEFP | 1n);
    expect(vm.memory.read(SIEFP, 4096).every((b) => b === 0)).toBe(true);
  });

  it('SynIC registers are per VP', () => {
    const vm = enabledVm();
    expect(vm.partition.readMsr(1, HV_X64_MSR_SIMP)).toBe(0n);
    expect(vm.partition.readMsr(0, HV_X64_MSR_SIMP)).toBe(SIMP | 1n);
  });
});

describe('message delivery (TLFS: message slot, MessagePending, EOM)', () => {
  it('a message lands in the SINT slot (type last) and asserts the SINT vector', () => {
    const vm = enabledVm();
    expect(vm.host.synic.post(0, 2, 1, Uint8Array.of(1, 2, 3))).toBe('delivered');
    const slot = SIMP + 512n;
    expect(vm.memory.readU32(slot)).toBe(1);
    expect(vm.memory.readU8(slot + 4n)).toBe(3);
    expect(vm.memory.read(slot + 16n, 3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(vm.woken).toEqual([[0, 0x40]]);
  });

  it('a busy slot queues the next message with MessagePending; EOM after freeing the slot delivers it', () => {
    const vm = enabledVm();
    const slot = SIMP + 512n;
    vm.host.synic.post(0, 2, 1, Uint8Array.of(1));
    expect(vm.host.synic.post(0, 2, 1, Uint8Array.of(2))).toBe('queued');
    expect(vm.memory.readU8(slot + 5n) & HV_MESSAGE_FLAG_PENDING).toBe(1);
    vm.partition.writeMsr(0, HV_X64_MSR_EOM, 0n); // EOM without freeing: nothing changes
    expect(vm.memory.readU8(slot + 16n)).toBe(1);
    vm.memory.writeU32(slot, 0);
    vm.partition.writeMsr(0, HV_X64_MSR_EOM, 0n);
    expect(vm.memory.readU8(slot + 16n)).toBe(2);
    expect(vm.memory.readU8(slot + 5n)).toBe(0);
    expect(vm.host.synic.pending(0, 2)).toBe(0);
  });

  it('with the SIMP disabled messages wait; enabling the SIMP delivers them', () => {
    const vm = new ChannelVm();
    expect(vm.host.synic.post(0, 2, 1, Uint8Array.of(7))).toBe('queued');
    vm.partition.writeMsr(0, HV_X64_MSR_SIMP, SIMP | 1n);
    expect(vm.memory.readU32(SIMP + 512n)).toBe(1);
  });

  it('a masked SINT gets the message but no interrupt; so does a disabled SCONTROL', () => {
    const vm = enabledVm({ sintValue: SynicSint.encode({ Vector: 0x40, Masked: 1 }) });
    vm.host.synic.post(0, 2, 1, Uint8Array.of(1));
    expect(vm.memory.readU32(SIMP + 512n)).toBe(1);
    vm.partition.writeMsr(0, hvSintMsr(3), SynicSint.encode({ Vector: 0x41 }));
    vm.partition.writeMsr(0, HV_X64_MSR_SCONTROL, 0n);
    vm.host.synic.post(0, 3, 1, Uint8Array.of(1));
    expect(vm.woken).toEqual([]);
  });

  it('host API errors name the value', () => {
    const vm = enabledVm();
    expect(() => vm.host.synic.post(0, 2, 1, new Uint8Array(241))).toThrow('at most 240 bytes, got 241');
    expect(() => vm.host.synic.post(9, 2, 1, new Uint8Array(1))).toThrow(
      'VP 9 is not in this partition: use 0..1',
    );
    expect(() => vm.host.synic.signalEvent(0, 2, 2048)).toThrow(
      'event flag 2048 does not exist: use 0..2047',
    );
  });

  it('event flags: set once per signal, interrupt only on a new flag, lost while the SIEFP is disabled', () => {
    const vm = enabledVm();
    expect(vm.host.synic.signalEvent(0, 2, 33)).toBe(true);
    expect(vm.host.synic.signalEvent(0, 2, 33)).toBe(false);
    expect(vm.memory.readU32(SIEFP + 512n + 4n)).toBe(2);
    expect(vm.woken).toEqual([[0, 0x40]]);
    expect(vm.host.synic.signalEvent(1, 2, 1)).toBe(false);
  });
});

describe('HvCallPostMessage (0x005C) statuses', () => {
  it.each([
    ['SUCCESS: a channel message to connection 1', {}, HvStatus.SUCCESS],
    ['INVALID_HYPERCALL_INPUT: RsvdZ bytes 4–7 set', { reserved: 1 }, HvStatus.INVALID_HYPERCALL_INPUT],
    ['INVALID_PARAMETER: PayloadSize 241 > 240', { payloadSize: 241 }, HvStatus.INVALID_PARAMETER],
    ['INVALID_PARAMETER: MessageType 0', { messageType: 0 }, HvStatus.INVALID_PARAMETER],
    [
      'INVALID_PARAMETER: MessageType with bit 31 (hypervisor types)',
      { messageType: 0x8000_0001 },
      HvStatus.INVALID_PARAMETER,
    ],
    ['INVALID_CONNECTION_ID: no port on connection 7', { connectionId: 7 }, HvStatus.INVALID_CONNECTION_ID],
  ] as const)('%s', (_t, fields, status) => {
    const vm = new ChannelVm();
    expect(
      vm.postMessage({ connectionId: 1, payload: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0), ...fields }),
    ).toBe(status);
  });

  it('ACCESS_DENIED without the PostMessages privilege', () => {
    const vm = new ChannelVm({ drop: ['PostMessages'] });
    expect(vm.postMessage({ connectionId: 1, payload: new Uint8Array(8) })).toBe(HvStatus.ACCESS_DENIED);
  });

  it('INVALID_HYPERCALL_INPUT in the fast form (the input is 256 bytes); INVALID_ALIGNMENT for a misaligned input', () => {
    const vm = new ChannelVm();
    expect(vm.call(0, HvCallCode.HvCallPostMessage, true, [1n, 1n])).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(vm.call(0, HvCallCode.HvCallPostMessage, false, [], INPUT_GPA + 4n)).toBe(
      HvStatus.INVALID_ALIGNMENT,
    );
  });

  it('INSUFFICIENT_BUFFERS while the host has messageQueueDepth messages waiting for the guest', () => {
    const vm = new ChannelVm({ messageQueueDepth: 1 });
    const contact = new Uint8Array(40);
    const v = new DataView(contact.buffer);
    v.setUint32(0, 14, true);
    v.setUint32(8, 0x50003, true);
    v.setUint8(16, 2);
    v.setBigUint64(24, 0x6000n, true);
    v.setBigUint64(32, 0x7000n, true);
    expect(vm.postMessage({ connectionId: 4, payload: contact })).toBe(HvStatus.SUCCESS);
    // SIMP disabled: the VERSION_RESPONSE waits in the queue.
    expect(vm.host.synic.pending(0, 2)).toBe(1);
    expect(vm.postMessage({ connectionId: 4, payload: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) })).toBe(
      HvStatus.INSUFFICIENT_BUFFERS,
    );
    vm.partition.writeMsr(0, HV_X64_MSR_SIMP, SIMP | 1n);
    expect(vm.postMessage({ connectionId: 4, payload: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0) })).toBe(
      HvStatus.SUCCESS,
    );
  });
});

describe('HvCallSignalEvent (0x005D) statuses', () => {
  const ports = (vm: ChannelVm, seen: number[]) => {
    vm.host.ports.connectEventPort(0x20, (vp, flag) => seen.push(vp, flag));
  };
  it.each([
    ['SUCCESS: a live port, flag 0', 0x20n, HvStatus.SUCCESS],
    ['INVALID_HYPERCALL_INPUT: bits 63:48 set (KVM)', 0x1_0000_0000_0020n, HvStatus.INVALID_HYPERCALL_INPUT],
    ['INVALID_CONNECTION_ID: no port on the connection', 0x21n, HvStatus.INVALID_CONNECTION_ID],
    [
      'INVALID_PARAMETER: flag number 1 ≥ the port’s one flag',
      SignalEventValue.encode({ ConnectionId: 0x20, FlagNumber: 1 }),
      HvStatus.INVALID_PARAMETER,
    ],
  ] as const)('%s', (_t, value, status) => {
    for (const fast of [true, false]) {
      const vm = new ChannelVm();
      const seen: number[] = [];
      ports(vm, seen);
      expect(vm.signalEvent(value, 1, fast)).toBe(status);
      expect(seen).toEqual(status === HvStatus.SUCCESS ? [1, 0] : []);
    }
  });

  it('INVALID_PORT_ID once the port is deleted (a closed channel)', () => {
    const vm = new ChannelVm();
    ports(vm, []);
    vm.host.ports.deleteEventPort(0x20);
    expect(vm.signalEvent(0x20n)).toBe(HvStatus.INVALID_PORT_ID);
  });

  it('ACCESS_DENIED without the SignalEvents privilege', () => {
    const vm = new ChannelVm({ drop: ['SignalEvents'] });
    ports(vm, []);
    expect(vm.signalEvent(0x20n)).toBe(HvStatus.ACCESS_DENIED);
  });

  it('INVALID_ALIGNMENT for a misaligned memory-form input', () => {
    const vm = new ChannelVm();
    expect(vm.call(0, 0x5d, false, [], INPUT_GPA + 4n)).toBe(HvStatus.INVALID_ALIGNMENT);
  });
});
