/**
 * The tests of the two programs, for the mutation run over their start-up code (`npm run test:mutation`): what a
 * program does when it starts runs before any test (in a `beforeAll`), so each of those mutants runs every test of this
 * config, which is kept to the programs' own tests.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/services/authorizer-proxy/**/*.test.ts', '<rootDir>/test/services/codec-server/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
