// Bundles the service's entry point (dist/main.js, as tsc wrote it) and the packages it loads into one file,
// dist/main.bundle.js, and replaces dist/main.js with the launcher that runs it (src/lifecycle/launch.ts: V8's code
// for the bundle is kept between starts). On Node 20 a start spent about a quarter of its time finding, reading and
// compiling some 3,000 module files one by one; one file is read and compiled at once. Called by scripts/build.mjs
// on its staging folder; the other files of dist/ (the command-line tools, the TypeORM CLI's data source) stay as
// tsc wrote them.
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

/** esbuild's output for Node: CommonJS for the oldest Node the service supports, whichever Node builds it. */
const NODE_OUTPUT = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent' };

/** `build(options)`, or an error naming `what` and each of esbuild's messages. */
async function buildOrThrow(build, options, what) {
  const result = await build({ ...NODE_OUTPUT, ...options }).catch((error) => ({
    errors: error.errors ?? [{ text: String(error) }],
  }));
  if (result.errors.length > 0) {
    const messages = result.errors.map((error) => `${error.location?.file ?? ''} ${error.text}`).join('\n');
    throw new Error(`esbuild could not bundle ${what}:\n${messages}`);
  }
  return result;
}

/**
 * Writes the bundle of `staging/main.js` to `staging/main.bundle.js`, with its source map (to the TypeScript sources)
 * beside it, and replaces `staging/main.js` with the launcher that runs it.
 */
export async function bundleService(staging) {
  const { build } = await import('esbuild');
  const bundle = join(staging, 'main.bundle.js');
  const result = await buildOrThrow(
    build,
    {
      entryPoints: [join(staging, 'main.js')],
      outfile: bundle,
      write: false,
      // import() becomes require(): on Node 20 a script compiled from V8's code cache (the launcher's) has lost its
      // dynamic-import callback ("A dynamic import callback was not specified"), which broke the OTLP exporter's
      // import('http'). What the service imports this way is Node's own modules and CommonJS packages.
      supported: { 'dynamic-import': false },
      // Not keepNames: it wrapped every function and closure in a helper that set its name each time one was made
      // (about 2 % of a turn's CPU even when the helper left names alone). Class names are put back below.
      // node_modules may be a link (a test's copy of the project links the suite's); paths stay as they are seen.
      preserveSymlinks: true,
      banner: { js: `const ${BUNDLE_DIR} = __dirname;` },
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'eof',
      plugins: [externalsPlugin(), ownPathsPlugin(staging)],
    },
    'dist/main.js',
  );
  for (const output of result.outputFiles) {
    if (output.path.endsWith('.map')) writeFileSync(output.path, output.contents);
    else writeFileSync(bundle, asciiOnly(restoreClassNames(unsharedModuleWrappers(output.text))));
  }
  // The launcher: src/lifecycle/launch.ts (as tsc wrote it) and the call that runs the bundle beside it.
  await buildOrThrow(
    build,
    {
      stdin: {
        contents: `require('./lifecycle/launch.js').launch(require('node:path').join(__dirname, 'main.bundle.js'));`,
        resolveDir: staging,
        sourcefile: 'main.js',
      },
      outfile: join(staging, 'main.js'),
      allowOverwrite: true,
    },
    'the launcher',
  );
}

/**
 * esbuild wraps each module in `__commonJS({ "<its path>"(exports, module) {…} })` (an ES module in `__esm({…})`): an
 * object literal of one property, named after the module. V8 starts every object literal of one property from one
 * shared hidden class, and records a transition from it per first property name only up to 1,536: the bundle's
 * 3,000 modules used them all up before the service took its first request. From then on each one-property literal
 * whose name was new (`{ address }`, `{ sessionState }`) got a hidden class outside V8's transition tree, and every
 * property added to such an object after made it a new class of its own, each time: objects made alike never shared
 * a class, and every read of them missed V8's inline caches (on Node 20, 22 and 24 alike). With `__proto__: null`
 * the wrapper is a dictionary object from the start, which takes no transition.
 */
export function unsharedModuleWrappers(text) {
  return text.replace(/\b(__commonJS|__esm)\(\{\n/g, '$1({ __proto__: null,\n');
}

/**
 * The bundle in ASCII. esbuild escapes what it can (strings, templates) but leaves regular expression literals and
 * comments as written (validator's alphabets, libphonenumber's comments: 179 lines). Node reads an ASCII file into a
 * one-byte string: half the memory for the 13 MB source, read in about half the time. Every other character
 * becomes `\uXXXX` (two for one beyond the BMP), which means the same in a regular expression (a pair is one code
 * point under the `u` flag), an identifier or a comment; an identity escape (`\é`) gives up its backslash, which
 * would escape the `\u` instead. (Columns on those lines move in the source map; they hold no statements.)
 */
export function asciiOnly(text) {
  return text.replace(/(\\*)(\P{ASCII})/gu, (_match, backslashes, character) => {
    const kept = backslashes.length % 2 === 1 ? backslashes.slice(1) : backslashes;
    let escaped = '';
    for (let i = 0; i < character.length; i++) {
      escaped += `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`;
    }
    return kept + escaped;
  });
}

/**
 * Nest names providers, modules and log contexts after their classes. tsc writes a decorated class as
 * `let AppConfig = class AppConfig {…}`; where such a class refers to itself, esbuild renames the inner name
 * (`var AppConfig = class _AppConfig {…}` in a wrapped module, `class AppConfig2` at the top level, and
 * `var Headers2 = class _Headers` where two modules' names met). Each is named back, first thing in its body, as
 * esbuild's keepNames would. (A top-level declaration esbuild renamed where two packages' names met, e.g. js-yaml's
 * `class Schema2`, keeps the new name: nothing reads those.)
 */
export function restoreClassNames(text) {
  return text.replace(
    /\b(?:var|let|const) ([\w$]+) = class ([\w$]+)((?: extends [^{};]*)?) \{/g,
    (declaration, variable, inner) => {
      const name = writtenName(variable, inner);
      if (name === undefined) return declaration;
      return `${declaration} static { Object.defineProperty(this, "name", { value: ${JSON.stringify(name)}, configurable: true }); }`;
    },
  );
}

/** The class's name in the source, when `inner` is esbuild's renaming of it; undefined when it is not renamed. */
function writtenName(variable, inner) {
  if (inner === variable) return undefined;
  const withoutNumber = variable.replace(/\d+$/, '');
  if (inner.startsWith('_') && (inner.slice(1) === variable || inner.slice(1) === withoutNumber)) return inner.slice(1);
  if (inner.startsWith(variable) && /^\d+$/.test(inner.slice(variable.length))) return variable;
  return undefined;
}
