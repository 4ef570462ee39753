/**
 * Optional monitors for a Prometheus run by the prometheus-operator (kube-prometheus-stack and the like): a PodMonitor
 * per component that describes a metrics endpoint (the component seam's `metrics`: a component of your own gets one
 * too), and a PrometheusRule with the deployment's alerts (alerts.ts). Off by default, as in the Helm chart: the
 * operator's CustomResourceDefinitions must exist in the cluster first.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  PodMonitor, PodMonitorSpecPodMetricsEndpointsScheme, PrometheusRule, PrometheusRuleSpecGroupsRulesExpr,
} from '../../imports/monitoring.coreos.com';
import { IComponent } from '../core/component';
import { ValidationError } from '../core/errors';
import { Installation } from '../core/installation';
import { componentLabels } from '../core/labels';
import { AlertGroup, alertGroups, AlertThresholds, thresholdsOf } from './alerts';
import type * as Dashboards from './dashboards';

/** The monitors of a deployment (chart prop `monitors`). */
export interface MonitorsProps {
  /** A PodMonitor (monitoring.coreos.com/v1) per component with a metrics endpoint. @default false */
  readonly podMonitors?: boolean;
  /** A PrometheusRule with the alerts of docs/OPERATIONS.md "Alerts". @default false */
  readonly alertRules?: boolean;
  /**
   * A Grafana dashboard of the deployment, in a ConfigMap labelled for Grafana's dashboard sidecar
   * (`dashboardLabels`). @default false
   */
  readonly dashboards?: boolean;
  /**
   * The labels Grafana's dashboard sidecar looks for (kube-prometheus-stack's default is `grafana_dashboard: "1"`).
   * @default { grafana_dashboard: '1' }
   */
  readonly dashboardLabels?: Readonly<Record<string, string>>;
  /**
   * Labels on the monitors and the rule, for the Prometheus' selectors (kube-prometheus-stack selects
   * `release: <its release name>` unless told otherwise).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /** Alert thresholds; each has a default (docs/OPERATIONS.md "Alerts"). */
  readonly thresholds?: AlertThresholds;
  /**
   * The label of cert-manager's metrics that carries a Certificate's namespace: `exported_namespace` when Prometheus
   * does not honor cert-manager's labels (the usual ServiceMonitor), `namespace` when it does.
   * @default 'exported_namespace'
   */
  readonly certManagerNamespaceLabel?: 'exported_namespace' | 'namespace';
  /**
   * Where the runbooks are: each alert's `runbook_url` is this plus `#alert-<name>`.
   * @default - the `runbook` annotation names the section of docs/OPERATIONS.md
   */
  readonly runbookBaseUrl?: string;
}

export interface TemporalMonitorsProps extends MonitorsProps {
  readonly installation: Installation;
  /** The deployment's components (each with a `metrics` endpoint gets a PodMonitor). */
  readonly components: readonly IComponent[];
  readonly authorizerProxy: boolean;
  readonly codecServer: boolean;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Throws `INVALID_MONITORING` for a label key or value Kubernetes would refuse, or a runbook URL that is not one. */
export function validateMonitorsProps(path: string, props: MonitorsProps): void {
  const labelSets = [['labels', props.labels, 'a label the Prometheus selects monitors by, e.g. { release: "kube-prometheus-stack" }'],
    ['dashboardLabels', props.dashboardLabels, 'the label Grafana\'s dashboard sidecar looks for, e.g. { grafana_dashboard: "1" }']] as const;
  for (const [field, labels, example] of labelSets) {
    for (const [key, value] of Object.entries(labels ?? {})) {
      if (!LABEL_KEY.test(key) || typeof value !== 'string' || !LABEL_VALUE.test(value)) {
        throw new ValidationError('INVALID_MONITORING', `${path}/${field}`, 'is not a valid Kubernetes label', `${key}: ${String(value)}`,
          `use ${example}`);
      }
    }
  }
  if (props.runbookBaseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(props.runbookBaseUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || !['https:', 'http:'].includes(url.protocol) || url.hash !== '') {
      throw new ValidationError('INVALID_MONITORING', `${path}/runbookBaseUrl`, 'must be an http(s) URL without a fragment',
        props.runbookBaseUrl, 'e.g. "https://git.example.com/platform/temporal/blob/main/docs/OPERATIONS.md"');
    }
  }
  thresholdsOf(path, props.thresholds);
}

export class TemporalMonitors extends Construct {
  /** The alert groups of the PrometheusRule (empty when `alertRules` is off). */
  public readonly groups: readonly AlertGroup[];
  /** The PodMonitors, by component id. */
  public readonly podMonitors: ReadonlyMap<string, PodMonitor>;
  /** The ConfigMap of the Grafana dashboard, when `dashboards` is on. */
  public readonly dashboards?: ApiObject;

