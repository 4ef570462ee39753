import { METRICS_PORT, PORT_NAMES, SERVICE_PORTS, TEMPORAL_SERVICES, TemporalService } from '../temporal/ports';
import { ExternalPeer } from './peers';

/** Transport protocols a NetworkPolicy port can name. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A port a component's containers listen on. */
export interface ListenPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/**
 * A component of the deployment: pods in the Temporal namespace selected by `selector`. Known ids:
 * the server services (`frontend`, `internal-frontend`, `history`, `matching`, `worker`), `web`,
 * `admintools`, `namespaces` (the namespace Job), `schema-default`, `schema-visibility`, `postgres`.
 */
export interface Component {
  readonly kind: 'component';
  readonly id: string;
  /** Labels that select its pods (and only its pods). */
  readonly selector: Readonly<Record<string, string>>;
  /** Ports its containers listen on (empty for pure clients such as Jobs). */
  readonly listens: readonly ListenPort[];
}

/** Peers outside the Temporal namespace, grouped under one name (`clients`, `monitoring`, `dns` ...). */
export interface PeerGroup {
  readonly kind: 'peers';
  readonly id: string;
  /** Human name for docs and diagrams. */
  readonly label: string;
  readonly peers: readonly ExternalPeer[];
}

export type FlowEndpoint = Component | PeerGroup;

/** What a flow is for; drives docs and diagram grouping. */
export type FlowCategory =
  | 'membership' | 'rpc' | 'system-client' | 'admin' | 'ui' | 'client' | 'ingress' | 'database' | 'dns'
  | 'metrics' | 'extra';

/** One destination port of a flow. */
export interface FlowPort {
  readonly port: number;
  readonly protocol: Protocol;
  /** What listens there, e.g. `history grpc-rpc`. */
  readonly name: string;
}

/** One row of the flows table: `from` may open connections to `to` on `ports`, for `purpose`. */
export interface Flow {
  readonly from: FlowEndpoint;
  readonly to: FlowEndpoint;
  readonly ports: readonly FlowPort[];
  readonly category: FlowCategory;
  readonly purpose: string;
  /** Set only by a declared extra flow that admits every address (`0.0.0.0/0`, `::/0`). */
  readonly allowAnyAddress?: boolean;
}

/** A construct's share of the table: the components it runs and the flows it needs. */
export interface FlowContribution {
  readonly components: readonly Component[];
  readonly flows: readonly Flow[];
}

/** A server service as a component: it listens on its gRPC, membership, HTTP and metrics ports. */
export function serverComponent(service: TemporalService, selector: Readonly<Record<string, string>>): Component {
  const ports = SERVICE_PORTS[service];
  const listens: ListenPort[] = [
    { name: PORT_NAMES.grpc, port: ports.grpc, protocol: 'TCP' },
    { name: PORT_NAMES.membership, port: ports.membership, protocol: 'TCP' },
    ...(ports.http !== undefined ? [{ name: PORT_NAMES.http, port: ports.http, protocol: 'TCP' as const }] : []),
    { name: PORT_NAMES.metrics, port: ports.metrics, protocol: 'TCP' },
  ];
  return { kind: 'component', id: service, selector, listens };
}

/** The flow port of a server's gRPC listener. */
export function grpcPort(service: TemporalService): FlowPort {
  return { port: SERVICE_PORTS[service].grpc, protocol: 'TCP', name: `${service} ${PORT_NAMES.grpc}` };
}

function membershipPort(service: TemporalService): FlowPort {
  return { port: SERVICE_PORTS[service].membership, protocol: 'TCP', name: `${service} ${PORT_NAMES.membership}` };
}

/**
 * Server-to-server RPCs, caller -> callee (Temporal v1.31 `common/resource/fx.go` and the services' use
 * of the history and matching clients; see reference section 3).
 */
