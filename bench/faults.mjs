// npm run bench:faults — the fault tests (test/faults) as figures: for each fault injected under load on two
// replicas, turns per second while it lasted, deadline misses (target 0) and the slowest answer, and the time to
// full recovery.
// Runs the fault suite once (the tests' own verdicts still apply) and writes bench/results/faults.json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'wf-bench-faults-'));
const figuresFile = join(work, 'figures.jsonl');
const jest = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '-c', 'jest.faults.config.js', '--runInBand', '--forceExit'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, FAULT_FIGURES_FILE: figuresFile } },
);
const figures = existsSync(figuresFile)
  ? readFileSync(figuresFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(work, { recursive: true, force: true });

const header = [
  'fault',
  'replies/s',
  'fulfilled/s',
  'degraded',
  'deadline misses',
  'slowest ms',
  'unanswered',
  'recovery ms',
];
const rows = figures.map((f) => [
  f.fault,
  String(f.repliesPerSecond),
  String(f.fulfilledPerSecond),
  String(f.degradedReplies),
  String(f.deadlineMisses),
  String(f.slowestMs),
  String(f.unanswered),
  String(f.recoveryMs),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) =>
  cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
rows.forEach((row) => console.log(line(row)));

const dir = join(root, 'bench', 'results');
await mkdir(dir, { recursive: true });
await writeFile(
  join(dir, 'faults.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, figures }, null, 2)}\n`,
);
console.log('written to bench/results/faults.json');
process.exit(jest.status ?? 1);
