import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_CACHE_FILES_KEPT, codeCacheFile, codeCacheFolder, launch, runWithCodeCache } from './launch';
import { SERVICE_STARTED } from './service-started';

/** A bundle that reports what `require` would have given a CommonJS module: its paths, a sibling, the module. */
const BUNDLE = `
  const sibling = require('./sibling.js');
  module.exports = { filename: __filename, dirname: __dirname, sibling, self: module.filename, thisIsExports: this === exports };
`;

describe('launch: the service bundle with V8 code kept between starts', () => {
  let dir: string;
  let cache: string;
  let bundle: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wf-launch-'));
    cache = join(dir, 'cache');
    bundle = join(dir, 'main.bundle.js');
    writeFileSync(bundle, BUNDLE);
    writeFileSync(join(dir, 'sibling.js'), 'module.exports = "beside the bundle";');
  });

  const started = (): boolean => (process as NodeJS.EventEmitter).emit(SERVICE_STARTED);

  afterEach(() => {
    started();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A whole start: the bundle runs, then says the service has started. */
  const run = (folder: string | undefined): Record<string, unknown> => {
    const exports = runWithCodeCache(bundle, folder, {}) as Record<string, unknown>;
    started();
    return exports;
  };
  const cacheFiles = (): string[] => readdirSync(cache).sort();

  it('runs the bundle as require would: its own __filename and __dirname, requires beside it, exports as this', () => {
    expect(run(codeCacheFolder({ NODE_COMPILE_CACHE: cache }))).toEqual({
      filename: bundle,
      dirname: dir,
      sibling: 'beside the bundle',
      self: bundle,
      thisIsExports: true,
    });
  });

  it('writes the code cache on the first start and reads it, unchanged, on the next', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    run(folder);
    const file = codeCacheFile(cache, bundle, {});
    expect(cacheFiles()).toEqual([file.slice(cache.length + 1)]);
    const written = statSync(file);
    expect(written.size).toBeGreaterThan(0);
    expect(written.mode & 0o077).toBe(0);

    expect(run(folder).sibling).toBe('beside the bundle');
    // Accepted by V8, so not written again.
    expect(statSync(file).mtimeMs).toBe(written.mtimeMs);
  });

  it('writes the cache once the service has started (not during its start), and reads it on the next start', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    const name = codeCacheFile(cache, bundle, {}).slice(cache.length + 1);
    runWithCodeCache(bundle, folder, {});
    expect(cacheFiles()).toEqual([]);
    expect(started()).toBe(true);
    expect(cacheFiles()).toEqual([name]);
    // A start from the cache writes nothing and waits for nothing.
    runWithCodeCache(bundle, folder, {});
    expect(started()).toBe(false);
    expect(cacheFiles()).toEqual([name]);
  });

  it('replaces a cache V8 rejects (corrupt) and still runs the bundle', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    const file = codeCacheFile(cache, bundle, {});
    writeFileSync(file, Buffer.from('not V8 code at all'));
    expect(run(folder).sibling).toBe('beside the bundle');
    expect(statSync(file).size).toBeGreaterThan('not V8 code at all'.length);
  });

  it('keys the cache on the build: a rebuilt bundle gets a new file and the old one goes', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    run(folder);
    const before = codeCacheFile(cache, bundle, {});
    writeFileSync(bundle, `${BUNDLE}\nmodule.exports.rebuilt = true;`);
    utimesSync(bundle, new Date(), new Date(Date.now() + 5_000));
    expect(run(folder).rebuilt).toBe(true);
    const after = codeCacheFile(cache, bundle, {});
    expect(after).not.toBe(before);
    expect(cacheFiles()).toEqual([after.slice(cache.length + 1)]);
  });

  it('keeps one file per configuration of Node options, so two configurations do not overwrite each other', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    const chart = { NODE_OPTIONS: '--max-old-space-size=384' };
    runWithCodeCache(bundle, folder, chart);
    run(folder);
    const files = [codeCacheFile(cache, bundle, chart), codeCacheFile(cache, bundle, {})];
    expect(files[0]).not.toBe(files[1]);
    expect(cacheFiles()).toEqual(files.map((file) => file.slice(cache.length + 1)).sort());
  });

  it('keeps the most recently written files only, so copies of the project do not fill the temp folder', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    const others = Array.from({ length: CODE_CACHE_FILES_KEPT + 2 }, (_, index) => `other${index}-build.v8cache`);
    others.forEach((name, index) => {
      writeFileSync(join(cache, name), 'x');
      const writtenAt = new Date(Date.now() - (index + 1) * 60_000);
      utimesSync(join(cache, name), writtenAt, writtenAt);
    });
    run(folder);
    const kept = [
      codeCacheFile(cache, bundle, {}).slice(cache.length + 1),
      ...others.slice(0, CODE_CACHE_FILES_KEPT - 1),
    ];
    expect(cacheFiles()).toEqual(kept.sort());
  });

  it('removes partial files a crashed start left behind, and leaves one being written now', () => {
    const folder = codeCacheFolder({ NODE_COMPILE_CACHE: cache });
    const abandoned = 'abc-def.v8cache.4242.partial';
    const inProgress = 'abc-def.v8cache.4343.partial';
    writeFileSync(join(cache, abandoned), 'half a cache');
    const longAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(cache, abandoned), longAgo, longAgo);
    writeFileSync(join(cache, inProgress), 'being written');
    run(folder);
    expect(cacheFiles()).toEqual([codeCacheFile(cache, bundle, {}).slice(cache.length + 1), inProgress].sort());
  });

  it('uses no folder that others could write to (V8 runs what a cache file holds)', () => {
    mkdirSync(cache, { mode: 0o700 });
    expect(codeCacheFolder({ NODE_COMPILE_CACHE: cache })).toBe(cache);
    chmodSync(cache, 0o777);
    expect(codeCacheFolder({ NODE_COMPILE_CACHE: cache })).toBeUndefined();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(codeCacheFolder({ NODE_COMPILE_CACHE: file })).toBeUndefined();
  });

  it('makes a folder of its own, readable by this user only, when none is named', () => {
    const folder = codeCacheFolder({});
    expect(folder).toBeDefined();
    expect(statSync(folder!).mode & 0o077).toBe(0);
  });

  describe('launch', () => {
    // launch returns nothing: this bundle leaves a file behind to say it ran.
    const marked = (): string => {
      const launched = join(dir, 'launched.bundle.js');
      writeFileSync(launched, `require('node:fs').writeFileSync(__dirname + '/ran', __filename);`);
      return launched;
    };

    it('keeps the code cache of the bundle itself, and turns on Node’s own for the packages it loads', () => {
      const launched = marked();
      const nodeCache = jest.fn();
      launch(launched, { NODE_COMPILE_CACHE: cache }, nodeCache);
      expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe(launched);
      expect(nodeCache).toHaveBeenCalledTimes(1);
      started();
      expect(cacheFiles()).toEqual([codeCacheFile(cache, launched, {}).slice(cache.length + 1)]);
    });

    it('keeps no code cache with NODE_DISABLE_COMPILE_CACHE set, and runs the bundle all the same', () => {
      const launched = marked();
      const nodeCache = jest.fn();
      launch(launched, { NODE_DISABLE_COMPILE_CACHE: '1', NODE_COMPILE_CACHE: cache }, nodeCache);
      expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe(launched);
      expect(nodeCache).not.toHaveBeenCalled();
      expect(existsSync(cache)).toBe(false);
    });
  });

  it('runs the bundle without a cache when no folder can be had', () => {
    expect(run(undefined).sibling).toBe('beside the bundle');
  });
});
