import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bundled program of one service of `services/` (`npm run build` bundles each into one JavaScript file,
 * `build/services/<name>.js`), read at synth time to ship in a ConfigMap that a stock Node image runs. Found
 * next to the compiled library (`build/lib/authorizer` -> `build/services`), next to the bundled synth app
 * (`build/synth-app.js` -> `build/services`) or, when running from the sources, under the package's `build/services`.
 */
export function bundledProgram(name: string): string {
  const candidates = [
    join(__dirname, '..', '..', 'services', `${name}.js`),
    join(__dirname, 'services', `${name}.js`),
    join(__dirname, '..', '..', 'build', 'services', `${name}.js`),
  ];
  const found = candidates.find((file) => existsSync(file));
  if (found === undefined) {
    throw new Error(`the bundled program "${name}" is missing (looked in ${candidates.join(', ')}). ` +
      'Fix: run `npm run build` (or `node scripts/bundle-services.mjs`) in the package first');
  }
  return readFileSync(found, 'utf8');
}
