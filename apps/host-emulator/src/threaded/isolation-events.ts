import type { IsolationEvent } from '@pvlab/isolation/host';
import type { IsolationTraceEvent } from '../trace/events.js';

/**
 * An isolation VM's event as the trace shows it. A visibility change names its VP; a refused
 * access happens inside some vCPU's exit, `currentVp`.
 */
export function isolationTraceEvent(e: IsolationEvent, currentVp: number, ts: number): IsolationTraceEvent {
  const vp = e.kind === 'visibility-changed' ? e.vp : currentVp;
  const message =
    e.kind === 'visibility-changed'
      ? `visibility ${e.visibility} on ${e.pages} page(s), ${e.converted} converted`
      : e.kind === 'host-access-refused'
        ? e.error.message
        : e.fault.message;
  return { kind: 'isolation', vp, ts, what: e.kind, message };
}
