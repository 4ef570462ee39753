/**
 * Monitoring against reality: the PrometheusRule and the PodMonitors the tier's deployment synthesizes (chart prop
 * `monitors`), checked by Prometheus' own tools and by a real Prometheus (Debian's `prometheus` and `promtool`):
 * `promtool check rules` accepts the rules; `promtool test rules` runs, for every alert, series that must fire it
 * (labels and annotations as expected) and series just below its threshold that must not; and a Prometheus
 * scraping the running server services, authorizer proxy and codec server (one scrape job per PodMonitor, the
 * pods' labels as a PodMonitor gives them) finds series for every selector of every alert (metric name and label
 * matchers: a label value the server does not use would be caught), but for those named below with the reason. The
 * events the counters count are caused first (refused calls at the proxy and at the frontend, a codec request without
 * a token, a workflow task), and a failed policy reload, whose alert then fires in the real Prometheus, as the
 * denial, unauthenticated and codec refusal bursts raise theirs.
 * Registered inside the cluster's describe block of cluster.e2e.test.ts, after the tests whose calls the metrics
 * count (denials, workflows).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { API_KEYS_FILE, createApiKey } from '../../lib/authorizer/api-keys';
import { stringify } from 'yaml';
import { findAllByLabels, KubeObject, onlyContainer, podSpec, Secrets } from './manifests';
import { encode, grpcCall, grpcClient } from './grpc-call';
import {
  API_KEY_OWNER, API_KEYS_SECRET, asTheProxy, clientAddress, codecKeysSecret, context, currentSecrets, frontendAddress, globalTlsOf, MINUTE,
  NAMESPACE_B, NO_POLLER_QUEUE, proxy, READER, server, serverDeployments, servers, startServer, syncSecretVolumes, TASK_WORKER, withLogs,
  workloadFiles,
} from './harness';
import { IDP_AUDIENCE } from './identity-provider';
import { freePort, isPortFree, sleep, waitUntil } from './net';
import { Running, tail } from './processes';
import { goDurationMs } from './rotation';
import { startCodecServer } from './web-ui';
import { frontendTrust, proxyTrust } from './workload';

interface Rule { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }
interface Group { name: string; rules: Rule[] }
interface PodMonitorSpec { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] }

/**
 * Selectors of the alerts that this tier cannot give series, and why (matched on the selector's text). Every other
 * selector the alerts use (name and label matchers) must have series on the live scrape.
 */
