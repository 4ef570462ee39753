// Stryker's configuration for `npm run test:mutation`, one run per group of the security core so that each run ends
// with its own report (and its own incremental file: a re-run tests again only the mutants whose code or tests
// changed). Choose the group with STRYKER_GROUP:
//   core       services/security: the authenticators, caches, reloads, key sets, budget
//   codec      the codec server and lib/codec (payload formats, key rings)
//   authorizer lib/authorizer: policy, API table (non-static part), API keys, the proxy's environment (its own tests)
//   proxy      the authorizer proxy's data path, signer, namespaces (not its start-up code, not its upstream pool)
//   upstream   the authorizer proxy's sessions to the frontend (services/authorizer-proxy/upstream.ts)
//   table      the API table's module-level entries (static: each mutant against the table's own tests)
//   startup    the two programs' start-up code (runs in a beforeAll, so each mutant runs that program's tests)
//   versions   the server release table and the one-minor upgrade rule (lib/temporal/versions.ts)
// scripts/mutation-score.mjs merges the reports into one score.
import { readFileSync } from 'node:fs';

/** `file:a-b`, from the first line matching `from` to the first line from there on matching `to` (both included). */
function lines(file, from, to = from) {
  const text = readFileSync(file, 'utf8').split('\n');
  const start = text.findIndex((l) => from.test(l));
  const end = text.findIndex((l, i) => i >= start && to.test(l));
  if (start < 0 || end < 0) {
    throw new Error(`stryker.config.mjs: the start-up part of ${file} (${from} to ${to}) is not found: update the patterns`);
  }
  return `${file}:${start + 1}-${end + 1}`;
}

const GROUPS = {
  core: { mutate: ['services/security/**/*.ts'], jest: 'jest.mutation.config.js', ignoreStatic: true },
  codec: {
    mutate: ['services/codec-server/**/*.ts', '!services/codec-server/main.ts', 'lib/codec/**/*.ts', '!lib/codec/index.ts'],
    jest: 'jest.mutation.config.js',
    ignoreStatic: true,
  },
  authorizer: {
    mutate: ['lib/authorizer/**/*.ts', '!lib/authorizer/proxy.ts', '!lib/authorizer/program.ts'],
    jest: 'jest.mutation-authorizer.config.js',
    ignoreStatic: true,
  },
  proxy: {
    mutate: ['services/authorizer-proxy/**/*.ts', '!services/authorizer-proxy/main.ts', '!services/authorizer-proxy/upstream.ts'],
    jest: 'jest.mutation.config.js',
    ignoreStatic: true,
  },
  // A group of its own so that a change to the pool re-runs its mutants only (the proxy group takes about two hours).
  upstream: { mutate: ['services/authorizer-proxy/upstream.ts'], jest: 'jest.mutation.config.js', ignoreStatic: true },
  table: { mutate: ['lib/authorizer/api.ts'], jest: 'jest.mutation-table.config.js', ignoreStatic: false },
  versions: { mutate: ['lib/temporal/versions.ts'], jest: 'jest.mutation-versions.config.js', ignoreStatic: false },
  startup: {
    // Only the start-up parts (what runs once per program, before any request), found by the lines that open and close
    // them: the rest of these files is the proxy and codec groups'. A mutant in both is counted once, with this run's
    // result (scripts/mutation-score.mjs), which ran it against every test of its program.
    mutate: [
      // The proxy's tests start most proxies inside the tests themselves: only these lines run before any test.
      lines('services/authorizer-proxy/proxy.ts', /^ {2}const apiKeys = config\.apiKeysFile/),
      lines('services/authorizer-proxy/proxy.ts', /^ {4}\.\.\.\(apiKeys \? \{ apiKeys: /),
      lines('services/authorizer-proxy/proxy.ts', /^ {2}if \(apiKeys\) \{/, /^ {4}apiKeyExpiry\(/),
      lines('services/authorizer-proxy/proxy.ts', /^ {4}\.\.\.\(apiKeys \? \[apiKeys\] : \[\]\),/),
      lines('services/codec-server/server.ts', /^const ALLOWED/, /^ {2}function authorize\(/),
      lines('services/codec-server/server.ts', /^ {2}const corsHeaders = /, /^ {2}function readBody\(/),
      lines('services/codec-server/server.ts', /^ {2}const server = createHttpsServer\(/, /^}/),
    ],
    jest: 'jest.mutation-startup.config.js',
    ignoreStatic: false,
  },
};

const name = process.env.STRYKER_GROUP ?? '';
const group = GROUPS[name];
if (group === undefined) {
  throw new Error(`STRYKER_GROUP must be one of ${Object.keys(GROUPS).join(', ')} (got ${JSON.stringify(name)}); npm run test:mutation runs them all`);
}

export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: group.jest, enableFindRelatedTests: true },
  coverageAnalysis: 'perTest',
  mutate: group.mutate,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  thresholds: { high: 95, low: 90, break: null },
  concurrency: 2,
  timeoutMS: 5000,
  tempDirName: `.stryker-tmp-${name}`,
  // Every group's sandbox is left out of the others' (groups may run side by side).
  ignorePatterns: ['dist', 'artifacts', 'reports', '.e2e', '.stryker-tmp*'],
  disableTypeChecks: '{lib,services,test,cli}/**/*.ts',
  ignoreStatic: group.ignoreStatic,
};
