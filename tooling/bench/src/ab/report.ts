import { columns, ns } from '../text-table.js';
import { SIGNIFICANCE, type Spread, type SuiteComparison } from './compare.js';

const range = (s: Spread, f: (v: number) => string) => `${f(s.min)}–${f(s.max)}`;
const three = (v: number) => v.toPrecision(3);

/** One suite's comparison as plain text: the cases (times), the suite's own ratios, the verdict line. */
export function formatComparison(
  suite: string,
  c: SuiteComparison,
  thresholdPercent: number,
  pairs: {
    readonly asked: number;
    readonly kept: number;
    readonly dropped: number;
    readonly unjudged: number;
  },
): string {
  const cases = columns(
    ['case (ns/op)', 'base', 'base min–max', 'head', 'head min–max', 'head/base', 'p', 'verdict'],
    c.cases.map((x) => [
      x.id,
      ns(x.base.median),
      range(x.base, ns),
      ns(x.head.median),
      range(x.head, ns),
      x.ratio.toFixed(3),
      x.p.toPrecision(2),
      x.verdict === 'same' ? '' : x.verdict.toUpperCase(),
    ]),
    [false, true, true, true, true, true, true, false],
  );
  const ratios = columns(
    ['suite ratio (within each process)', 'base', 'base min–max', 'head', 'head min–max', 'head/base'],
    c.ratios.map((r) => [
      r.id,
      three(r.base.median),
      range(r.base, three),
      three(r.head.median),
      range(r.head, three),
      r.change.toFixed(3),
    ]),
    [false, true, true, true, true, true],
  );
  const slower = c.cases.filter((x) => x.verdict === 'slower').map((x) => x.id);
  const only = [
    ...(c.onlyBase.length > 0 ? [`only in base: ${c.onlyBase.join(', ')}`] : []),
    ...(c.onlyHead.length > 0 ? [`only in head: ${c.onlyHead.join(', ')}`] : []),
  ];
  const dropped =
    pairs.dropped === 0
      ? ''
      : `; ${pairs.dropped} pair(s) dropped because a side's bench could not judge its run (NOT IN THE SPIN REGIME)`;
  const unjudged =
    pairs.unjudged === 0
      ? ''
      : `; ${pairs.unjudged} pair(s) kept although a side's bench could not judge its run: not a verdict`;
  const short = pairs.kept < pairs.asked ? ` — FEWER than the ${pairs.asked} asked for` : '';
  if (pairs.kept === 0) {
    return `${suite}: no pair of processes to compare${dropped}: not judged (rerun on a quieter machine)`;
  }
  return [
    `${suite}: ${pairs.kept} process(es) per side${short}${dropped}${unjudged}; medians over each side's processes; head/base > 1 is slower`,
    '',
    ...cases,
    '',
    ...ratios,
    '',
    `slower beyond noise (head's median > ${thresholdPercent} % above base's, and p < ${SIGNIFICANCE}: head's processes rank above base's beyond chance): ${slower.length === 0 ? 'none' : `${slower.join(', ')} (with many cases, one in 20 is flagged by chance: rerun with more --rounds before believing a p near ${SIGNIFICANCE})`}`,
    ...only,
  ].join('\n');
}
