// `node scripts/mutation-verify.mjs <group> [--workers N] [--unargued]`: runs again, against every test related to its file, each
// mutant Stryker's last run of the group left alive (Survived or NoCoverage). Stryker picks the tests of a mutant from
// per-test coverage, and code that runs in a server's handlers after a test's own await (the proxy and the codec server
// serve requests in the test's process) is not always counted to the test that caused it: such a mutant is reported
// alive though a test fails on it. Here each one is applied to a copy of the sources and jest runs every test of the
// group's code with the group's jest configuration: a failing test kills it, a run past the time limit
// counts as a timeout (detected, as Stryker counts it). Results go to reports/mutation/<group>.verified.json, keyed by the
// mutant and the digest of its file, after each mutant (an interrupted run goes on where it stopped);
// scripts/mutation-score.mjs reads them. With --unargued, only the mutants test/mutation/equivalent-mutants.json gives
// no reason for.
import { spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { original, readReasons, reasonKey, verifiedKey } from './mutation-lib.mjs';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, 'reports', 'mutation');
const JEST_CONFIGS = { core: 'jest.mutation.config.js', codec: 'jest.mutation.config.js', proxy: 'jest.mutation.config.js',
  upstream: 'jest.mutation.config.js',
  authorizer: 'jest.mutation-authorizer.config.js', startup: 'jest.mutation-startup.config.js', versions: 'jest.mutation-versions.config.js' };
// The tests that exercise each group's code (jest's --findRelatedTests sees only files under the configs' test root).
const TESTS = { core: ['test/services', 'test/authorizer', 'test/codec', 'test/cli'], codec: ['test/codec', 'test/services/codec-server'],
  proxy: ['test/services/authorizer-proxy'], upstream: ['test/services/authorizer-proxy'], authorizer: ['test/authorizer', 'test/cli', 'test/services/security', 'test/services/authorizer-proxy/config'],
  startup: ['test/services/authorizer-proxy', 'test/services/codec-server'], versions: ['test/temporal/versions.test.ts'] };
// Everything the tests may read (the scripts some tests run, imported types, charts...), not what is built or measured.
const NOT_COPIED = new Set(['node_modules', 'reports', 'dist', 'artifacts', 'build', '.git', '.e2e']);
const COPIED = readdirSync(ROOT).filter((e) => !NOT_COPIED.has(e) && !e.startsWith('.stryker-tmp'));
const LIMIT_MS = 300_000;

const group = process.argv[2];
const workersAt = process.argv.indexOf('--workers');
const workers = workersAt > 0 ? Number(process.argv[workersAt + 1]) : 2;
const { reasons } = readReasons(join(ROOT, 'test', 'mutation', 'equivalent-mutants.json'));
const wanted = process.argv.includes('--unargued')
  ? (file, source, m) => !reasons.has(reasonKey(file, m.mutatorName, original(source, m.location), m.replacement)) : () => true;
if (!(group in JEST_CONFIGS) || !Number.isInteger(workers) || workers < 1) {
  process.stderr.write(`usage: node scripts/mutation-verify.mjs <${Object.keys(JEST_CONFIGS).join('|')}> [--workers N] [--unargued]\n`);
  process.exit(2);
}
const report = JSON.parse(readFileSync(join(DIR, `${group}.json`), 'utf8'));
const resultsFile = join(DIR, `${group}.verified.json`);
const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};

/** `source` with the mutant's location (1-based lines and columns) replaced. */
function mutate(source, { start, end }, replacement) {
  const lines = source.split('\n');
  const offset = (at) => lines.slice(0, at.line - 1).reduce((n, l) => n + l.length + 1, 0) + at.column - 1;
  return source.slice(0, offset(start)) + replacement + source.slice(offset(end));
}

const queue = [];
for (const [file, { mutants }] of Object.entries(report.files)) {
  const current = readFileSync(join(ROOT, file), 'utf8');
  if (current !== report.files[file].source) {
    process.stdout.write(`[verify] ${file} changed since the Stryker run: its mutants are left for the next run of the group\n`);
    continue;
  }
  for (const m of mutants.filter((x) => (x.status === 'Survived' || x.status === 'NoCoverage') && wanted(file, current, x))) {
    const key = verifiedKey(file, current, m);
    if (results[key] === undefined) {
      queue.push({ file, source: current, m, key });
    }
  }
}
process.stdout.write(`[verify] ${group}: ${queue.length} mutants to run, ${workers} at once\n`);

function sandbox(i) {
  const dir = join(ROOT, '.stryker-tmp-verify', `${group}-${i}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of COPIED.filter((e) => existsSync(join(ROOT, e)))) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // The bundled programs the chart ships (npm ci builds them): read by the chart's tests, never mutated.
  if (existsSync(join(ROOT, 'build'))) {
    symlinkSync(join(ROOT, 'build'), join(dir, 'build'));
  }
  return dir;
}

function runJest(dir) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '-c', JEST_CONFIGS[group], '--bail',
      '--runInBand', '--silent', ...TESTS[group]], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (c) => {
      err += c.toString();
    });
    const timer = setTimeout(() => {
      process.kill(-child.pid, 'SIGKILL');
      resolve({ status: 'Timeout' });
    }, LIMIT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const failed = /✕ (.+?) \(\d+ ms\)|● (.+)/.exec(err);
      resolve(code === 0 ? { status: 'Survived' } : { status: 'Killed', by: (failed?.[1] ?? failed?.[2] ?? `jest exit ${code}`).slice(0, 200) });
    });
  });
}

let done = 0;
async function worker(i) {
  const dir = sandbox(i);
  if (i === 0 && queue.length > 0) {
    // The sandbox without a mutant must pass: a test that fails there would count every mutant as killed.
    const baseline = await runJest(dir);
    if (baseline.status !== 'Survived') {
      process.stderr.write(`[verify] the tests fail without any mutant (${baseline.by ?? baseline.status}): fix that first\n`);
      process.exit(1);
    }
  }
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
    const path = join(dir, job.file);
    writeFileSync(path, mutate(job.source, job.m.location, job.m.replacement));
    const outcome = await runJest(dir);
    writeFileSync(path, job.source);
    results[job.key] = outcome;
    writeFileSync(resultsFile, `${JSON.stringify(results, undefined, 1)}\n`);
    done += 1;
    process.stdout.write(`[verify] ${done} ${outcome.status} ${job.file}:${job.m.location.start.line}:${job.m.location.start.column} ` +
      `${job.m.mutatorName}${outcome.by ? ` (${outcome.by})` : ''}\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}

await Promise.all(Array.from({ length: workers }, (_v, i) => worker(i)));
const values = Object.values(results);
process.stdout.write(`${JSON.stringify({ group, verified: values.length, killed: values.filter((r) => r.status !== 'Survived').length,
  survived: values.filter((r) => r.status === 'Survived').length })}\n`);
