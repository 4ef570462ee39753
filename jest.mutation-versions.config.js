/**
 * The tests Stryker runs against each mutant of lib/temporal/versions.ts (`npm run test:mutation`, group `versions`):
 * the release table, the one-minor upgrade rule and the image checks, through their own tests, the chart and the
 * values file (test/temporal/versions.test.ts).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/temporal/versions.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
