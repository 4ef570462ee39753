/**
 * The tests of the API table, for its mutation run (`npm run test:mutation`): the table is module-level data, so each
 * of its mutants runs every test of this config, which is kept to the table's own tests.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['<rootDir>/test/authorizer/api.test.ts', '<rootDir>/test/authorizer/api-metadata.test.ts', '<rootDir>/test/authorizer/policy.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 120_000,
};
