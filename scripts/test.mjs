// npm test: every jest project (unit, medium, e2e) and, at the same time, the fault tests (test/faults), which
// own their PostgreSQL, Redis and replicas and run one file at a time. The fault tests spend most of their time
// waiting for what they broke to come back, so they run beside the rest instead of after it; their output is
// kept in a file and printed once the rest has finished. `npm test -- <paths or jest options>` runs only the
// jest projects with those arguments (the faults run with `npm run test:faults`).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = process.argv.slice(2);

/**
 * The main run's scheduling priority while the fault tests run beside it (a niceness: lower priority; any user may
 * lower their own processes'). The fault tests judge replies against a platform's deadline, measured from when
 * their client sent each request; on a 2-core machine the main run's workers, services and browser took the CPU
 * from their replicas for 300-570 ms at a time (a replica read a request that long after it was sent), and a
 * deadline verdict then measured the machine, not the service. The main run's own tests wait on their services,
 * which run at its priority, and take the CPU the fault tests leave idle.
 */
const MAIN_RUN_NICENESS = 10;

/**
 * The fault tests' slice of the test ports (test/support/service-process.ts): the other run's workers take the
 * first slices, one each.
 */
const FAULT_TESTS_PORT_SLICE = '11';

/**
 * Runs jest with `jestArgs`; resolves to its exit status. `stdio` as for spawn; `niceness` lowers its priority;
 * `env` is added to this process's.
 */
function run(jestArgs, stdio = 'inherit', niceness = 0, env = {}) {
  const child = spawn(process.execPath, [jest, ...jestArgs], { cwd: root, stdio, env: { ...process.env, ...env } });
  if (niceness > 0 && child.pid !== undefined) {
    try {
      // Inherited by every process it starts (workers, services, PostgreSQL, the browser).
      setPriority(child.pid, niceness);
    } catch {
      // Not permitted here (some containers): the run goes on at the normal priority.
    }
  }
  return new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`could not start jest: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (args.length > 0) process.exit(await run(args));

/**
 * WF_SKIP_FAULT_TESTS=1: the jest projects alone, at the normal priority. For a run whose fault tests run elsewhere:
 * `.ci/run` runs npm test on two Node lines and the fault tests once, on Node 24 (the image's runtime).
 */
if (process.env.WF_SKIP_FAULT_TESTS === '1') {
  console.log('The fault tests (test/faults) are not run (WF_SKIP_FAULT_TESTS=1): npm run test:faults runs them.');
  process.exit(await run([]));
}

// A file, not a pipe: the fault suite writes as fast as it likes, however long the rest takes.
const outputDir = mkdtempSync(join(tmpdir(), 'wf-fault-tests-'));
const outputFile = join(outputDir, 'output.log');
const output = openSync(outputFile, 'w');
// Without --forceExit the fault suite's jest at times never exits after its last test: Node spins at 100 % CPU in
// its exit-time handle clean-up (Environment::CleanupHandles, seen with gdb), with no JavaScript left to run.
const faults = run(['-c', 'jest.faults.config.js', '--runInBand', '--forceExit'], ['ignore', output, output], 0, {
  TEST_PORT_SLICE: FAULT_TESTS_PORT_SLICE,
});
console.log('The fault tests (test/faults) run beside the others; their output follows when both have finished.');
const status = await run([], 'inherit', MAIN_RUN_NICENESS);
const faultStatus = await faults;
closeSync(output);
console.log('\n---- the fault tests (test/faults) ----');
process.stdout.write(readFileSync(outputFile));
rmSync(outputDir, { recursive: true, force: true });
if (status !== 0) console.error('npm test: the unit, medium or end-to-end tests failed (above the fault tests)');
if (faultStatus !== 0) console.error('npm test: the fault tests failed');
process.exit(status || faultStatus);
