// Compiles src/ into dist/, and the operator console's pages (console-ui/) into dist/console-ui/, each when, and
// only when, its inputs changed since its last build.
//
//   node scripts/build.mjs            build what is out of date (what npm start, npm test, … run first)
//   node scripts/build.mjs --force    build both anyway
//
// dist/ is never deleted: a new build is made in a staging folder, then each file is moved into dist/ with an
// atomic rename, and files whose source is gone are removed last. A service running from dist/ keeps working
// while npm test, the simulator or a second terminal builds. The pages' index.html moves after the hashed assets
// it names, so a browser never gets an index.html whose scripts are not there yet.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleService } from './bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const ASSETS = /\.proto$/;

/** The service: TypeScript from src/ into dist/. */
const SERVICE = {
  inputs: [
    'src',
    'tsconfig.json',
    'tsconfig.build.json',
    'package-lock.json',
    'scripts/build.mjs',
    'scripts/bundle.mjs',
  ],
  stamp: join(dist, '.build-stamp'),
};

/** The console's pages: Vite (Preact, uPlot) from console-ui/ into dist/console-ui/, served by the admin listener. */
const PAGES = {
  source: join(root, 'console-ui'),
  inputs: ['console-ui', 'package-lock.json', 'scripts/build.mjs'],
  stamp: join(dist, '.console-ui-stamp'),
  out: join(dist, 'console-ui'),
};

class BuildFailed extends Error {}

function filesUnder(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.name !== 'node_modules')
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}

/** A digest of every input's path and content: the same sources always give the same stamp. */
function inputsDigest(inputs) {
  const hash = createHash('sha256');
  for (const file of inputs.flatMap((input) => filesUnder(join(root, input)))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function upToDate(stamp, digest) {
  return existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest;
}

/**
 * Moves every file of `staging` into `target` (renames: atomic per file), the ones `last` names after the others,
 * then removes the files of `target` that the build did not make, except those `keep` protects.
 */
function moveInto(staging, target, { keep = () => false, last = () => false } = {}) {
  const built = filesUnder(staging).map((file) => relative(staging, file));
  const ordered = [...built.filter((file) => !last(file)), ...built.filter(last)];
  for (const file of ordered) {
    const destination = join(target, file);
    mkdirSync(dirname(destination), { recursive: true });
    renameSync(join(staging, file), destination);
  }
  const made = new Set(built);
  for (const file of filesUnder(target).map((path) => relative(target, path))) {
    if (!made.has(file) && !keep(file)) rmSync(join(target, file));
  }
}

/** Runs `fn` with a fresh staging folder beside dist/ (same filesystem, so every move is a rename). */
async function withStaging(name, fn) {
  const staging = join(root, `.dist-staging-${name}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    await fn(staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function tsc(project, extra) {
  const bin = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  return spawnSync(process.execPath, [bin, '-p', project, ...extra], { cwd: root, stdio: 'inherit' }).status;
}

async function buildService(digest) {
  await withStaging('service', async (staging) => {
    const status = tsc(join(root, 'tsconfig.build.json'), ['--outDir', staging]);
    if (status !== 0) throw new BuildFailed('TypeScript reported errors (above); dist/ is unchanged');
    for (const asset of filesUnder(join(root, 'src')).filter((file) => ASSETS.test(file))) {
      const target = join(staging, relative(join(root, 'src'), asset));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(asset));
    }
    try {
      await bundleService(staging);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      throw new BuildFailed('the service could not be bundled (above); dist/ is unchanged');
    }
    mkdirSync(dist, { recursive: true });
    // The pages and their stamp are the other build's.
    const pages = relative(dist, PAGES.out) + sep;
    moveInto(staging, dist, {
      keep: (file) => file === '.build-stamp' || file === relative(dist, PAGES.stamp) || file.startsWith(pages),
      // The launcher after the bundle it runs.
      last: (file) => file === 'main.js',
    });
    writeFileSync(SERVICE.stamp, `${digest}\n`);
  });
}

async function buildPages(digest) {
  // Vite does not type-check; the console's own tsconfig does (no output).
  const status = tsc(join(PAGES.source, 'tsconfig.json'), ['--noEmit']);
  if (status !== 0)
    throw new BuildFailed('the console pages have TypeScript errors (above); dist/console-ui/ is unchanged');
  await withStaging('console-ui', async (staging) => {
    // Imported only when the pages are built: a service-only build never loads Vite.
    const { build, mergeConfig } = await import('vite');
    const config = (await import(pathToFileURL(join(PAGES.source, 'vite.config.mjs')).href)).default;
    try {
      await build(
        mergeConfig(config, { configFile: false, logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } }),
      );
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      throw new BuildFailed('Vite could not build the console pages (above); dist/console-ui/ is unchanged');
    }
    moveInto(staging, PAGES.out, { last: (file) => file === 'index.html' });
    writeFileSync(PAGES.stamp, `${digest}\n`);
  });
}

const force = process.argv.includes('--force');
try {
  const serviceDigest = inputsDigest(SERVICE.inputs);
  if (force || !upToDate(SERVICE.stamp, serviceDigest)) await buildService(serviceDigest);
  // A copy of the project without the console's sources (some tests build one) builds the service alone.
  if (existsSync(PAGES.source)) {
    const pagesDigest = inputsDigest(PAGES.inputs);
    if (force || !upToDate(PAGES.stamp, pagesDigest)) await buildPages(pagesDigest);
  }
} catch (error) {
  if (!(error instanceof BuildFailed)) throw error;
  process.stderr.write(`build failed: ${error.message}\n`);
  process.exit(1);
}
