/**
 * VMBus protocol versions and connection ids — spec 04 "Channel messages" (Linux
 * include/linux/hyperv.h, drivers/hv/connection.c; openvmm vmbus_core protocol.rs).
 */

/** Protocol versions, major << 16 | minor. */
export const VmbusVersion = {
  WS2008: 0x0000_000d,
  WIN7: 0x0001_0001,
  WIN8: 0x0002_0004,
  WIN8_1: 0x0003_0000,
  WIN10: 0x0004_0000,
  WIN10_RS3: 0x0004_0001,
  WIN10_V5: 0x0005_0000,
  WIN10_V5_1: 0x0005_0001,
  WIN10_V5_2: 0x0005_0002,
  WIN10_V5_3: 0x0005_0003,
  COPPER: 0x0006_0000,
} as const;

/** The version list Linux offers in INITIATE_CONTACT, newest first (drivers/hv/connection.c `vmbus_versions`). */
export const LINUX_VMBUS_VERSIONS: readonly number[] = [
  VmbusVersion.WIN10_V5_3,
  VmbusVersion.WIN10_V5_2,
  VmbusVersion.WIN10_V5_1,
  VmbusVersion.WIN10_V5,
  VmbusVersion.WIN10_RS3,
  VmbusVersion.WIN10,
  VmbusVersion.WIN8_1,
  VmbusVersion.WIN8,
];

/** `5.3` for 0x50003. */
export function vmbusVersionName(version: number): string {
  return `${version >>> 16}.${version & 0xffff}`;
}

/** Connection id of channel messages before version 5.0 (and INITIATE_CONTACT below 5.0). */
export const VMBUS_MESSAGE_CONNECTION_ID = 1;
/** Connection id of the legacy event (interrupt-page) signal. */
export const VMBUS_EVENT_CONNECTION_ID = 2;
/** Connection id of the legacy monitor signal. */
export const VMBUS_MONITOR_CONNECTION_ID = 3;
/** Connection id of channel messages from version 5.0 on. */
export const VMBUS_MESSAGE_CONNECTION_ID_4 = 4;
/** The SINT VMBus messages and channel events arrive on. */
export const VMBUS_MESSAGE_SINT = 2;
/** HV_MESSAGE.MessageType of VMBus channel messages (the type Linux posts with). */
export const VMBUS_HV_MESSAGE_TYPE = 1;

/** The connection id a guest posts INITIATE_CONTACT on for `version` (Linux `vmbus_negotiate_version`). */
export function initiateContactConnectionId(version: number): number {
  return version >= VmbusVersion.WIN10_V5 ? VMBUS_MESSAGE_CONNECTION_ID_4 : VMBUS_MESSAGE_CONNECTION_ID;
}