const NOT_IN_THIS_TIER: readonly [RegExp, string][] = [
  [/^certmanager_/, 'cert-manager does not run here: the tier issues its certificates itself'],
  [/^persistence_errors\{/, 'counted on a failed database call only; none fails here'],
  [/^no_poller_tasks\{/, 'counted for a task added to a queue no worker polled for 2 minutes after the queue was loaded'],
  [/^codec_server_reload_failures_total\{/, 'a labelled counter, with series from its first failed reload (the proxy\'s is caused here)'],
  [/status="(500|503)"/, 'the codec server fails no request here and always has budget'],
  [/error_type=~/, 'the server answers no request with a server error here'],
];

/** One promtool unit test case of an alert: input series, when to look, and the labels it fires with (none: silent). */
interface AlertCase {
  readonly series: readonly [string, string][];
  readonly at: string;
  readonly fires?: Readonly<Record<string, string>>;
}

/** For every alert: a case that fires it and one just below its threshold (defaults of DEFAULT_ALERT_THRESHOLDS). */
function alertCases(ns: string): Record<string, { fire: AlertCase; quiet: AlertCase }> {
  const n = `namespace="${ns}"`;
  const both = (series: (v: string) => [string, string][], at: string, hot: string, cold: string, fires: Record<string, string>) =>
    ({ fire: { series: series(hot), at, fires }, quiet: { series: series(cold), at } });
  const counter = (name: string, labels: string) => (v: string): [string, string][] => [[`${name}{${n}, ${labels}}`, v]];
  const histogram = (name: string, labels: string, slow: string) => (fast: string): [string, string][] =>
    ['1', slow, '+Inf'].map((le) => [`${name}{${n}, ${labels}, le="${le}"}`, le === '1' ? fast : '0+60x40']);
  return {
    TemporalCertificateExpiring: both(counter('certificates_expiring', 'pod="frontend-0"'), '20m', '1x40', '0x40',
      { namespace: ns, pod: 'frontend-0' }),
    TemporalCertificateExpired: both(counter('certificates_expired', 'pod="history-0"'), '5m', '1x10', '0x10',
      { namespace: ns, pod: 'history-0' }),
    CertManagerCertificateExpiringSoon: both((v) => [[`certmanager_certificate_expiration_timestamp_seconds{exported_namespace="${ns}", name="c"}`,
      v]], '2h', `${7200 + 6 * 86400}x200`, `${7200 + 8 * 86400}x200`, { exported_namespace: ns, name: 'c' }),
    CertManagerCertificateNotReady: both((v) => [[`certmanager_certificate_ready_status{exported_namespace="${ns}", name="c", condition="${v}"}`,
      '1x40']], '20m', 'False', 'True', { exported_namespace: ns, name: 'c' }),
    TemporalServerErrorRatio: both((v) => [[`service_error_with_type{${n}, service_name="frontend", error_type="serviceerror.Internal"}`, v],
      [`service_requests{${n}, service_name="frontend"}`, '0+600x40']], '20m', '0+60x40', '0+12x40', { namespace: ns, service_name: 'frontend' }),
    TemporalPersistenceErrors: both((v) => [[`persistence_errors{${n}, service_name="history"}`, v],
      [`persistence_requests{${n}, service_name="history"}`, '0+300x40']], '20m', '0+6x40', '0+1x40', { namespace: ns, service_name: 'history' }),
    // All observations above 1 s (p99 between 1 and 2.5 s), or all at most 1 s.
    TemporalPersistenceLatencyHigh: both((fast) => ['0.5', '1', '2.5', '+Inf'].map((le): [string, string] =>
      [`persistence_latency_bucket{${n}, service_name="history", le="${le}"}`, Number(le) <= 1 ? fast : '0+60x40']),
    '25m', '0x40', '0+60x40', { namespace: ns, service_name: 'history' }),
    TemporalWorkflowTaskScheduleToStartHigh: both(histogram('task_schedule_to_start_latency_bucket',
      'exported_namespace="default", task_type="Workflow"', '10'), '20m', '0x40', '0+60x40', { namespace: ns, exported_namespace: 'default' }),
    // Born at 1 (a queue's first unpolled task): what `increase` alone misses.
    // (`_x5`: no sample for 5 minutes; the born series counts until it is 10 minutes old.)
    // Quiet: a series at 3 for long (its tasks counted long ago), which a rule without `unless ... offset` would fire on.
    TemporalTaskQueueNoPollers: both(counter('no_poller_tasks', 'exported_namespace="default", taskqueue="q"'), '12m', '_x5 1x40', '3x40',
      { namespace: ns, exported_namespace: 'default', taskqueue: 'q' }),
    AuthorizerProxyDenialBurst: both(counter('authorizer_proxy_calls_total', 'api="StartWorkflowExecution", decision="deny", status="PERMISSION_DENIED"'),
      '15m', '0+120x40', '0+30x40', { namespace: ns }),
    AuthorizerProxyUnauthenticatedBurst: both(counter('authorizer_proxy_calls_total', 'api="StartWorkflowExecution", decision="deny", status="UNAUTHENTICATED"'),
      '15m', '0+120x40', '0+30x40', { namespace: ns }),
    // The series appears with the first failure (a labelled counter): no earlier 0 to rise from.
    AuthorizerProxyReloadFailing: both(counter('authorizer_proxy_reload_failures_total', 'pod="proxy-0", what="policy"'), '5m',
      '_ _ _ 1 1 1 1 1 1 1', '0x10', { namespace: ns, pod: 'proxy-0', what: 'policy' }),
    AuthorizerProxyIdentityProviderKeysFailing: both(counter('authorizer_proxy_identity_provider_key_fetch_failures_total', 'pod="proxy-0"'),
      '20m', '0+1x40', '0x40', { namespace: ns, pod: 'proxy-0' }),
    TemporalFrontendRefusesProxyTokens: both((v) => [[`service_errors_unauthorized{${n}, service_name="frontend"}`, v],
      [`authorizer_proxy_calls_total{${n}, api="StartWorkflowExecution", decision="allow", status="OK"}`, '0+60x40']], '20m', '0+60x40', '0x40',
    { namespace: ns }),
    CodecServerErrors: both((v) => [[`codec_server_requests_total{${n}, operation="decode", status="${v}"}`, '0+1x40']], '15m', '500', '200',
      { namespace: ns }),
    CodecServerAtCapacity: both((v) => [[`codec_server_requests_total{${n}, operation="decode", status="${v}"}`, '0+1x40']], '20m', '503', '200',
      { namespace: ns }),
    CodecServerRefusalBurst: both(counter('codec_server_requests_total', 'operation="decode", status="401"'), '15m', '0+120x40', '0+30x40',
      { namespace: ns }),
    CodecServerReloadFailing: both(counter('codec_server_reload_failures_total', 'pod="codec-0", what="keys"'), '5m', '0 0 0 1 1 1 1 1 1 1',
      '0x10', { namespace: ns, pod: 'codec-0', what: 'keys' }),
    CodecServerIdentityProviderKeysFailing: both(counter('codec_server_identity_provider_key_fetch_failures_total', 'pod="codec-0"'), '20m',
      '0+1x40', '0x40', { namespace: ns, pod: 'codec-0' }),
    // Expired keys are ApiKeyExpired's, not "expiring soon".
    ApiKeyExpiringSoon: both(counter('authorizer_proxy_api_key_expiry_days', 'key_id="k1", owner="ci"'), '70m', '10x90', '-1x90',
      { namespace: ns, key_id: 'k1', owner: 'ci' }),
    ApiKeyExpired: both(counter('codec_server_api_key_expiry_days', 'key_id="k1", owner="ci"'), '5m', '-1x10', '1x10',
      { namespace: ns, key_id: 'k1', owner: 'ci' }),
  };
}

/** `{{ $labels.x }}` of a summary, filled in as Prometheus does. */
const expand = (text: string, labels: Record<string, string>): string =>
  text.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, name: string) => labels[name] ?? '');

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The pods a PodMonitor selects that run here, with their metrics ports. */
function scrapeTargets(monitor: KubeObject, codecMetricsPort: number | undefined): { pod: string; port: number }[] {
  const { matchLabels } = (monitor.spec as unknown as PodMonitorSpec).selector;
  const component = matchLabels['app.kubernetes.io/component'];
  if (component === 'authorizer-proxy') {
    return [{ pod: `${monitor.metadata.name}-0`, port: proxy().metricsPort }];
  }
  if (component === 'codec') {
    return codecMetricsPort === undefined ? [] : [{ pod: 'codec-0', port: codecMetricsPort }];
  }
  const server = servers.get(component);
  return server === undefined ? [] : [{ pod: `${monitor.metadata.name}-0`, port: server.metricsPort }];
}

interface Sample { metric: Record<string, string>; value: [number, string] }

async function query(port: number, promql: string): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await response.json() as { status: string; error?: string; data?: { result: Sample[] } };
  if (body.status !== 'success') {
    throw new Error(`Prometheus refused ${promql}: ${body.error ?? response.status}`);
  }
  return body.data?.result ?? [];
}

