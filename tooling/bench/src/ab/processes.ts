import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type Side = 'base' | 'head';

/**
 * Which side runs first in each round: base first in even rounds, head first in odd ones
 * (A B, B A, A B, …), so that each side runs first equally often and a load that rises or falls
 * steadily during the comparison does not favour either.
 */
export function sideOrder(round: number): readonly [Side, Side] {
  return round % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
}

/** The bench entry point of a built checkout, or an error that says how to build it. */
export function benchEntry(checkout: string): string {
  const entry = join(checkout, 'tooling', 'bench', 'dist', 'main.js');
  if (!existsSync(entry)) {
    throw new Error(
      `${entry} not found: build that checkout first (npx -y pnpm@10.34.9 install --frozen-lockfile && npx -y pnpm@10.34.9 -s build)`,
    );
  }
  return entry;
}

/** `abc1234` (plus ` (modified)` when the work tree differs from it), or `null` outside git. */
export function describeCheckout(checkout: string): string | null {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', checkout, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    const commit = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no').trim() !== '';
    return dirty ? `${commit} (modified)` : commit;
  } catch {
    return null;
  }
}

/**
 * One bench process: `node <entry> --suite <suite> --json --rounds 1 [--time <ms>]` in a fresh
 * process (its own JIT and heap), its JSON parsed. One round per process: each side's figure is
 * then what both a best-of-rounds and a median-of-rounds bench report alike.
 */
export function runBench(entry: string, suite: string, timeMs: number | undefined): Promise<unknown> {
  const args = [entry, '--suite', suite, '--json', '--rounds', '1'];
  if (timeMs !== undefined) args.push('--time', String(timeMs));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join('\n');
      if (code !== 0) {
        reject(new Error(`${args.join(' ')} exited with ${code}:\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')));
      } catch (e) {
        reject(new Error(`${args.join(' ')} printed no JSON: ${(e as Error).message}`));
      }
    });
  });
}
