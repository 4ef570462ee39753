/**
 * The tests Stryker runs against each mutant of lib/authorizer (`npm run test:mutation`, group `authorizer`): the
 * library's own tests (policy, API table, API keys, the proxy's environment) and the unit tests of the security core
 * and the CLI that read it. The proxy and codec server tests also load lib/authorizer, but each of their files starts
 * servers; the library's behaviour is pinned by its own tests, and the programs' use of it by the proxy and codec groups.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/authorizer/**/*.test.ts',
    '<rootDir>/test/cli/api-key.test.ts',
    '<rootDir>/test/services/security/*.test.ts',
    '<rootDir>/test/services/authorizer-proxy/config.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/authorizer/proxy-construct.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
