/** Jest runs the TypeScript sources through ts-jest, which keeps tsc's decorator metadata. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // TS151002 only says hybrid module kinds want isolatedModules; full type-checking stays on.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 30_000,
  // Two cores: two workers keep each file's own database server and app from starving the other.
  maxWorkers: 2,
};
