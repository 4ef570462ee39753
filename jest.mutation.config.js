/**
 * The tests Stryker runs against each mutant of the security core (`npm run test:mutation`): the unit tests of the
 * services, the authorizer and the codec. Left out: the memory test (it runs the bundled programs, built before
 * mutation, so it would see no mutant), the AuthorizerProxy construct's tests (the construct, synth-time wiring, is not
 * mutated; loading cdk8s for each mutant of the policy model would multiply the run's time), and the slow tiers.
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
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/services/memory.test.ts', '<rootDir>/test/authorizer/proxy-construct.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
