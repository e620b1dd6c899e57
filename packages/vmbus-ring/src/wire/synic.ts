/**
 * The Synthetic Interrupt Controller as VMBus uses it (TLFS "Synthetic Interrupt Controller";
 * Linux include/hyperv/hvgdk_mini.h and arch/x86/include/asm/hyperv-tlfs.h; KVM
 * arch/x86/kvm/hyperv.c; openvmm hvdef): the SynIC MSRs and their bit layouts, the 256-byte
 * HV_MESSAGE, the message (SIMP) and event-flags (SIEFP) pages, and the inputs of
 * HvCallPostMessage (0x005C) and HvCallSignalEvent (0x005D).
 */
import { defineBitLayout, defineByteStruct } from '@pvlab/hypercall';

/** HV_X64_MSR_SCONTROL: bit 0 enables the SynIC of this VP. */
export const HV_X64_MSR_SCONTROL = 0x4000_0080n;
/** HV_X64_MSR_SVERSION: read-only SynIC version. */
export const HV_X64_MSR_SVERSION = 0x4000_0081n;
/** HV_X64_MSR_SIEFP: the event-flags page (enable bit 0, GPFN 63:12). */
export const HV_X64_MSR_SIEFP = 0x4000_0082n;
/** HV_X64_MSR_SIMP: the message page (enable bit 0, GPFN 63:12). */
export const HV_X64_MSR_SIMP = 0x4000_0083n;
/** HV_X64_MSR_EOM: write-only end of message; the hypervisor re-tries pending messages. */
export const HV_X64_MSR_EOM = 0x4000_0084n;
/** HV_X64_MSR_SINT0; SINTn is `HV_X64_MSR_SINT0 + n` up to SINT15 (0x4000009F). */
export const HV_X64_MSR_SINT0 = 0x4000_0090n;

/** SINTs per VP. */
export const HV_SYNIC_SINT_COUNT = 16;
/** SVERSION's value: SynIC version 1. */
export const HV_SYNIC_VERSION_1 = 1n;
/** The lowest vector a SINT may use unmasked (KVM: a lower one is #GP). */
export const HV_SYNIC_FIRST_VALID_VECTOR = 16;

/** The MSR of SINT `sint` (0..15). */
export function hvSintMsr(sint: number): bigint {
  if (!Number.isInteger(sint) || sint < 0 || sint >= HV_SYNIC_SINT_COUNT) {
    throw new RangeError(`SINT ${sint} does not exist: use 0..${HV_SYNIC_SINT_COUNT - 1}`);
  }
  return HV_X64_MSR_SINT0 + BigInt(sint);
}

/** HV_X64_MSR_SCONTROL: bit 0 Enable, 63:1 RsvdP (two fields: a field is at most 53 bits). */
export const SynicControl = defineBitLayout('HV_X64_MSR_SCONTROL', [
  { name: 'Enable', lsb: 0, width: 1 },
  { name: 'RsvdP', lsb: 1, width: 31, kind: 'reserved-preserve' },
  { name: 'RsvdP2', lsb: 32, width: 32, kind: 'reserved-preserve' },
] as const);

/** HV_X64_MSR_SIMP and HV_X64_MSR_SIEFP: bit 0 Enable, 11:1 RsvdP, 63:12 page GPFN. */
export const SynicPageMsr = defineBitLayout('HV_X64_MSR_SIMP/SIEFP', [
  { name: 'Enable', lsb: 0, width: 1 },
  { name: 'RsvdP', lsb: 1, width: 11, kind: 'reserved-preserve' },
  { name: 'Gpfn', lsb: 12, width: 52 },
] as const);

/** HV_X64_MSR_SINTn: vector 7:0, 15:8 RsvdP, Masked 16, AutoEoi 17, Polling 18, 63:19 RsvdP. */
export const SynicSint = defineBitLayout('HV_X64_MSR_SINT', [
  { name: 'Vector', lsb: 0, width: 8 },
  { name: 'RsvdP', lsb: 8, width: 8, kind: 'reserved-preserve' },
  { name: 'Masked', lsb: 16, width: 1 },
  { name: 'AutoEoi', lsb: 17, width: 1 },
  { name: 'Polling', lsb: 18, width: 1 },
  { name: 'RsvdP2', lsb: 19, width: 45, kind: 'reserved-preserve' },
] as const);

