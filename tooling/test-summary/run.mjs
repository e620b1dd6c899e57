// Runs every vitest project in one process from the repo root, then prints the closing line CI
// reads: `Tests: N passed, M failed[, K skipped]`. Vitest's own summary is not that line, so the
// numbers come from its JSON reporter, written to a temp file beside the normal terminal output.
//
// Exits non-zero when vitest fails (including a test file that cannot load), when any test
// fails, or when no test ran at all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vitestBin = join(root, 'node_modules', '.bin', 'vitest');

// https://no-color.org: set and non-empty disables colour. Vitest reads NO_COLOR itself (it
// inherits our environment); this only governs the notes below. The `Tests:` line is never coloured.
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const red = (s) => (color ? `\x1b[31m${s}\x1b[39m` : s);

const tmp = mkdtempSync(join(tmpdir(), 'pvlab-test-summary-'));
const jsonFile = join(tmp, 'vitest.json');

/** @returns {{ numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number, numFailedTestSuites: number } | undefined} */
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
    ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`],
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

const passed = report.numPassedTests;
const failed = report.numFailedTests;
const skipped = report.numPendingTests + report.numTodoTests;

const problems = [];
if (vitestStatus !== 0) problems.push(`vitest exited with ${vitestStatus}`);
// A file that fails to import counts as a failed suite but contributes no failed test.
const brokenFiles = report.numFailedTestSuites;
if (brokenFiles > 0 && failed === 0) problems.push(`${brokenFiles} test file(s) failed outside any test`);
if (passed + failed === 0) problems.push('no test ran');
for (const p of problems) console.error(red(`test-summary: ${p}`));

// The closing line: alone on its line and the last thing printed.
console.log(`Tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exitCode = problems.length > 0 || failed > 0 ? 1 : 0;