/**
 * What the alerts' counters count, caused here so that their series exist whatever ran before (a restarted process
 * starts its counters again): a call the proxy refuses for want of a role and one for want of a credential, a call
 * the frontend refuses (a token of the proxy's key without the permission), a codec request without a token (401),
 * and a workflow task started by a worker (its schedule-to-start latency).
 */
/** A StartWorkflowExecution request of a `greet` workflow on `taskQueue` of `default`. */
const startRequest = (taskQueue: string): Buffer => encode('StartWorkflowExecutionRequest', { namespace: 'default',
  workflowId: `monitoring-${randomUUID()}`, workflowType: { name: 'greet' }, taskQueue: { name: taskQueue, kind: 1 }, requestId: randomUUID(),
  input: { payloads: [] }, identity: 'e2e' });

/** Starts a workflow on `taskQueue` through the proxy, as the tier's `write` identity. */
async function startWorkflowOn(taskQueue: string): Promise<{ code: number; details: string }> {
  const writer = workloadFiles();
  return grpcCall({ address: clientAddress(), ...proxyTrust() }, { certFile: writer.cert, keyFile: writer.key }, 'StartWorkflowExecution',
    startRequest(taskQueue));
}

async function causeTheCountedEvents(codecPort: number): Promise<void> {
  const viaProxy = { address: clientAddress(), ...proxyTrust() };
  const start = startRequest;
  const reader = workloadFiles(READER);
  expect((await grpcCall(viaProxy, { certFile: reader.cert, keyFile: reader.key }, 'StartWorkflowExecution', start('monitoring'))).code)
    .toBe(7);
  expect((await grpcCall(viaProxy, {}, 'StartWorkflowExecution', start('monitoring'))).code).toBe(16);
  expect(await grpcCall({ address: frontendAddress(), ...frontendTrust() }, await asTheProxy(['default:read'], 'e2e-monitoring'),
    'StartWorkflowExecution', start('monitoring'))).toEqual({ code: 7, details: 'Request unauthorized.' });
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: codecPort, path: '/decode', method: 'POST', rejectUnauthorized: false,
      headers: { 'content-type': 'application/json', 'x-namespace': 'default' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{"payloads":[]}');
  });
  expect(status).toBe(401);
  const taskQueue = `monitoring-${randomUUID()}`;
  const writer = workloadFiles();
  expect((await grpcCall(viaProxy, { certFile: writer.cert, keyFile: writer.key }, 'StartWorkflowExecution', start(taskQueue))).code).toBe(0);
  const worker = workloadFiles(TASK_WORKER);
  const polled = await grpcCall(viaProxy, { certFile: worker.cert, keyFile: worker.key }, 'PollWorkflowTaskQueue',
    encode('PollWorkflowTaskQueueRequest', { namespace: 'default', taskQueue: { name: taskQueue, kind: 1 }, identity: 'e2e-monitoring' }), 30_000);
  expect(polled.code).toBe(0);
}

