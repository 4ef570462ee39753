/**
 * The app `npx cdk8s synth` runs (cdk8s.yaml: scripts/synth-app.js): main.ts bundled into build/synth-app.js, which
 * `npm ci` builds. It writes exactly what the chart synthesizes in process, twice the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { parse } from 'yaml';
import { synthDeployment } from '../../charts/synth';

const root = join(__dirname, '..', '..');
const BUILTINS = new Set(builtinModules);

describe('the compiled cdk8s app', () => {
  test('cdk8s.yaml runs the launcher, which runs the bundle build/synth-app.js', () => {
    expect(parse(readFileSync(join(root, 'cdk8s.yaml'), 'utf8')).app).toBe('node scripts/synth-app.js');
    expect(readFileSync(join(root, 'scripts', 'synth-app.js'), 'utf8')).toContain("join(root, 'build', 'synth-app.js')");
    // One file: the app requires no module of node_modules at run time (Node's built-ins only).
    const bundle = readFileSync(join(root, 'build', 'synth-app.js'), 'utf8');
    const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required.filter((name) => !name.startsWith('node:') && !BUILTINS.has(name))).toEqual([]);
    expect(existsSync(join(root, 'build', 'services', 'authorizer-proxy.js'))).toBe(true);
  });

  test('it writes what the chart synthesizes in process, deterministically', () => {
    const outs = [1, 2].map(() => {
      const out = mkdtempSync(join(tmpdir(), 'synth-app-'));
      execFileSync(process.execPath, [join(root, 'scripts', 'synth-app.js')], { cwd: root, env: { ...process.env, CDK8S_OUTDIR: out } });
      return out;
    });
    const inProcess = mkdtempSync(join(tmpdir(), 'synth-in-process-'));
    synthDeployment(new App({ outdir: inProcess }));
    for (const file of ['temporal.k8s.yaml', 'kustomization.yaml', 'network-flows.mmd']) {
      const expected = readFileSync(join(inProcess, file), 'utf8');
      expect(readFileSync(join(outs[0], file), 'utf8')).toBe(expected);
      expect(readFileSync(join(outs[1], file), 'utf8')).toBe(expected);
    }
  });
});
