// One jest run covers everything: pure units, providers against their local counterparts, workflow
// tests on the time-skipping server, replay, and end-to-end tests on the dev server.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // Only the source folders: crawling .tools/ and .data/ (servers, databases) would cost seconds.
  roots: ['workflows', 'judge', 'contract', 'render', 'temporal', 'activities', 'worker', 'client', 'config', 'sandbox', 'test', 'bench'].map(
    (d) => `<rootDir>/${d}`,
  ),
  testMatch: ['**/?(*.)test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60_000,
  // Tests start real servers; two cores, so keep the parallelism modest.
  maxWorkers: 2,
};
