/**
 * An independent reachability evaluator for Kubernetes NetworkPolicy (networking.k8s.io/v1), for tests.
 *
 * It reads nothing from lib/: only manifests (workloads, Namespaces, NetworkPolicies) as plain JSON plus
 * fixtures for the rest of the cluster, and answers "may A open a connection to B on port/protocol?" by
 * the semantics of the Kubernetes documentation (concepts/services-networking/network-policies):
 * - a pod is isolated for ingress (egress) only if some policy in its namespace selects it and lists
 *   that policy type (`policyTypes` defaults to Ingress, plus Egress when the policy has egress rules);
 * - allows are additive (any rule of any selecting policy); a connection needs egress allowed at the
 *   source AND ingress allowed at the destination;
 * - a peer with only podSelector means pods of the policy's namespace; only namespaceSelector means all
 *   pods of the matching namespaces; both means pods matching both (AND); an empty selector matches all;
 *   an ipBlock matches addresses in `cidr` and not in any `except`;
 * - a rule without `from`/`to` admits every peer; without `ports`, every port; a port without protocol is
 *   TCP; `endPort` makes a range; a named port resolves against the destination pod's container ports.
 * Simplifications (documented, not hidden): workloads stand for all their replicas (same labels); pods
 * have no modelled IP, so ipBlock peers match only the external address endpoints given as fixtures;
 * IPv4 only; host-network pods and node traffic (kubelet probes) are out of scope.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

export interface PolicyPort {
  readonly protocol?: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface NetworkPolicyObject {
  readonly kind: 'NetworkPolicy';
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: {
    readonly podSelector?: LabelSelector;
    readonly policyTypes?: readonly ('Ingress' | 'Egress')[];
    readonly ingress?: readonly { from?: readonly PolicyPeer[]; ports?: readonly PolicyPort[] }[];
    readonly egress?: readonly { to?: readonly PolicyPeer[]; ports?: readonly PolicyPort[] }[];
  };
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: Protocol;
}

/** The pods of one workload (all replicas share labels and ports). */
export interface PodEndpoint {
  readonly kind: 'pod';
  readonly id: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ContainerPort[];
}

/** An address outside the pod network (a managed database, the API server, the Internet). */
export interface IpEndpoint {
  readonly kind: 'ip';
  readonly id: string;
  readonly ip: string;
  /** Ports something listens on there (probed as destinations). */
  readonly ports: readonly { port: number; protocol: Protocol }[];
}

export type Endpoint = PodEndpoint | IpEndpoint;

export interface ClusterModel {
  /** Namespace name -> labels (including `kubernetes.io/metadata.name`). */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly endpoints: readonly Endpoint[];
  readonly policies: readonly NetworkPolicyObject[];
}

export interface ClusterFixtures {
  /** Extra namespaces (name -> labels); `kubernetes.io/metadata.name` is added as the API server does. */
  readonly namespaces?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly pods?: readonly PodEndpoint[];
  readonly ips?: readonly IpEndpoint[];
  readonly policies?: readonly NetworkPolicyObject[];
}

interface Manifest {
  readonly kind?: string;
  readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: { ports?: ContainerPort[] }[] };
}

function templateOf(doc: Manifest): PodTemplate | undefined {
  const spec = doc.spec as Record<string, unknown> | undefined;
  switch (doc.kind) {
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job':
      return spec?.template as PodTemplate;
    case 'CronJob':
      return ((spec?.jobTemplate as { spec?: { template?: PodTemplate } })?.spec?.template);
    case 'Pod':
      return { metadata: doc.metadata, spec: doc.spec as PodTemplate['spec'] };
    default:
      return undefined;
  }
}

/**
 * Builds the model from synthesized manifests plus fixtures. `naming` gives each workload's pods an id
 * (default `<namespace>/<workload name>`).
 */
