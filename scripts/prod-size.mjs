// How much the production dependencies weigh, as the image holds them: `npm ci --omit=dev` into a scratch
// folder from package.json and package-lock.json, then the bytes of every file (what an image layer stores)
// and, for reference, the disk blocks they take here. Exits 1 above the limit (MiB, default 150).
//
//   node scripts/prod-size.mjs [--limit 150] [--json]
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const limitIndex = process.argv.indexOf('--limit');
const limitMiB = limitIndex > 0 ? Number(process.argv[limitIndex + 1]) : 150;
const MiB = 1024 * 1024;

function measure(path, totals = { bytes: 0, blocks: 0, files: 0, largest: new Map() }, top) {
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    const info = lstatSync(full);
    totals.bytes += info.size;
    totals.blocks += info.blocks * 512;
    // Sizes per top-level package (node_modules/<name> or node_modules/@scope/<name>).
    const pkg = top ?? (entry.name.startsWith('@') ? undefined : full);
    if (pkg) totals.largest.set(pkg, (totals.largest.get(pkg) ?? 0) + info.size);
    if (entry.isDirectory()) measure(full, totals, pkg);
    else totals.files += 1;
  }
  return totals;
}

const scratch = mkdtempSync(join(tmpdir(), 'wf-prod-size-'));
try {
  for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(root, file), join(scratch, file));
  const installed = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: scratch,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (installed.status !== 0) throw new Error('npm ci --omit=dev failed');
  const totals = measure(join(scratch, 'node_modules'));
  const largest = [...totals.largest.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([path, bytes]) => `${path.slice(join(scratch, 'node_modules').length + 1)} ${(bytes / MiB).toFixed(1)}`);
  const result = {
    bytes: totals.bytes,
    mib: Number((totals.bytes / MiB).toFixed(1)),
    diskMib: Number((totals.blocks / MiB).toFixed(1)),
    files: totals.files,
    limitMib: limitMiB,
    largest,
  };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `production dependencies: ${result.mib} MiB in ${result.files} files (${result.diskMib} MiB of disk blocks here); ` +
        `limit ${limitMiB} MiB; largest: ${largest.join(', ')}\n`,
    );
  }
  if (result.mib > limitMiB) {
    process.stderr.write(`production dependencies are ${result.mib} MiB, over the ${limitMiB} MiB limit\n`);
    process.exitCode = 1;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
