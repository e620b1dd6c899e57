/** What the CLI tests share: `pvlab-host` run in-process with its output collected, and test files. */
import { fileURLToPath } from 'node:url';
import { runPvlabHost } from '../src/index.ts';

/** A guest program under test/guests. */
export const guest = (name: string) => fileURLToPath(new URL(`./guests/${name}`, import.meta.url));
/** A file under examples/ (what the README shows). */
export const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

/** Runs `pvlab-host argv…` in this process: its exit code, stdout and stderr. */
export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPvlabHost(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}
