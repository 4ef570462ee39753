// `npm run test:mutation [-- group ...]`: Stryker over the security core, one run per group of stryker.config.mjs
// (each with its own report and incremental file), then the merged score (scripts/mutation-score.mjs). With no
// argument every group runs; name groups to run only those (the score still reads every group's last report).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const ALL = ['core', 'codec', 'authorizer', 'proxy', 'upstream', 'table', 'startup', 'versions'];
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((g) => !ALL.includes(g));
if (unknown.length > 0) {
  process.stderr.write(`unknown group ${unknown.join(', ')}: the groups are ${ALL.join(', ')}\n`);
  process.exit(2);
}
const force = process.argv.includes('--force') ? ['--force'] : [];
for (const group of asked.length > 0 ? asked : ALL) {
  process.stdout.write(`[mutation] group ${group}\n`);
  const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...force], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, STRYKER_GROUP: group },
  });
  if (run.status !== 0) {
    process.stderr.write(`[mutation] stryker failed for group ${group} (exit ${run.status})\n`);
    process.exit(run.status ?? 1);
  }
}
const score = spawnSync(process.execPath, [join(ROOT, 'scripts', 'mutation-score.mjs')], { cwd: ROOT, stdio: 'inherit' });
process.exit(score.status ?? 1);
