export {
  initRingControl,
  type RingInitOptions,
} from './ring/control.js';
export {
  corrupt,
  type RingCorrupt,
} from './ring/results.js';
export {
  type ChannelGpadlSplit,
  RingMemory,
  type RingPageAccessor,
  splitChannelGpadl,
} from './ring/ring-memory.js';
export {
  type ReadResult,
  type RingEmpty,
  RingPacket,
  RingReader,
} from './ring/ring-reader.js';
export {
  type PacketHeader,
  type ReserveResult,
  type RingFull,
  RingWriter,
  type WriteDone,
  WriteReservation,
  type WriteResult,
} from './ring/ring-writer.js';
export {
  advanceIndex,
  align8,
  bytesToRead,
  bytesToWrite,
  isValidRingIndex,
  writeFits,
} from './wire/arithmetic.js';
export {
  ChannelMessageHeader,
  ChannelMessageType,
  ChannelRelidMessage,
  channelMessageTypeName,
  encodeGpadlMessages,
  GPADL_BODY_MAX_PFNS,
  GPADL_HEADER_MAX_PFNS,
  GpadlBody,
  GpadlCreated,
  GpadlHeader,
  GpadlTeardown,
  GpadlTorndown,
  GpaRangeHeader,
  InitiateContact,
  OfferChannel,
  OpenChannel,
  OpenChannelResult,
  VersionResponse,
} from './wire/channel-messages.js';
export {
  decodeRingControl,
  encodeRingControl,
  RING_CONTROL_PAGE_SIZE,
  RING_FEATURE_BITS_OFFSET,
  RING_FEATURE_PENDING_SEND_SIZE,
  RING_INTERRUPT_MASK_OFFSET,
  RING_PENDING_SEND_SIZE_OFFSET,
  RING_READ_INDEX_OFFSET,
  RING_WRITE_INDEX_OFFSET,
  type RingControl,
  RingControlWord,
} from './wire/control-page.js';
export { ECHO_DEVICE_INTERFACE_TYPE } from './wire/devices.js';
export {
  decodeGpaDirectRanges,
  encodeGpaDirectRanges,
  GPA_DIRECT_EXTRA_HEADER_SIZE,
  GPA_DIRECT_MAX_PAGES,
  GPA_RANGE_HEADER_SIZE,
  type GpaDirectDecodeResult,
  type GpaDirectRange,
  gpaDirectExtraHeaderBytes,
  gpaDirectOffset8,
  gpaRangePageCount,
} from './wire/gpa-direct.js';
export {
  guidBytes,
  guidString,
} from './wire/guid.js';
export {
  monitorParameterOffset,
  monitorTrigger,
} from './wire/monitor-page.js';
export {
  decodeVmPacketDescriptor,
  encodeVmPacketDescriptor,
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VMPACKET_DESCRIPTOR_HEAD,
  VMPACKET_TRAILER,
  type VmPacketDescriptor,
  VmPacketDescriptorOffset,
  VmPacketType,
  vmPacketFootprint,
  vmPacketLen8,
  vmPacketTrailer,
  vmPacketTypeName,
} from './wire/packet.js';
export {
  HV_X64_MSR_EOM,
  HV_X64_MSR_SCONTROL,
  HvMessage,
  hvSintMsr,
  PostMessageInput,
  SignalEventInput,
  SignalEventValue,
  SynicControl,
  SynicPageMsr,
  SynicSint,
} from './wire/synic.js';
export {
  checkRingIndex,
  type PacketToValidate,
  RING_CORRUPT_KINDS,
  RingCorruptError,
  type RingCorruptKind,
  validatePacket,
} from './wire/validate.js';
export {
  LINUX_VMBUS_VERSIONS,
  VmbusVersion,
} from './wire/versions.js';
