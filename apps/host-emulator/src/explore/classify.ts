/**
 * What a seeded run came to, for `explore`: passed, or one failure class, with the signature
 * that groups runs failing the same way. Verdicts come from the run's own outcome and budgets in
 * exits, never from wall time.
 */
import type { RunFailure } from '../threaded/run-api.js';
import { failureSignature } from './signature.js';

/** Why a run failed, most specific first. */
export const FAILURE_CLASSES = [
  'deadlock',
  'limit',
  'assertion',
  'guest-failure',
  'diagnostic',
  'host',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** A conformance diagnostic as the VM reports it. */
export interface RunDiagnostic {
  readonly rule: string;
  readonly vp: number;
  readonly message: string;
}

export interface RunVerdict {
  readonly passed: boolean;
  /** The class of the run's first failure in `FAILURE_CLASSES` order; undefined when it passed. */
  readonly failureClass?: FailureClass;
  /** `class: message` with numbers taken out, every distinct failure of the run, sorted. */
  readonly signature?: string;
  /** The messages as they were, one per failure. */
  readonly messages: readonly string[];
}

function classOf(f: RunFailure): FailureClass {
  if (f.kind === 'run') {
    if (f.message.startsWith('deadlock:')) return 'deadlock';
    if (f.message.startsWith('limit:')) return 'limit';
    return 'host';
  }
  // node:assert's AssertionError and the guest library's assertions name themselves.
  return /\bassert/i.test(f.message) ? 'assertion' : 'guest-failure';
}

/**
 * A message's signature: each line's, the same lines once, in order. A failure that lists what
 * went wrong a line each (every lost IPI) groups with one listing other instances of the same.
 */
export function messageSignature(message: string): string {
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  return [...new Set(lines.map(failureSignature))].join('\n');
}

/** The verdict on a run's failures and the diagnostics its VM raised. */
export function classifyRun(
  failures: readonly RunFailure[],
  diagnostics: readonly RunDiagnostic[],
): RunVerdict {
  const found: { cls: FailureClass; message: string }[] = [
    ...failures.map((f) => ({ cls: classOf(f), message: f.message })),
    ...diagnostics.map((d) => ({ cls: 'diagnostic' as const, message: `[${d.rule}] ${d.message}` })),
  ];
  if (found.length === 0) return { passed: true, messages: [] };
  const rank = (c: FailureClass) => FAILURE_CLASSES.indexOf(c);
  const first = found.reduce((a, b) => (rank(b.cls) < rank(a.cls) ? b : a));
  const signatures = [...new Set(found.map((f) => `${f.cls}: ${messageSignature(f.message)}`))].sort();
  return {
    passed: false,
    failureClass: first.cls,
    signature: signatures.join(' | '),
    messages: found.map((f) => f.message),
  };
}
