// Bundles the default cdk8s app (main.ts, with cdk8s, cdk8s-plus-27, constructs, yaml and the library) into one
// JavaScript file, build/synth-app.js, which `npx cdk8s synth` runs (scripts/synth-app.js). One file spares Node the
// resolution, reading and wrapping of several hundred modules at every synth (`npm run bench` prints the saving as
// `bundledAppToCompiledModules`); the output
// is byte for byte what the compiled build/main.js writes (test/scripts/synth-app.test.ts). Not minified: a stack
// trace names the library's functions. Deterministic: the same sources give the same bytes.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'main.ts')],
  outfile: join(root, 'build', 'synth-app.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  legalComments: 'eof',
  logLevel: 'warning',
});
