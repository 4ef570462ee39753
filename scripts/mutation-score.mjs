// The mutation score of the security core from Stryker's reports (`npm run test:mutation`, one run per group of
// stryker.config.mjs): the groups core, codec, authorizer, proxy, upstream and versions cover disjoint files and leave out what
// runs before any test (each such mutant would run every test); the table run covers the API table's module-level entries (each
// mutant against the table's own tests) and the startup run the two programs' start-up code (each mutant against that
// program's tests). The table run's results replace the authorizer run's ignored mutants of its file; the startup
// run's results replace the other runs' results for every mutant it measured. Writes
// reports/mutation/score.json and reports/mutation/survivors.txt; the last line printed is one JSON object with the
// figures and a `met` flag. A mutant Stryker left alive that scripts/mutation-verify.mjs killed with every related test
// counts as detected. Each survivor is matched against test/mutation/equivalent-mutants.json (file, mutator, the
// original text and its replacement, and why no test can tell them apart): survivors.txt gives each one's reason, or
// says that it has none.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { original, readReasons, reasonKey, squash, verifiedKey } from './mutation-lib.mjs';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, 'reports', 'mutation');
const EQUIVALENTS = join(ROOT, 'test', 'mutation', 'equivalent-mutants.json');
const TARGET = 0.9;

/** Files whose text changed since the run that measured them (`group: file`): their results may not hold any more. */
const staleSources = [];

function read(name) {
  const file = join(DIR, name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run stryker first (npm run test:mutation)`);
  }
  const { files } = JSON.parse(readFileSync(file, 'utf8'));
  for (const [source, { source: measured }] of Object.entries(files)) {
    if (!existsSync(join(ROOT, source)) || readFileSync(join(ROOT, source), 'utf8') !== measured) {
      staleSources.push(`${name.replace(/\.json$/, '')}: ${source}`);
    }
  }
  return files;
}

const { argued, reasons } = readReasons(EQUIVALENTS);
const used = new Set();

/**
 * The main run's results, with the mutants it ignored (static) taken from the narrower run of their file (`table`), or
 * with every mutant the narrower run measured (`startup`: it runs each start-up mutant against every test of its
 * program, where the main run, when a test starts a program itself, runs it against that test alone).
 */
function merge(main, ...narrower) {
  const out = JSON.parse(JSON.stringify(main));
  for (const { report, all } of narrower) {
    for (const [file, { mutants }] of Object.entries(report)) {
      const byId = new Map(mutants.map((m) => [`${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`, m]));
      out[file] = { ...out[file], source: out[file]?.source ?? report[file].source, mutants: (out[file]?.mutants ?? mutants).map((m) => (all || m.status === 'Ignored'
        ? byId.get(`${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`) ?? m : m)) };
    }
  }
  return out;
}

const main = Object.assign({}, ...['core', 'codec', 'authorizer', 'proxy', 'upstream', 'versions'].map((g) => read(`${g}.json`)));
// Mutants Stryker left alive that a run of every related test killed (scripts/mutation-verify.mjs).
const verified = Object.assign({}, ...['core', 'codec', 'authorizer', 'proxy', 'upstream', 'startup', 'versions'].map((g) => join(DIR, `${g}.verified.json`))
  .filter((f) => existsSync(f)).map((f) => JSON.parse(readFileSync(f, 'utf8'))));
// The startup group runs longest (each of its mutants runs a program's every test): until it has run, the start-up
// mutants the other groups ignored stay outside the score, and the summary says how many.
const startupRun = existsSync(join(DIR, 'startup.json'));
if (!startupRun) {
  process.stdout.write('the startup group has not run: its mutants stay outside the score (counted as unmeasured)\n');
}
const files = merge(main, { report: read('table.json'), all: false }, ...(startupRun ? [{ report: read('startup.json'), all: true }] : []));
const DETECTED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);
const rows = [];
const survivors = [];
const totals = { killed: 0, counted: 0, ignored: 0, errors: 0, argued: 0, verified: 0 };
for (const [file, { mutants, source }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
  for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
    const outcome = verified[verifiedKey(file, source, m)]?.status;
    if (outcome === 'Killed' || outcome === 'Timeout') {
      m.status = outcome;
      totals.verified += 1;
    }
  }
  const counted = mutants.filter((m) => COUNTED.has(m.status));
  const killed = counted.filter((m) => DETECTED.has(m.status)).length;
  totals.killed += killed;
  totals.counted += counted.length;
  totals.ignored += mutants.filter((m) => m.status === 'Ignored').length;
  totals.errors += mutants.filter((m) => m.status === 'CompileError' || m.status === 'RuntimeError').length;
  rows.push({ file, killed, counted: counted.length, score: counted.length === 0 ? 1 : killed / counted.length });
  for (const m of counted.filter((x) => !DETECTED.has(x.status))) {
    const from = original(source, m.location);
    const key = reasonKey(file, m.mutatorName, from, m.replacement);
    const why = reasons.get(key);
    if (why !== undefined) {
      used.add(key);
      totals.argued += 1;
    }
    survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ` +
      `${squash(from).slice(0, 100)} => ${squash(m.replacement).slice(0, 100)}\n    ${why === undefined ? 'NO REASON GIVEN' : `equivalent: ${why}`}`);
  }
}
const score = totals.counted === 0 ? 0 : totals.killed / totals.counted;
writeFileSync(join(DIR, 'survivors.txt'), `${survivors.join('\n')}\n`);
const survived = totals.counted - totals.killed;
const staleEntries = argued.filter((e) => !used.has(reasonKey(e.file, e.mutator, e.original, e.replacement)));
const stale = staleEntries.length;
const summary = { score: Math.round(score * 10_000) / 100, killed: totals.killed, counted: totals.counted, survived,
  verifiedKills: totals.verified, argued: totals.argued, unargued: survived - totals.argued, staleReasons: stale, ignoredStatic: totals.ignored, errors: totals.errors,
  startupMeasured: startupRun, staleSources, target: TARGET * 100,
  met: { score: score >= TARGET, everySurvivorArgued: survived === totals.argued, startupMeasured: startupRun,
    measuredOnCurrentSources: staleSources.length === 0 } };
writeFileSync(join(DIR, 'score.json'), `${JSON.stringify({ ...summary, files: rows }, undefined, 2)}\n`);
for (const row of rows) {
  process.stdout.write(`${(row.score * 100).toFixed(1).padStart(6)} %  ${String(row.killed).padStart(4)}/${String(row.counted).padEnd(4)} ${row.file}\n`);
}
process.stdout.write(`survivors listed in ${join('reports', 'mutation', 'survivors.txt')}\n`);
for (const e of staleEntries) {
  process.stdout.write(`a reason no survivor needs (a test kills its mutants; remove it): ${e.file} ${e.mutator}: ${squash(e.original)} => ${squash(e.replacement)}\n`);
}
if (staleSources.length > 0) {
  process.stdout.write(`changed since they were measured (run their group again): ${staleSources.join(', ')}\n`);
}
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = Object.values(summary.met).every(Boolean) ? 0 : 1;
