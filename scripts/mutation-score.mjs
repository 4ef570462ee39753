// The mutation score of the security core from Stryker's reports (`npm run test:mutation`, one run per group of
// stryker.config.mjs): the groups core, codec, authorizer and proxy cover disjoint files and leave out what runs before
// any test (each such mutant would run every test); the table run covers the API table's module-level entries (each
// mutant against the table's own tests) and the startup run the two programs' start-up code (each mutant against that
// program's tests). The narrower runs' results replace the other runs' ignored mutants of their files. Writes
// reports/mutation/score.json and reports/mutation/survivors.txt; the last line printed is one JSON object with the
// figures and a `met` flag.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(import.meta.dirname, '..', 'reports', 'mutation');
const TARGET = 0.9;

function read(name) {
  const file = join(DIR, name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: run stryker first (npm run test:mutation)`);
  }
  return JSON.parse(readFileSync(file, 'utf8')).files;
}

/** The main run's results, with the mutants it ignored (static) taken from the narrower run of their file. */
function merge(main, ...narrower) {
  const out = JSON.parse(JSON.stringify(main));
  for (const report of narrower) {
    for (const [file, { mutants }] of Object.entries(report)) {
      const byId = new Map(mutants.map((m) => [`${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`, m]));
      out[file] = { ...out[file], mutants: (out[file]?.mutants ?? mutants).map((m) => (m.status === 'Ignored'
        ? byId.get(`${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${m.replacement}`) ?? m : m)) };
    }
  }
  return out;
}

const main = Object.assign({}, ...['core', 'codec', 'authorizer', 'proxy'].map((g) => read(`${g}.json`)));
const files = merge(main, read('table.json'), read('startup.json'));
const DETECTED = new Set(['Killed', 'Timeout']);
const COUNTED = new Set(['Killed', 'Timeout', 'Survived', 'NoCoverage']);
const rows = [];
const survivors = [];
const totals = { killed: 0, counted: 0, ignored: 0, errors: 0 };
for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
  const counted = mutants.filter((m) => COUNTED.has(m.status));
  const killed = counted.filter((m) => DETECTED.has(m.status)).length;
  totals.killed += killed;
  totals.counted += counted.length;
  totals.ignored += mutants.filter((m) => m.status === 'Ignored').length;
  totals.errors += mutants.filter((m) => m.status === 'CompileError' || m.status === 'RuntimeError').length;
  rows.push({ file, killed, counted: counted.length, score: counted.length === 0 ? 1 : killed / counted.length });
  for (const m of counted.filter((x) => !DETECTED.has(x.status))) {
    survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ` +
      `${String(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 120)}`);
  }
}
const score = totals.counted === 0 ? 0 : totals.killed / totals.counted;
writeFileSync(join(DIR, 'survivors.txt'), `${survivors.join('\n')}\n`);
const summary = { score: Math.round(score * 10_000) / 100, killed: totals.killed, counted: totals.counted, survived: totals.counted - totals.killed,
  ignoredStatic: totals.ignored, errors: totals.errors, target: TARGET * 100, met: { score: score >= TARGET } };
writeFileSync(join(DIR, 'score.json'), `${JSON.stringify({ ...summary, files: rows }, undefined, 2)}\n`);
for (const row of rows) {
  process.stdout.write(`${(row.score * 100).toFixed(1).padStart(6)} %  ${String(row.killed).padStart(4)}/${String(row.counted).padEnd(4)} ${row.file}\n`);
}
process.stdout.write(`survivors listed in ${join('reports', 'mutation', 'survivors.txt')}\n`);
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = score >= TARGET ? 0 : 1;
