/**
 * The tests Stryker runs against each mutant of the security core (`npm run test:mutation`): the unit tests of the
 * services, the authorizer and the codec. The memory test runs the bundled programs (built before mutation, so it
 * would see no mutant) and is left out, as are the slow tiers.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/services/**/*.test.ts',
    '<rootDir>/test/authorizer/**/*.test.ts',
    '<rootDir>/test/codec/**/*.test.ts',
    '<rootDir>/test/cli/api-key.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/services/memory.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
