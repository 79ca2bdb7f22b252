// One jest run covers everything: pure units, providers against their local counterparts, workflow
// tests on the time-skipping server, replay, and end-to-end tests on the dev server.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>'],
  testMatch: ['**/?(*.)test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  testTimeout: 60_000,
  // Tests start real servers; two cores, so keep the parallelism modest.
  maxWorkers: 2,
};
