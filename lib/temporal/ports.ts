import { NamedPort } from '../core/component';
import { ValidationError } from '../core/errors';

/** The Temporal server services, by the name `temporal-server start --service` takes. */
export type TemporalService = 'frontend' | 'internal-frontend' | 'history' | 'matching' | 'worker';

export const TEMPORAL_SERVICES: readonly TemporalService[] = [
  'frontend',
  'internal-frontend',
  'history',
  'matching',
  'worker',
];

/** The ports one server service listens on. `http` is the frontend's HTTP API (frontends only). */
export interface ServicePorts {
  readonly grpc: number;
  readonly membership: number;
  readonly http?: number;
  readonly metrics: number;
}

/** Prometheus metrics port of every server process (`global.metrics.prometheus.listenAddress`). */
export const METRICS_PORT = 9090;

/**
 * The one ports table. Every config key, container port, Service port, probe and (later) network flow
 * reads its port from here. Values are Temporal's defaults (server v1.31.2, chart 1.6.0).
 */
export const SERVICE_PORTS: Readonly<Record<TemporalService, ServicePorts>> = {
  'frontend': { grpc: 7233, membership: 6933, http: 7243, metrics: METRICS_PORT },
  'internal-frontend': { grpc: 7236, membership: 6936, http: 7246, metrics: METRICS_PORT },
  'history': { grpc: 7234, membership: 6934, metrics: METRICS_PORT },
  'matching': { grpc: 7235, membership: 6935, metrics: METRICS_PORT },
  'worker': { grpc: 7239, membership: 6939, metrics: METRICS_PORT },
};

/** Ports of the other components. */
export const WEB_UI_PORT = 8080;
export const POSTGRES_PORT = 5432;
export const MYSQL_PORT = 3306;

/** Port names used on containers and Services (named ports keep probes and policies readable). */
export const PORT_NAMES = {
  grpc: 'grpc-rpc',
  membership: 'grpc-membership',
  http: 'http',
  metrics: 'metrics',
} as const;

/**
 * The named ports one server service listens on, from the ports table: gRPC, membership, HTTP (frontends)
 * and metrics. Its container ports, headless Service ports, probes and network flows all derive from this.
 */
export function serverPorts(ports: ServicePorts): { grpc: NamedPort; membership: NamedPort; http?: NamedPort; metrics: NamedPort } {
  return {
    grpc: { name: PORT_NAMES.grpc, port: ports.grpc, protocol: 'TCP' },
    membership: { name: PORT_NAMES.membership, port: ports.membership, protocol: 'TCP' },
    ...(ports.http !== undefined ? { http: { name: PORT_NAMES.http, port: ports.http, protocol: 'TCP' as const } } : {}),
    metrics: { name: PORT_NAMES.metrics, port: ports.metrics, protocol: 'TCP' },
  };
}

/**
 * Throws when two server services share a port. Services run in separate pods, but their membership
 * and gRPC addresses are gossiped through one ring and NetworkPolicies are keyed by port, so a port
 * means one thing in the whole cluster. The metrics port is the exception: it is per pod by design.
 */
export function assertNoPortClash(
  path: string,
  table: Readonly<Partial<Record<TemporalService, ServicePorts>>>,
): void {
  const owners = new Map<number, string>();
  for (const [service, ports] of Object.entries(table) as [TemporalService, ServicePorts][]) {
    const entries: [string, number | undefined][] = [
      ['grpc', ports.grpc],
      ['membership', ports.membership],
      ['http', ports.http],
    ];
    for (const [kind, port] of entries) {
      if (port === undefined) {
        continue;
      }
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ValidationError('INVALID_PORT', path, `${service} ${kind} port must be 1-65535`, port,
          'use a port number between 1 and 65535');
      }
      const owner = `${service} ${kind}`;
      const previous = owners.get(port);
      if (previous !== undefined) {
        throw new ValidationError('PORT_CLASH', path, `${owner} port clashes with ${previous}`, port,
          'give every gRPC, membership and HTTP port its own number');
      }
      if (port === METRICS_PORT) {
        throw new ValidationError('PORT_CLASH', path, `${owner} port clashes with the metrics port`, port,
          `use a port other than ${METRICS_PORT}`);
      }
      owners.set(port, owner);
    }
  }
}
