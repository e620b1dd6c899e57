// Runs every vitest project in one process from the repo root, then prints the closing line CI
// reads: `Tests: N passed, M failed[, K skipped]`. Vitest's own summary is not that line, so the
// numbers come from its JSON reporter, written to a temp file beside the normal terminal output.
//
// `run.mjs` runs the default suite: every test not tagged `long` (`pnpm test`). `run.mjs long`
// runs only the tests tagged `long` (`pnpm test:long`: searches of many seeds and the like) and
// closes with `Long tests: …`. A long test lives in a `*.long.test.ts` file, so the long suite
// loads only those files; a test tagged `long` elsewhere, or untagged in such a file, is an
// error. Each suite counts only its own tests: the other suite's, which vitest reports as
// skipped, are left out of the line.
//
// Exits non-zero when vitest fails (including a test file that cannot load), when any test
// fails, or when no test ran at all; exits 2 on an unknown suite name.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const LONG_FILE = '.long.test.ts';
const SUITES = {
  default: { args: ['--tags-filter=!long'], label: 'Tests' },
  long: { args: ['--tags-filter=long', LONG_FILE], label: 'Long tests' },
};
const suiteName = process.argv[2] ?? 'default';
if (!Object.hasOwn(SUITES, suiteName) || process.argv.length > 3) {
  console.error(
    `test-summary: '${process.argv.slice(2).join(' ')}' is not a suite: use no argument or 'long'`,
  );
  process.exit(2);
}
const suite = SUITES[suiteName];
const inSuite = (tags) => tags.includes('long') === (suiteName === 'long');

const root = fileURLToPath(new URL('../../', import.meta.url));
const vitestBin = join(root, 'node_modules', '.bin', 'vitest');

// https://no-color.org: set and non-empty disables colour. Vitest reads NO_COLOR itself (it
// inherits our environment); this only governs the notes below. The `Tests:` line is never coloured.
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const red = (s) => (color ? `\x1b[31m${s}\x1b[39m` : s);

const tmp = mkdtempSync(join(tmpdir(), 'pvlab-test-summary-'));
const jsonFile = join(tmp, 'vitest.json');

/** @returns {{ numFailedTestSuites: number, testResults: { name: string, assertionResults: { fullName: string, status: string, tags?: string[] }[] }[] } | undefined} */
function readReport() {
  try {
    return JSON.parse(readFileSync(jsonFile, 'utf8'));
  } catch {
    return undefined; // vitest crashed before writing it
  }
}

let report;
let vitestStatus;
try {
  const result = spawnSync(
    vitestBin,
    ['run', ...suite.args, '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.error) console.error(red(`test-summary: cannot start ${vitestBin}: ${result.error.message}`));
  // `status` is null when vitest was killed by a signal.
  vitestStatus = result.error ? 'not started' : (result.status ?? result.signal);
  report = readReport();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

if (report === undefined) {
  // No numbers to report: print no `Tests:` line rather than invent one.
  console.error(red(`test-summary: vitest wrote no JSON report (exit: ${vitestStatus})`));
  process.exit(1);
}

// JSON statuses: passed, failed, skipped, pending, todo (the last three count as skipped).
const statuses = report.testResults.flatMap((file) =>
  file.assertionResults.filter((t) => inSuite(t.tags ?? [])).map((t) => t.status),
);
const passed = statuses.filter((s) => s === 'passed').length;
const failed = statuses.filter((s) => s === 'failed').length;
const skipped = statuses.length - passed - failed;

const problems = [];
const misplaced = report.testResults.flatMap((file) =>
  file.assertionResults
    .filter((t) => (t.tags ?? []).includes('long') !== file.name.endsWith(LONG_FILE))
    .map((t) => `${relative(root, file.name)}: ${t.fullName}`),
);
for (const m of misplaced) problems.push(`tag \`long\` and a *${LONG_FILE} file go together: ${m}`);
if (vitestStatus !== 0) problems.push(`vitest exited with ${vitestStatus}`);
// A file that fails to import counts as a failed suite but contributes no failed test.
const brokenFiles = report.numFailedTestSuites;
if (brokenFiles > 0 && failed === 0) problems.push(`${brokenFiles} test file(s) failed outside any test`);
if (passed + failed === 0) problems.push('no test ran');
for (const p of problems) console.error(red(`test-summary: ${p}`));

// The closing line: alone on its line and the last thing printed.
console.log(`${suite.label}: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exitCode = problems.length > 0 || failed > 0 ? 1 : 0;
