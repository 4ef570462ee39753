/**
 * The alerts of a deployment, as Prometheus alerting rules: certificates (Temporal's own expiry checks and
 * cert-manager's), the authorizer proxy (denial and unauthenticated bursts, reload and key-fetch failures, the frontend
 * refusing the tokens it signs), the codec server (errors, refusals, capacity), API keys close to expiry, and the
 * server (error ratio, persistence errors and latency, workflow-task schedule-to-start latency, task queues without
 * pollers). Pure: the PrometheusRule (monitors.ts) and `promtool` read the same groups. Each alert names its runbook,
 * a section of docs/OPERATIONS.md ("Alerts").
 *
 * Every expression selects the deployment's pods by the `namespace` target label a PodMonitor gives them; the
 * server's own `namespace` label (a Temporal namespace) is then `exported_namespace`.
 */
import { ValidationError } from '../core/errors';

/** Thresholds of the alerts; each has a default (the documented one). */
export interface AlertThresholds {
  /** Calls the proxy refused for want of a role, per second over 5 minutes. @default 1 */
  readonly deniedCallsPerSecond?: number;
  /** Calls the proxy refused for want of a valid credential, per second over 5 minutes. @default 1 */
  readonly unauthenticatedCallsPerSecond?: number;
  /** Codec requests refused (401, 403), per second over 5 minutes. @default 1 */
  readonly codecRefusalsPerSecond?: number;
  /** Days before an API key's expiry that it is reported. @default 14 */
  readonly apiKeyExpiryDays?: number;
  /** Days before a cert-manager Certificate's expiry that it is reported (it should have been renewed long before). @default 7 */
  readonly certificateExpiryDays?: number;
  /** Server errors (Internal, Unavailable, DataLoss, Unknown) per request of a service. @default 0.05 */
  readonly serverErrorRatio?: number;
  /** Persistence errors per persistence request of a service. @default 0.01 */
  readonly persistenceErrorRatio?: number;
  /** p99 persistence latency of a service, in seconds. @default 1 */
  readonly persistenceLatencySeconds?: number;
  /** p95 schedule-to-start latency of workflow tasks of a Temporal namespace, in seconds. @default 5 */
  readonly workflowTaskScheduleToStartSeconds?: number;
}

export const DEFAULT_ALERT_THRESHOLDS: Required<AlertThresholds> = {
  deniedCallsPerSecond: 1,
  unauthenticatedCallsPerSecond: 1,
  codecRefusalsPerSecond: 1,
  apiKeyExpiryDays: 14,
  certificateExpiryDays: 7,
  serverErrorRatio: 0.05,
  persistenceErrorRatio: 0.01,
  persistenceLatencySeconds: 1,
  workflowTaskScheduleToStartSeconds: 5,
};

/** One alerting rule, with what an operator needs to act on it. */
export interface AlertRule {
  /** The alert's name (`alertname`), also its runbook's heading. */
  readonly alert: string;
  readonly expr: string;
  /** How long the expression must hold before the alert fires (Prometheus duration). */
  readonly for: string;
  readonly severity: 'warning' | 'critical';
  /** One line, with `{{ $labels.x }}` where a label says which. */
  readonly summary: string;
  /** The fragment of docs/OPERATIONS.md's runbook: `alert-<name in lower case>`. */
  readonly runbook: string;
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface AlertOptions {
  /** The namespace of the deployment's pods. */
  readonly namespace: string;
  readonly thresholds?: AlertThresholds;
  /**
   * The label that carries a cert-manager Certificate's namespace on its metrics: `exported_namespace` when Prometheus
   * scrapes cert-manager without honoring its labels (the usual ServiceMonitor), `namespace` when it honors them.
   * @default 'exported_namespace'
   */
  readonly certManagerNamespaceLabel?: 'exported_namespace' | 'namespace';
  /** Whether the authorizer proxy runs. @default true */
  readonly authorizerProxy?: boolean;
  /** Whether the codec server runs. @default true */
  readonly codecServer?: boolean;
}

const runbook = (alert: string): string => `alert-${alert.toLowerCase()}`;

const rule = (alert: string, expr: string, forDuration: string, severity: AlertRule['severity'], summary: string): AlertRule =>
  ({ alert, expr, for: forDuration, severity, summary, runbook: runbook(alert) });

/** The thresholds with their defaults; `INVALID_MONITORING` naming the field for one that is not a positive number (a ratio below 1). */
export function thresholdsOf(path: string, given: AlertThresholds = {}): Required<AlertThresholds> {
  const out = { ...DEFAULT_ALERT_THRESHOLDS, ...given };
  for (const [key, value] of Object.entries(out)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ValidationError('INVALID_MONITORING', `${path}/thresholds/${key}`, 'must be a positive number', value,
        `set a positive number or leave it out for the default (${String(DEFAULT_ALERT_THRESHOLDS[key as keyof AlertThresholds])})`);
    }
  }
  for (const key of ['serverErrorRatio', 'persistenceErrorRatio'] as const) {
    if (out[key] >= 1) {
      throw new ValidationError('INVALID_MONITORING', `${path}/thresholds/${key}`, 'is a ratio of errors to requests, below 1', out[key],
        `set a ratio such as ${DEFAULT_ALERT_THRESHOLDS[key]}`);
    }
  }
  return out;
}

