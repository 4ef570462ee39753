/**
 * The audit record of one call and the Prometheus metrics (prom-client) of the proxy; the loggers are the security
 * core's (services/security/observability.ts).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the audit line of one call says. Never a token, a key or a payload. */
export interface AuditRecord {
  readonly identity: string;
  /** How the caller authenticated: `mtls`, `jwt`, `apikey` (with a certificate too: `jwt+mtls`, `apikey+mtls`), or `none`. */
  readonly auth: string;
  readonly namespace?: string;
  readonly api: string;
  readonly decision: 'allow' | 'deny';
  readonly reason: string;
  readonly latencyMs: number;
  /** gRPC status code name of the answer (OK, PERMISSION_DENIED, UNAVAILABLE ...). */
  readonly status: string;
  /** The policy rules that matched. */
  readonly rules?: readonly string[];
}

export class ProxyMetrics {
  public readonly registry = new Registry();
  public readonly calls: Counter<'api' | 'decision' | 'status'>;
  public readonly latency: Histogram<'api' | 'decision'>;
  public readonly inFlight: Gauge;
  public readonly reloadFailures: Counter<'what'>;
  public readonly keySetFailures: Counter;
  public readonly bufferedBytes: Gauge;
  /** Where the buffered-bytes gauge reads its value at scrape time. */
  public bufferedSource: () => number = () => 0;
  public readonly connections: Gauge;
  /** Where the open-connections gauge reads its value at scrape time. */
  public connectionsSource: () => number = () => 0;

  public constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'authorizer_proxy_' });
    this.calls = new Counter({ name: 'authorizer_proxy_calls_total', help: 'Calls by API, decision and gRPC status',
      labelNames: ['api', 'decision', 'status'], registers: [this.registry] });
    this.latency = new Histogram({ name: 'authorizer_proxy_call_duration_seconds', help: 'Call latency through the proxy',
      labelNames: ['api', 'decision'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 75],
      registers: [this.registry] });
    this.inFlight = new Gauge({ name: 'authorizer_proxy_calls_in_flight', help: 'Calls being served', registers: [this.registry] });
    this.reloadFailures = new Counter({ name: 'authorizer_proxy_reload_failures_total',
      help: 'Failed reloads of a file (policy, signing key, serving or client certificate, API keys)', labelNames: ['what'],
      registers: [this.registry] });
    this.keySetFailures = new Counter({ name: 'authorizer_proxy_identity_provider_key_fetch_failures_total',
      help: 'Failed fetches of the identity provider\'s signing keys (the last keys fetched stay in use, up to their staleness bound)',
      registers: [this.registry] });
    const source = (): number => this.bufferedSource();
    this.bufferedBytes = new Gauge({ name: 'authorizer_proxy_buffered_request_bytes',
      help: 'Bytes of request messages held while calls are decided', registers: [this.registry],
      collect() {
        this.set(source());
      } });
    const open = (): number => this.connectionsSource();
    this.connections = new Gauge({ name: 'authorizer_proxy_connections', help: 'Client connections open (at most maxConnections)',
      registers: [this.registry],
      collect() {
        this.set(open());
      } });
  }

  public record(record: AuditRecord): void {
    this.calls.inc({ api: record.api, decision: record.decision, status: record.status });
    this.latency.observe({ api: record.api, decision: record.decision }, record.latencyMs / 1000);
  }
}