export function registerMonitoringTests(): void {
  describe('monitoring (a real Prometheus and promtool)', () => {
    let groups: Group[] = [];
    let monitors: KubeObject[] = [];
    let dashboardExprs: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'e2e-monitoring-'));

    beforeAll(() => {
      const objects = context().manifests.objects;
      const rule = objects.find((o) => o.kind === 'PrometheusRule');
      if (rule === undefined) {
        throw new Error('the tier\'s deployment has no PrometheusRule: chartProps must turn monitors on');
      }
      groups = (rule.spec as unknown as { groups: Group[] }).groups;
      monitors = objects.filter((o) => o.kind === 'PodMonitor');
      const dashboards = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboards'));
      dashboardExprs = Object.values((dashboards?.data ?? {}) as Record<string, string>).flatMap((json) =>
        (JSON.parse(json) as { panels: { targets?: { expr: string }[] }[] }).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)));
      expect(dashboardExprs.length).toBeGreaterThan(10);
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    });

    test('promtool accepts the synthesized rules', () => {
      const { status, output } = promtool(['check', 'rules', 'rules.yaml'], dir);
      expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${groups.flatMap((g) => g.rules).length} rules found`) as string });
    });

    test('promtool: every alert fires on its fault, with its labels and summary, and stays silent just below its threshold', () => {
      const ns = context().namespace;
      const cases = alertCases(ns);
      const rules = groups.flatMap((g) => g.rules);
      // Every alert has its two cases, and no case names an alert that is not there.
      expect(Object.keys(cases).sort()).toEqual(rules.map((r) => r.alert).sort());
      const tests = rules.flatMap((r) => {
        const { fire, quiet } = cases[r.alert];
        return [fire, quiet].map((c) => ({
          interval: '1m',
          input_series: c.series.map(([series, values]) => ({ series, values })),
          alert_rule_test: [{
            eval_time: c.at,
            alertname: r.alert,
            exp_alerts: c.fires === undefined ? [] : [{
              exp_labels: { ...c.fires, severity: r.labels.severity },
              exp_annotations: Object.fromEntries(Object.entries(r.annotations)
                .map(([k, v]) => [k, expand(v, c.fires as Record<string, string>)])),
            }],
          }],
        }));
      });
      writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
      const { status, output } = promtool(['test', 'rules', 'tests.yaml'], dir);
      expect({ status, output: output.trim().split('\n').slice(-3).join('\n') }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') as string });
    });

    describe('a real Prometheus scraping the running pods', () => {
      let prometheus: Running | undefined;
      let codec: { running: Running; metricsPort?: number } | undefined;
      let port = 0;
      /** When the first task was added to NO_POLLER_QUEUE (its root partition loaded then). */
      let noPollerQueueLoadedAt = 0;

      beforeAll(async () => {
        const c = context();
        // The Web UI tests' codec server when they ran, else one started here.
        codec = await startCodecServer();
        await causeTheCountedEvents(c.ui.codecPort);
        noPollerQueueLoadedAt = Date.now();
        expect((await startWorkflowOn(NO_POLLER_QUEUE)).code).toBe(0);
        port = await freePort();
        const jobs = monitors.map((m) => {
          const endpoint = (m.spec as unknown as PodMonitorSpec).podMetricsEndpoints[0];
          return {
            job_name: `podMonitor/${c.namespace}/${m.metadata.name}/0`,
            metrics_path: endpoint.path,
            static_configs: scrapeTargets(m, codec?.metricsPort).map((t) => ({
              targets: [`127.0.0.1:${t.port}`], labels: { namespace: c.namespace, pod: t.pod, container: onlyContainer(
                findAllByLabels(c.manifests.objects, 'Deployment', (m.spec as unknown as PodMonitorSpec).selector.matchLabels)[0]).name },
            })),
          };
        });
        writeFileSync(join(dir, 'prometheus.yaml'), stringify({ global: { scrape_interval: '2s', evaluation_interval: '2s' },
          rule_files: [join(dir, 'rules.yaml')], scrape_configs: jobs }));
        prometheus = c.runner.start({ name: 'prometheus', argv: ['prometheus', `--config.file=${join(dir, 'prometheus.yaml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], env: {}, cwd: dir });
        await waitUntil('Prometheus to scrape every target', async () => {
          if (prometheus?.exit !== undefined) {
            throw new Error(`prometheus exited:\n${tail(prometheus.logFile)}`);
          }
          const up = await query(port, 'up').catch(() => []);
          return up.length === jobs.flatMap((j) => j.static_configs).length && up.every((s) => s.value[1] === '1');
        }, { timeoutMs: 60_000, intervalMs: 1000 });
      }, 2 * MINUTE);

      afterAll(async () => {
        // The codec server is the Web UI tests' (the tier's tear-down stops it).
        if (prometheus !== undefined) {
          await context().runner.stop(prometheus);
        }
      });

      test('every monitored component is scraped, and up', () => withLogs(async () => {
        const up = await query(port, 'up');
        const components = new Set(monitors.map((m) => (m.spec as unknown as PodMonitorSpec).selector.matchLabels['app.kubernetes.io/component']));
        expect(up.map((s) => s.metric.job).sort()).toEqual(monitors.map((m) => `podMonitor/${context().namespace}/${m.metadata.name}/0`).sort());
        expect(components.size).toBe(monitors.length);
        expect(up.every((s) => s.value[1] === '1' && s.metric.namespace === context().namespace)).toBe(true);
      }), MINUTE);

      test('every selector of the alerts and the dashboard has series, but those this tier cannot show; a failed policy reload fires', () =>
        withLogs(async () => {
          // Each dashboard query is valid PromQL to the real Prometheus (with Grafana's interval filled in).
          for (const expr of dashboardExprs) {
            await query(port, expr.replaceAll('$__rate_interval', '1m'));
          }
          // The fault: a policy the proxy refuses to load (it keeps the previous one), then the good one back, as a
          // ConfigMap edit reaches the pod.
          const policyMap = context().manifests.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-authorizer-proxy-policy'));
          const data = policyMap?.data as Record<string, string>;
          const good = data['policy.json'];
          try {
            data['policy.json'] = '{ "rules": [ { "name": "broken", "grants": 42 } ] }';
            proxy().pod.syncVolumes(currentSecrets());
            await waitUntil('the proxy to count a failed policy reload', async () =>
              (await query(port, 'authorizer_proxy_reload_failures_total{what="policy"}')).length > 0, { timeoutMs: 60_000, intervalMs: 1000 });
          } finally {
            data['policy.json'] = good;
            proxy().pod.syncVolumes(currentSecrets());
          }
          // Every selector of every alert and of every dashboard query, as written (`name{matchers}`, and the
          // `{__name__=~...}` of the API key gauges).
          const exprs = [...groups.flatMap((g) => g.rules).map((r) => r.expr), ...dashboardExprs];
          const selectorsOf = (e: string) => [...e.matchAll(/(?:\b[a-z_][a-z0-9_]*)?\{[^}]*\}/g)].map((m) => m[0]);
          const selectors = [...new Set(exprs.flatMap(selectorsOf))].sort();
          expect(selectors.length).toBeGreaterThan(25);
          const missing: string[] = [];
          for (const selector of selectors) {
            const found = await query(port, `count(${selector})`);
            if (found.length === 0 && !NOT_IN_THIS_TIER.some(([pattern]) => pattern.test(selector))) {
              // With the label sets the metric does have, if any: a label the server names otherwise shows here.
              const name = /^[a-z_][a-z0-9_]*/.exec(selector)?.[0];
              const seen = name === undefined ? [] : (await query(port, `topk(3, ${name})`)).map((x) => JSON.stringify(x.metric));
              missing.push(seen.length > 0 ? `${selector} (series: ${seen.join(' ')})` : selector);
            }
          }
          expect(missing).toEqual([]);
          // And the alert on it is pending or firing in the real Prometheus (its `for` is 0: firing).
          await sleep(3000);
          const alerts = await query(port, 'ALERTS{alertname="AuthorizerProxyReloadFailing"}');
          expect(alerts.map((a) => a.metric.what)).toContain('policy');
        }), 3 * MINUTE);

      test('a stopped identity provider: the proxy and the codec server count failed key fetches and raise their alerts; ' +
        'back, its tokens work again', () => withLogs(async () => {
        const c = context();
        const expected = ['AuthorizerProxyIdentityProviderKeysFailing', 'CodecServerIdentityProviderKeysFailing'];
        let raised: string[] = [];
        const outcomes = await c.idp.withProviderStopped(async () => {
          // A token of the provider's issuer naming a key neither cache holds: each asks the provider for its keys at once
          // (at most once per cooldown), and the fetch fails (connection refused).
          const { privateKey } = await generateKeyPair('ES256');
          const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: `e2e-unknown-${randomUUID()}`, typ: 'JWT' })
            .setIssuer(c.idp.oidc.issuer).setAudience(IDP_AUDIENCE).setSubject('e2e-outage').setIssuedAt().setExpirationTime('5m')
            .sign(privateKey);
          const proxyCall = await grpcCall({ address: clientAddress(), ...proxyTrust() }, { token }, 'DescribeNamespace',
            encode('DescribeNamespaceRequest', { namespace: 'default' }));
          const codecStatus = await new Promise<number>((resolve, reject) => {
            const req = httpsRequest({ host: '127.0.0.1', port: c.ui.codecPort, path: '/decode', method: 'POST', rejectUnauthorized: false,
              timeout: 30_000,
              headers: { 'content-type': 'application/json', 'x-namespace': 'default', 'authorization': `Bearer ${token}` } }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            req.on('timeout', () => req.destroy(new Error('the codec server did not answer within 30 s')));
            req.on('error', reject);
            req.end('{"payloads":[]}');
          });
          await waitUntil('both key fetch alerts to be pending or firing', async () => {
            raised = [...new Set((await query(port, `ALERTS{alertname=~"${expected.join('|')}"}`)).map((a) => a.metric.alertname))].sort();
            return raised.length === expected.length;
          }, { timeoutMs: 60_000, intervalMs: 2000 }).catch(() => undefined);
          const failures = await query(port, '{__name__=~"authorizer_proxy_identity_provider_key_fetch_failures_total|' +
            'codec_server_identity_provider_key_fetch_failures_total"} > 0');
          return { proxy: proxyCall.code, codec: codecStatus, counted: failures.map((f) => f.metric.__name__).sort() };
        });
        // Refused (the token's key is unknown, and the provider cannot be asked), counted, alerted.
        expect(outcomes).toEqual({ proxy: 16, codec: 401, counted: ['authorizer_proxy_identity_provider_key_fetch_failures_total',
          'codec_server_identity_provider_key_fetch_failures_total'] });
        expect(raised).toEqual(expected);
        // The provider is back at the same issuer: a token it signs is taken by the proxy again, at once when the proxy
        // holds its keys from before, else once the fetch cooldown (30 s) after the failed fetch has passed.
        const alice = await c.idp.oidc.token('alice');
        let after: { code: number; details: string } = { code: -1, details: '' };
        await waitUntil('the proxy to take the provider\'s tokens again', async () => {
          const outcome = await grpcCall({ address: clientAddress(), ...proxyTrust() }, { token: alice }, 'DescribeNamespace',
            encode('DescribeNamespaceRequest', { namespace: 'default' }));
          after = { code: outcome.code, details: outcome.details };
          return after.code === 0;
        }, { timeoutMs: 60_000, intervalMs: 2000 }).catch(() => undefined);
        expect(after).toEqual({ code: 0, details: expect.any(String) });
      }), 3 * MINUTE);

      test('a short-lived certificate: history restarted with an internode certificate inside the warning window counts it, ' +
        'and TemporalCertificateExpiring is raised', () => withLogs(async () => {
        const c = context();
        const history = server('history');
        const deployment = serverDeployments().get('history') as KubeObject;
        const secretName = podSpec(deployment).volumes?.find((v) => v.name === 'internode-tls')?.secret?.secretName ?? '';
        const warningWindowMs = goDurationMs(globalTlsOf(history).expirationChecks.warningWindow);
        // Issued like the real one (same CA, names, usages), but ending inside the warning window: what a failed renewal leaves.
        const now = Date.now();
        const short = await c.certificates.variant(c.namespace, secretName, 'short-lived-internode',
          { notBefore: new Date(now - 3600_000), notAfter: new Date(now + warningWindowMs / 2) });
        const secrets = { ...currentSecrets(), [secretName]: { ...currentSecrets()[secretName],
          'tls.crt': readFileSync(short.cert, 'utf8'), 'tls.key': readFileSync(short.key, 'utf8') } };
        const restart = async (opts: { secrets?: Secrets }) => {
          await c.runner.stop(server('history').running, 60_000);
          const started = await startServer('history', deployment, { metricsPort: history.metricsPort, ...opts });
          await waitUntil('history to serve again', async () => {
            if (started.running.exit !== undefined) {
              throw new Error(`history exited ${started.running.exit.code}:\n${tail(started.running.logFile, 40)}`);
            }
            return !(await isPortFree(started.grpcPort));
          }, { timeoutMs: 2 * MINUTE, intervalMs: 500 });
        };
        let raised: Sample[] = [];
        let counted: Sample[] = [];
        try {
          await restart({ secrets });
          // The server checks its certificates at start (then every checkInterval): the gauge, then the alert (pending:
          // its `for` is 15 minutes).
          await waitUntil('TemporalCertificateExpiring to be pending or firing', async () => {
            counted = await query(port, 'certificates_expiring{pod="temporal-history-0"} > 0');
            raised = await query(port, 'ALERTS{alertname="TemporalCertificateExpiring"}');
            return raised.length > 0;
          }, { timeoutMs: 60_000, intervalMs: 2000 }).catch(() => undefined);
        } finally {
          await restart({});
        }
        expect(counted.map((s) => [s.metric.pod, Number(s.value[1]) >= 1])).toEqual([['temporal-history-0', true]]);
        expect(raised.map((a) => [a.metric.pod, a.metric.alertstate === 'pending' || a.metric.alertstate === 'firing']))
          .toEqual([['temporal-history-0', true]]);
        // Back on its own certificate, the next check counts nothing.
        await waitUntil('history to count no expiring certificate', async () =>
          (await query(port, 'certificates_expiring{pod="temporal-history-0"} == 0')).length === 1, { timeoutMs: 60_000, intervalMs: 2000 });
      }), 6 * MINUTE);

      test('a task added to a queue no worker has polled for 2 minutes is counted, and TemporalTaskQueueNoPollers is raised', () =>
        withLogs(async () => {
          // Matching counts such a task once the queue's partition has been loaded for 2 minutes and no poll came in that time.
          await sleep(Math.max(0, noPollerQueueLoadedAt + 2 * MINUTE + 5000 - Date.now()));
          expect((await startWorkflowOn(NO_POLLER_QUEUE)).code).toBe(0);
          // Temporal's Prometheus reporter writes a `-` of a label value as `_`.
          const label = NO_POLLER_QUEUE.replaceAll('-', '_');
          let raised: Sample[] = [];
          await waitUntil('TemporalTaskQueueNoPollers to be pending or firing', async () => {
            raised = await query(port, `ALERTS{alertname="TemporalTaskQueueNoPollers", taskqueue="${label}"}`);
            return raised.length > 0;
          }, { timeoutMs: 60_000, intervalMs: 2000 }).catch(() => undefined);
          expect(raised.map((a) => [a.metric.exported_namespace, a.metric.taskqueue])).toEqual([['default', label]]);
        }), 4 * MINUTE);

      test('API keys: the expired one and one added that ends within 14 days raise ApiKeyExpired and ApiKeyExpiringSoon; a codec key ' +
        'ring naming a key it lacks raises CodecServerReloadFailing', () => withLogs(async () => {
        const c = context();
        const keys = c.userSecrets[API_KEYS_SECRET];
        const ring = c.userSecrets[codecKeysSecret('default')];
        const before = { keys: keys[API_KEYS_FILE], active: ring.active };
        const soon = createApiKey('e2e-ci-soon', API_KEY_OWNER, new Date(Date.now() + 5 * 86_400_000));
        const expected = ['ApiKeyExpired', 'ApiKeyExpiringSoon', 'CodecServerReloadFailing'];
        let raised: Sample[] = [];
        try {
          const records = JSON.parse(before.keys) as { keys: unknown[] };
          keys[API_KEYS_FILE] = JSON.stringify({ ...records, keys: [...records.keys, soon.record] });
          ring.active = 'e2e-no-such-key';
          // The kubelet's update of the Secrets' volumes; each program re-reads its files.
          syncSecretVolumes();
          await waitUntil('the API key and key ring alerts to be pending or firing', async () => {
            raised = await query(port, `ALERTS{alertname=~"${expected.join('|')}"}`);
            return expected.every((name) => raised.some((a) => a.metric.alertname === name));
          }, { timeoutMs: 90_000, intervalMs: 2000 }).catch(() => undefined);
        } finally {
          keys[API_KEYS_FILE] = before.keys;
          ring.active = before.active;
          syncSecretVolumes();
        }
        const of = (name: string) => [...new Set(raised.filter((a) => a.metric.alertname === name)
          .map((a) => a.metric.key_id ?? a.metric.what))].sort();
        expect({ expired: of('ApiKeyExpired'), soon: of('ApiKeyExpiringSoon'), reload: of('CodecServerReloadFailing') })
          .toEqual({ expired: ['e2e-ci-old'], soon: ['e2e-ci-soon'], reload: ['keys'] });
      }), 3 * MINUTE);

      test('bursts of refused calls at the proxy (no role, no credential) and at the codec server (no token) raise their alerts', () =>
        withLogs(async () => {
          // Above each default threshold (1 per second over 5 minutes, so more than 300 in the window; a counter's series
          // made by the burst loses what its first scrape saw): 700 refusals, on one connection.
          const BURST = 700;
          const c = context();
          const target = { address: clientAddress(), ...proxyTrust() };
          const reader = workloadFiles(READER);
          const denied = grpcClient(target, { certFile: reader.cert, keyFile: reader.key });
          const anonymous = grpcClient(target, {});
          const agent = new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
          const refused = () => new Promise<number>((resolve) => {
            const req = httpsRequest({ host: '127.0.0.1', port: c.ui.codecPort, path: '/decode', method: 'POST', agent,
              headers: { 'content-type': 'application/json', 'x-namespace': 'default' } }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            });
            // Both servers close a connection that never authenticates after a while: a request caught by that is retried.
            req.on('error', () => resolve(0));
            req.end('{"payloads":[]}');
          });
          const request = encode('DescribeNamespaceRequest', { namespace: NAMESPACE_B });
          const counts = new Map<string, number>();
          const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
          try {
            // One of each first, scraped before the burst: a counter series born during the burst would lose what its first
            // scrape saw (`rate` cannot see a series' first value rise), and the rate might stay below the threshold.
            count(`denied ${(await grpcCall(denied, {}, 'DescribeNamespace', request)).code}`);
            count(`anonymous ${(await grpcCall(anonymous, {}, 'DescribeNamespace', request)).code}`);
            count(`codec ${await refused()}`);
            await sleep(5000);
            for (let i = 0; i < BURST; i += 20) {
              await Promise.all(Array.from({ length: 20 }, async () => {
                count(`denied ${(await grpcCall(denied, {}, 'DescribeNamespace', request)).code}`);
                count(`anonymous ${(await grpcCall(anonymous, {}, 'DescribeNamespace', request)).code}`);
                count(`codec ${await refused()}`);
              }));
            }
          } finally {
            denied.close();
            anonymous.close();
            agent.destroy();
          }
          // Nothing but refusals (and, for connections the servers closed, transport errors); enough of each for the rate.
          const kinds = [...counts.keys()].sort();
          expect(kinds.filter((k) => !['denied 7', 'anonymous 16', 'anonymous 14', 'codec 401', 'codec 0'].includes(k))).toEqual([]);
          for (const key of ['denied 7', 'anonymous 16', 'codec 401']) {
            expect({ key, enough: (counts.get(key) ?? 0) >= 600 }).toEqual({ key, enough: true });
          }
          const expected = ['AuthorizerProxyDenialBurst', 'AuthorizerProxyUnauthenticatedBurst', 'CodecServerRefusalBurst'];
          let raised: string[] = [];
          await waitUntil('the burst alerts to be pending or firing', async () => {
            raised = [...new Set((await query(port, `ALERTS{alertname=~"${expected.join('|')}"}`)).map((a) => a.metric.alertname))].sort();
            return raised.length === expected.length;
          }, { timeoutMs: 60_000, intervalMs: 2000 }).catch(() => undefined);
          expect(raised).toEqual(expected);
        }), 3 * MINUTE);
    });
  });
}
