// Compiles src/ into dist/ when, and only when, its inputs changed since the last build.
//
//   node scripts/build.mjs            build if dist/ is out of date (what npm start, npm test, … run first)
//   node scripts/build.mjs --force    build anyway
//
// dist/ is never deleted: the new build is compiled into a staging folder, then each file is moved into dist/
// with an atomic rename, and files whose source is gone are removed last. A service running from dist/ keeps
// working while npm test, the simulator or a second terminal builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-stamp');
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'scripts/build.mjs'];
const ASSETS = /\.proto$/;

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/** A digest of every input's path and content: the same sources always give the same stamp. */
function inputsDigest() {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(root, input)))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function moveInto(staging) {
  const built = new Set(filesUnder(staging).map((file) => relative(staging, file)));
  for (const file of built) {
    const target = join(dist, file);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(staging, file), target);
  }
  for (const file of filesUnder(dist).map((path) => relative(dist, path))) {
    if (!built.has(file) && file !== '.build-stamp') rmSync(join(dist, file));
  }
}

const digest = inputsDigest();
const force = process.argv.includes('--force');
if (!force && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === digest) process.exit(0);

// Staging lives beside dist/ (same filesystem, so every move is a rename).
const staging = join(root, `.dist-staging-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', staging], {
    cwd: root,
    stdio: 'inherit',
  });
  if (compiled.status !== 0) {
    process.stderr.write('build failed: TypeScript reported errors (above); dist/ is unchanged\n');
    process.exit(compiled.status ?? 1);
  }
  for (const asset of filesUnder(join(root, 'src')).filter((file) => ASSETS.test(file))) {
    const target = join(staging, relative(join(root, 'src'), asset));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(asset));
  }
  mkdirSync(dist, { recursive: true });
  moveInto(staging);
  writeFileSync(stampFile, `${digest}\n`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
