/**
 * The host side of the SynIC (TLFS "Synthetic Interrupt Controller"; KVM arch/x86/kvm/hyperv.c
 * `synic_set_msr`, `synic_deliver_msg`): per-VP SCONTROL/SIMP/SIEFP/SINTx/EOM, message delivery
 * into a SIMP slot with the MessagePending/EOM protocol, event flags in the SIEFP page, and SINT
 * interrupts through `HvPartition.deliverInterrupt`. Guest pages are accessed with `Atomics` so
 * a vCPU thread and the host agree on the slot's MessageType and the flag bits.
 */
import { GuestFault, GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import type { HvPartition } from '@pvlab/hypercall/host';
import {
  HV_EVENT_FLAGS_COUNT,
  HV_MESSAGE_FLAG_PENDING,
  HV_MESSAGE_PAYLOAD_BYTES,
  HV_SYNIC_FIRST_VALID_VECTOR,
  HV_SYNIC_SINT_COUNT,
  HV_SYNIC_SINT_RESET_VALUE,
  HV_SYNIC_VERSION_1,
  HV_X64_MSR_EOM,
  HV_X64_MSR_SCONTROL,
  HV_X64_MSR_SIEFP,
  HV_X64_MSR_SIMP,
  HV_X64_MSR_SVERSION,
  HVMSG_NONE,
  HvMessage,
  hvSintMsr,
  SynicPageMsr,
  SynicSint,
  siefpFlagsOffset,
  simpSlotOffset,
} from '../wire/synic.js';

/** A message waiting for its SIMP slot. */
export interface QueuedMessage {
  readonly messageType: number;
  readonly payload: Uint8Array;
  readonly sender: bigint;
}

/** One VP's SynIC registers and its per-SINT queues of undelivered messages. */
export class SynicVpState {
  scontrol = 0n;
  simp = 0n;
  siefp = 0n;
  readonly sints: bigint[] = Array.from({ length: HV_SYNIC_SINT_COUNT }, () => HV_SYNIC_SINT_RESET_VALUE);
  readonly queues: QueuedMessage[][] = Array.from({ length: HV_SYNIC_SINT_COUNT }, () => []);

  get enabled(): boolean {
    return (this.scontrol & 1n) === 1n;
  }
}

/** What `SynicHost.post` did with a message. */
export type PostOutcome = 'delivered' | 'queued';

/** The partition's SynICs. */
export class SynicHost {
  readonly #partition: HvPartition;
  readonly vps: readonly SynicVpState[];
  /** Every message delivered into a slot and every event flag set, for the trace. */
  readonly counters = { messagesDelivered: 0, eventsSignalled: 0, interruptsAsserted: 0 };

  constructor(partition: HvPartition) {
    this.#partition = partition;
    this.vps = partition.vps.map(() => new SynicVpState());
  }

  /** The VP's SynIC state, or a RangeError naming the VPs. */
  vp(vp: number): SynicVpState {
    const s = this.vps[vp];
    if (s === undefined)
      throw new RangeError(`VP ${vp} is not in this partition: use 0..${this.vps.length - 1}`);
    return s;
  }

  /** Registers SCONTROL, SVERSION, SIEFP, SIMP, EOM and SINT0–15, each gated by AccessSynicRegs. */
  installMsrs(): void {
    const p = this.#partition;
    const gate = 'AccessSynicRegs' as const;
    p.registerMsr({
      msr: HV_X64_MSR_SCONTROL,
      name: 'HV_X64_MSR_SCONTROL',
      gate,
      read: (vp) => this.vp(vp).scontrol,
      write: (vp, value) => {
        this.vp(vp).scontrol = value;
        this.#retryAll(vp);
      },
    });
    p.registerMsr({
      msr: HV_X64_MSR_SVERSION,
      name: 'HV_X64_MSR_SVERSION',
      gate,
      read: () => HV_SYNIC_VERSION_1,
      write: (vp) => {
        throw new GuestFault('GP', `VP ${vp} wrote the read-only HV_X64_MSR_SVERSION`);
      },
    });
    for (const [msr, name, which] of [
      [HV_X64_MSR_SIMP, 'HV_X64_MSR_SIMP', 'simp'],
      [HV_X64_MSR_SIEFP, 'HV_X64_MSR_SIEFP', 'siefp'],
    ] as const) {
      p.registerMsr({
        msr,
        name,
        gate,
        read: (vp) => this.vp(vp)[which],
        write: (vp, value) => this.#writePageMsr(vp, name, which, value),
      });
    }
    p.registerMsr({
      msr: HV_X64_MSR_EOM,
      name: 'HV_X64_MSR_EOM',
      gate,
      read: () => 0n,
      write: (vp) => this.#retryAll(vp),
    });
    for (let sint = 0; sint < HV_SYNIC_SINT_COUNT; sint++) {
      p.registerMsr({
        msr: hvSintMsr(sint),
        name: `HV_X64_MSR_SINT${sint}`,
        gate,
        read: (vp) => this.vp(vp).sints[sint]!,
        write: (vp, value) => this.#writeSint(vp, sint, value),
      });
    }
  }

  /**
   * Posts a message to SINT `sint` of VP `vp`: written into the slot when the SIMP is enabled and
   * the slot is free (then the SINT is asserted), else queued; an occupied slot gets
   * MessagePending so that the guest writes EOM once it frees it.
   */
  post(vp: number, sint: number, messageType: number, payload: Uint8Array, sender = 0n): PostOutcome {
    if (payload.length > HV_MESSAGE_PAYLOAD_BYTES) {
      throw new RangeError(
        `a SynIC message payload is at most ${HV_MESSAGE_PAYLOAD_BYTES} bytes, got ${payload.length}`,
      );
    }
    const queue = this.vp(vp).queues[sint];
    if (queue === undefined) throw new RangeError(`SINT ${sint} does not exist: use 0..15`);
    queue.push({ messageType, payload: payload.slice(), sender });
    this.#deliver(vp, sint);
    return queue.length === 0 ? 'delivered' : 'queued';
  }

  /** Messages still waiting for SINT `sint`'s slot on VP `vp`. */
  pending(vp: number, sint: number): number {
    return this.vp(vp).queues[sint]?.length ?? 0;
  }

  /**
   * Sets event flag `flag` of SINT `sint` in VP `vp`'s SIEFP page and asserts the SINT (TLFS:
   * HvCallSignalEvent's effect on the receiver). `false` when the SIEFP is disabled (the event
   * is lost, as on Hyper-V) or the flag was already set (no new interrupt is needed).
   */
  signalEvent(vp: number, sint: number, flag: number): boolean {
    const s = this.vp(vp);
    if (!Number.isInteger(flag) || flag < 0 || flag >= HV_EVENT_FLAGS_COUNT) {
      throw new RangeError(`event flag ${flag} does not exist: use 0..${HV_EVENT_FLAGS_COUNT - 1}`);
    }
    const page = SynicPageMsr.decode(s.siefp);
    if (page.Enable !== 1) return false;
    const words = this.#words(GuestPage.address(BigInt(page.Gpfn)) + BigInt(siefpFlagsOffset(sint)), 256);
    const bit = 1 << (flag & 31);
    const before = Atomics.or(words, flag >>> 5, bit);
    if ((before & bit) !== 0) return false;
    this.counters.eventsSignalled++;
    this.#assert(vp, sint);
    return true;
  }

  #words(gpa: bigint, bytes: number): Int32Array {
    const mem = this.#partition.memory;
    return new Int32Array(mem.buffer, mem.offsetOf(gpa, bytes), bytes / 4);
  }

  /** Raises the SINT's vector when the SynIC is enabled and the SINT unmasked and not polled. */
  #assert(vp: number, sint: number): void {
    const s = this.vp(vp);
    const reg = SynicSint.decode(s.sints[sint]!);
    if (!s.enabled || reg.Masked === 1 || reg.Polling === 1) return;
    this.counters.interruptsAsserted++;
    this.#partition.deliverInterrupt(vp, reg.Vector);
  }

  #deliver(vp: number, sint: number): void {
    const s = this.vp(vp);
    const queue = s.queues[sint]!;
    const simp = SynicPageMsr.decode(s.simp);
    if (queue.length === 0 || simp.Enable !== 1) return;
    const mem = this.#partition.memory;
    const slot = mem.offsetOf(GuestPage.address(BigInt(simp.Gpfn)) + BigInt(simpSlotOffset(sint)), 256);
    const typeWord = new Int32Array(mem.buffer, slot, 1);
    const flags = new Uint8Array(mem.buffer, slot + HvMessage.offsetOf('messageFlags'), 1);
    while (queue.length > 0) {
      if (Atomics.load(typeWord, 0) !== HVMSG_NONE) {
        // The slot is busy: ask for an EOM, then look again in case the guest freed it meanwhile.
        Atomics.or(flags, 0, HV_MESSAGE_FLAG_PENDING);
        if (Atomics.load(typeWord, 0) !== HVMSG_NONE) return;
      }
      const m = queue.shift()!;
      const bytes = new Uint8Array(mem.buffer, slot, 256);
      bytes.fill(0, 4);
      HvMessage.write(new DataView(mem.buffer, slot, 256), 0, {
        payloadSize: m.payload.length,
        messageFlags: queue.length > 0 ? HV_MESSAGE_FLAG_PENDING : 0,
        sender: m.sender,
      });
      bytes.set(m.payload, HvMessage.offsetOf('payload'));
      // MessageType last: a guest that sees it non-zero sees the whole message.
      Atomics.store(typeWord, 0, m.messageType | 0);
      this.counters.messagesDelivered++;
      this.#assert(vp, sint);
      return;
    }
  }

  #retryAll(vp: number): void {
    for (let sint = 0; sint < HV_SYNIC_SINT_COUNT; sint++) this.#deliver(vp, sint);
  }

  #writePageMsr(vp: number, name: string, which: 'simp' | 'siefp', value: bigint): void {
    const page = SynicPageMsr.decode(value);
    if (page.Enable === 1) {
      const gpa = GuestPage.address(BigInt(page.Gpfn));
      // KVM clears the page on enable and #GPs when it cannot.
      if (!this.#partition.memory.contains(gpa, HV_PAGE_SIZE)) {
        throw new GuestFault('GP', `VP ${vp} put ${name} at GPA 0x${gpa.toString(16)}, outside RAM`);
      }
      this.#partition.memory.fill(gpa, HV_PAGE_SIZE, 0);
    }
    this.vp(vp)[which] = value;
    if (which === 'simp') this.#retryAll(vp);
  }

  #writeSint(vp: number, sint: number, value: bigint): void {
    const reg = SynicSint.decode(value);
    // KVM `synic_set_sint`: an unmasked SINT with a vector below 16 is #GP.
    if (reg.Masked === 0 && reg.Vector < HV_SYNIC_FIRST_VALID_VECTOR) {
      throw new GuestFault('GP', `VP ${vp} unmasked SINT${sint} with vector ${reg.Vector} (< 16)`);
    }
    this.vp(vp).sints[sint] = value;
    this.#deliver(vp, sint);
  }
}