export function clusterFromManifests(
  manifests: readonly unknown[],
  fixtures: ClusterFixtures = {},
  naming: (namespace: string, name: string, labels: Readonly<Record<string, string>>) => string = (ns, name) => `${ns}/${name}`,
): ClusterModel {
  const namespaces = new Map<string, Record<string, string>>();
  const addNamespace = (name: string, labels: Readonly<Record<string, string>> = {}): void => {
    namespaces.set(name, { ...(namespaces.get(name) ?? {}), ...labels, 'kubernetes.io/metadata.name': name });
  };
  const endpoints: Endpoint[] = [];
  const policies: NetworkPolicyObject[] = [];
  for (const raw of manifests) {
    const doc = raw as Manifest;
    const namespace = doc.metadata?.namespace ?? 'default';
    if (doc.kind === 'Namespace') {
      addNamespace(doc.metadata?.name ?? '', doc.metadata?.labels);
    } else if (doc.kind === 'NetworkPolicy') {
      policies.push({ ...(raw as NetworkPolicyObject), metadata: { name: doc.metadata?.name ?? '', namespace } });
      addNamespace(namespace);
    } else {
      const template = templateOf(doc);
      if (template) {
        const labels = template.metadata?.labels ?? {};
        endpoints.push({
          kind: 'pod',
          id: naming(namespace, doc.metadata?.name ?? '', labels),
          namespace,
          labels,
          ports: (template.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
        });
        addNamespace(namespace);
      }
    }
  }
  for (const [name, labels] of Object.entries(fixtures.namespaces ?? {})) {
    addNamespace(name, labels);
  }
  for (const pod of fixtures.pods ?? []) {
    endpoints.push(pod);
    addNamespace(pod.namespace);
  }
  endpoints.push(...(fixtures.ips ?? []));
  policies.push(...(fixtures.policies ?? []));
  return { namespaces, endpoints, policies };
}

/** Label selector semantics: every matchLabels pair and every expression must hold; empty matches all. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) {
    return true;
  }
  const plain = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: throw new Error(`unknown selector operator ${String(e.operator)}`);
    }
  });
  return plain && expressions;
}

function ipv4(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`evaluator supports IPv4 only, got ${ip}`);
  }
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** True when `ip` lies in `cidr` (IPv4). */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((ipv4(ip) & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
}

function typesOf(policy: NetworkPolicyObject): readonly string[] {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) {
    return policy.spec.policyTypes;
  }
  return (policy.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Policies that select `pod` for `type`. */
export function selectingPolicies(model: ClusterModel, pod: PodEndpoint, type: 'Ingress' | 'Egress'): NetworkPolicyObject[] {
  return model.policies.filter((p) => (p.metadata.namespace ?? 'default') === pod.namespace &&
    selectorMatches(p.spec.podSelector ?? {}, pod.labels) && typesOf(p).includes(type));
}

function peerMatches(model: ClusterModel, peer: PolicyPeer, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock) {
    if (peer.podSelector || peer.namespaceSelector) {
      throw new Error('a peer with ipBlock may not also have selectors');
    }
    return endpoint.kind === 'ip' && inCidr(endpoint.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((e) => inCidr(endpoint.ip, e));
  }
  if (!peer.podSelector && !peer.namespaceSelector) {
    throw new Error('a peer needs podSelector, namespaceSelector or ipBlock');
  }
  if (endpoint.kind !== 'pod') {
    return false;
  }
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, model.namespaces.get(endpoint.namespace) ?? {})
    : endpoint.namespace === policyNamespace;
  return namespaceOk && selectorMatches(peer.podSelector, endpoint.labels);
}

function portMatches(p: PolicyPort, destination: Endpoint, port: number, protocol: Protocol): boolean {
  if ((p.protocol ?? 'TCP') !== protocol) {
    return false;
  }
  if (p.port === undefined) {
    return true;
  }
  if (typeof p.port === 'number') {
    return port >= p.port && port <= (p.endPort ?? p.port);
  }
  if (p.endPort !== undefined) {
    throw new Error('endPort cannot be used with a named port');
  }
  return destination.kind === 'pod' && destination.ports.some((c) =>
    c.name === p.port && c.containerPort === port && (c.protocol ?? 'TCP') === protocol);
}

function ruleAdmits(model: ClusterModel, peers: readonly PolicyPeer[] | undefined, ports: readonly PolicyPort[] | undefined,
  policyNamespace: string, peer: Endpoint, destination: Endpoint, port: number, protocol: Protocol): boolean {
  const peerOk = peers === undefined || peers.length === 0 || peers.some((x) => peerMatches(model, x, policyNamespace, peer));
  const portOk = ports === undefined || ports.length === 0 || ports.some((x) => portMatches(x, destination, port, protocol));
  return peerOk && portOk;
}

/** May `source` open a connection to `destination` on `port`/`protocol`? */
export function isAllowed(model: ClusterModel, source: Endpoint, destination: Endpoint, port: number,
  protocol: Protocol = 'TCP'): boolean {
  let egress = true;
  if (source.kind === 'pod') {
    const policies = selectingPolicies(model, source, 'Egress');
    egress = policies.length === 0 || policies.some((p) => (p.spec.egress ?? []).some((rule) =>
      ruleAdmits(model, rule.to, rule.ports, p.metadata.namespace ?? 'default', destination, destination, port, protocol)));
  }
  let ingress = true;
  if (destination.kind === 'pod') {
    const policies = selectingPolicies(model, destination, 'Ingress');
    ingress = policies.length === 0 || policies.some((p) => (p.spec.ingress ?? []).some((rule) =>
      ruleAdmits(model, rule.from, rule.ports, p.metadata.namespace ?? 'default', source, destination, port, protocol)));
  }
  return egress && ingress;
}

/** An allowed connection, as text: `from -> to port/protocol`. */
export type EdgeText = string;

export function edgeText(from: string, to: string, port: number, protocol: Protocol = 'TCP'): EdgeText {
  return `${from} -> ${to} ${port}/${protocol}`;
}

/**
 * Every allowed (source, destination, port) among the model's endpoints. Destinations are probed on
 * the ports they listen on plus `canaryPorts` (ports nobody listens on, to catch rules without ports).
 * Connections between two outside addresses are not modelled.
 */
export function reachability(model: ClusterModel,
  canaryPorts: readonly { port: number; protocol: Protocol }[] = [{ port: 65000, protocol: 'TCP' }, { port: 65000, protocol: 'UDP' }],
): EdgeText[] {
  const edges: EdgeText[] = [];
  for (const destination of model.endpoints) {
    const listened = destination.kind === 'pod'
      ? destination.ports.map((c) => ({ port: c.containerPort, protocol: c.protocol ?? 'TCP' }))
      : destination.ports;
    const probes = [...listened, ...canaryPorts];
    for (const source of model.endpoints) {
      if (source.kind === 'ip' && destination.kind === 'ip') {
        continue;
      }
      for (const { port, protocol } of probes) {
        if (isAllowed(model, source, destination, port, protocol)) {
          edges.push(edgeText(source.id, destination.id, port, protocol));
        }
      }
    }
  }
  return [...new Set(edges)].sort();
}
