/**
 * Benchmark: what the authorizer proxy adds to a unary call. The synthesized deployment runs as in the end-to-end
 * tier (the real temporal-server, the proxy program from its ConfigMap; see test/e2e/harness.ts); then, in one run,
 * DescribeNamespace is called straight to the frontend (a platform certificate and a token signed with the proxy's
 * own key: exactly what the proxy sends) and through the proxy (a workload certificate), alternating, at
 * concurrency 1, 16 and 64. Reports p50/p99 latency and throughput of both and the differences and ratios.
 * Needs the peers of `npm run test:e2e:peers`.
 *
 *   npm run bench:proxy                 # 3 rounds of 4 s per path and concurrency
 *   ROUNDS=5 SECONDS_PER_ROUND=6 npm run bench:proxy
 *   # where a call's CPU goes in the proxy (function names kept in the bundle; see docs/OPERATIONS.md "Profiling"):
 *   BUNDLE_KEEP_NAMES=1 node scripts/bundle-services.mjs
 *   ROUNDS=2 CONCURRENCY=64 E2E_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof/proxy" npm run bench:proxy
 *   node scripts/bundle-services.mjs       # the release bundles again
 */
import { readFileSync } from 'node:fs';
import { Client } from '@grpc/grpc-js';
import { CallCredentials, encode, grpcCall, grpcClient } from '../test/e2e/grpc-call';
import {
  asTheProxy, clientAddress, context, frontendAddress, proxy, runJob, setUp, startCluster, tearDown, workloadFiles,
} from '../test/e2e/harness';
import { findComponent } from '../test/e2e/manifests';
import { frontendTrust, proxyTrust } from '../test/e2e/workload';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS_PER_ROUND ?? 4);
/** CONCURRENCY=1 measures only that concurrency (e.g. to profile it); the targets need 1, 16 and 64. */
const CONCURRENCY = (process.env.CONCURRENCY ?? '1,16,64').split(',').map(Number);
const MINUTE = 60_000;

interface Series {
  latenciesMs: number[];
  calls: number;
  seconds: number;
  errors: number;
  /** `<code> <details>` -> count, for failed calls. */
  failures?: Record<string, number>;
}

