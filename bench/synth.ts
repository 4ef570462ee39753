/**
 * Benchmark: wall time of synthesizing the default deployment, as ratios against a baseline measured in
 * the same run (`node -e 0`, the cost of starting Node at all). Prints one JSON report.
 *
 *   npm run bench            # 10 rounds
 *   ROUNDS=30 npm run bench
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { App } from 'cdk8s';
import { SecureTemporalChart } from '../charts/secure-temporal-chart';

const rounds = Number(process.env.ROUNDS ?? 10);
const root = join(__dirname, '..');

function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'ignore' });
  const elapsed = performance.now() - start;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
  }
  return elapsed;
}

function timeInProcess(): number {
  const start = performance.now();
  const app = new App({ outdir: join(tmpdir(), 'unused') });
  new SecureTemporalChart(app, 'temporal');
  app.synthYaml();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const outdir = mkdtempSync(join(tmpdir(), 'bench-synth-'));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const samples = { baseline: [] as number[], synthProcess: [] as number[], synthInProcess: [] as number[] };
timeInProcess(); // warm-up (module loading)
for (let i = 0; i < rounds; i++) {
  // Interleave so that machine noise hits every series alike.
  samples.baseline.push(timeProcess(process.execPath, ['-e', '0']));
  samples.synthProcess.push(timeProcess(tsx, ['main.ts'], { CDK8S_OUTDIR: outdir }));
  samples.synthInProcess.push(timeInProcess());
}
rmSync(outdir, { recursive: true, force: true });

const baseline = median(samples.baseline);
const report = {
  rounds,
  medianMs: {
    nodeBaseline: Math.round(baseline),
    synthProcess: Math.round(median(samples.synthProcess)),
    synthInProcess: Math.round(median(samples.synthInProcess) * 10) / 10,
  },
  ratioToBaseline: {
    synthProcess: Math.round((median(samples.synthProcess) / baseline) * 100) / 100,
    synthInProcess: Math.round((median(samples.synthInProcess) / baseline) * 100) / 100,
  },
};
console.log(JSON.stringify(report, null, 2));
