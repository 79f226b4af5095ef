import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LOCAL_DEV_AUTH, README_REQUEST } from './support/dialogflow-es.fixtures';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, TestDatabase } from './support/test-database';

const ROOT = join(__dirname, '..');
const run = promisify(execFile);

/**
 * scripts/build.mjs on a copy of the project (so the suite's own dist/ is never touched): it builds only
 * when an input changed, and a rebuild never takes dist/ away from a service running from it. The copy starts with
 * the suite's dist/, which npm test built from the same inputs (a build from nothing is what the newcomer check's
 * fresh clones do): the one whole TypeScript build here is the rebuild under a running service.
 */
describe('the build (scripts/build.mjs on a copy of the project)', () => {
  const copy = mkdtempSync(join(tmpdir(), 'wf-build-'));
  const dist = join(copy, 'dist');
  const build = (...args: string[]) =>
    run(process.execPath, [join(copy, 'scripts', 'build.mjs'), ...args], { cwd: copy });
  let database: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    for (const path of [
      'src',
      'scripts',
      'tsconfig.json',
      'tsconfig.build.json',
      'package.json',
      'package-lock.json',
    ]) {
      cpSync(join(ROOT, path), join(copy, path), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    cpSync(join(ROOT, 'dist'), dist, { recursive: true });
    database = await createTestDatabase();
    // Nothing to do when the suite's dist/ is up to date (as npm test leaves it); a whole build when it is not.
    await build();
  }, 120_000);

  afterAll(async () => {
    if (service?.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await database.drop();
    rmSync(copy, { recursive: true, force: true });
  });

  /** scripts/bundle.mjs's bundleService on `staging` (its main.js and what it loads), as the build runs it. */
  async function bundle(staging: string): Promise<void> {
    const bundler = JSON.stringify(pathToFileURL(join(copy, 'scripts', 'bundle.mjs')).href);
    await run(process.execPath, [
      '--input-type=module',
      '-e',
      `import { bundleService } from ${bundler}; await bundleService(${JSON.stringify(staging)});`,
    ]);
  }

  it("bundles thousands of modules without using up V8's hidden-class transitions for one-property objects", async () => {
    const staging = mkdtempSync(join(copy, '.staging-shapes-'));
    // More modules than V8 records transitions from one shared hidden class (1,536): esbuild wraps each in an object
    // of one property named after its path.
    const modules = 2_000;
    for (let i = 0; i < modules; i++) writeFileSync(join(staging, `m${i}.js`), `exports.value = ${i};\n`);
    writeFileSync(
      join(staging, 'main.js'),
      Array.from({ length: modules }, (_, i) => `require('./m${i}');\n`).join('') +
        // Made once every module has loaded, as a request's objects are: two literals of one property (two sites),
        // each given one property more. Objects made alike must share a hidden class.
        'const made = [() => ({ madeAfterTheModules: 1 }), () => ({ madeAfterTheModules: 2 })].map((make) => {\n' +
        '  const object = make();\n  object.more = true;\n  return object;\n});\n' +
        "const sameHiddenClass = new Function('a', 'b', 'return %HaveSameMap(a, b)');\n" +
        'console.log(sameHiddenClass(made[0], made[1]));\n' +
        "setImmediate(() => process.emit('webhook-fulfillment:started'));\n",
    );
    cpSync(join(dist, 'lifecycle'), join(staging, 'lifecycle'), { recursive: true });
    await bundle(staging);
    const { stdout } = await run(process.execPath, ['--allow-natives-syntax', join(staging, 'main.js')], {
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' },
    });
    expect(stdout.trim()).toBe('true');
  });

  it('bundles without losing a class its name (esbuild renames one that refers to itself) or an import()', async () => {
    const staging = mkdtempSync(join(copy, '.staging-names-'));
    // As tsc writes a decorated class that refers to itself; esbuild renames the inner name (`class Widget2`), in the
    // entry point and in a module it wraps.
    const decorated = (name: string): string =>
      `"use strict";\nlet ${name} = class ${name} { static make() { return new ${name}(); } };\nexports.${name} = ${name};\n`;
    writeFileSync(
      join(staging, 'main.js'),
      `${decorated('Widget')}exports.Gadget = require('./gadget').Gadget;\n` +
        'const made = [exports.Widget, exports.Gadget].flatMap((c) => [c.name, c.make().constructor.name]);\n' +
        // Regular expressions and comments esbuild leaves as written (validator's alphabets): the bundle is ASCII.
        "const letters = [/^[A-ZÅÄÖ]+$/i.test('åä'), /\\é/.test('é'), /^[😀-😂]$/u.test('😁')]; // 北京\n" +
        'made.push(letters.join());\n' +
        // As the OTLP exporter loads node:http.
        `import('node:os').then((os) => console.log(made.join(' '), typeof os.cpus), (e) => console.log(e.message));\n` +
        // As the service says once it listens (after its first await): the launcher writes the code cache then.
        "setImmediate(() => process.emit('webhook-fulfillment:started'));\n",
    );
    writeFileSync(join(staging, 'gadget.js'), decorated('Gadget'));
    // The launcher that main.js becomes, as tsc wrote it into dist/.
    cpSync(join(dist, 'lifecycle'), join(staging, 'lifecycle'), { recursive: true });
    await bundle(staging);
    const bundled = readFileSync(join(staging, 'main.bundle.js'), 'utf8');
    expect(bundled).toMatch(/= class Gadget2 .*= class Widget2 /s);
    expect(bundled.match(/\P{ASCII}/gu)).toBeNull();
    // main.js is now the launcher, which runs the bundle beside it (with a code cache of its own here): the first
    // start writes the cache (once the bundle says it started), the second runs from it (where Node 20 lost a cached
    // script's import() callback).
    for (const start of ['first', 'second']) {
      const { stdout } = await run(process.execPath, [join(staging, 'main.js')], {
        env: { ...process.env, NODE_COMPILE_CACHE: join(staging, 'code-cache') },
      });
      expect({ start, stdout: stdout.trim() }).toEqual({
        start,
        stdout: 'Widget Widget Gadget Gadget true,true,true function',
      });
      const cached = readdirSync(join(staging, 'code-cache')).filter((name) => name.endsWith('.v8cache'));
      expect({ start, cached: cached.length }).toEqual({ start, cached: 1 });
    }
  });

  it('does nothing when no input changed', async () => {
    const before = statSync(join(dist, 'main.js')).mtimeMs;
    await build();
    expect(statSync(join(dist, 'main.js')).mtimeMs).toBe(before);
  });

  it('rebuilds a changed source under a running service, which keeps answering from the same dist/', async () => {
    const port = await freePort();
    // The loop below asks as fast as the service answers for the whole build: above the default caller budget.
    // The build's tsc shares two cores with other test files here, so the service's event loop lags: without
    // load shedding off it may rightly answer 503 OVERLOADED, which says nothing about the files it runs from.
    service = startService(
      {
        PORT: String(port),
        DATABASE_URL: database.url,
        THROTTLE_LIMIT: '100000',
        OVERLOAD_DELAY_MS: '0',
        OVERLOAD_IN_FLIGHT: '0',
      },
      join(dist, 'main.js'),
    );
    await service.waitFor(/Listening on http:\/\/127\.0\.0\.1:\d+/);
    const refusals: string[] = [];
    const ask = async (): Promise<number> => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/webhooks/dialogflow-es`, {
        method: 'POST',
        headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify(README_REQUEST),
      });
      const text = await response.text();
      if (response.status !== 200) refusals.push(`${response.status} ${text.slice(0, 300)}`);
      return response.status;
    };
    expect(await ask()).toBe(200);

    const distInode = statSync(dist).ino;
    const builtBefore = statSync(join(dist, 'main.js')).mtimeMs;
    const stampBefore = readFileSync(join(dist, '.build-stamp'), 'utf8');
    rmSync(join(dist, 'grpc', 'proto'), { recursive: true });
    writeFileSync(join(dist, 'left-over-from-a-deleted-source.js'), '');
    appendFileSync(join(copy, 'src', 'main.ts'), '\n// a change\n');
    const statuses: number[] = [];
    let building = true;
    const rebuilt = build().finally(() => (building = false));
    while (building) {
      statuses.push(await ask());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await rebuilt;
    statuses.push(await ask());

    expect(refusals).toEqual([]);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(statSync(dist).ino).toBe(distInode);
    expect(existsSync(join(dist, 'left-over-from-a-deleted-source.js'))).toBe(false);
    expect(statSync(join(dist, 'main.js')).mtimeMs).toBeGreaterThan(builtBefore);
    // The build copies the .proto files the gRPC transport loads, and stamps the inputs it was built from.
    expect(existsSync(join(dist, 'grpc', 'proto', 'fulfillment', 'v1', 'fulfillment.proto'))).toBe(true);
    const stamp = readFileSync(join(dist, '.build-stamp'), 'utf8');
    expect(stamp).toMatch(/^[0-9a-f]{64}\n$/);
    expect(stamp).not.toBe(stampBefore);
    // A whole TypeScript build runs inside this test; next to other test files it takes longer than 30 s.
  }, 120_000);
});
