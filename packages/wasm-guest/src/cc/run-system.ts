/**
 * Runs a build plan with a system clang and wasm-ld as subprocesses: the compiles in parallel
 * (one per core), their diagnostics printed in input order, then the link.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { renderToken } from './args.js';
import { type BuildPlan, shellLine } from './plan.js';
import type { SystemToolchain } from './toolchain.js';

export interface RunIo {
  /** Writes diagnostics and `-v` lines. */
  stderr(text: string): void;
  readonly verbose: boolean;
}

interface Done {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs the plan; false when a step failed (its diagnostics are already written). */
export async function runSystem(tc: SystemToolchain, plan: BuildPlan, io: RunIo): Promise<boolean> {
  const compiles = plan.compiles.map((c) => [tc.clang, ...c.args.map((t) => renderToken(t))]);
  if (io.verbose) for (const argv of compiles) io.stderr(`${shellLine(argv)}\n`);
  const results = await mapLimited(compiles, availableParallelism(), (argv) => run(argv));
  for (const r of results) io.stderr(r.output);
  if (!results.every((r) => r.ok)) return false;

  const link = [tc.wasmLd, ...plan.link.map((t) => renderToken(t))];
  if (io.verbose) io.stderr(`${shellLine(link)}\n`);
  const linked = await run(link);
  io.stderr(linked.output);
  return linked.ok;
}

/** Runs one command to completion, collecting its stdout and stderr as one text. */
function run(argv: readonly string[]): Promise<Done> {
  return new Promise((resolvePromise) => {
    const chunks: Buffer[] = [];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', (e) =>
      resolvePromise({ ok: false, output: `pvlab-cc: cannot run ${argv[0]}: ${e.message}\n` }),
    );
    child.on('close', (code, signal) => {
      let output = Buffer.concat(chunks).toString('utf8');
      if (signal) output += `pvlab-cc: ${argv[0]} was killed by ${signal}\n`;
      resolvePromise({ ok: code === 0, output });
    });
  });
}

/** `items.map(fn)` with at most `limit` calls in flight; results in input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
