// npm test: every jest project (unit, medium, e2e), then the fault tests (test/faults), which own their
// PostgreSQL, Redis and replicas and run one file at a time. `npm test -- <paths or jest options>` runs only
// the jest projects with those arguments (the faults run with `npm run test:faults`).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const jest = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = process.argv.slice(2);

function run(jestArgs) {
  const result = spawnSync(process.execPath, [jest, ...jestArgs], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(args);
// An open handle once kept the fault suite's jest from exiting after its last test: --forceExit.
if (args.length === 0) run(['-c', 'jest.faults.config.js', '--runInBand', '--forceExit']);
