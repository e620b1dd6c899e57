import { bootGuest, type GuestBootReport } from '@pvlab/guest-emulator';
import { hvCallName, hvStatusName } from '@pvlab/hypercall';
import { createVm } from './vm.js';

/** Per-call statistics of a demo run. */
export interface DemoCallSummary {
  readonly call: string;
  readonly count: number;
  readonly statuses: Record<string, number>;
}

/** What the direct-harness demo did. */
export interface DemoReport {
  readonly vcpus: number;
  readonly boot: GuestBootReport;
  readonly calls: DemoCallSummary[];
  readonly diagnostics: number;
}

/**
 * The direct-harness demo: boots the guest-emulator on `vcpus` VPs driven from this thread and
 * summarises every hypercall the dispatcher saw.
 */
export function runDirectDemo(options: { vcpus: number; log?: (line: string) => void }): DemoReport {
  const vm = createVm({ vcpus: options.vcpus });
  const byCall = new Map<number, { count: number; statuses: Record<string, number> }>();
  vm.partition.dispatcher.observe((r) => {
    let entry = byCall.get(r.callCode);
    if (!entry) {
      entry = { count: 0, statuses: {} };
      byCall.set(r.callCode, entry);
    }
    entry.count++;
    const name = hvStatusName(r.status);
    entry.statuses[name] = (entry.statuses[name] ?? 0) + 1;
  });
  const cpus = Array.from({ length: vm.vcpus }, (_, i) => ({ cpu: vm.vp(i), memory: vm.memory }));
  const boot = bootGuest(cpus, options.log ? { log: options.log } : {});
  const diagnostics = vm.diagnostics().length;
  vm.close();
  const calls = [...byCall.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, e]) => ({ call: hvCallName(code), count: e.count, statuses: e.statuses }));
  return { vcpus: options.vcpus, boot, calls, diagnostics };
}

/** Renders the per-call summary as a plain-text table. */
export function formatCallSummary(calls: readonly DemoCallSummary[]): string {
  const rows = calls.map((c) => [
    c.call,
    String(c.count),
    Object.entries(c.statuses)
      .map(([s, n]) => `${s.replace('HV_STATUS_', '')}×${n}`)
      .join(' '),
  ]);
  const head = ['call', 'count', 'statuses'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
