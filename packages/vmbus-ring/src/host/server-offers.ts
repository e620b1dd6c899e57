/**
 * Channel offers on the host (spec 04 OFFERCHANNEL / REQUESTOFFERS / RESCIND_CHANNELOFFER /
 * RELID_RELEASED; Linux `vmbus_onoffer`, `vmbus_onoffer_rescind` as the peer): each device is a
 * channel with a relid and a connection id (and a monitor id when monitored), offered at
 * REQUESTOFFERS or at once when added to a connected guest; a rescinded channel's relid is freed
 * when the guest releases it.
 */
import {
  ChannelMessageHeader,
  ChannelMessageType,
  ChannelRelidMessage,
  OFFER_DEDICATED_INTERRUPT,
  OFFER_MONITOR_ALLOCATED,
  OfferChannel,
} from '../wire/channel-messages.js';
import { MONITOR_IDS } from '../wire/monitor-page.js';
import type { VmbusDevice } from './device.js';
import { closeChannel } from './server-channels.js';
import type { ServerCore } from './server-core.js';
import { enableMonitor } from './server-monitor.js';
import { ServerChannel, VMBUS_CHANNEL_CONNECTION_BASE } from './server-state.js';

/** OFFERCHANNEL for `ch` (a monitored channel's monitor page words first). */
function offerChannel(core: ServerCore, ch: ServerChannel): void {
  if (core.connection === null) return;
  enableMonitor(core, ch);
  core.send(
    OfferChannel.encode({
      msgtype: ChannelMessageType.OFFERCHANNEL,
      interfaceType: ch.device.interfaceType,
      interfaceInstance: ch.device.interfaceInstance,
      childRelid: ch.relid,
      monitorId: ch.monitorId ?? 0,
      monitorFlags: ch.monitorId === null ? 0 : OFFER_MONITOR_ALLOCATED,
      interruptFlags: OFFER_DEDICATED_INTERRUPT,
      connectionId: ch.connectionId,
    }),
  );
}

/** Adds a device as a new channel (offered at once when the guest is connected); returns its relid. */
export function addChannel(core: ServerCore, device: VmbusDevice): number {
  for (const [what, g] of [
    ['interfaceType', device.interfaceType],
    ['interfaceInstance', device.interfaceInstance],
  ] as const) {
    if (!(g instanceof Uint8Array) || g.length !== 16) {
      throw new RangeError(`device ${device.name}: ${what} must be 16 GUID bytes`);
    }
  }
  let monitorId: number | null = null;
  if (device.monitored === true) {
    if (core.nextMonitorId >= MONITOR_IDS) {
      throw new RangeError(`device ${device.name}: all ${MONITOR_IDS} monitor ids are in use`);
    }
    monitorId = core.nextMonitorId++;
  }
  core.devices.push(device);
  const relid = core.nextRelid++;
  const ch = new ServerChannel(relid, device, VMBUS_CHANNEL_CONNECTION_BASE + relid, monitorId);
  core.channels.set(relid, ch);
  if (core.connection) offerChannel(core, ch);
  return relid;
}

/** REQUESTOFFERS: every channel not rescinded, then ALLOFFERS_DELIVERED. */
export function requestOffers(core: ServerCore): void {
  for (const ch of core.channels.values()) if (ch.state !== 'rescinded') offerChannel(core, ch);
  core.send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.ALLOFFERS_DELIVERED }));
}

/**
 * Rescinds a channel (host API): closes it if open (its event port is deleted) and sends
 * RESCIND_CHANNELOFFER; the relid is freed when the guest answers RELID_RELEASED.
 */
export function rescindChannel(core: ServerCore, relid: number): void {
  const ch = core.channels.get(relid);
  if (ch === undefined || ch.state === 'rescinded') {
    throw new RangeError(
      `relid ${relid} is not an offered channel: use one of ${[...core.channels.keys()].join(', ')}`,
    );
  }
  closeChannel(core, ch);
  ch.state = 'rescinded';
  if (core.connection)
    core.send(
      ChannelRelidMessage.encode({ msgtype: ChannelMessageType.RESCIND_CHANNELOFFER, childRelid: relid }),
    );
}

/** Frees a rescinded channel: its relid and its event connection. */
export function forgetChannel(core: ServerCore, ch: ServerChannel): void {
  core.channels.delete(ch.relid);
  core.ports.forgetEventConnection(ch.connectionId);
}

/** RELID_RELEASED: the guest let go of a rescinded channel; its GPADLs go with it. */
export function relidReleased(core: ServerCore, vp: number, payload: Uint8Array): void {
  const m = core.decode(vp, ChannelRelidMessage, payload);
  if (m === null) return;
  const ch = core.channels.get(m.childRelid);
  if (ch === undefined || ch.state !== 'rescinded') {
    core.diagnose(
      vp,
      'relid.released',
      `RELID_RELEASED for child_relid ${m.childRelid}, which was not rescinded`,
    );
    return;
  }
  forgetChannel(core, ch);
  for (const g of [...core.gpadls.values()]) if (g.relid === ch.relid) core.gpadls.delete(g.id);
}
