// Runs every Vitest suite, then prints one plain closing line ("tests: N passed, N failed, N skipped")
// so that the outcome reads the same in a terminal and in CI logs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const out = '.test-output/vitest.json';
mkdirSync('.test-output', { recursive: true });
const run = spawnSync(
  process.execPath,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);
let summary;
try {
  summary = JSON.parse(readFileSync(out, 'utf8'));
} catch {
  console.error(`test runner wrote no results to ${out} (exit ${run.status})`);
  process.exit(run.status || 1);
}
const skipped = summary.numPendingTests + summary.numTodoTests;
console.log(`tests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
if (summary.numTotalTests === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(run.status ?? 1);
