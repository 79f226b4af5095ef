/**
 * The newcomer check (`.ci/run` runs it as root): fresh clones run by a new non-root user in its home folder,
 * and by root from a private folder, at the same time (one worker each). Not part of `npm test`, which it runs
 * itself on the clones.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js').projects.find((project) => project.displayName === 'e2e');

module.exports = {
  testEnvironment: base.testEnvironment,
  rootDir: '.',
  roots: ['<rootDir>/test/newcomer'],
  testMatch: ['**/*.newcomer-spec.ts'],
  transform: base.transform,
  transformIgnorePatterns: base.transformIgnorePatterns,
  maxWorkers: 2,
  testTimeout: 15 * 60_000,
};