/** CPU time (user + system) the proxy process has used so far, in ms (Linux /proc; clock ticks of 100 Hz). */
function proxyCpuMs(): number {
  const stat = readFileSync(`/proc/${proxy().running.child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Calls DescribeNamespace on `client` from `concurrency` loops for `seconds`; appends to `series`. */
async function run(client: Client, creds: CallCredentials, concurrency: number, seconds: number, series: Series): Promise<void> {
  const request = encode('DescribeNamespaceRequest', { namespace: 'default' });
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const outcome = await grpcCall(client, creds, 'DescribeNamespace', request, 10_000);
      if (outcome.code === 0) {
        series.latenciesMs.push(performance.now() - t0);
        series.calls += 1;
      } else {
        series.errors += 1;
        const key = `${outcome.code} ${outcome.details}`.slice(0, 120);
        series.failures = { ...(series.failures ?? {}), [key]: (series.failures?.[key] ?? 0) + 1 };
      }
    }
  }));
  series.seconds += (performance.now() - start) / 1000;
}

function summary(s: Series): { p50Ms: number; p99Ms: number; callsPerSecond: number; calls: number; errors: number;
  failures?: Record<string, number> } {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return { p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), callsPerSecond: Math.round(s.calls / s.seconds),
    calls: s.calls, errors: s.errors, ...(s.failures ? { failures: s.failures } : {}) };
}

async function bringUp(): Promise<void> {
  const c = context();
  for (const component of ['schema-default', 'schema-visibility']) {
    await runJob(findComponent(c.manifests.objects, 'Job', component), `${component}-bench`, 2 * MINUTE);
  }
  await startCluster();
  await runJob(findComponent(c.manifests.objects, 'Job', 'namespaces'), 'namespaces-bench', 6 * MINUTE);
}

/**
 * The server's rate limiters (calls per frontend and per namespace, and its persistence QPS) would cap both paths
 * alike and hide latency behind RESOURCE_EXHAUSTED: raised for the measurement.
 */
const UNLIMITED = { value: 1_000_000 };
const BENCH_PROPS = {
  dynamicConfig: {
    'frontend.rps': [UNLIMITED],
    'frontend.globalRPS': [UNLIMITED],
    'frontend.namespaceRPS': [UNLIMITED],
    'frontend.globalNamespaceRPS': [UNLIMITED],
    'frontend.persistenceMaxQPS': [UNLIMITED],
    'frontend.persistenceGlobalMaxQPS': [UNLIMITED],
    'frontend.persistenceNamespaceMaxQPS': [UNLIMITED],
  },
};

async function main(): Promise<void> {
  await setUp(BENCH_PROPS);
  try {
    await bringUp();
    const directCreds = await asTheProxy(['default:read'], 'bench');
    const workload = workloadFiles();
    const proxyCreds: CallCredentials = { certFile: workload.cert, keyFile: workload.key };
    const direct = grpcClient({ address: frontendAddress(), ...frontendTrust() }, directCreds);
    const proxied = grpcClient({ address: clientAddress(), ...proxyTrust() }, proxyCreds);
    try {
      // Warm-up: connections, the proxy's token cache, the server's namespace cache, JIT.
      await run(direct, directCreds, 16, 2, { latenciesMs: [], calls: 0, seconds: 0, errors: 0 });
      await run(proxied, proxyCreds, 16, 2, { latenciesMs: [], calls: 0, seconds: 0, errors: 0 });
      const results: Record<string, { direct: unknown; proxy: unknown; addedP50Ms: number; addedP99Ms: number; throughputRatio: number;
        proxyCpuMsPerCall: number; }> = {};
      for (const concurrency of CONCURRENCY) {
        const series = { direct: { latenciesMs: [], calls: 0, seconds: 0, errors: 0 } as Series,
          proxy: { latenciesMs: [], calls: 0, seconds: 0, errors: 0 } as Series };
        let proxyCpu = 0;
        for (let round = 0; round < ROUNDS; round++) {
          // Alternate, so that machine noise hits both paths alike.
          await run(direct, directCreds, concurrency, SECONDS, series.direct);
          const cpuBefore = proxyCpuMs();
          await run(proxied, proxyCreds, concurrency, SECONDS, series.proxy);
          proxyCpu += proxyCpuMs() - cpuBefore;
        }
        const d = summary(series.direct);
        const p = summary(series.proxy);
        const round = (x: number) => Math.round(x * 1000) / 1000;
        results[`concurrency ${concurrency}`] = {
          direct: d,
          proxy: p,
          addedP50Ms: round(p.p50Ms - d.p50Ms),
          addedP99Ms: round(p.p99Ms - d.p99Ms),
          throughputRatio: Math.round((p.callsPerSecond / d.callsPerSecond) * 100) / 100,
          // What one call costs the proxy process itself (both its TLS connections, gRPC in and out, the decision).
          proxyCpuMsPerCall: round(proxyCpu / Math.max(1, p.calls + p.errors)),
        };
      }
      // Every call the proxy served since it started (warm-up and the cluster's own start included): what a CPU profile of
      // the proxy's whole life is divided by.
      const metrics = await (await fetch(`http://127.0.0.1:${proxy().metricsPort}/metrics`)).text();
      const proxyCallsServed = metrics.split('\n').filter((l) => l.startsWith('authorizer_proxy_calls_total{'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      const report = { rounds: ROUNDS, secondsPerRound: SECONDS, call: 'DescribeNamespace', results, proxyCallsServed };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      // The targets (docs/OPERATIONS.md, Sizing): what the proxy adds at concurrency 1, its throughput against the
      // frontend straight at 16 and 64, and its own CPU per call at every concurrency.
      const at = (c: number) => results[`concurrency ${c}`];
      const met = {
        addedP50AtMostPoint3MsAtC1: at(1) !== undefined && at(1).addedP50Ms <= 0.3,
        addedP99AtMost1MsAtC1: at(1) !== undefined && at(1).addedP99Ms <= 1,
        throughputAtLeast70PercentAtC16: at(16) !== undefined && at(16).throughputRatio >= 0.7,
        throughputAtLeast70PercentAtC64: at(64) !== undefined && at(64).throughputRatio >= 0.7,
        // Every concurrency measured (a run of a subset, CONCURRENCY=..., meets no target).
        proxyCpuAtMostPoint15MsPerCall: [1, 16, 64].every((c) => at(c) !== undefined && at(c).proxyCpuMsPerCall <= 0.15),
      };
      process.stdout.write(`${JSON.stringify({ ...report, met })}\n`);
    } finally {
      direct.close();
      proxied.close();
    }
  } finally {
    await tearDown();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
