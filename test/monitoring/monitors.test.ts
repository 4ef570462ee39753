/**
 * The chart's optional monitors: a PodMonitor per component that describes a metrics endpoint (selecting exactly its
 * pods, on a port they listen on), the PrometheusRule of the deployment's alerts, each with its runbook in
 * docs/OPERATIONS.md, and the metric names the alerts read from the project's own programs existing in their sources.
 * The live scrape of these names on the real server is the end-to-end tier's (test/e2e/monitoring.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { alertGroups, DEFAULT_ALERT_THRESHOLDS } from '../../lib/monitoring/alerts';
import { expectValidationError, findAll, findObject, K8sObject, podTemplates } from '../util';

const root = join(__dirname, '..', '..');

function synth(props: SecureTemporalChartProps = {}): K8sObject[] {
  const app = new App({ outdir: '/nonexistent' });
  return new SecureTemporalChart(app, 'temporal', props).toJson() as K8sObject[];
}

interface PodMonitorSpec {
  selector: { matchLabels: Record<string, string> };
  podMetricsEndpoints: { port: string; path: string; scheme: string }[];
}
interface RuleSpec {
  groups: {
    name: string;
    rules: { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }[];
  }[];
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('monitors', () => {
  test('are off by default: no PodMonitor, no PrometheusRule', () => {
    const objs = synth();
    expect(objs.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
  });

  describe('PodMonitors', () => {
    const objs = synth({ monitors: { podMonitors: true, labels: { release: 'kube-prometheus-stack' } } });
    const monitors = findAll(objs, 'PodMonitor');
    const pods = podTemplates(objs);

    test('one per component with a metrics endpoint: the server services, the proxy and the codec server', () => {
      expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['temporal-authorizer-proxy', 'temporal-codec', 'temporal-frontend',
        'temporal-history', 'temporal-internal-frontend', 'temporal-matching', 'temporal-worker']);
      expect(findAll(objs, 'PrometheusRule')).toEqual([]);
    });

    test.each(['temporal-authorizer-proxy', 'temporal-codec', 'temporal-frontend', 'temporal-history', 'temporal-internal-frontend',
      'temporal-matching', 'temporal-worker'])('%s selects exactly one workload\'s pods, on a port they declare with the annotations\' number',
      (name) => {
        const monitor = findObject(objs, 'PodMonitor', name);
        const spec = monitor.spec as PodMonitorSpec;
        const selected = pods.filter((p) => matches(spec.selector.matchLabels, p.metadata.labels as Record<string, string>));
        expect(selected.map((p) => `${p.kind}/${p.name}`)).toEqual([`Deployment/${name}`]);
        const [pod] = selected;
        expect(spec.podMetricsEndpoints).toHaveLength(1);
        const [endpoint] = spec.podMetricsEndpoints;
        const port = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === endpoint.port);
        expect(port).toBeDefined();
        expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port?.containerPort),
          'prometheus.io/path': endpoint.path });
        expect(endpoint.scheme).toBe('http');
        expect(monitor.metadata.namespace).toBe('temporal');
        expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
      });

    test('the NetworkPolicy of each monitored workload admits the monitoring namespace on that port, and nothing more for it', () => {
      for (const monitor of monitors) {
        const spec = monitor.spec as PodMonitorSpec;
        const policy = findAll(objs, 'NetworkPolicy').find((p) => matches(p.spec?.podSelector?.matchLabels ?? {}, spec.selector.matchLabels)
          && Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length > 0);
        const pod = pods.find((p) => p.name === monitor.metadata.name);
        const port = pod?.spec.containers.flatMap((c) => c.ports ?? [])
          .find((p) => p.name === spec.podMetricsEndpoints[0].port)?.containerPort;
        const fromMonitoring = (policy?.spec?.ingress ?? []).filter((r) => (r.from ?? []).some((f) =>
          f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring'));
        expect({ monitor: monitor.metadata.name, rules: fromMonitoring.map((r) => r.ports) })
          .toEqual({ monitor: monitor.metadata.name, rules: [[{ port, protocol: 'TCP' }]] });
      }
    });
  });

  describe('the PrometheusRule', () => {
    const objs = synth({ monitors: { alertRules: true } });
    const rule = findObject(objs, 'PrometheusRule', 'temporal-alerts');
    const groups = (rule.spec as RuleSpec).groups;
    const alerts = groups.flatMap((g) => g.rules);
    const operations = readFileSync(join(root, 'docs', 'OPERATIONS.md'), 'utf8');

    test('has the groups of the deployment, and no PodMonitor', () => {
      expect(groups.map((g) => g.name)).toEqual(['temporal-certificates', 'temporal-server', 'temporal-authorizer-proxy',
        'temporal-codec-server', 'temporal-api-keys']);
      expect(findAll(objs, 'PodMonitor')).toEqual([]);
      expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    });

    test('every alert has a severity, a summary, and a runbook section in docs/OPERATIONS.md', () => {
      for (const a of alerts) {
        expect(['warning', 'critical']).toContain(a.labels.severity);
        expect(a.annotations.summary.length).toBeGreaterThan(10);
        const anchor = `alert-${a.alert.toLowerCase()}`;
        expect(a.annotations.runbook).toBe(`docs/OPERATIONS.md#${anchor}`);
        expect({ alert: a.alert, documented: operations.includes(`<a id="${anchor}"></a>`) }).toEqual({ alert: a.alert, documented: true });
      }
    });

    test('every expression selects the deployment\'s namespace', () => {
      for (const a of alerts) {
        expect({ alert: a.alert, selects: /(exported_)?namespace="temporal"/.test(a.expr) }).toEqual({ alert: a.alert, selects: true });
      }
    });

    test('the metrics of the project\'s own programs that the alerts read are defined in their sources', () => {
      const sources = ['services/authorizer-proxy', 'services/codec-server', 'services/security'].flatMap((dir) =>
        readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, dir, f), 'utf8'))).join('\n');
      const own = [...new Set(alerts.flatMap((a) => a.expr.match(/\b(authorizer_proxy|codec_server)_[a-z_]+/g) ?? []))];
      expect(own.length).toBeGreaterThan(5);
      for (const name of own) {
        // Counters and gauges are named whole; the API key gauge by its `<prefix>_api_key_expiry_days` template.
        const defined = sources.includes(`'${name}'`) || (name.endsWith('_api_key_expiry_days') && sources.includes('_api_key_expiry_days`'));
        expect({ name, defined }).toEqual({ name, defined: true });
      }
    });

    test('thresholds are the defaults, or what is set', () => {
      const expr = (props: SecureTemporalChartProps, alert: string) => ((findObject(synth(props), 'PrometheusRule', 'temporal-alerts')
        .spec as RuleSpec).groups.flatMap((g) => g.rules).find((r) => r.alert === alert)?.expr ?? '');
      expect(expr({ monitors: { alertRules: true } }, 'AuthorizerProxyDenialBurst'))
        .toMatch(new RegExp(`> ${DEFAULT_ALERT_THRESHOLDS.deniedCallsPerSecond}$`));
      expect(expr({ monitors: { alertRules: true, thresholds: { deniedCallsPerSecond: 25 } } }, 'AuthorizerProxyDenialBurst')).toMatch(/> 25$/);
      expect(expr({ monitors: { alertRules: true, thresholds: { apiKeyExpiryDays: 30 } } }, 'ApiKeyExpiringSoon')).toContain('< 30 and');
      expect(expr({ monitors: { alertRules: true, certManagerNamespaceLabel: 'namespace' } }, 'CertManagerCertificateNotReady'))
        .toContain('certmanager_certificate_ready_status{namespace="temporal", condition!="True"}');
    });

    test('a runbook base URL gives each alert a runbook_url', () => {
      const a = (findObject(synth({ monitors: { alertRules: true, runbookBaseUrl: 'https://git.example.com/ops/OPERATIONS.md' } }),
        'PrometheusRule', 'temporal-alerts').spec as RuleSpec).groups[0].rules[0];
      expect(a.annotations).toEqual({ summary: expect.any(String) as string,
        runbook_url: 'https://git.example.com/ops/OPERATIONS.md#alert-temporalcertificateexpiring' });
    });

    test('without the proxy or the codec server, their alerts are left out', () => {
      const names = (props: SecureTemporalChartProps) => alertGroups('x', { namespace: 'temporal', ...props as object }).map((g) => g.name);
      expect(names({ authorizerProxy: false, codecServer: false } as never)).toEqual(['temporal-certificates', 'temporal-server']);
      const noCodec = (findObject(synth({ codecServer: false, monitors: { alertRules: true } }), 'PrometheusRule', 'temporal-alerts')
        .spec as RuleSpec).groups;
      expect(noCodec.map((g) => g.name)).not.toContain('temporal-codec-server');
      expect(noCodec.flatMap((g) => g.rules).find((r) => r.alert === 'ApiKeyExpired')?.expr).not.toContain('codec_server');
    });
  });

  describe('the Grafana dashboard', () => {
    const objs = synth({ monitors: { dashboards: true } });
    const map = findObject(objs, 'ConfigMap', 'temporal-dashboards');
    const [[key, json]] = Object.entries(map.data ?? {});
    const model = JSON.parse(json) as { uid: string; title: string; templating: { list: { name: string; type: string }[] };
      panels: { type: string; title: string; targets?: { expr: string; datasource: { uid: string } }[] }[] };
    const targets = model.panels.flatMap((p) => p.targets ?? []);

    test('is a ConfigMap for Grafana\'s dashboard sidecar, with one dashboard and nothing else of the monitors', () => {
      expect(map.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(key).toBe('temporal-temporal.json');
      expect(findAll(objs, 'PodMonitor')).toEqual([]);
      expect(findAll(objs, 'PrometheusRule')).toEqual([]);
      expect(model.uid).toBe('temporal-temporal');
      expect(model.templating.list).toEqual([expect.objectContaining({ name: 'datasource', type: 'datasource' })]);
    });

    test('has rows for the server, the proxy and the codec server, and panels whose queries select the deployment\'s pods', () => {
      expect(model.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual(['Temporal server', 'Authorizer proxy', 'Codec server']);
      expect(targets.length).toBeGreaterThan(12);
      for (const t of targets) {
        expect({ expr: t.expr, selects: t.expr.includes('namespace="temporal"') }).toEqual({ expr: t.expr, selects: true });
        expect(t.datasource.uid).toBe('${datasource}');
      }
    });

    test('its queries read metrics the project\'s programs define, and the same JSON every synth', () => {
      const own = [...new Set(targets.flatMap((t) => t.expr.match(/\b(authorizer_proxy|codec_server)_[a-z_]+/g) ?? []))];
      const sources = ['services/authorizer-proxy', 'services/codec-server', 'services/security'].flatMap((dir) =>
        readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, dir, f), 'utf8'))).join('\n');
      for (const name of own) {
        const base = name.replace(/_bucket$/, '');
        const defined = sources.includes(`'${base}'`) || (name.endsWith('_api_key_expiry_days') && sources.includes('_api_key_expiry_days`'));
        expect({ name, defined }).toEqual({ name, defined: true });
      }
      expect(Object.values(findObject(synth({ monitors: { dashboards: true } }), 'ConfigMap', 'temporal-dashboards').data ?? {})[0]).toBe(json);
    });

    test('without the codec server its row is left out; other sidecar labels can be set', () => {
      const other = synth({ codecServer: false, monitors: { dashboards: true, dashboardLabels: { 'grafana.io/dashboard': 'temporal' } } });
      const m = findObject(other, 'ConfigMap', 'temporal-dashboards');
      expect(m.metadata.labels?.grafana_dashboard).toBeUndefined();
      expect(m.metadata.labels?.['grafana.io/dashboard']).toBe('temporal');
      const rows = (JSON.parse(Object.values(m.data ?? {})[0]) as typeof model).panels.filter((p) => p.type === 'row').map((p) => p.title);
      expect(rows).toEqual(['Temporal server', 'Authorizer proxy']);
    });
  });

  describe('bad input', () => {
    test.each([
      [{ thresholds: { deniedCallsPerSecond: 0 } }, 'temporal/Monitors/thresholds/deniedCallsPerSecond', '0'],
      [{ thresholds: { serverErrorRatio: 5 } }, 'temporal/Monitors/thresholds/serverErrorRatio', '5'],
      [{ thresholds: { apiKeyExpiryDays: Number.NaN } }, 'temporal/Monitors/thresholds/apiKeyExpiryDays', 'NaN'],
      [{ labels: { 'bad key!': 'x' } }, 'temporal/Monitors/labels', undefined],
      [{ runbookBaseUrl: 'ftp://example.com/runbooks' }, 'temporal/Monitors/runbookBaseUrl', undefined],
      [{ runbookBaseUrl: 'https://example.com/ops#top' }, 'temporal/Monitors/runbookBaseUrl', undefined],
      [{ dashboardLabels: { grafana_dashboard: 'not ok!' } }, 'temporal/Monitors/dashboardLabels', undefined],
    ])('%j is refused, naming the field and the fix', (monitors, path, value) => {
      expectValidationError(() => synth({ monitors: { alertRules: true, podMonitors: true, ...monitors } as never }), 'INVALID_MONITORING',
        { path, value });
    });

    test('PodMonitors with no monitoring peer admitted are refused (the scrapes would be dropped)', () => {
      expectValidationError(() => synth({ monitoring: false, monitors: { podMonitors: true } }), 'INVALID_MONITORING',
        { path: 'temporal/monitors', value: '"podMonitors"' });
    });
  });
});
