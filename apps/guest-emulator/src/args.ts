import { GET_VTL_LAYOUTS, type GetVtlLayout } from '@pvlab/vtl/guest';
import { ISOLATION_PLACES, type IsolationPlace } from './isolation-workload.js';
import { type KernelOptions, type VpIndexBug, WORKLOADS, type Workload } from './kernel-options.js';

/** Raised for a `--guest-arg` the kernel does not accept; the message names it and what is accepted. */
export class KernelArgError extends Error {
  override readonly name = 'KernelArgError';
}

const ACCEPTED = {
  workload: `'all', 'none' or a comma list of ${WORKLOADS.join(', ')}`,
  'vp-index-bug': "0, 1 (= 'inval'), 'inval' or 'stale-zero'",
  native: '0 or 1',
  'per-cpu-layout': "'separate' or 'shared-page'",
  'get-vtl': GET_VTL_LAYOUTS.map((l) => `'${l}'`).join(', '),
  'vmbus-packets': 'an integer from 1 to 1000000',
  'untrusted-host': '0 or 1',
  'isolation-forget': ISOLATION_PLACES.map((p) => `'${p}'`).join(', '),
} as const;

/**
 * The kernel's options from `--guest-arg key=value` (`cpu.args`): `workload`, `vp-index-bug`,
 * `native`, `per-cpu-layout`. Throws `KernelArgError` for an unknown key or value.
 */
export function kernelOptionsFromArgs(args: Readonly<Record<string, string>>): KernelOptions {
  const options: { -readonly [K in keyof KernelOptions]: KernelOptions[K] } = {};
  for (const [key, value] of Object.entries(args)) {
    const bad = () => {
      const accepted = ACCEPTED[key as keyof typeof ACCEPTED];
      return new KernelArgError(`--guest-arg ${key}=${value}: use ${accepted}`);
    };
    switch (key) {
      case 'workload': {
        if (value === 'all') options.workloads = WORKLOADS;
        else if (value === 'none') options.workloads = [];
        else {
          const list = value.split(',').map((w) => w.trim());
          if (!list.every((w): w is Workload => (WORKLOADS as readonly string[]).includes(w))) throw bad();
          options.workloads = list;
        }
        break;
      }
      case 'vp-index-bug': {
        const bugs: Record<string, VpIndexBug> = {
          '0': 'none',
          '1': 'inval',
          inval: 'inval',
          'stale-zero': 'stale-zero',
        };
        const bug = bugs[value];
        if (bug === undefined) throw bad();
        options.vpIndexBug = bug;
        break;
      }
      case 'native':
        if (value !== '0' && value !== '1') throw bad();
        options.native = value === '1';
        break;
      case 'per-cpu-layout':
        if (value !== 'separate' && value !== 'shared-page') throw bad();
        options.perCpuLayout = value;
        break;
      case 'vmbus-packets': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > 1_000_000) throw bad();
        options.vmbusPackets = n;
        break;
      }
      case 'untrusted-host':
        if (value !== '0' && value !== '1') throw bad();
        options.untrustedHost = value === '1';
        break;
      case 'isolation-forget':
        if (!(ISOLATION_PLACES as readonly string[]).includes(value)) throw bad();
        options.isolationForget = value as IsolationPlace;
        break;
      case 'get-vtl':
        if (!(GET_VTL_LAYOUTS as readonly string[]).includes(value)) throw bad();
        options.getVtlLayout = value as GetVtlLayout;
        break;
      default:
        throw new KernelArgError(
          `--guest-arg ${key}: unknown option; the guest-emulator takes ${Object.keys(ACCEPTED).join(', ')}`,
        );
    }
  }
  return options;
}
