/** Jest runs the TypeScript sources through ts-jest, which keeps tsc's decorator metadata. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 30_000,
  // Two cores: two workers keep each file's own database server and app from starving the other.
  maxWorkers: 2,
};
