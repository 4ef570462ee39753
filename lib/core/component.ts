import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { IConstruct } from 'constructs';
import { ServiceDns, serviceFqdn } from './dns';
import { ExternalPeer } from './peers';

/**
 * The component seam. Every workload construct (a Temporal service, the Web UI, a Job, a database, a
 * construct of your own) describes itself once: which pods it runs, the ports it listens on, what it calls,
 * who outside may call it, its metrics endpoint and health checks, and the certificates it serves and presents. Its
 * container ports, Service ports and probes are derived from the same `ports` and `health`; the network boundary
 * derives its NetworkPolicy rows, DNS egress, diagram node and docs row from the description, and knows no concrete
 * construct class.
 */

/** Transport protocols a NetworkPolicy port can name. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A port a component's containers listen on. */
export interface NamedPort {
  /** The container port's (and Service port's) name, e.g. `grpc-rpc`, `http`, `metrics`. */
  readonly name: string;
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: Protocol;
}

/** What a flow is for; shown in the docs table. */
export type FlowCategory =
  | 'membership' | 'rpc' | 'system-client' | 'admin' | 'ui' | 'client' | 'ingress' | 'database' | 'dns'
  | 'metrics' | 'service' | 'authorization' | 'extra';

/**
 * Peers outside the namespace that the deployment's options name, resolved by the network boundary:
 * `clients` (the client namespaces), `ingress-controller`, `monitoring`, `database` (an external database), and
 * roles of the deployment's own (`outsideRoles`).
 */
export type OutsideRole = 'clients' | 'ingress-controller' | 'monitoring' | 'database' | (string & {});

/** A component of the deployment, as a construct: it describes itself. */
export interface IComponent extends IConstruct {
  /** Its description. Read by the network boundary once every component of the deployment exists. */
  readonly description: ComponentDescription;
}

/** One port of a component that others call: `cluster.frontend.grpc`, `webUi.http`. */
export interface Endpoint {
  /** The component that listens. */
  readonly component: IComponent;
  /** Its port. */
  readonly port: NamedPort;
  /** The Service clients reach it through, when it has one (its DNS name is the address host). */
  readonly service?: ServiceDns;
}

/** `host:port` of an endpoint reached through its Service (`<svc>.<ns>.svc.<domain>:<port>`). */
export function endpointAddress(endpoint: Endpoint): string {
  if (endpoint.service === undefined) {
    throw new Error(`${endpoint.component.node.path}: port ${endpoint.port.name} is not served through a Service`);
  }
  return `${serviceFqdn(endpoint.service)}:${endpoint.port.port}`;
}

/** Peers outside the namespace: a role the deployment resolves, or peers named outright. */
export type OutsidePeers =
  | { readonly role: OutsideRole }
  | { readonly id: string; readonly label: string; readonly peers: readonly ExternalPeer[] };

/** A connection a component opens. */
export type Call = {
  /** What it does, e.g. `the Web UI server calls the frontend API`. */
  readonly purpose: string;
  readonly category: FlowCategory;
} & (
  | { readonly to: Endpoint }
  | {
    /** Peers outside the namespace. */
    readonly outside: OutsidePeers;
    /** Their ports. */
    readonly ports: readonly { readonly port: number; readonly protocol?: Protocol }[];
    /** What is there, for messages (e.g. `default at db.example:5432`). @default - none */
    readonly targets?: readonly string[];
  }
);

/** A connection a component accepts on one of its ports, from another component or from outside. */
export interface Admission {
  readonly from: IComponent | { readonly outside: OutsidePeers };
  /** One of the component's own ports. */
  readonly port: NamedPort;
  readonly purpose: string;
  readonly category: FlowCategory;
}

/** A certificate a component serves or presents (a `TlsIdentity` is one). */
export interface IdentityRef {
  /** Construct path. */
  readonly path: string;
  /** Identity name, e.g. `internode`, `web`. */
  readonly name: string;
  /** Namespace of its Secret. */
  readonly namespace: string;
  /** The Secret holding `tls.crt`, `tls.key`, `ca.crt`. */
  readonly secretName: string;
}

/**
 * Where Prometheus scrapes a component. Its pods' `prometheus.io/*` annotations (`scrapeAnnotations`), its admission
 * of the monitoring peers on that port (the network boundary adds it) and, when monitors are on, its PodMonitor all
 * come from this one description, so a component of your own gets them too.
 */
export interface MetricsEndpoint {
  /** One of the component's own ports. */
  readonly port: NamedPort;
  /** @default '/metrics' */
  readonly path?: string;
  /** @default 'http' */
  readonly scheme?: 'http' | 'https';
  /** The roles admitted to scrape it. @default ['monitoring'] */
  readonly scrapedBy?: readonly OutsideRole[];
}

/** The admissions the boundary derives from a component's metrics endpoint: its scrapers (the monitoring peers) on that port. */
export function metricsAdmissions(metrics: MetricsEndpoint): Admission[] {
  return (metrics.scrapedBy ?? ['monitoring']).map((role) => ({ from: { outside: { role } }, port: metrics.port, category: 'metrics',
    purpose: `${role === 'monitoring' ? 'Prometheus' : role} scrapes ${metrics.path ?? '/metrics'}` }));
}

