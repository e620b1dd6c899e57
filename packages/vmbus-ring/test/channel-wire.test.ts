import { structLayout } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import {
  ChannelMessageType,
  ChannelRelidMessage,
  channelMessageTypeName,
  encodeGpadlMessages,
  GPADL_BODY_MAX_PFNS,
  GPADL_HEADER_MAX_PFNS,
  GpadlCreated,
  GpadlTeardown,
  GpadlTorndown,
  guidBytes,
  guidString,
  HV_X64_MSR_EOM,
  HV_X64_MSR_SCONTROL,
  HvMessage,
  hvSintMsr,
  InitiateContact,
  monitorParameterOffset,
  monitorTrigger,
  OfferChannel,
  OpenChannel,
  OpenChannelResult,
  PostMessageInput,
  SignalEventInput,
  SignalEventValue,
  SynicPageMsr,
  SynicSint,
  VersionResponse,
  VmbusVersion,
} from '../src/index.ts';
import { initiateContactInterruptPage } from '../src/wire/channel-messages.ts';
import { monitorLatencyOffset } from '../src/wire/monitor-page.ts';
import {
  HV_MESSAGE_SIZE,
  HV_SYNIC_SINT_RESET_VALUE,
  HV_X64_MSR_SIEFP,
  HV_X64_MSR_SIMP,
  HV_X64_MSR_SVERSION,
  siefpFlagsOffset,
  simpSlotOffset,
} from '../src/wire/synic.ts';
import { initiateContactConnectionId, vmbusVersionName } from '../src/wire/versions.ts';
import { hex, toHex } from './fixtures.ts';

describe('SynIC MSRs and bit layouts (TLFS; hyperv-tlfs.h)', () => {
  it.each([
    ['SCONTROL', HV_X64_MSR_SCONTROL, 0x4000_0080n],
    ['SVERSION', HV_X64_MSR_SVERSION, 0x4000_0081n],
    ['SIEFP', HV_X64_MSR_SIEFP, 0x4000_0082n],
    ['SIMP', HV_X64_MSR_SIMP, 0x4000_0083n],
    ['EOM', HV_X64_MSR_EOM, 0x4000_0084n],
    ['SINT0', hvSintMsr(0), 0x4000_0090n],
    ['SINT2', hvSintMsr(2), 0x4000_0092n],
    ['SINT15', hvSintMsr(15), 0x4000_009fn],
  ])('%s is 0x%s', (_name, msr, expected) => {
    expect(msr).toBe(expected);
  });

  it('SINT16 does not exist', () => {
    expect(() => hvSintMsr(16)).toThrow('SINT 16 does not exist: use 0..15');
  });

  it('SINT: vector 7:0, masked bit 16, auto-EOI bit 17, polling bit 18; reset value is masked', () => {
    expect(SynicSint.encode({ Vector: 0xf3, AutoEoi: 1 })).toBe(0x2_00f3n);
    expect(SynicSint.encode({ Vector: 0x20, Masked: 1, Polling: 1 })).toBe(0x5_0020n);
    expect(SynicSint.decode(0x1_00ffn)).toEqual({ Vector: 0xff, Masked: 1, AutoEoi: 0, Polling: 0 });
    expect(HV_SYNIC_SINT_RESET_VALUE).toBe(0x1_0000n);
  });

  it('SIMP/SIEFP: enable bit 0, GPFN 63:12', () => {
    expect(SynicPageMsr.encode({ Enable: 1, Gpfn: 4 })).toBe(0x4001n);
    expect(SynicPageMsr.decode(0x12_3456_7001n)).toEqual({ Enable: 1, Gpfn: 0x12_3456_7 });
  });

  it('slots: SINT n at n × 256 in both pages', () => {
    expect([simpSlotOffset(0), simpSlotOffset(2), siefpFlagsOffset(15)]).toEqual([0, 512, 3840]);
  });
});

describe('HV_MESSAGE (256 bytes)', () => {
  it('header u32 type, u8 payload size, u8 flags (bit 0 pending), u16 rsvd, u64 sender; payload at 16', () => {
    const m = HvMessage.encode({
      messageType: 1,
      payloadSize: 3,
      messageFlags: 1,
      sender: 0x1122n,
      payload: Uint8Array.of(9, 8, 7),
    });
    expect(m.length).toBe(HV_MESSAGE_SIZE);
    expect(toHex(m.subarray(0, 20))).toBe(toHex(hex('01000000 03 01 0000 2211000000000000 09080700')));
  });
});

