/** @type {import('jest').Config} */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }];

module.exports = {
  // A budget, not a speed check: the slowest unit test takes seconds when the machine is idle, and CI shares
  // its machine. Speed is measured by the benchmarks in bench/, never by a test timing out.
  testTimeout: 120_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/package/'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      // Slow tier: packs the package and installs it into a fresh app (npm registry).
      displayName: 'package',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/package'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
