/**
 * The module boundaries of DESIGN.md, checked by `npm run lint` (depcruise src). Each folder under src/ is a
 * module and may import only the modules its row names; the composition files (main.ts, app.factory.ts,
 * app.module.ts, lifecycle/) may import any module and no module imports them; nothing imports in a circle.
 * Tests (`*.spec.ts`, `testing/`) are not held to the rows.
 * @type {import('dependency-cruiser').IConfiguration}
 */

// GENERATED from DESIGN.md by scripts/design-rules.mjs: do not edit by hand.
const MODULES = {
  async: ['auth', 'common', 'config', 'database', 'fulfillment', 'observability', 'outbound'],
  audit: ['common', 'config', 'database', 'observability'],
  auth: ['audit', 'common', 'config', 'database', 'observability', 'outbound'],
  cache: ['common', 'config', 'observability'],
  cli: '*',
  common: [],
  config: ['common'],
  console: ['async', 'audit', 'auth', 'common', 'config', 'database', 'observability'],
  database: ['common', 'config', 'observability'],
  docs: ['common', 'config', 'platforms'],
  fulfillment: ['common', 'observability'],
  grpc: ['auth', 'common', 'config', 'fulfillment', 'health', 'observability', 'platforms', 'throttling', 'turn'],
  health: ['async', 'common', 'config', 'database', 'observability'],
  idempotency: ['common', 'config', 'database', 'observability'],
  intents: ['cache', 'common', 'config', 'database', 'fulfillment', 'observability', 'outbound'],
  observability: ['common', 'config'],
  outbound: ['common', 'config', 'observability'],
  platforms: ['auth', 'common', 'config', 'fulfillment', 'observability', 'throttling', 'turn'],
  simulator: ['auth', 'common', 'config', 'platforms'],
  throttling: ['audit', 'auth', 'common', 'config', 'observability'],
  turn: ['async', 'common', 'config', 'database', 'fulfillment', 'idempotency', 'observability'],
};
// END GENERATED

const COMPOSITION = '^src/(main|app\\.factory|app\\.module)\\.ts$|^src/lifecycle/';
const NOT_TESTS = ['\\.spec\\.ts$', '/testing/'];

const moduleRules = Object.entries(MODULES)
  .filter(([, allowed]) => allowed !== '*')
  .map(([name, allowed]) => ({
    name: `module-${name}`,
    comment: `${name} may import only ${allowed.length ? allowed.join(', ') : 'no other module'} (DESIGN.md)`,
    severity: 'error',
    from: { path: `^src/${name}/`, pathNot: NOT_TESTS },
    to: { path: '^src/', pathNot: [`^src/(${[name, ...allowed].join('|')})/`] },
  }));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file imports itself through others, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'composition-only-at-the-top',
      comment: 'main.ts, app.factory.ts, app.module.ts and lifecycle/ compose; no module imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: [COMPOSITION, ...NOT_TESTS] },
      to: { path: COMPOSITION },
    },
    {
      name: 'only-known-modules',
      comment: 'Every folder under src/ is a module of DESIGN.md.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: [`^src/(${Object.keys(MODULES).join('|')}|lifecycle)/`] },
      to: {},
    },
    ...moduleRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: ['^dist/', '\\.d\\.ts$'] },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