/** The pod annotations of the `prometheus.io/*` convention for a metrics endpoint. */
export function scrapeAnnotations(metrics: MetricsEndpoint): Record<string, string> {
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(metrics.port.port),
    'prometheus.io/path': metrics.path ?? '/metrics',
    ...(metrics.scheme === 'https' ? { 'prometheus.io/scheme': 'https' } : {}),
  };
}

/**
 * What the kubelet checks of a component's container: an HTTP GET of `path` on one of its ports, a TCP connect to the
 * port (no path), or a command run in the container. The container's probes are derived from it (`healthProbe`), so
 * the description says what each probe checks and a component of your own declares its checks the same way.
 */
export type HealthCheck =
  | { readonly port: NamedPort; readonly path?: string; readonly scheme?: 'http' | 'https' }
  | { readonly command: readonly string[] };

/** A component's health checks. */
export interface HealthEndpoints {
  /** Ready to serve: its Services route to it, and a rollout waits for it before removing an old pod. */
  readonly readiness: HealthCheck;
  /** Alive: the kubelet restarts the container when it keeps failing. @default - the readiness check */
  readonly liveness?: HealthCheck;
  /** Started: the other checks wait for it (a slow start is not a failure). @default - none */
  readonly startup?: HealthCheck;
}

/** How often and how patiently a probe checks. */
export interface ProbeTiming {
  readonly periodSeconds?: number;
  readonly timeoutSeconds?: number;
  readonly failureThreshold?: number;
  readonly initialDelaySeconds?: number;
}

/** The Kubernetes probe of a health check. Pure. */
export function healthProbe(check: HealthCheck, timing: ProbeTiming = {}): k8s.Probe {
  const action: Partial<k8s.Probe> = 'command' in check
    ? { exec: { command: [...check.command] } }
    : check.path !== undefined
      ? { httpGet: { path: check.path, port: k8s.IntOrString.fromString(check.port.name),
        ...(check.scheme === 'https' ? { scheme: 'HTTPS' } : {}) } }
      : { tcpSocket: { port: k8s.IntOrString.fromString(check.port.name) } };
  return { ...action, ...timing };
}

/** A port of a component that only the components named may reach, and why. */
export interface ExclusivePort {
  readonly port: NamedPort;
  readonly from: readonly IComponent[];
  /** Said when a flow breaks it, e.g. `clients reach the frontend through the authorizer proxy only`. */
  readonly why: string;
  /** What to do instead, e.g. `call the authorizer proxy's endpoint (cluster.authorizerProxy.grpc)`. */
  readonly fix: string;
}

/** Components drawn together (the Temporal server services). */
export interface ComponentGroup {
  readonly id: string;
  readonly label: string;
}

/** What a component says about itself. */
export interface ComponentDescription {
  /** Unique in the deployment; names its NetworkPolicy (`<instance>-<id>`) and its diagram node. */
  readonly id: string;
  /** The workload (Deployment, StatefulSet, Job) whose pods the component is. */
  readonly workload: ApiObject;
  /** Labels that select its pods, and only its pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Every port its containers listen on (empty for pure clients such as Jobs). */
  readonly ports: readonly NamedPort[];
  /** Connections it opens. @default - none */
  readonly calls?: readonly Call[];
  /** Connections it accepts from other components or from outside. @default - none */
  readonly admits?: readonly Admission[];
  /**
   * Where Prometheus scrapes it: the boundary admits the monitoring peers on that port (after `admits`), and monitors
   * are derived from it. @default - no metrics
   */
  readonly metrics?: MetricsEndpoint;
  /** What the kubelet checks; its containers' probes are derived from it. @default - no checks (Jobs) */
  readonly health?: HealthEndpoints;
  /**
   * Ports only the components named may reach: a flow into one from anything else (a call, an admission, an extra
   * flow) fails the synth. The frontend's client ports name the authorizer proxy alone while it is on (the one door).
   * @default - none
   */
  readonly exclusive?: readonly ExclusivePort[];
  /** Certificates its listeners serve. @default - none */
  readonly serves?: readonly IdentityRef[];
  /** Certificates it presents as a client. @default - none */
  readonly presents?: readonly IdentityRef[];
  /** Drawn inside this group. @default - on its own */
  readonly group?: ComponentGroup;
  /** Drawn as a database. @default false */
  readonly datastore?: boolean;
}

const COMPONENT = Symbol.for('secure-temporal.io/component');

/** Marks a construct as a component, and finds components. */
export const Components = {
  /** Call in the constructor of a construct that implements IComponent, so that the boundary finds it. */
  register(component: IComponent): void {
    Object.defineProperty(component, COMPONENT, { value: true, enumerable: false });
  },
  /** True for a construct registered as a component. */
  isComponent(value: unknown): value is IComponent {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[COMPONENT] === true;
  },
  /** Every component under `scope`, in the order they were added to the tree. */
  findAll(scope: IConstruct): IComponent[] {
    return scope.node.findAll().filter((c): c is IComponent => Components.isComponent(c));
  },
} as const;
