// The fault tests (test/faults): each owns its PostgreSQL, network path, Redis and service replicas, and
// breaks them under load. Run one file at a time, beside the other jest projects (npm test, scripts/test.mjs):
// they spend most of their time waiting for what they broke to come back.
const { projects } = require('./jest.config');

const e2e = projects.find((project) => project.displayName === 'e2e');

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 120_000,
  projects: [
    {
      displayName: 'faults',
      testEnvironment: e2e.testEnvironment,
      rootDir: '.',
      roots: ['<rootDir>/test/faults'],
      testMatch: ['**/*.faults-spec.ts'],
      transform: e2e.transform,
      transformIgnorePatterns: e2e.transformIgnorePatterns,
    },
  ],
};
