import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { SERVICE_STARTED } from './service-started';

type Environment = Readonly<Record<string, string | undefined>>;

type ModuleWrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: NodeJS.Module,
  filename: string,
  dirname: string,
) => void;

/** Node 22.1+'s own compile cache, for what is loaded from node_modules beside the bundle; absent on Node 20. */
const nodeCompileCache = (Module as { enableCompileCache?: () => unknown }).enableCompileCache;

/**
 * What `node dist/main.js` runs (scripts/bundle.mjs writes that file to call this): the service's bundle,
 * `dist/main.bundle.js`, with the code V8 compiled for it kept between starts. The bundle is compiled as a
 * `vm.Script` with V8's code cache beside it, on every Node: Node 22's own compile cache (`module.enableCompileCache`,
 * still turned on for the packages loaded from node_modules later) keeps only the code compiled before a module runs,
 * so every module inside the bundle was compiled again at each start (about 0.25 s of 1.4 on Node 24).
 * `NODE_DISABLE_COMPILE_CACHE=1` turns both off; with `--enable-source-maps` the bundle is loaded plainly, as the source
 * maps need.
 */
export function launch(
  bundle: string,
  env: Environment = process.env,
  enableNodeCompileCache: (() => unknown) | undefined = nodeCompileCache,
): void {
  if (env.NODE_DISABLE_COMPILE_CACHE || process.sourceMapsEnabled) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is the application itself
    require(bundle);
    return;
  }
  enableNodeCompileCache?.();
  runWithCodeCache(bundle, codeCacheFolder(env), env);
}

/**
 * A folder only this user can write to: V8 runs whatever code a cache file holds, so one that another user could
 * have placed is never read. NODE_COMPILE_CACHE names it, as on newer Node; undefined when it cannot be had.
 */
export function codeCacheFolder(env: Environment): string | undefined {
  const uid = process.getuid?.();
  const folder = env.NODE_COMPILE_CACHE || join(tmpdir(), `webhook-fulfillment-code-cache-${uid ?? 'user'}`);
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stats = lstatSync(folder);
    const othersMayWrite = (stats.mode & 0o022) !== 0;
    if (!stats.isDirectory() || othersMayWrite || (uid !== undefined && stats.uid !== uid)) return undefined;
    return folder;
  } catch {
    return undefined;
  }
}

/**
 * The cache file of this build of the bundle under this Node and its options: `<where>-<build>.v8cache`, where is
 * the bundle's path, the Node version and the options (V8 rejects code compiled by another V8 or under other flags,
 * and one file per configuration keeps two from overwriting each other's on every start: a checkout run on Node 20
 * and on Node 24 in turns), build its size and mtime (a rebuilt bundle gets a new file, and the older one is removed
 * when it is written).
 */
export function codeCacheFile(folder: string, bundle: string, env: Environment): string {
  const { size, mtimeMs } = statSync(bundle);
  const digest = (...parts: unknown[]): string =>
    createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
  const where = digest(bundle, process.version, process.arch, process.execArgv.join(' '), env.NODE_OPTIONS ?? '');
  return join(folder, `${where}-${digest(size, mtimeMs)}.v8cache`);
}

/**
 * Runs `bundle` as `require` would, and returns its exports; compiled with the code cache from `folder`. Without a
 * usable cache, one is written when the bundle emits `SERVICE_STARTED`: every function the start ran is in it then,
 * and writing it (about 0.2 s) does not delay the start, which matters most where every start is a first one (a new
 * pod's empty /tmp). A bundle that never emits it gets no cache.
 */
export function runWithCodeCache(bundle: string, folder: string | undefined, env: Environment = process.env): unknown {
  const source = readFileSync(bundle, 'utf8');
  const file = folder === undefined ? undefined : codeCacheFile(folder, bundle, env);
  const cachedData = file === undefined ? undefined : readIfPresent(file);
  // No importModuleDynamically: Node 20 loses it for code compiled from the cache, so the bundle has no import()
  // (scripts/bundle.mjs turns each into a require).
  const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
  const wrapper = script.runInThisContext() as ModuleWrapper;
  const module = new Module(bundle, require.main);
  module.filename = bundle;
  wrapper.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  module.loaded = true;
  if (file !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    process.once(SERVICE_STARTED, () => writeCodeCache(file, script));
  }
  return module.exports;
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Files kept in the folder at most (about 4 MB each): every checkout or test copy of the project is a bundle path of
 * its own, and a developer's temp folder would otherwise collect one per copy.
 */
export const CODE_CACHE_FILES_KEPT = 8;

/**
 * A `.partial` file older than this was left by a start that died while writing (a younger one may be another
 * process's write in progress).
 */
const ABANDONED_PARTIAL_MS = 60_000;

/**
 * Written whole or not at all (a rename); then older builds' files of the same bundle and options go, the least
 * recently written beyond CODE_CACHE_FILES_KEPT, and partial files abandoned by a crash. Never fails a start.
 */
function writeCodeCache(file: string, script: Script): void {
  const partial = `${file}.${process.pid}.partial`;
  try {
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, file);
    const folder = dirname(file);
    const own = basename(file);
    const sameConfiguration = `${own.split('-')[0]}-`;
    const others = readdirSync(folder)
      .filter((name) => name !== own && (name.endsWith('.v8cache') || name.endsWith('.partial')))
      .map((name) => ({ name, writtenAt: statSync(join(folder, name)).mtimeMs }))
      .sort((a, b) => b.writtenAt - a.writtenAt);
    let kept = 1;
    for (const { name, writtenAt } of others) {
      if (name.endsWith('.partial')) {
        if (Date.now() - writtenAt > ABANDONED_PARTIAL_MS) rmSync(join(folder, name), { force: true });
      } else if (!name.startsWith(sameConfiguration) && kept < CODE_CACHE_FILES_KEPT) kept += 1;
      else rmSync(join(folder, name), { force: true });
    }
  } catch {
    // A read-only or full temp folder: the next start compiles the bundle again.
    rmSync(partial, { force: true });
  }
}
