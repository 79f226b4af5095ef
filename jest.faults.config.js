// The fault tests (test/faults): each owns its PostgreSQL, network path, Redis and service replicas, and
// breaks them under load. Run after the other tests, one file at a time (npm test), so their timings are
// not shared with the rest of the suite.
const { projects } = require('./jest.config');

const e2e = projects.find((project) => project.displayName === 'e2e');

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120_000,
  projects: [
    {
      displayName: 'faults',
      testEnvironment: 'node',
      rootDir: '.',
      roots: ['<rootDir>/test/faults'],
      testMatch: ['**/*.faults-spec.ts'],
      transform: e2e.transform,
      transformIgnorePatterns: e2e.transformIgnorePatterns,
    },
  ],
};