/** A program's reloads failing (the previous file stays in force) and its identity provider's keys not fetched. */
function fileAndKeyAlerts(alertPrefix: string, metricPrefix: string, ns: string): AlertRule[] {
  return [
    // The counter has a series per file from its first failure on, and `increase` cannot see a series' first value
    // rise: a series younger than the window counts by its value (first: `or` keeps the left side of equal labels).
    rule(`${alertPrefix}ReloadFailing`, `sum by (namespace, pod, what) ((${metricPrefix}_reload_failures_total{${ns}}`
      + ` unless ${metricPrefix}_reload_failures_total{${ns}} offset 15m) or increase(${metricPrefix}_reload_failures_total{${ns}}[15m])) > 0`,
    '0m', 'warning', '{{ $labels.pod }} could not reload its {{ $labels.what }}: the previous one stays in force'),
    rule(`${alertPrefix}IdentityProviderKeysFailing`,
      `sum by (namespace, pod) (increase(${metricPrefix}_identity_provider_key_fetch_failures_total{${ns}}[15m])) > 0`,
      '10m', 'warning', '{{ $labels.pod }} cannot fetch the identity provider\'s signing keys'),
  ];
}

/** The deployment's alerting rules, in groups. `path` names the construct in errors. */
export function alertGroups(path: string, options: AlertOptions): AlertGroup[] {
  const t = thresholdsOf(path, options.thresholds);
  const ns = `namespace="${options.namespace}"`;
  const cm = `${options.certManagerNamespaceLabel ?? 'exported_namespace'}="${options.namespace}"`;
  const proxy = options.authorizerProxy ?? true;
  const codec = options.codecServer ?? true;
  const groups: AlertGroup[] = [
    {
      name: 'temporal-certificates',
      rules: [
        rule('TemporalCertificateExpiring', `max by (namespace, pod) (certificates_expiring{${ns}}) > 0`, '15m', 'warning',
          '{{ $labels.pod }} serves or presents a certificate inside its expiry warning window'),
        rule('TemporalCertificateExpired', `max by (namespace, pod) (certificates_expired{${ns}}) > 0`, '1m', 'critical',
          '{{ $labels.pod }} holds an expired certificate'),
        rule('CertManagerCertificateExpiringSoon',
          `min by (name, ${options.certManagerNamespaceLabel ?? 'exported_namespace'}) (certmanager_certificate_expiration_timestamp_seconds{${cm}}) - time() < ${t.certificateExpiryDays * 86400}`,
          '1h', 'warning', 'Certificate {{ $labels.name }} expires in less than ' + `${t.certificateExpiryDays} days and has not been renewed`),
        rule('CertManagerCertificateNotReady',
          `max by (name, ${options.certManagerNamespaceLabel ?? 'exported_namespace'}) (certmanager_certificate_ready_status{${cm}, condition!="True"}) == 1`,
          '15m', 'critical', 'Certificate {{ $labels.name }} is not Ready'),
      ],
    },
    {
      name: 'temporal-server',
      rules: [
        rule('TemporalServerErrorRatio',
          `sum by (namespace, service_name) (rate(service_error_with_type{${ns}, error_type=~".*(Internal|Unavailable|DataLoss|Unknown).*"}[5m]))`
          + ` / sum by (namespace, service_name) (rate(service_requests{${ns}}[5m])) > ${t.serverErrorRatio}`,
          '10m', 'critical', '{{ $labels.service_name }} answers more than ' + `${t.serverErrorRatio * 100} % of its requests with a server error`),
        rule('TemporalPersistenceErrors',
          `sum by (namespace, service_name) (rate(persistence_errors{${ns}}[5m]))`
          + ` / sum by (namespace, service_name) (rate(persistence_requests{${ns}}[5m])) > ${t.persistenceErrorRatio}`,
          '10m', 'critical', '{{ $labels.service_name }}: more than ' + `${t.persistenceErrorRatio * 100} % of its database calls fail`),
        rule('TemporalPersistenceLatencyHigh',
          `histogram_quantile(0.99, sum by (namespace, service_name, le) (rate(persistence_latency_bucket{${ns}}[5m]))) > ${t.persistenceLatencySeconds}`,
          '15m', 'warning', '{{ $labels.service_name }}: p99 database latency above ' + `${t.persistenceLatencySeconds} s`),
        rule('TemporalWorkflowTaskScheduleToStartHigh',
          'histogram_quantile(0.95, sum by (namespace, exported_namespace, le) '
          + `(rate(task_schedule_to_start_latency_bucket{${ns}, task_type="Workflow"}[5m]))) > ${t.workflowTaskScheduleToStartSeconds}`,
          '10m', 'warning', 'Workflow tasks of {{ $labels.exported_namespace }} wait more than '
          + `${t.workflowTaskScheduleToStartSeconds} s for a worker (p95)`),
        // A queue's series is born with its first unpolled task, at 1: `increase` cannot see a series' first value rise, so
        // a series younger than the window counts by its value (as the reload failures do).
        rule('TemporalTaskQueueNoPollers',
          `sum by (namespace, exported_namespace, taskqueue) ((no_poller_tasks{${ns}} unless no_poller_tasks{${ns}} offset 10m)`
          + ` or increase(no_poller_tasks{${ns}}[10m])) > 0`,
          '5m', 'warning', 'Tasks are added to {{ $labels.exported_namespace }}/{{ $labels.taskqueue }}, which no worker has polled for 2 minutes'),
      ],
    },
  ];
  if (proxy) {
    groups.push({
      name: 'temporal-authorizer-proxy',
      rules: [
        rule('AuthorizerProxyDenialBurst',
          `sum by (namespace) (rate(authorizer_proxy_calls_total{${ns}, status="PERMISSION_DENIED"}[5m])) > ${t.deniedCallsPerSecond}`,
          '5m', 'warning', 'The authorizer proxy refuses more than ' + `${t.deniedCallsPerSecond} calls/s for want of a role`),
        rule('AuthorizerProxyUnauthenticatedBurst',
          `sum by (namespace) (rate(authorizer_proxy_calls_total{${ns}, status="UNAUTHENTICATED"}[5m])) > ${t.unauthenticatedCallsPerSecond}`,
          '5m', 'warning', 'The authorizer proxy refuses more than ' + `${t.unauthenticatedCallsPerSecond} calls/s for want of a valid credential`),
        ...fileAndKeyAlerts('AuthorizerProxy', 'authorizer_proxy', ns),
        rule('TemporalFrontendRefusesProxyTokens',
          `sum by (namespace) (rate(service_errors_unauthorized{${ns}, service_name="frontend"}[5m])) > 0`
          + ` and on (namespace) sum by (namespace) (rate(authorizer_proxy_calls_total{${ns}, decision="allow"}[5m])) > 0`,
          '10m', 'critical', 'The frontend refuses calls the authorizer proxy allowed: it cannot verify the proxy\'s tokens'),
      ],
    });
  }
  if (codec) {
    groups.push({
      name: 'temporal-codec-server',
      rules: [
        rule('CodecServerErrors', `sum by (namespace) (rate(codec_server_requests_total{${ns}, status="500"}[5m])) > 0`,
          '5m', 'critical', 'The codec server fails requests (500)'),
        rule('CodecServerAtCapacity', `sum by (namespace) (rate(codec_server_requests_total{${ns}, status="503"}[5m])) > 0`,
          '10m', 'warning', 'The codec server turns requests away (503): its memory budget is taken'),
        rule('CodecServerRefusalBurst',
          `sum by (namespace) (rate(codec_server_requests_total{${ns}, status=~"401|403"}[5m])) > ${t.codecRefusalsPerSecond}`,
          '5m', 'warning', 'The codec server refuses more than ' + `${t.codecRefusalsPerSecond} requests/s (401, 403)`),
        ...fileAndKeyAlerts('CodecServer', 'codec_server', ns),
      ],
    });
  }
  if (proxy || codec) {
    const keyMetrics = [...proxy ? ['authorizer_proxy_api_key_expiry_days'] : [], ...codec ? ['codec_server_api_key_expiry_days'] : []];
    const days = `{__name__=~"${keyMetrics.join('|')}", ${ns}}`;
    groups.push({
      name: 'temporal-api-keys',
      rules: [
        rule('ApiKeyExpiringSoon', `min by (namespace, key_id, owner) (${days}) < ${t.apiKeyExpiryDays} and min by (namespace, key_id, owner) (${days}) >= 0`,
          '1h', 'warning', 'API key {{ $labels.key_id }} of {{ $labels.owner }} expires in less than ' + `${t.apiKeyExpiryDays} days`),
        rule('ApiKeyExpired', `min by (namespace, key_id, owner) (${days}) < 0`, '0m', 'critical',
          'API key {{ $labels.key_id }} of {{ $labels.owner }} has expired and is refused'),
      ],
    });
  }
  return groups;
}