describe('hypercall inputs', () => {
  it('HvCallPostMessage: ConnectionId, RsvdZ, MessageType, PayloadSize, Payload[240] = 256 bytes', () => {
    const m = PostMessageInput.encode({
      connectionId: 4,
      messageType: 1,
      payloadSize: 2,
      payload: Uint8Array.of(0x0e, 0),
    });
    expect(PostMessageInput.size).toBe(256);
    expect(structLayout(PostMessageInput)).toBe(
      '0: u32 connectionId · 4: u32 reserved (RsvdZ) · 8: u32 messageType · 12: u32 payloadSize · 16: 240 B payload (256 B)',
    );
    expect(toHex(m.subarray(0, 18))).toBe(toHex(hex('04000000 00000000 01000000 02000000 0e00')));
  });

  it('HvCallSignalEvent: RDX = ConnectionId | FlagNumber << 32, bits 63:48 RsvdZ', () => {
    expect(SignalEventValue.encode({ ConnectionId: 0x10001, FlagNumber: 0 })).toBe(0x10001n);
    expect(SignalEventValue.encode({ ConnectionId: 2, FlagNumber: 3 })).toBe(0x3_0000_0002n);
    expect(SignalEventValue.reservedZeroBits(0x1_0000_0000_0002n)).toBe(0x1_0000_0000_0000n);
  });

  it('HvCallSignalEvent memory form: the same u64 as its 8 input bytes', () => {
    const m = SignalEventInput.encode({ value: SignalEventValue.encode({ ConnectionId: 2, FlagNumber: 3 }) });
    expect(structLayout(SignalEventInput)).toBe('0: u64 value (8 B)');
    expect(SignalEventInput.accessors.value.layout).toBe(SignalEventValue);
    expect(toHex(m)).toBe(toHex(hex('02000000 0300 0000')));
  });
});

