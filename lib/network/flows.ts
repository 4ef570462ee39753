import { ApiObject } from 'cdk8s';
import {
  Admission, Call, ComponentDescription, ComponentGroup, Components, FlowCategory, IComponent, IdentityRef, metricsAdmissions,
  NamedPort, OutsidePeers, Protocol,
} from '../core/component';
import { ValidationError } from '../core/errors';
import { ExternalPeer } from '../core/peers';

export type { FlowCategory, Protocol } from '../core/component';

/** A port a component's containers listen on. */
export interface ListenPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** A component of the deployment, as a node of the flows table: pods in the namespace selected by `selector`. */
export interface Component {
  readonly kind: 'component';
  readonly id: string;
  /** Labels that select its pods (and only its pods). */
  readonly selector: Readonly<Record<string, string>>;
  /** Ports its containers listen on (empty for pure clients such as Jobs). */
  readonly listens: readonly ListenPort[];
  /** Drawn inside this group. @default - on its own */
  readonly group?: ComponentGroup;
  /** Drawn as a database. @default false */
  readonly datastore?: boolean;
  /** Certificates it serves. @default - none */
  readonly serves?: readonly IdentityRef[];
  /** Certificates it presents. @default - none */
  readonly presents?: readonly IdentityRef[];
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

/** A component construct, its description and its node in the table. */
export interface DescribedComponent {
  readonly construct: IComponent;
  readonly description: ComponentDescription;
  readonly node: Component;
}

/**
 * How the deployment resolves peers outside the namespace: a group with the ports to admit, or nothing when
 * the deployment has none of them (the flow is then dropped).
 */
export type OutsideResolver = (peers: OutsidePeers, ports: readonly FlowPort[]) =>
  { readonly group: PeerGroup; readonly ports: readonly FlowPort[] } | undefined;

interface PodTemplateFacts {
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ListenPort[];
}

/** Labels and container ports of a workload's pod template, as synthesized. */
function podTemplate(workload: ApiObject): PodTemplateFacts {
  const json = workload.toJson() as {
    spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: {
      ports?: { name?: string; containerPort: number; protocol?: Protocol }[] }[] } } };
  };
  const template = json.spec?.template;
  const ports = (template?.spec?.containers ?? []).flatMap((c) => c.ports ?? [])
    .map((p) => ({ name: p.name ?? '', port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
  return { labels: template?.metadata?.labels ?? {}, ports };
}

/**
 * A component's node, checked against its workload as synthesized: the selector must select the pod
 * template, and every declared port must be a container port of it.
 */
export function componentNode(path: string, construct: IComponent): DescribedComponent {
  const description = construct.description;
  const at = `${path}/${description.id}`;
  const template = podTemplate(description.workload);
  const missing = Object.entries(description.selector).filter(([k, v]) => template.labels[k] !== v);
  if (Object.keys(description.selector).length === 0 || missing.length > 0) {
    throw new ValidationError('INVALID_FLOW', at, 'the selector does not select the pods', Object.fromEntries(missing),
      'label the pod template with the selector labels');
  }
  const listens = description.ports.map((p): ListenPort => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' }));
  for (const port of listens) {
    if (!template.ports.some((c) => c.name === port.name && c.port === port.port && c.protocol === port.protocol)) {
      throw new ValidationError('INVALID_FLOW', at, 'a declared port is not a container port of the pods',
        `${port.name} ${port.port}/${port.protocol}`, 'derive the container ports from the component\'s ports');
    }
  }
  const node: Component = {
    kind: 'component',
    id: description.id,
    selector: { ...description.selector },
    listens,
    ...(description.group ? { group: description.group } : {}),
    ...(description.datastore ? { datastore: true } : {}),
    serves: [...(description.serves ?? [])],
    presents: [...(description.presents ?? [])],
  };
  return { construct, description, node };
}

function flowPort(owner: string, port: NamedPort): FlowPort {
  return { port: port.port, protocol: port.protocol ?? 'TCP', name: `${owner} ${port.name}` };
}

function outsidePorts(call: Extract<Call, { outside: unknown }>): FlowPort[] {
  return call.ports.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP', name: 'outside' }));
}

function sameFlow(a: Flow, b: Flow): boolean {
  return a.from === b.from && a.to === b.to && a.category === b.category && a.purpose === b.purpose &&
    JSON.stringify(a.ports) === JSON.stringify(b.ports);
}

/**
 * The rows the components declare, in a fixed order: every component's calls (components in order, calls
 * as declared), then every component's admissions. A row declared by both ends appears once. Pure, given
 * the descriptions.
 */
export function declaredFlows(path: string, described: readonly DescribedComponent[], outside: OutsideResolver): Flow[] {
  const nodeOf = (construct: IComponent, who: string, what: string): Component => {
    const found = described.find((d) => d.construct === construct);
    if (found === undefined) {
      throw new ValidationError('INVALID_FLOW', `${path}/${who}`, `${what} a component that is not part of this deployment`,
        construct.node.path, 'create it in the same Chart as the network boundary, before the boundary');
    }
    return found.node;
  };
  const flows: Flow[] = [];
  const add = (flow: Flow): void => {
    if (!flows.some((f) => sameFlow(f, flow))) {
      flows.push(flow);
    }
  };
  for (const { description, node } of described) {
    for (const call of description.calls ?? []) {
      if ('to' in call) {
        const to = nodeOf(call.to.component, node.id, 'calls');
        add({ from: node, to, ports: [flowPort(to.id, call.to.port)], category: call.category, purpose: call.purpose });
      } else {
        const resolved = outside(call.outside, outsidePorts(call));
        if (resolved) {
          add({ from: node, to: resolved.group, ports: resolved.ports, category: call.category, purpose: call.purpose });
        }
      }
    }
  }
  for (const { description, node } of described) {
    const admissions = [...description.admits ?? [], ...description.metrics ? metricsAdmissions(description.metrics) : []];
    for (const admission of admissions) {
      const ports = [flowPort(node.id, admission.port)];
      const from = admitted(admission, node, nodeOf, outside, ports);
      if (from) {
        add({ from: from.endpoint, to: node, ports: from.ports, category: admission.category, purpose: admission.purpose });
      }
    }
  }
  return flows;
}

function admitted(admission: Admission, node: Component,
  nodeOf: (c: IComponent, who: string, what: string) => Component, outside: OutsideResolver,
  ports: readonly FlowPort[]): { endpoint: FlowEndpoint; ports: readonly FlowPort[] } | undefined {
  if (Components.isComponent(admission.from)) {
    return { endpoint: nodeOf(admission.from, node.id, 'admits'), ports };
  }
  const resolved = outside(admission.from.outside, ports);
  return resolved ? { endpoint: resolved.group, ports: resolved.ports } : undefined;
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

/** The ports of a database endpoint, deduplicated and sorted. */
export function databasePorts(ports: readonly number[]): FlowPort[] {
  return [...new Set(ports)].sort((a, b) => a - b).map((port) => ({ port, protocol: 'TCP' as const, name: 'database' }));
}

/**
 * Throws `INVALID_FLOW` for a flow into a component's exclusive port (`ComponentDescription.exclusive`) from anything
 * but the components it names: a call, an admission or an extra flow alike. Pure.
 */
export function requireExclusivePorts(path: string, described: readonly DescribedComponent[], flows: readonly Flow[]): void {
  const nodes = new Map(described.map((d) => [d.construct, d.node]));
  for (const { description, node } of described) {
    for (const exclusive of description.exclusive ?? []) {
      const allowed = new Set(exclusive.from.map((c) => nodes.get(c)).filter((n): n is Component => n !== undefined));
      const port = exclusive.port.port;
      const protocol = exclusive.port.protocol ?? 'TCP';
      for (const flow of flows) {
        const into = flow.to === node && flow.ports.some((p) => p.port === port && p.protocol === protocol);
        if (into && !(flow.from.kind === 'component' && allowed.has(flow.from))) {
          const from = flow.from.kind === 'component' ? flow.from.id : flow.from.label;
          throw new ValidationError('INVALID_FLOW', `${path}/${description.id}`,
            `${from} may not reach ${description.id} ${exclusive.port.name} ${port}/${protocol}: ${exclusive.why}`,
            { from, purpose: flow.purpose }, exclusive.fix);
        }
      }
    }
  }
}