/** A SINT's value after reset: masked, vector 0 (TLFS; KVM `synic_init`). */
export const HV_SYNIC_SINT_RESET_VALUE = SynicSint.encode({ Masked: 1 });

/** Bytes of one HV_MESSAGE (a SIMP slot). */
export const HV_MESSAGE_SIZE = 256;
/** The largest message payload. */
export const HV_MESSAGE_PAYLOAD_BYTES = 240;
/** HV_MESSAGE.MessageFlags bit 0: MessagePending — another message waits; write EOM after freeing the slot. */
export const HV_MESSAGE_FLAG_PENDING = 1;
/** HVMSG_NONE: the slot is free. */
export const HVMSG_NONE = 0;
/** Message types with bit 31 set are the hypervisor's own (TLFS: a guest may not post them). */
export const HV_MESSAGE_TYPE_HYPERVISOR_MASK = 0x8000_0000;

/** HV_MESSAGE: header (u32 MessageType, u8 PayloadSize, u8 MessageFlags, u16 rsvd, u64 sender/port), 240-byte payload. */
export const HvMessage = defineByteStruct('HV_MESSAGE', [
  { name: 'messageType', offset: 0, type: 'u32' },
  { name: 'payloadSize', offset: 4, type: 'u8' },
  { name: 'messageFlags', offset: 5, type: 'u8' },
  { name: 'reserved', offset: 6, type: 'u16' },
  { name: 'sender', offset: 8, type: 'u64' },
  { name: 'payload', offset: 16, type: { bytes: HV_MESSAGE_PAYLOAD_BYTES } },
] as const);

/** Byte offset of SINT `sint`'s message slot in the SIMP page. */
export function simpSlotOffset(sint: number): number {
  return sint * HV_MESSAGE_SIZE;
}

/** Bytes of one SINT's event flags in the SIEFP page (2048 flags). */
export const HV_EVENT_FLAGS_BYTES = 256;
/** Event flags per SINT. */
export const HV_EVENT_FLAGS_COUNT = HV_EVENT_FLAGS_BYTES * 8;

/** Byte offset of SINT `sint`'s event flags in the SIEFP page. */
export function siefpFlagsOffset(sint: number): number {
  return sint * HV_EVENT_FLAGS_BYTES;
}

/** HvCallPostMessage input (256 bytes): ConnectionId, RsvdZ, MessageType, PayloadSize, Payload[240]. */
export const PostMessageInput = defineByteStruct('HV_INPUT_POST_MESSAGE', [
  { name: 'connectionId', offset: 0, type: 'u32' },
  { name: 'reserved', offset: 4, type: 'u32', kind: 'reserved-zero' },
  { name: 'messageType', offset: 8, type: 'u32' },
  { name: 'payloadSize', offset: 12, type: 'u32' },
  { name: 'payload', offset: 16, type: { bytes: HV_MESSAGE_PAYLOAD_BYTES } },
] as const);

/**
 * The HvCallSignalEvent input as one u64 (the memory form's 8 bytes, the fast form's RDX):
 * ConnectionId 31:0, FlagNumber 47:32, RsvdZ 63:48.
 */
export const SignalEventValue = defineBitLayout('HV_INPUT_SIGNAL_EVENT', [
  { name: 'ConnectionId', lsb: 0, width: 32 },
  { name: 'FlagNumber', lsb: 32, width: 16 },
  { name: 'RsvdZ', lsb: 48, width: 16, kind: 'reserved-zero' },
] as const);

/** HvCallSignalEvent input (8 bytes): one u64 whose bits are `SignalEventValue`. */
export const SignalEventInput = defineByteStruct('HV_INPUT_SIGNAL_EVENT', [
  { name: 'value', offset: 0, type: 'u64', layout: SignalEventValue },
] as const);