  public constructor(scope: Construct, id: string, props: TemporalMonitorsProps) {
    super(scope, id);
    validateMonitorsProps(this.node.path, props);
    const { installation } = props;
    const labels = (component: string) => ({ ...componentLabels(installation.name, component), ...props.labels });
    const monitors = new Map<string, PodMonitor>();
    if (props.podMonitors === true) {
      for (const component of props.components) {
        const description = component.description;
        const metrics = description.metrics;
        if (metrics === undefined) {
          continue;
        }
        monitors.set(description.id, new PodMonitor(this, `${description.id}-pods`, {
          metadata: { name: `${installation.name}-${description.id}`, labels: labels(description.id) },
          spec: {
            selector: { matchLabels: { ...description.selector } },
            podMetricsEndpoints: [{
              port: metrics.port.name,
              path: metrics.path ?? '/metrics',
              scheme: metrics.scheme === 'https' ? PodMonitorSpecPodMetricsEndpointsScheme.HTTPS : PodMonitorSpecPodMetricsEndpointsScheme.HTTP,
            }],
          },
        }));
      }
    }
    this.podMonitors = monitors;
    this.groups = props.alertRules === true ? alertGroups(this.node.path, {
      namespace: installation.namespace, thresholds: props.thresholds, certManagerNamespaceLabel: props.certManagerNamespaceLabel,
      authorizerProxy: props.authorizerProxy, codecServer: props.codecServer,
    }) : [];
    if (props.dashboards === true) {
      // Loaded only when asked for: Grafana's SDK is a large module that a synth without dashboards need not load.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { temporalDashboard } = require('./dashboards') as typeof Dashboards;
      const json = JSON.stringify(temporalDashboard({ namespace: installation.namespace, instance: installation.name,
        authorizerProxy: props.authorizerProxy, codecServer: props.codecServer }), null, 2);
      this.dashboards = new k8s.KubeConfigMap(this, 'Dashboards', {
        metadata: { name: `${installation.name}-dashboards`, labels: { ...labels('dashboards'), ...(props.dashboardLabels ?? { grafana_dashboard: '1' }) } },
        data: { [`${installation.name}-${installation.namespace}.json`]: `${json}\n` },
      });
    }
    if (this.groups.length > 0) {
      new PrometheusRule(this, 'Alerts', {
        metadata: { name: `${installation.name}-alerts`, labels: labels('alerts') },
        spec: {
          groups: this.groups.map((group) => ({
            name: group.name,
            rules: group.rules.map((r) => ({
              alert: r.alert,
              expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
              for: r.for,
              labels: { severity: r.severity },
              annotations: {
                summary: r.summary,
                ...(props.runbookBaseUrl !== undefined ? { runbook_url: `${props.runbookBaseUrl}#${r.runbook}` }
                  : { runbook: `docs/OPERATIONS.md#${r.runbook}` }),
              },
            })),
          })),
        },
      });
    }
  }
}
