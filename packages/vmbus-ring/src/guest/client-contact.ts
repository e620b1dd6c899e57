/**
 * Version negotiation on the guest side (Linux connection.c `vmbus_connect`,
 * `vmbus_negotiate_version`): INITIATE_CONTACT with each version in turn, newest first, until the
 * host accepts one.
 */
import { HvStatus } from '@pvlab/hypercall';
import { ChannelMessageType, InitiateContact, VersionResponse } from '../wire/channel-messages.js';
import { initiateContactConnectionId, VMBUS_MESSAGE_SINT, VmbusVersion } from '../wire/versions.js';
import type { ChannelMessages } from './client-messages.js';
import { VmbusGuestError } from './vmbus-guest-error.js';

/** What the host accepted: the version and, from 5.0 on, the connection id for later messages. */
export interface NegotiatedVersion {
  readonly version: number;
  /** The host's msg_conn_id (5.0 on), or `null` to keep the one in use. */
  readonly msgConnId: number | null;
}

/**
 * INITIATE_CONTACT with each of `versions` in turn, naming `monitorPages` and `targetVcpu`; from
 * 5.0 on the message SINT goes in the request and the host's msg_conn_id is used afterwards.
 * Throws when every version is refused or a PostMessage fails.
 */
export function negotiateVersion(
  messages: ChannelMessages,
  versions: readonly number[],
  monitorPages: readonly [bigint, bigint],
  targetVcpu: number,
): NegotiatedVersion {
  const [p1, p2] = monitorPages;
  for (const version of versions) {
    const modern = version >= VmbusVersion.WIN10_V5;
    const msg = InitiateContact.encode({
      msgtype: ChannelMessageType.INITIATE_CONTACT,
      version,
      targetVcpu,
      monitorPage1: p1,
      monitorPage2: p2,
      ...(modern ? { msgSint: VMBUS_MESSAGE_SINT } : {}),
    });
    const status = messages.post(msg, initiateContactConnectionId(version));
    if (status !== HvStatus.SUCCESS)
      throw new VmbusGuestError(`INITIATE_CONTACT: HvCallPostMessage status 0x${status.toString(16)}`);
    const r = VersionResponse.decode(messages.awaitMessage(ChannelMessageType.VERSION_RESPONSE));
    if (r !== null && r.versionSupported !== 0) return { version, msgConnId: modern ? r.msgConnId : null };
  }
  throw new VmbusGuestError(
    `the host refused every version of ${versions.map((v) => `0x${v.toString(16)}`).join(', ')}`,
  );
}
