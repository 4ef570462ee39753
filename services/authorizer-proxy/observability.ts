/**
 * The audit log (one JSON line per call, pino) and the Prometheus metrics (prom-client) of the proxy.
 */
import pino, { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the audit line of one call says. Never a token, a key or a payload. */
export interface AuditRecord {
  readonly identity: string;
  /** How the caller authenticated: `mtls`, `jwt` (both: `jwt+mtls`), or `none`. */
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

/**
 * The proxy's two loggers on one destination: `log` for its own messages at `level`, and `audit` for the audit lines,
 * always on whatever `level` says (turning service messages down must never turn the audit log off).
 */
export function loggers(level = 'info', destination?: NodeJS.WritableStream): { log: Logger; audit: Logger } {
  // stdout without blocking the event loop on every line; `flush()` (on shutdown) writes out what is left.
  const stream = (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false });
  const options = (lvl: string) => ({
    level: lvl,
    base: { component: 'authorizer-proxy' },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label: string) => ({ level: label }) },
  });
  return { log: pino(options(level), stream), audit: pino(options('info'), stream) };
}

export class ProxyMetrics {
  public readonly registry = new Registry();
  public readonly calls: Counter<'api' | 'decision' | 'status'>;
  public readonly latency: Histogram<'api' | 'decision'>;
  public readonly inFlight: Gauge;
  public readonly reloadFailures: Counter<'what'>;

  public constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'authorizer_proxy_' });
    this.calls = new Counter({ name: 'authorizer_proxy_calls_total', help: 'Calls by API, decision and gRPC status',
      labelNames: ['api', 'decision', 'status'], registers: [this.registry] });
    this.latency = new Histogram({ name: 'authorizer_proxy_call_duration_seconds', help: 'Call latency through the proxy',
      labelNames: ['api', 'decision'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 75],
      registers: [this.registry] });
    this.inFlight = new Gauge({ name: 'authorizer_proxy_calls_in_flight', help: 'Calls being served', registers: [this.registry] });
    this.reloadFailures = new Counter({ name: 'authorizer_proxy_reload_failures_total',
      help: 'Failed reloads of a file (policy, signing key, serving or client certificate)', labelNames: ['what'], registers: [this.registry] });
  }

  public record(record: AuditRecord): void {
    this.calls.inc({ api: record.api, decision: record.decision, status: record.status });
    this.latency.observe({ api: record.api, decision: record.decision }, record.latencyMs / 1000);
  }
}
