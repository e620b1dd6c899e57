// Linux's IPI decisions (the tree's hv_apic.c, through `apic`) against pvlab's (`chooseIpi` via
// hvSendIpiMask) on 5,000 random cases drawn from a fixed seed: the same VP, the same state
// (Linux's hv_vp_index[], some CPUs not up yet, its hints), the same request. Both must make the
// same exits (call code, rep count, variable header, VP set, or the same ICR writes) and the VPs
// must receive the same — what the caller meant, or nothing for a vector the APIC refuses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinuxVm } from '../src/harness.ts';
import { type IpiExit, intendedTargets, ipiExits, Send, type SendForm, setMask } from '../src/ipi.ts';
import { pvlabSend } from '../src/pvlab-ipi.ts';
import { bootLinux, linux } from '../src/suite.ts';

const SEED = 0x16_04;
const CASES = 5000;

interface Case {
  readonly vcpus: number;
  readonly ex: boolean;
  readonly cluster: boolean;
  readonly sender: number;
  readonly form: SendForm;
  readonly cpu: number;
  readonly mask: readonly number[];
  readonly vector: number;
  /** CPUs (never the sender) whose hv_vp_index[] is VP_INVAL: not up yet. */
  readonly notUp: readonly number[];
  /** The sender has no input page yet (before its hv_common_cpu_init); the hypercall page is there. */
  readonly senderWithoutInputPage: boolean;
}

// vCPU counts around the 64-VP bank edges; each (count, hints) group shares one booted VM.
const VCPU_COUNTS = [1, 2, 3, 17, 33, 62, 63, 64, 65, 66, 100, 127, 128, 129, 130, 150];

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    vcpus: fc.constantFrom(...VCPU_COUNTS),
    ex: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    cluster: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
  })
  .chain(({ vcpus, ex, cluster }) => {
    const cpuArb = fc.integer({ min: 0, max: vcpus - 1 });
    const all = Array.from({ length: vcpus }, (_, i) => i);
    return fc.record({
      vcpus: fc.constant(vcpus),
      ex: fc.constant(ex),
      cluster: fc.constant(cluster),
      sender: cpuArb,
      form: fc.oneof(
        { weight: 6, arbitrary: fc.constant<SendForm>('mask') },
        { weight: 3, arbitrary: fc.constant<SendForm>('maskAllButSelf') },
        { weight: 2, arbitrary: fc.constantFrom<SendForm>('one', 'self', 'allButSelf', 'all') },
      ),
      cpu: cpuArb,
      mask: fc.oneof(
        fc.uniqueArray(cpuArb, { maxLength: 6 }),
        fc.subarray(all),
        fc.constant<number[]>(all),
        fc.uniqueArray(fc.integer({ min: Math.max(0, vcpus - 70), max: vcpus - 1 }), { maxLength: 4 }),
      ),
      vector: fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: 0, max: 255 }) },
        { weight: 1, arbitrary: fc.constantFrom(0, 15, 16, 255) },
      ),
      notUp: fc.oneof(
        { weight: 5, arbitrary: fc.constant<number[]>([]) },
        { weight: 1, arbitrary: fc.uniqueArray(cpuArb, { maxLength: 3 }) },
      ),
      senderWithoutInputPage: fc.oneof(
        { weight: 6, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    });
  })
  .map((c) => ({ ...c, notUp: c.notUp.filter((cpu) => cpu !== c.sender) }));

/** One side's run of a case: its exits and what each VP received. */
function observe(lvm: LinuxVm, run: () => void): { exits: IpiExit[]; received: number[][] } {
  lvm.takeExits();
  lvm.takeDeliveries();
  run();
  return { exits: ipiExits(lvm.takeExits()), received: lvm.takeDeliveries() };
}

function runCase(lvm: LinuxVm, c: Case) {
  for (const cpu of c.notUp) lvm.call(0, 'lt_forget_vp', cpu);
  const inputPage = lvm.call(0, 'lt_input_page', c.sender);
  if (c.senderWithoutInputPage) lvm.call(0, 'lt_set_input_page', c.sender, 0);
  try {
    setMask(lvm, c.mask);
    const linuxSide = observe(lvm, () => lvm.call(c.sender, 'lt_send', Send[c.form], c.cpu, c.vector));
    let path = '';
    const pvlabSide = observe(lvm, () => {
      const outcome = pvlabSend(lvm, c.sender, c.form, c.vector, c);
      path = outcome.path === 'hypercall' ? `0x${outcome.plan.code.toString(16)}` : outcome.path;
    });
    return { linuxSide, pvlabSide, path };
  } finally {
    if (c.senderWithoutInputPage) lvm.call(0, 'lt_set_input_page', c.sender, inputPage);
    for (const cpu of c.notUp) lvm.call(cpu, 'lt_cpu_up');
  }
}

describe.skipIf(linux === null)(`Linux's hv_apic.c against pvlab's chooseIpi (seed ${SEED})`, () => {
  it(`${CASES} random cases: identical exits and deliveries`, { timeout: 20 * 60_000 }, () => {
    const cases = fc.sample(caseArb, { seed: SEED, numRuns: CASES });
    const groups = new Map<string, Case[]>();
    for (const c of cases) {
      const key = `${c.vcpus}/${c.ex}/${c.cluster}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const paths = new Map<string, number>();
    const mismatches: unknown[] = [];
    for (const group of groups.values()) {
      const { vcpus, ex, cluster } = group[0]!;
      const lvm = bootLinux('hv-apic', vcpus, {
        features: { ExProcessorMasksRecommended: ex, ClusterIpiRecommended: cluster },
      });
      try {
        for (const c of group) {
          const { linuxSide, pvlabSide, path } = runCase(lvm, c);
          paths.set(path, (paths.get(path) ?? 0) + 1);
          const targets = c.vector >= 16 ? intendedTargets(c.form, c.sender, c.cpu, c.mask, vcpus) : [];
          const meant = Array.from({ length: vcpus }, (_, vp) => (targets.includes(vp) ? [c.vector] : []));
          const same =
            JSON.stringify(linuxSide.exits, big) === JSON.stringify(pvlabSide.exits, big) &&
            JSON.stringify(linuxSide.received) === JSON.stringify(pvlabSide.received) &&
            JSON.stringify(linuxSide.received) === JSON.stringify(meant);
          if (!same && mismatches.length < 5)
            mismatches.push({ case: c, linux: linuxSide.exits, pvlab: pvlabSide.exits, path });
        }
      } finally {
        lvm.close();
      }
    }
    expect(mismatches).toEqual([]);
    // Every path was taken often enough to mean something.
    for (const path of ['0xb', '0x15', 'native', 'none'])
      expect(paths.get(path) ?? 0, path).toBeGreaterThan(100);
  });
});

function big(_: string, v: unknown) {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : v;
}
