/**
 * The guest's SynIC, as Linux sets it up (drivers/hv/hv.c `hv_synic_enable_regs`) and reads it
 * (`vmbus_on_msg_dpc`, `vmbus_chan_sched`): the message page, the event-flags page, one SINT's
 * vector, SCONTROL; messages are taken from a SIMP slot (free the slot, then EOM if another
 * message is pending) and event flags are test-and-cleared.
 */
import { type GuestMemory, GuestPage } from '@pvlab/hypercall';
import type { GuestCpu } from '@pvlab/hypercall/guest';
import {
  HV_EVENT_FLAGS_BYTES,
  HV_MESSAGE_FLAG_PENDING,
  HV_MESSAGE_PAYLOAD_BYTES,
  HV_X64_MSR_EOM,
  HV_X64_MSR_SCONTROL,
  HV_X64_MSR_SIEFP,
  HV_X64_MSR_SIMP,
  HVMSG_NONE,
  HvMessage,
  hvSintMsr,
  SynicControl,
  SynicPageMsr,
  SynicSint,
  siefpFlagsOffset,
  simpSlotOffset,
} from '../wire/synic.js';
import { VMBUS_MESSAGE_SINT } from '../wire/versions.js';

/** A message taken from a SIMP slot. */
export interface GuestHvMessage {
  readonly messageType: number;
  readonly sender: bigint;
  /** A copy of the payload (PayloadSize bytes, at most 240). */
  readonly payload: Uint8Array;
}

/** Where the guest's SynIC pages are and which vector SINT 2 raises. */
export interface GuestSynicOptions {
  readonly simpPfn: bigint;
  readonly siefpPfn: bigint;
  /** The VMBus interrupt vector (Linux allocates one; ≥ 16). */
  readonly vector: number;
  /** The SINT to program (default VMBUS_MESSAGE_SINT, 2). */
  readonly sint?: number;
  /** Auto-EOI (Linux: only when the hypervisor does not recommend against it). */
  readonly autoEoi?: boolean;
}

/** One CPU's SynIC from the guest's side. */
export class GuestSynic {
  readonly cpu: GuestCpu;
  readonly memory: GuestMemory;
  readonly options: GuestSynicOptions;
  readonly sint: number;

  constructor(cpu: GuestCpu, memory: GuestMemory, options: GuestSynicOptions) {
    this.cpu = cpu;
    this.memory = memory;
    this.options = options;
    this.sint = options.sint ?? VMBUS_MESSAGE_SINT;
  }

  /** `hv_synic_enable_regs`: SIMP, SIEFP (reserved bits preserved), the SINT unmasked, then SCONTROL.Enable. */
  enable(): void {
    const cpu = this.cpu;
    const page = (msr: bigint, pfn: bigint) => {
      const keep = cpu.readMsr(msr) & SynicPageMsr.field('RsvdP').mask;
      cpu.writeMsr(msr, keep | SynicPageMsr.encode({ Enable: 1, Gpfn: Number(pfn) }));
    };
    page(HV_X64_MSR_SIMP, this.options.simpPfn);
    page(HV_X64_MSR_SIEFP, this.options.siefpPfn);
    cpu.writeMsr(
      hvSintMsr(this.sint),
      SynicSint.encode({ Vector: this.options.vector, Masked: 0, AutoEoi: this.options.autoEoi ? 1 : 0 }),
    );
    const sc = cpu.readMsr(HV_X64_MSR_SCONTROL);
    cpu.writeMsr(HV_X64_MSR_SCONTROL, sc | SynicControl.encode({ Enable: 1 }));
  }

  /** `hv_synic_disable_regs`: masks the SINT, disables SIMP, SIEFP and SCONTROL. */
  disable(): void {
    const cpu = this.cpu;
    cpu.writeMsr(hvSintMsr(this.sint), SynicSint.encode({ Masked: 1 }));
    cpu.writeMsr(HV_X64_MSR_SIMP, cpu.readMsr(HV_X64_MSR_SIMP) & ~1n);
    cpu.writeMsr(HV_X64_MSR_SIEFP, cpu.readMsr(HV_X64_MSR_SIEFP) & ~1n);
    cpu.writeMsr(HV_X64_MSR_SCONTROL, cpu.readMsr(HV_X64_MSR_SCONTROL) & ~1n);
  }

  /**
   * Takes the message in SINT `sint`'s slot, or `null` when the slot is free. Linux
   * `vmbus_signal_eom`: MessageType = NONE, full barrier, then EOM only if MessagePending.
   */
  pollMessage(sint = this.sint): GuestHvMessage | null {
    const mem = this.memory;
    const slot = mem.offsetOf(GuestPage.address(this.options.simpPfn) + BigInt(simpSlotOffset(sint)), 256);
    const typeWord = new Int32Array(mem.buffer, slot, 1);
    const messageType = Atomics.load(typeWord, 0) >>> 0;
    if (messageType === HVMSG_NONE) return null;
    const view = new DataView(mem.buffer, slot, 256);
    const size = Math.min(view.getUint8(HvMessage.offsetOf('payloadSize')), HV_MESSAGE_PAYLOAD_BYTES);
    const payloadAt = slot + HvMessage.offsetOf('payload');
    const message = {
      messageType,
      sender: view.getBigUint64(HvMessage.offsetOf('sender'), true),
      payload: mem.bytes.slice(payloadAt, payloadAt + size),
    };
    Atomics.store(typeWord, 0, HVMSG_NONE);
    const flags = new Uint8Array(mem.buffer, slot + HvMessage.offsetOf('messageFlags'), 1);
    if ((Atomics.load(flags, 0) & HV_MESSAGE_FLAG_PENDING) !== 0) this.cpu.writeMsr(HV_X64_MSR_EOM, 0n);
    return message;
  }

  /** Test-and-clears SINT `sint`'s event flags; the set flag numbers, ascending (`vmbus_chan_sched`). */
  takeEventFlags(sint = this.sint): number[] {
    const mem = this.memory;
    const words = new Int32Array(
      mem.buffer,
      mem.offsetOf(
        GuestPage.address(this.options.siefpPfn) + BigInt(siefpFlagsOffset(sint)),
        HV_EVENT_FLAGS_BYTES,
      ),
      HV_EVENT_FLAGS_BYTES / 4,
    );
    const out: number[] = [];
    for (let w = 0; w < words.length; w++) {
      if (Atomics.load(words, w) === 0) continue;
      let bits = Atomics.exchange(words, w, 0) >>> 0;
      while (bits !== 0) {
        const low = bits & -bits;
        out.push(w * 32 + 31 - Math.clz32(low));
        bits = (bits & ~low) >>> 0;
      }
    }
    return out;
  }
}
