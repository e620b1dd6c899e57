/**
 * GPADLs and channel opening on the guest side (Linux channel.c `vmbus_establish_gpadl`,
 * `vmbus_open`, `vmbus_close`, `vmbus_teardown_gpadl`): the messages and the answers each waits
 * for; an isolation VM's ring pages go private again once the host has let go of them.
 */
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { VmbusPlace } from '../places.js';
import {
  ChannelMessageType,
  encodeGpadlMessages,
  GpadlCreated,
  GpadlTeardown,
  GpadlTorndown,
  OpenChannel,
  OpenChannelResult,
  VMBUS_STATUS_SUCCESS,
} from '../wire/channel-messages.js';
import type { ChannelMessages } from './client-messages.js';
import type { VmbusIsolationOptions } from './client-types.js';
import { VmbusGuestError } from './vmbus-guest-error.js';

/**
 * `vmbus_establish_gpadl`: GPADL_HEADER (≤ 26 PFNs) and GPADL_BODY messages (≤ 28 each), then
 * waits for GPADL_CREATED of `gpadl`; throws with the creation status.
 */
export function establishGpadl(
  messages: ChannelMessages,
  relid: number,
  gpadl: number,
  pfns: readonly bigint[],
): void {
  for (const m of encodeGpadlMessages(relid, gpadl, pfns)) messages.send(m);
  for (;;) {
    const created = GpadlCreated.decode(messages.awaitMessage(ChannelMessageType.GPADL_CREATED));
    if (created === null || created.gpadl !== gpadl) continue;
    if (created.creationStatus !== VMBUS_STATUS_SUCCESS) {
      throw new VmbusGuestError(`GPADL ${gpadl} refused: status 0x${created.creationStatus.toString(16)}`);
    }
    return;
  }
}

/** `vmbus_teardown_gpadl`: GPADL_TEARDOWN, then waits for GPADL_TORNDOWN. */
export function teardownGpadl(messages: ChannelMessages, relid: number, gpadl: number): void {
  messages.send(
    GpadlTeardown.encode({ msgtype: ChannelMessageType.GPADL_TEARDOWN, childRelid: relid, gpadl }),
  );
  for (;;) {
    const t = GpadlTorndown.decode(messages.awaitMessage(ChannelMessageType.GPADL_TORNDOWN));
    if (t !== null && t.gpadl === gpadl) return;
  }
}

/**
 * OPENCHANNEL over ring GPADL `gpadl`, then waits for its OPENCHANNEL_RESULT; a refusal tears the
 * GPADL down and throws with the status.
 */
export function requestOpen(
  messages: ChannelMessages,
  open: {
    relid: number;
    openId: number;
    gpadl: number;
    outboundPages: number;
    targetVp?: number | undefined;
    userData?: Uint8Array | undefined;
  },
): void {
  const { relid, openId, gpadl } = open;
  messages.send(
    OpenChannel.encode({
      msgtype: ChannelMessageType.OPENCHANNEL,
      childRelid: relid,
      openId,
      ringBufferGpadl: gpadl,
      targetVp: open.targetVp ?? 0,
      downstreamRingPageOffset: open.outboundPages,
      ...(open.userData ? { userData: open.userData } : {}),
    }),
  );
  for (;;) {
    const r = OpenChannelResult.decode(messages.awaitMessage(ChannelMessageType.OPENCHANNEL_RESULT));
    if (r === null || r.childRelid !== relid || r.openId !== openId) continue;
    if (r.status !== VMBUS_STATUS_SUCCESS) {
      teardownGpadl(messages, relid, gpadl);
      throw new VmbusGuestError(`OPENCHANNEL relid ${relid} refused: status 0x${r.status.toString(16)}`);
    }
    return;
  }
}

/** The error for ring pages whose visibility change failed (`vmbus_open` in an isolation VM). */
export function ringVisibilityRefused(statusName: string): VmbusGuestError {
  return new VmbusGuestError(
    `${VmbusPlace.RING_BUFFER}: HvCallModifySparseGpaPageHostVisibility failed with ${statusName}`,
  );
}

/** Linux `vmbus_free_ring` in an isolation VM: the ring pages go private again once the host has let go. */
export function releaseRingPages(
  hypercalls: GuestHypercalls,
  isolation: VmbusIsolationOptions | undefined,
  ringPfns: readonly bigint[],
): void {
  if (isolation === undefined) return;
  const r = isolation.sharing.makePrivate(hypercalls, ringPfns);
  if (!r.ok) {
    throw new VmbusGuestError(
      `${VmbusPlace.RING_BUFFER}: making the ring private again failed with ${r.statusName} (Linux leaks the pages, spec 05 rule 7)`,
    );
  }
}
