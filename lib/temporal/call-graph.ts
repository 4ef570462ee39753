import { AuthorizerProxy } from '../authorizer/proxy';
import { Endpoint, FlowCategory } from '../core/component';
import { TEMPORAL_SERVICES, TemporalService } from './ports';

/**
 * Server-to-server RPCs, caller -> callee (Temporal v1.31 `common/resource/fx.go` and the services' use
 * of the history and matching clients).
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

/** One connection a server service opens to another. */
export interface ServerCall {
  readonly to: TemporalService;
  /** Which port of the callee. */
  readonly port: 'membership' | 'grpc';
  readonly category: FlowCategory;
  readonly purpose: string;
}

/**
 * Temporal's rule: system SDK clients use the internal-frontend when it is configured, else the frontend.
 * Pure.
 */
export function systemClientTarget(present: readonly TemporalService[]): TemporalService {
  return present.includes('internal-frontend') ? 'internal-frontend' : 'frontend';
}

/**
 * The connections server service `from` opens, given the services present: every server on its membership
 * port (ringpop gossip; itself included, for its other replicas), the RPCs of SERVER_RPCS, and, for system
 * SDK clients, the system client target. Pure.
 */
export function serverCalls(from: TemporalService, present: readonly TemporalService[]): ServerCall[] {
  const services = TEMPORAL_SERVICES.filter((s) => present.includes(s));
  const calls: ServerCall[] = services.map((to) => ({ to, port: 'membership', category: 'membership',
    purpose: 'ringpop membership gossip (TLS when system.enableRingpopTLS)' }));
  for (const [caller, to, purpose] of SERVER_RPCS) {
    if (caller === from && services.includes(to)) {
      calls.push({ to, port: 'grpc', category: 'rpc', purpose });
    }
  }
  const target = systemClientTarget(services);
  if (SYSTEM_SDK_CLIENTS.includes(from) && services.includes(target)) {
    calls.push({ to: target, port: 'grpc', category: 'system-client', purpose: 'SDK client of the system workflows' });
  }
  return calls;
}

/** How an admin client (admin tools, the namespace Job) reaches the cluster through `target`, for flow purposes. */
export function adminRoute(target: Endpoint): string {
  if (target.component instanceof AuthorizerProxy) {
    return 'authorizer proxy: temporal-system admin';
  }
  return target.component.description.id === 'internal-frontend'
    ? 'internal-frontend: system admin over internode mTLS' : 'frontend API';
}
