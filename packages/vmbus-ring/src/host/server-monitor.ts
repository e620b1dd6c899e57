/**
 * The VMBus monitor pages on the host side (spec 04 rule 12; Linux `vmbus_set_event`): a
 * monitored channel's offer fills in its monitor parameter and enables its trigger group in the
 * child→parent page the guest gave in INITIATE_CONTACT, and polling that page clears each
 * pending bit and signals the channel's device. In an isolation VM every word is
 * reached through the page's shared alias, checked first.
 */

import { VmbusPlace } from '../places.js';
import {
  MONITOR_TRIGGER_STATE_OFFSET,
  monitorParameterOffset,
  monitorTrigger,
} from '../wire/monitor-page.js';
import type { ServerCore } from './server-core.js';
import type { ServerChannel } from './server-state.js';

/** The RAM offset of a 4-byte monitor page word the host writes, or `null` (diagnosed) when refused. */
function monitorOffset(core: ServerCore, gpa: bigint, vp: number): number | null {
  const refused = core.access.refusal(gpa, 4, 'write', VmbusPlace.MONITOR_PAGE);
  if (refused === null) return core.access.offsetOf(gpa, 4, 'write', VmbusPlace.MONITOR_PAGE);
  core.ignore(vp, 'spec05.monitor-page', refused.message);
  return null;
}

/** Hyper-V fills in a monitored channel's monitor parameter and enables its trigger group at the offer. */
export function enableMonitor(core: ServerCore, ch: ServerChannel): void {
  const c = core.connection;
  if (c === null || ch.monitorId === null) return;
  const view = core.partition.memory.view;
  const page = c.monitorPages[1];
  const param = monitorOffset(core, page + BigInt(monitorParameterOffset(ch.monitorId)), c.targetVcpu);
  if (param !== null) view.setUint32(param, ch.connectionId, true);
  const state = monitorOffset(core, page + BigInt(MONITOR_TRIGGER_STATE_OFFSET), c.targetVcpu);
  if (state !== null)
    view.setUint32(state, view.getUint32(state, true) | (1 << monitorTrigger(ch.monitorId).group), true);
}

/**
 * Looks at the child→parent monitor page (Hyper-V polls it on a timer): each open, monitored
 * channel whose pending bit is set has it cleared and is signalled. Returns how many.
 */
export function pollMonitors(core: ServerCore): number {
  const c = core.connection;
  if (c === null) return 0;
  let n = 0;
  for (const ch of core.channels.values()) {
    if (ch.monitorId === null || ch.state !== 'open' || ch.open === null) continue;
    const t = monitorTrigger(ch.monitorId);
    const at = monitorOffset(core, c.monitorPages[1] + BigInt(t.pending), c.targetVcpu);
    if (at === null) continue;
    const word = new Int32Array(core.partition.memory.buffer, at, 1);
    const bit = 1 << t.bit;
    if ((Atomics.and(word, 0, ~bit) & bit) !== 0) {
      n++;
      core.signalDevice(ch);
    }
  }
  return n;
}
