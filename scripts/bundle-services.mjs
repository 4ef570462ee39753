// Bundles each program under services/ into one JavaScript file under build/services/, which the constructs
// embed in a ConfigMap at synth time and a pinned upstream Node image runs (no image to build). Deterministic:
// the same sources give the same bytes. BUNDLE_KEEP_NAMES=1 keeps the names of functions (for reading a CPU profile
// of a program: scripts/profile-summary.mjs); the default minifies them.
import { build } from 'esbuild';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['authorizer-proxy', 'codec-server'];
// A ConfigMap holds at most 1 MiB; leave room for the object around it.
const LIMIT = 900 * 1024;

for (const name of SERVICES) {
  const outfile = join(root, 'build', 'services', `${name}.js`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, 'services', name, 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: process.env.BUNDLE_KEEP_NAMES !== '1',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const size = statSync(outfile).size;
  if (size > LIMIT) {
    throw new Error(`${outfile} is ${size} bytes, more than a ConfigMap can carry (${LIMIT})`);
  }
  // stderr: `npm pack --json` prints its JSON on stdout after running `prepare`.
  process.stderr.write(`bundled services/${name}: ${Math.round(size / 1024)} KiB\n`);
}
if (process.env.BUNDLE_KEEP_NAMES === '1') {
  process.stderr.write('build/services now holds bundles with their names kept, for profiling: the ConfigMaps a synth embeds them in '
    + 'differ from the release bundles. Run `node scripts/bundle-services.mjs` (or `npm run build`) before synthesizing.\n');
}
