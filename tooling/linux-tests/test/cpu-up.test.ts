// Linux's per-CPU bring-up, hv_common_cpu_init() from the tree's drivers/hv/hv_common.c, on every
// vCPU while the CPUs already up send IPIs through hv_apic.c to all of them — including CPUs not
// up yet, whose hv_vp_index[] is still VP_INVAL (hv_apic.c then goes native). 200 seeded
// interleavings on the direct harness: every IPI reaches every CPU it was meant for, once, before
// the next step (the APIC's IRR would merge a vector sent twice before it is taken, so each step's
// deliveries are checked on their own), and each CPU ends up with its own input page and VP index.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinuxVm } from '../src/harness.ts';
import { intendedTargets, Send, type SendForm, setMask } from '../src/ipi.ts';
import { guestModule, linux } from '../src/suite.ts';

const VCPUS = 70;
const SEEDS = 200;

type Step =
  | { readonly up: number }
  | {
      readonly from: number;
      readonly form: SendForm;
      readonly cpu: number;
      readonly mask: readonly number[];
      readonly vector: number;
    };

/** A seeded bring-up: CPU 0 boots, the others come up in a random order, sends in between. */
function schedule(seed: number): Step[] {
  const cpu = fc.integer({ min: 0, max: VCPUS - 1 });
  const sendArb = fc.record({
    form: fc.constantFrom<SendForm>('one', 'mask', 'maskAllButSelf', 'allButSelf', 'all', 'self'),
    cpu,
    mask: fc.uniqueArray(cpu, { maxLength: 8 }),
    vector: fc.integer({ min: 0x20, max: 0xff }),
    from: fc.nat(),
  });
  const arb = fc.record({
    order: fc.shuffledSubarray(
      Array.from({ length: VCPUS - 1 }, (_, i) => i + 1),
      { minLength: VCPUS - 1 },
    ),
    sends: fc.array(fc.array(sendArb, { maxLength: 3 }), { minLength: VCPUS, maxLength: VCPUS }),
  });
  const [{ order, sends }] = fc.sample(arb, { seed, numRuns: 1 }) as [
    {
      order: number[];
      sends: { form: SendForm; cpu: number; mask: number[]; vector: number; from: number }[][];
    },
  ];
  const up = [0];
  const steps: Step[] = [{ up: 0 }];
  for (let i = 0; i < VCPUS; i++) {
    // Senders are CPUs already up; targets are any CPUs.
    for (const s of sends[i]!) steps.push({ ...s, from: up[s.from % up.length]! });
    const next = order[i];
    if (next !== undefined) {
      steps.push({ up: next });
      up.push(next);
    }
  }
  return steps;
}

describe.skipIf(linux === null)(
  `hv_common_cpu_init on ${VCPUS} vCPUs with IPIs in flight (direct harness)`,
  () => {
    it(`${SEEDS} seeded interleavings: no IPI lost or doubled`, { timeout: 10 * 60_000 }, () => {
      for (let seed = 1; seed <= SEEDS; seed++) {
        const lvm = new LinuxVm(guestModule('hv-apic'), { vcpus: VCPUS });
        try {
          lvm.call(0, 'lt_boot');
          let sends = 0;
          for (const step of schedule(seed)) {
            if ('up' in step) {
              expect(lvm.call(step.up, 'lt_cpu_up'), `seed ${seed}`).toBe(0);
              expect(lvm.takeDeliveries().flat(), `seed ${seed}`).toEqual([]);
              continue;
            }
            setMask(lvm, step.mask);
            lvm.call(step.from, 'lt_send', Send[step.form], step.cpu, step.vector);
            const targets = intendedTargets(step.form, step.from, step.cpu, step.mask, VCPUS);
            const expected = Array.from({ length: VCPUS }, (_, vp) =>
              targets.includes(vp) ? [step.vector] : [],
            );
            expect(lvm.takeDeliveries(), `seed ${seed}, ${JSON.stringify(step)}`).toEqual(expected);
            sends++;
          }
          expect(sends).toBeGreaterThan(0);
          // Each CPU has its own page-aligned input page and knows its VP index.
          const table = lvm.call(0, 'lt_vp_index');
          const pages = new Set<number>();
          for (let c = 0; c < VCPUS; c++) {
            expect(lvm.u32(table + 4 * c)).toBe(c);
            const page = lvm.call(0, 'lt_input_page', c);
            expect(page % 4096).toBe(0);
            pages.add(page);
          }
          expect(pages.size).toBe(VCPUS);
          expect(lvm.call(0, 'lt_max_vp_index')).toBe(VCPUS - 1);
        } finally {
          lvm.close();
        }
      }
    });
  },
);
