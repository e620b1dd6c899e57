/**
 * What the cross-version tests share: where the fixtures are, running a `pvlab-host` (the
 * current build or a release's bundles) as its own process, installing a release's host so that
 * its runtime imports resolve to the current workspace, and reading what a run printed.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_FILES } from '../src/layout.mjs';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The fixture root: PVLAB_FIXTURES_DIR (relative to the repository) or fixtures/releases. */
export const fixturesRoot = resolve(repoRoot, process.env['PVLAB_FIXTURES_DIR'] || 'fixtures/releases');

/** The current workspace's host, built: its bin, as a user runs it. */
export const currentHostCli = join(repoRoot, 'apps/host-emulator/bin/pvlab-host.mjs');
const currentHostDir = join(repoRoot, 'apps/host-emulator');

/** Throws, naming the first missing file, when the workspace is not built. */
export function requireBuiltWorkspace(): void {
  const missing = BUILT_FILES.find((f) => !existsSync(join(repoRoot, f)));
  if (missing !== undefined) {
    throw new Error(
      `${missing} is missing: the cross-version tests run the built workspace (run \`npx -y pnpm@10.34.9 build\` first)`,
    );
  }
}

/**
 * A child process's time limit: only a hang reaches it (a run takes seconds even on a loaded
 * machine). Runs also get `--timeout` so that the host itself reports which vCPU hung.
 */
export const PROCESS_LIMIT_MS = 200_000;
export const RUN_TIMEOUT_ARGS = ['--timeout', '150000'];
/** Test timeouts: one run, and tests that run a few processes in turn. */
export const ONE_RUN_MS = 240_000;
export const A_FEW_RUNS_MS = 600_000;

// NODE_OPTIONS could carry `--conditions=@pvlab/source` and turn the runtime imports to sources.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

export interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <cli> ...args` in `cwd`; resolves with its exit code and output, whatever the code. */
export function pvlabHost(cli: string, args: readonly string[], cwd: string = repoRoot): Promise<Exit> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd, env: childEnv, maxBuffer: 256 * 1024 * 1024, timeout: PROCESS_LIMIT_MS, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        done({
          code,
          stdout,
          stderr: error?.killed ? `killed after ${PROCESS_LIMIT_MS} ms\n${stderr}` : stderr,
        });
      },
    );
  });
}

/** The fields of `pvlab-host run --json` the tests read. */
export interface RunJson {
  readonly passed: boolean;
  readonly arch: string;
  readonly vcpus: number;
  readonly summary: { readonly calls: readonly { call: string; code: string; count: number }[] };
  readonly failedCalls: readonly { call: string; status: string }[];
  readonly failures: readonly unknown[];
  readonly log: readonly { vp: number; line: string }[];
  readonly stolenTimeNs?: readonly (string | null)[];
  readonly vmbusEcho?: { readonly packets: number };
  readonly restoredFrom: string | null;
}

/** The run's JSON summary; fails the test unless the host exited 0 with a passing run. */
export async function runPassing(cli: string, args: readonly string[], cwd?: string): Promise<RunJson> {
  const r = await pvlabHost(cli, ['run', ...args, '--json', ...RUN_TIMEOUT_ARGS], cwd);
  if (r.code !== 0 || !r.stdout.trimStart().startsWith('{')) {
    throw new Error(`pvlab-host run ${args.join(' ')}: exit ${r.code}\n${r.stderr.slice(0, 4000)}`);
  }
  const json = JSON.parse(r.stdout) as RunJson;
  if (!json.passed)
    throw new Error(`pvlab-host run ${args.join(' ')}: did not pass\n${r.stderr.slice(0, 4000)}`);
  return json;
}

/** A hypercall or MSR event of a Chrome trace the host wrote. */
export interface TraceEvent {
  readonly name: string;
  readonly cat: string;
  readonly args?: { readonly code?: string; readonly index?: string };
}

export function readTrace(file: string): TraceEvent[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
}

/** `pvlab-host info --json`: each hypercall's code and the feature gate it names. */
export interface HostInfo {
  readonly hypercalls: readonly { code: string; name: string; gate: string }[];
}

export async function hostInfo(cli: string): Promise<HostInfo> {
  const r = await pvlabHost(cli, ['info', '--json']);
  if (r.code !== 0) throw new Error(`pvlab-host info --json: exit ${r.code}\n${r.stderr}`);
  return JSON.parse(r.stdout) as HostInfo;
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/**
 * Lays a release's host out as an installed package in `dir` (its package.json and dist/) with a
 * node_modules whose every dependency is a link to the package the current host resolves that
 * name to: the release's CLI, run with plain node, imports the current guest-emulator (and so
 * boots its image by default) and the current esbuild. Returns the CLI's path.
 */
export function installReleasedHost(fixtureDir: string, dir: string): string {
  cpSync(join(fixtureDir, 'package.json'), join(dir, 'package.json'));
  cpSync(join(fixtureDir, 'dist'), join(dir, 'dist'), { recursive: true });
  const pkg = readJson<{ bin: Record<string, string>; dependencies?: Record<string, string> }>(
    join(dir, 'package.json'),
  );
  const fromCurrentHost = createRequire(join(currentHostDir, 'package.json'));
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(dirname(fromCurrentHost.resolve(`${name}/package.json`)), link, 'dir');
  }
  return join(dir, pkg.bin['pvlab-host'] ?? 'dist/cli.mjs');
}
