// Bundles the service's entry point (dist/main.js, as tsc wrote it) and the packages it loads into one file, which
// replaces it. On Node 20 a start spent about a quarter of its time finding, reading and compiling some 3,000 module
// files one by one; one file is read and compiled at once. Called by scripts/build.mjs on its staging folder; the
// other files of dist/ (the command-line tools, the TypeORM CLI's data source) stay as tsc wrote them.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/**
 * Left to Node's own `require` at run time (they stay in node_modules/):
 * - @grpc/grpc-js: OpenTelemetry's gRPC instrumentation patches it when it is required;
 * - @grpc/reflection, @grpc/proto-loader and protobufjs: reflection reads its .proto files from its package
 *   folder and must share protobufjs with the loader that made the package definitions.
 * A package that is not installed (an optional peer such as pg-native, @nestjs/websockets or a TypeORM driver
 * for another database) is left to `require` as well, which fails at run time as it did before bundling, where
 * the caller expects it to.
 */
const EXTERNAL = ['@grpc/grpc-js', '@grpc/reflection', '@grpc/proto-loader', 'protobufjs'];

const BUNDLE_DIR = '__bundleDirname';

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * A module's `__dirname` and `__filename` keep meaning its own folder and file (a package may read files beside
 * it, e.g. swagger-ui-dist's assets or our .proto files): each is set from the bundle's folder and the module's
 * path relative to where the bundle will live. The staging folder sits beside dist/, so that path is the same.
 */
function ownPathsPlugin(staging) {
  return {
    name: 'own-paths',
    setup(build) {
      build.onLoad({ filter: /\.(c|m)?js$/ }, (args) => {
        const contents = readFileSync(args.path, 'utf8');
        const loaded = { contents, loader: 'js', resolveDir: dirname(args.path) };
        // Returned as read either way, so esbuild does not read the file a second time.
        if (!contents.includes('__dirname') && !contents.includes('__filename')) return loaded;
        const posix = (path) => path.split(sep).join('/');
        const folder = JSON.stringify(posix(relative(staging, dirname(args.path))));
        const file = JSON.stringify(posix(relative(staging, args.path)));
        const prologue =
          `var __dirname = require("node:path").join(${BUNDLE_DIR}, ${folder}), ` +
          `__filename = require("node:path").join(${BUNDLE_DIR}, ${file});`;
        // On the first line, so that the module's own line numbers stay as they were.
        return { ...loaded, contents: `${prologue}${contents}` };
      });
    },
  };
}

/** Packages named in EXTERNAL, and packages that are not installed, stay `require` calls. */
function externalsPlugin() {
  return {
    name: 'externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData?.probing || args.path.startsWith('node:')) return undefined;
        if (EXTERNAL.includes(packageName(args.path))) return { path: args.path, external: true };
        const probe = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { probing: true },
        });
        return probe.errors.length > 0 ? { path: args.path, external: true } : undefined;
      });
    },
  };
}

/** Replaces `staging/main.js` with the bundle, and writes its source map (to the TypeScript sources) beside it. */
export async function bundleService(staging) {
  const { build } = await import('esbuild');
  const entry = join(staging, 'main.js');
  const result = await build({
    entryPoints: [entry],
    // Written below, over the entry point (esbuild does not overwrite its input).
    outfile: join(staging, 'main.bundle.js'),
    write: false,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // The oldest Node the service supports, whichever Node builds it.
    target: 'node20',
    // Nest names providers, modules and log contexts after their classes.
    keepNames: true,
    // node_modules may be a link (a test's copy of the project links the suite's); paths stay as they are seen.
    preserveSymlinks: true,
    banner: { js: `const ${BUNDLE_DIR} = __dirname;` },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'eof',
    logLevel: 'silent',
    plugins: [externalsPlugin(), ownPathsPlugin(staging)],
  }).catch((error) => ({ errors: error.errors ?? [{ text: String(error) }] }));
  if (result.errors.length > 0) {
    const messages = result.errors.map((error) => `${error.location?.file ?? ''} ${error.text}`).join('\n');
    throw new Error(`esbuild could not bundle dist/main.js:\n${messages}`);
  }
  for (const output of result.outputFiles) {
    if (output.path.endsWith('.map')) writeFileSync(`${entry}.map`, output.contents);
    else
      writeFileSync(
        entry,
        cheapNames(output.text).replace(/sourceMappingURL=main\.bundle\.js\.map\s*$/, 'sourceMappingURL=main.js.map\n'),
      );
  }
}

/**
 * `keepNames` wraps every named function and closure in esbuild's `__name` helper, which redefined the function's
 * `name` each time the closure was made: on a request's path, about 10 % more CPU a turn in an A/B run. The name
 * only needs setting where the bundle renamed a class (`_AppConfig` for AppConfig); elsewhere it already is the
 * one written, and the helper now leaves it.
 */
function cheapNames(text) {
  const helper = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
  if (!text.includes(helper)) throw new Error(`esbuild's __name helper is not "${helper}": see scripts/bundle.mjs`);
  return text.replace(
    helper,
    'var __name = (target, value) => target.name === value ? target : __defProp(target, "name", { value, configurable: true });',
  );
}
