// The cdk8s app of this project (cdk8s.yaml): runs main.ts bundled into one file (build/synth-app.js, by
// scripts/bundle-app.mjs), which `npm ci` builds (the `prepare` script). When a TypeScript source is newer than that
// bundle, it runs `npm run build` first, so an edited main.ts or library never synthesizes stale output. Plain
// CommonJS, no dependency: the check costs a directory walk.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'build', 'synth-app.js');
const SOURCES = ['main.ts', 'index.ts', 'lib', 'charts', 'imports', 'services'];

function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) {
    return path.endsWith('.ts') ? stat.mtimeMs : 0;
  }
  let latest = 0;
  for (const name of readdirSync(path)) {
    latest = Math.max(latest, newest(join(path, name)));
  }
  return latest;
}

const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
const sources = Math.max(...SOURCES.map((s) => newest(join(root, s))));
if (built === 0 || sources > built) {
  process.stderr.write(built === 0 ? 'build/synth-app.js is missing: compiling (npm run build)\n'
    : 'TypeScript sources changed since the last build: compiling (npm run build)\n');
  // The package's one build definition (tsc, the service bundles, this app's bundle, the values validator).
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
}
require(entry);
