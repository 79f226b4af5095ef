/** @type {import('jest').Config} */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
  // jose is ESM-only; compile it to CommonJS like our own sources.
  '^.+\\.js$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    },
  ],
};

const transformIgnorePatterns = ['/node_modules/(?!jose/)'];

// A test file's global object as a plain V8 global (the file says why).
const testEnvironment = '<rootDir>/test/support/node-environment.js';

module.exports = {
  testTimeout: 30000,
  // Three test files at a time, also on a 2-core CI machine: most of an e2e file's time is spent waiting for its
  // servers, PostgreSQL and sockets. With two the cores were idle a fifth of the time (7 Dec, Node 20: 412 s with
  // three against 508 s with two; one worker took ~650 s). Four (tried 7 Dec, once a test file's globals stopped
  // costing microseconds: test/support/node-environment.js) took the CPU the lint and chart checks beside the Node 20
  // run use, and under the Node 24 run with the fault tests beside it a gRPC deadline test and a 50-duplicate test
  // missed their budgets. Each worker takes a slice of the test ports (test/support/service-process.ts): slices 0-2,
  // beside the fault tests' 11; the newcomer check's clones take 0-2 and 4-6 after the runs, its own jest 8-9.
  maxWorkers: 3,
  // Workers are recycled once their heap outgrows this after a test file: each e2e file boots whole applications in
  // the worker, and what one leaves behind (module registries, SDK state) added up to 1.6 GB in a long-lived worker,
  // past the readiness check's own heap limit (HEALTH_HEAP_LIMIT_MB) of the apps running in it.
  workerIdleMemoryLimit: '768MB',
  projects: [
    {
      displayName: 'unit',
      testEnvironment,
      rootDir: '.',
      roots: ['<rootDir>/src'],
      testMatch: ['**/*.spec.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      // Stores and repositories on a cloned, migrated database: no Nest, no HTTP.
      displayName: 'medium',
      testEnvironment,
      rootDir: '.',
      roots: ['<rootDir>/test/medium'],
      testMatch: ['**/*.medium-spec.ts'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
    {
      displayName: 'e2e',
      testEnvironment,
      rootDir: '.',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/medium/', '<rootDir>/test/newcomer/'],
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
};
