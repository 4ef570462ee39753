/**
 * The deployment's Grafana dashboard, built with Grafana's own foundation SDK (not hand-written JSON): the server
 * (requests and server errors by service, persistence latency and errors, workflow-task schedule-to-start latency),
 * the authorizer proxy (calls by decision and status, latency), the codec server (requests by status, latency) and
 * expiries (certificates inside their warning window, API keys). Every query selects the deployment's pods by the
 * `namespace` label a PodMonitor gives their series, as the alerts do (alerts.ts). monitors.ts puts it in a ConfigMap
 * for Grafana's dashboard sidecar.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export interface DashboardOptions {
  /** The namespace of the deployment's pods. */
  readonly namespace: string;
  /** The installation's name: the dashboard's uid and title carry it. */
  readonly instance: string;
  /** Whether the authorizer proxy runs. @default true */
  readonly authorizerProxy?: boolean;
  /** Whether the codec server runs. @default true */
  readonly codecServer?: boolean;
}

/** One panel: a title, a unit, and its queries (PromQL with `legendFormat`). */
interface PanelSpec {
  readonly title: string;
  readonly unit: string;
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function panel(spec: PanelSpec): timeseries.PanelBuilder {
  const built = new timeseries.PanelBuilder().title(spec.title).unit(spec.unit).datasource(DATASOURCE).height(8).span(12)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List)
      .placement(common.LegendPlacement.Bottom));
  spec.queries.forEach((q, i) => built.withTarget(new prometheus.DataqueryBuilder().expr(q.expr).legendFormat(q.legend)
    .refId(String.fromCharCode(65 + i)).datasource(DATASOURCE)));
  return built;
}

/** The rows of the dashboard, with their panels' queries. Pure: the queries are what the tests check against a scrape. */
export function dashboardRows(options: DashboardOptions): { title: string; panels: PanelSpec[] }[] {
  const n = `namespace="${options.namespace}"`;
  const rows: { title: string; panels: PanelSpec[] }[] = [
    {
      title: 'Temporal server',
      panels: [
        { title: 'Requests by service', unit: 'reqps',
          queries: [{ expr: `sum by (service_name) (rate(service_requests{${n}}[$__rate_interval]))`, legend: '{{service_name}}' }] },
        { title: 'Server errors by service and type', unit: 'reqps', queries: [{
          expr: `sum by (service_name, error_type) (rate(service_error_with_type{${n}}[$__rate_interval]))`,
          legend: '{{service_name}} {{error_type}}' }] },
        { title: 'Persistence latency (p99) by service', unit: 's', queries: [{
          expr: `histogram_quantile(0.99, sum by (service_name, le) (rate(persistence_latency_bucket{${n}}[$__rate_interval])))`,
          legend: '{{service_name}}' }] },
        { title: 'Persistence requests by service', unit: 'reqps', queries: [{
          expr: `sum by (service_name) (rate(persistence_requests{${n}}[$__rate_interval]))`, legend: '{{service_name}}' }] },
        { title: 'Workflow task schedule-to-start (p95) by Temporal namespace', unit: 's', queries: [{
          expr: 'histogram_quantile(0.95, sum by (exported_namespace, le) '
            + `(rate(task_schedule_to_start_latency_bucket{${n}, task_type="Workflow"}[$__rate_interval])))`,
          legend: '{{exported_namespace}}' }] },
        { title: 'Certificates inside their expiry warning window', unit: 'short', queries: [
          { expr: `max by (pod) (certificates_expiring{${n}})`, legend: 'expiring {{pod}}' },
          { expr: `max by (pod) (certificates_expired{${n}})`, legend: 'expired {{pod}}' }] },
      ],
    },
  ];
  if (options.authorizerProxy ?? true) {
    rows.push({
      title: 'Authorizer proxy',
      panels: [
        { title: 'Calls by decision and status', unit: 'reqps', queries: [{
          expr: `sum by (decision, status) (rate(authorizer_proxy_calls_total{${n}}[$__rate_interval]))`, legend: '{{decision}} {{status}}' }] },
        { title: 'Call latency (p99) by API', unit: 's', queries: [{
          expr: `histogram_quantile(0.99, sum by (api, le) (rate(authorizer_proxy_call_duration_seconds_bucket{${n}}[$__rate_interval])))`,
          legend: '{{api}}' }] },
        { title: 'Calls in flight and connections', unit: 'short', queries: [
          { expr: `sum(authorizer_proxy_calls_in_flight{${n}})`, legend: 'calls in flight' },
          { expr: `sum(authorizer_proxy_connections{${n}})`, legend: 'connections' }] },
        { title: 'API keys: days to expiry', unit: 'd', queries: [{
          expr: `min by (key_id, owner) (authorizer_proxy_api_key_expiry_days{${n}})`, legend: '{{key_id}} ({{owner}})' }] },
      ],
    });
  }
  if (options.codecServer ?? true) {
    rows.push({
      title: 'Codec server',
      panels: [
        { title: 'Requests by operation and status', unit: 'reqps', queries: [{
          expr: `sum by (operation, status) (rate(codec_server_requests_total{${n}}[$__rate_interval]))`, legend: '{{operation}} {{status}}' }] },
        { title: 'Request latency (p99) by operation', unit: 's', queries: [{
          expr: `histogram_quantile(0.99, sum by (operation, le) (rate(codec_server_request_duration_seconds_bucket{${n}}[$__rate_interval])))`,
          legend: '{{operation}}' }] },
      ],
    });
  }
  return rows;
}

/** The dashboard as Grafana's JSON model. */
export function temporalDashboard(options: DashboardOptions): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(`Temporal (${options.instance} in ${options.namespace})`)
    .uid(`${options.instance}-${options.namespace}`.slice(0, 40))
    .tags(['temporal'])
    .editable()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
  for (const row of dashboardRows(options)) {
    builder.withRow(new dashboard.RowBuilder(row.title));
    row.panels.forEach((p) => builder.withPanel(panel(p)));
  }
  return builder.build();
}
