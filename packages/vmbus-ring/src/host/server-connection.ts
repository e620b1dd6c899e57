/**
 * The VMBus connection on the host (spec 04 INITIATE_CONTACT / VERSION_RESPONSE / UNLOAD; Linux
 * `vmbus_connect`/`vmbus_negotiate_version` as the peer): a version the server offers, the
 * target VP and message SINT, two distinct monitor pages (host-visible and named by their shared
 * aliases in an isolation VM); UNLOAD closes every channel and ends the connection.
 */
import { GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import { VmbusPlace } from '../places.js';
import {
  ChannelMessageHeader,
  ChannelMessageType,
  InitiateContact,
  VersionResponse,
  VmbusConnectionState,
} from '../wire/channel-messages.js';
import { HV_SYNIC_SINT_COUNT } from '../wire/synic.js';
import {
  VMBUS_HV_MESSAGE_TYPE,
  VMBUS_MESSAGE_CONNECTION_ID_4,
  VMBUS_MESSAGE_SINT,
  VmbusVersion,
  vmbusVersionName,
} from '../wire/versions.js';
import { closeChannel } from './server-channels.js';
import type { ServerCore } from './server-core.js';
import { forgetChannel } from './server-offers.js';
import type { VmbusConnection } from './server-state.js';

/** Checks the versions a server is configured with: each a known one from WIN8 on. */
export function checkServerVersions(versions: readonly number[]): void {
  for (const v of versions) {
    if (v < VmbusVersion.WIN8 || !Object.values(VmbusVersion).includes(v as never)) {
      throw new RangeError(
        `VMBus version 0x${v.toString(16)} is not accepted: use versions from WIN8 (0x20004) on in VmbusVersion`,
      );
    }
  }
}

/** Why INITIATE_CONTACT is refused, and the diagnostic rule. */
interface ContactRefusal {
  readonly why: string;
  readonly rule: string;
}

/**
 * Why the monitor pages of INITIATE_CONTACT are refused (and under which rule), or `null`. Every
 * page is looked at (the last reason wins) until an isolation refusal, which the host view has
 * already reported.
 */
function monitorPagesRefusal(core: ServerCore, pages: readonly [bigint, bigint]): ContactRefusal | null {
  const isolated = core.access.isolation !== null;
  let refusal: ContactRefusal | null = null;
  for (const page of pages) {
    const notRam = { why: `monitor page 0x${page.toString(16)} is not a RAM page`, rule: 'contact.refused' };
    if (!GuestPage.isAligned(page)) refusal = notRam;
    else if (!isolated && !core.partition.memory.contains(page, HV_PAGE_SIZE)) refusal = notRam;
    else if (isolated) {
      // Spec 05: the pages must be host-visible and named by their shared alias (+ boundary).
      const refused = core.access.refusal(page, HV_PAGE_SIZE, 'write', VmbusPlace.MONITOR_PAGE);
      if (refused !== null)
        return {
          why: `monitor page 0x${page.toString(16)}: ${refused.message}`,
          rule: 'spec05.monitor-page',
        };
    }
  }
  if (refusal === null && pages[0] === pages[1])
    refusal = { why: 'both monitor pages are the same page', rule: 'contact.refused' };
  return refusal;
}

/** INITIATE_CONTACT: answered with VERSION_RESPONSE unless there is nowhere to answer. */
export function initiateContact(core: ServerCore, vp: number, payload: Uint8Array): void {
  const m = core.decode(vp, InitiateContact, payload);
  if (m === null) return;
  if (m.targetVcpu >= core.partition.vps.length) {
    core.diagnose(vp, 'contact.target-vcpu', `INITIATE_CONTACT target_vcpu ${m.targetVcpu}: no such VP`);
    return;
  }
  const modern = m.version >= VmbusVersion.WIN10_V5;
  const sint = modern ? m.msgSint : VMBUS_MESSAGE_SINT;
  if (sint >= HV_SYNIC_SINT_COUNT) {
    core.diagnose(vp, 'contact.sint', `INITIATE_CONTACT msg_sint ${sint}: no such SINT`);
    return;
  }
  const refuse = (why: string): ContactRefusal => ({ why, rule: 'contact.refused' });
  let refusal: ContactRefusal | null;
  if (core.connection !== null) refusal = refuse('already connected (send UNLOAD first)');
  else if (!core.versions.includes(m.version))
    refusal = refuse(`version ${vmbusVersionName(m.version)} is not offered`);
  else if (modern && m.msgVtl !== 0) refusal = refuse(`msg_vtl ${m.msgVtl}: only VTL 0 is modelled`);
  else refusal = monitorPagesRefusal(core, [m.monitorPage1, m.monitorPage2]);
  const reply = (connection: VmbusConnection, ok: boolean) => {
    core.counters.messagesOut++;
    core.synic.post(
      connection.targetVcpu,
      connection.messageSint,
      VMBUS_HV_MESSAGE_TYPE,
      VersionResponse.encode({
        msgtype: ChannelMessageType.VERSION_RESPONSE,
        versionSupported: ok ? 1 : 0,
        connectionState: ok ? VmbusConnectionState.SUCCESSFUL : VmbusConnectionState.FAILED_UNKNOWN_FAILURE,
        msgConnId: ok && modern ? VMBUS_MESSAGE_CONNECTION_ID_4 : 0,
      }),
    );
  };
  const connection: VmbusConnection = {
    version: m.version,
    targetVcpu: m.targetVcpu,
    messageSint: sint,
    monitorPages: [m.monitorPage1, m.monitorPage2],
  };
  if (refusal !== null) {
    const message = `INITIATE_CONTACT refused: ${refusal.why}`;
    if (refusal.rule === 'contact.refused') core.diagnose(vp, refusal.rule, message);
    else core.ignore(vp, refusal.rule, message);
    // A refusal goes where the guest asked, without changing the current connection.
    reply(core.connection ?? connection, false);
    return;
  }
  core.connection = connection;
  reply(connection, true);
}

/** UNLOAD: every channel closed (rescinded ones freed), every GPADL dropped, UNLOAD_RESPONSE, no connection. */
export function unload(core: ServerCore): void {
  for (const ch of [...core.channels.values()]) {
    closeChannel(core, ch);
    if (ch.state === 'rescinded') forgetChannel(core, ch);
  }
  core.gpadls.clear();
  core.send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.UNLOAD_RESPONSE }));
  core.connection = null;
}