export const SERVER_RPCS: readonly (readonly [TemporalService, TemporalService, string])[] = [
  ['frontend', 'history', 'API calls routed to the history shard owner'],
  ['frontend', 'matching', 'task queue polls and dispatch'],
  ['internal-frontend', 'history', 'API calls routed to the history shard owner'],
  ['internal-frontend', 'matching', 'task queue polls and dispatch'],
  ['history', 'history', 'calls between shards'],
  ['history', 'matching', 'adds workflow and activity tasks'],
  ['matching', 'history', 'records task starts'],
  ['matching', 'matching', 'task queue partition forwarding'],
  ['worker', 'history', 'system workflows call history directly'],
  ['worker', 'matching', 'system workflows call matching directly'],
];

/** Services that hold an SDK client to the frontend (or internal-frontend) for system workflows. */
export const SYSTEM_SDK_CLIENTS: readonly TemporalService[] = ['frontend', 'internal-frontend', 'history', 'worker'];

/**
 * The server services' own flows: every server to every server (itself included: other replicas) on
 * the destination's membership port (ringpop gossip), the RPCs of SERVER_RPCS, and the system SDK
 * clients to `systemClientTarget` (internal-frontend when configured, else the frontend). Pure.
 */
export function serverFlows(
  servers: Readonly<Partial<Record<TemporalService, Component>>>,
  systemClientTarget: TemporalService,
): Flow[] {
  const present = TEMPORAL_SERVICES.filter((s) => servers[s] !== undefined);
  const get = (s: TemporalService): Component => servers[s] as Component;
  const flows: Flow[] = [];
  for (const from of present) {
    for (const to of present) {
      flows.push({ from: get(from), to: get(to), ports: [membershipPort(to)], category: 'membership',
        purpose: 'ringpop membership gossip (TLS when system.enableRingpopTLS)' });
    }
  }
  for (const [from, to, purpose] of SERVER_RPCS) {
    if (servers[from] && servers[to]) {
      flows.push({ from: get(from), to: get(to), ports: [grpcPort(to)], category: 'rpc', purpose });
    }
  }
  if (servers[systemClientTarget]) {
    for (const from of SYSTEM_SDK_CLIENTS) {
      if (servers[from]) {
        flows.push({ from: get(from), to: get(systemClientTarget), ports: [grpcPort(systemClientTarget)],
          category: 'system-client', purpose: 'SDK client of the system workflows' });
      }
    }
  }
  return flows;
}

/** `from` calls the gRPC port of server `service` (`to`). Pure. */
export function callFlow(from: FlowEndpoint, to: Component, service: TemporalService, category: FlowCategory,
  purpose: string): Flow {
  return { from, to, ports: [grpcPort(service)], category, purpose };
}

/** Every component may query cluster DNS, and nothing else on that port. Pure. */
export function dnsFlows(components: readonly Component[], dns: PeerGroup, port: number): Flow[] {
  const ports: FlowPort[] = [
    { port, protocol: 'UDP', name: 'dns' },
    { port, protocol: 'TCP', name: 'dns-tcp' },
  ];
  return components.map((from) => ({ from, to: dns, ports, category: 'dns' as const,
    purpose: 'name resolution (cluster DNS only)' }));
}

/** The monitoring peers scrape every server's metrics port. Pure. */
export function metricsFlows(monitoring: PeerGroup, servers: readonly Component[]): Flow[] {
  return servers.map((to) => ({
    from: monitoring,
    to,
    ports: [{ port: METRICS_PORT, protocol: 'TCP' as const, name: `${to.id} ${PORT_NAMES.metrics}` }],
    category: 'metrics' as const,
    purpose: 'Prometheus scrapes /metrics',
  }));
}

/** The ports of a database endpoint. */
export function databasePorts(ports: readonly number[]): FlowPort[] {
  return [...new Set(ports)].sort((a, b) => a - b).map((port) => ({ port, protocol: 'TCP' as const, name: 'database' }));
}