describe('channel messages (spec 04 "Channel messages")', () => {
  it('message type names, known and unknown', () => {
    expect(channelMessageTypeName(ChannelMessageType.GPADL_BODY)).toBe('CHANNELMSG_GPADL_BODY');
    expect(channelMessageTypeName(99)).toBe('unknown channel message 0x63');
    expect([
      ChannelMessageType.OFFERCHANNEL,
      ChannelMessageType.VERSION_RESPONSE,
      ChannelMessageType.RESUME,
    ]).toEqual([1, 15, 29]);
  });

  it('INITIATE_CONTACT: version, target_vcpu, {msg_sint, msg_vtl, rsvd, features} | interrupt_page, monitor pages', () => {
    const m = InitiateContact.encode({
      msgtype: 14,
      version: VmbusVersion.WIN10_V5_3,
      targetVcpu: 1,
      msgSint: 2,
      monitorPage1: 0x6000n,
      monitorPage2: 0x7000n,
    });
    expect(toHex(m)).toBe(
      toHex(hex('0e000000 00000000 03000500 01000000 02 00 0000 00000000 0060000000000000 0070000000000000')),
    );
    expect(initiateContactInterruptPage(m)).toBe(2n);
    expect(InitiateContact.decode(m.subarray(0, 39))).toBeNull();
  });

  it('VERSION_RESPONSE: u8 version_supported, u8 connection_state, u16 pad, u32 msg_conn_id', () => {
    const m = VersionResponse.encode({ msgtype: 15, versionSupported: 1, connectionState: 0, msgConnId: 4 });
    expect(toHex(m)).toBe(toHex(hex('0f000000 00000000 01 00 0000 04000000')));
  });

  it('OFFERCHANNEL: GUIDs at 8/24, sub_channel_index 180, child_relid 184, monitor 188/189, interrupt 190, connection_id 192', () => {
    const m = OfferChannel.encode({
      msgtype: 1,
      interfaceType: guidBytes('8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501'),
      childRelid: 7,
      monitorId: 5,
      monitorFlags: 1,
      interruptFlags: 1,
      connectionId: 0x10007,
    });
    expect(OfferChannel.size).toBe(196);
    expect(toHex(m.subarray(8, 24))).toBe(toHex(hex('3daf2e8c a732 094b ab99 bd1f1c86b501')));
    expect(toHex(m.subarray(180, 196))).toBe(toHex(hex('0000 0000 07000000 05 01 0100 07000100')));
  });

  it('OPENCHANNEL: relid, openid, gpadl, target_vp, downstream offset, user_data[120] = 148 bytes', () => {
    const m = OpenChannel.encode({
      msgtype: 5,
      childRelid: 1,
      openId: 2,
      ringBufferGpadl: 0xe1e10,
      targetVp: 0,
      downstreamRingPageOffset: 17,
    });
    expect(OpenChannel.size).toBe(148);
    expect(toHex(m.subarray(0, 28))).toBe(
      toHex(hex('05000000 00000000 01000000 02000000 101e0e00 00000000 11000000')),
    );
  });

  it('OPENCHANNEL_RESULT, GPADL_CREATED, GPADL_TEARDOWN, GPADL_TORNDOWN, relid messages', () => {
    expect(
      toHex(OpenChannelResult.encode({ msgtype: 6, childRelid: 1, openId: 2, status: 0xc0000001 })),
    ).toBe(toHex(hex('06000000 00000000 01000000 02000000 010000c0')));
    expect(
      toHex(GpadlCreated.encode({ msgtype: 10, childRelid: 1, gpadl: 0xe1e10, creationStatus: 0 })),
    ).toBe(toHex(hex('0a000000 00000000 01000000 101e0e00 00000000')));
    expect(toHex(GpadlTeardown.encode({ msgtype: 11, childRelid: 3, gpadl: 9 }))).toBe(
      toHex(hex('0b000000 00000000 03000000 09000000')),
    );
    expect(toHex(GpadlTorndown.encode({ msgtype: 12, gpadl: 9 }))).toBe(
      toHex(hex('0c000000 00000000 09000000')),
    );
    expect(toHex(ChannelRelidMessage.encode({ msgtype: 13, childRelid: 2 }))).toBe(
      toHex(hex('0d000000 00000000 02000000')),
    );
  });

  it('spec 04 rule 13: GPADL_HEADER holds ≤ 26 PFNs, each GPADL_BODY ≤ 28', () => {
    expect([GPADL_HEADER_MAX_PFNS, GPADL_BODY_MAX_PFNS]).toEqual([26, 28]);
    const pfns = Array.from({ length: 26 + 28 + 1 }, (_, i) => BigInt(0x100 + i));
    const msgs = encodeGpadlMessages(1, 0xe1e10, pfns);
    expect(msgs.map((m) => m.length)).toEqual([20 + 8 + 26 * 8, 16 + 28 * 8, 16 + 8]);
    expect(msgs.every((m) => m.length <= 240)).toBe(true);
    // Header: relid 1, gpadl, range_buflen = 8 + 8 × 55 = 448, rangecount 1, byte_count 55 pages, offset 0, first PFN.
    expect(toHex(msgs[0]!.subarray(0, 36))).toBe(
      toHex(hex('08000000 00000000 01000000 101e0e00 c001 0100 00700300 00000000 0001000000000000')),
    );
    expect(toHex(msgs[1]!.subarray(0, 24))).toBe(
      toHex(hex('09000000 00000000 01000000 101e0e00 1a01000000000000')),
    );
    expect(toHex(msgs[2]!)).toBe(toHex(hex('09000000 00000000 02000000 101e0e00 3601000000000000')));
    expect(encodeGpadlMessages(1, 2, [5n])).toHaveLength(1);
    expect(() => encodeGpadlMessages(1, 2, [])).toThrow('a GPADL needs at least one PFN');
  });

  it('versions and connection ids: 5.0 and later use connection 4', () => {
    expect(vmbusVersionName(VmbusVersion.WIN10_V5_3)).toBe('5.3');
    expect(vmbusVersionName(VmbusVersion.WIN8)).toBe('2.4');
    expect(initiateContactConnectionId(VmbusVersion.WIN10_V5)).toBe(4);
    expect(initiateContactConnectionId(VmbusVersion.WIN10_RS3)).toBe(1);
  });
});

describe('monitor page (spec 04 "Monitor page")', () => {
  it('monitor id m → trigger group m / 32, bit m % 32; parameter at 1088 + 8m; latency at 576 + 2m', () => {
    expect(monitorTrigger(0)).toEqual({ pending: 8, armed: 12, bit: 0, group: 0 });
    expect(monitorTrigger(33)).toEqual({ pending: 16, armed: 20, bit: 1, group: 1 });
    expect(monitorTrigger(127)).toEqual({ pending: 32, armed: 36, bit: 31, group: 3 });
    expect(monitorParameterOffset(127)).toBe(2104);
    expect(monitorLatencyOffset(1)).toBe(578);
    expect(() => monitorTrigger(128)).toThrow('monitor id 128 does not exist: use 0..127');
  });
});

describe('GUIDs', () => {
  it('round trip in the mixed-endian wire form', () => {
    const g = 'f8615163-df3e-46c5-913f-f2d2f965ed0e';
    expect(toHex(guidBytes(g))).toBe(toHex(hex('635161f8 3edf c546 913f f2d2f965ed0e')));
    expect(guidString(guidBytes(g))).toBe(g);
    expect(() => guidBytes('nope')).toThrow("GUID 'nope' is not accepted");
  });
});
