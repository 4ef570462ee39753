import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Components, IComponent, OutsidePeers } from '../core/component';
import { ValidationError } from '../core/errors';
import { Installation, InstallationScopedProps } from '../core/installation';
import { componentLabels } from '../core/labels';
import {
  DEFAULT_DNS_PEER, DEFAULT_INGRESS_CONTROLLER_PEER, DEFAULT_MONITORING_PEER, DnsPeerProps, ExternalPeer, validatePeer,
} from '../core/peers';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { flowDiagram, flowsDocument } from './diagram';
import {
  Component, componentNode, databasePorts, declaredFlows, DescribedComponent, dnsFlows, Flow, FlowPort, OutsideResolver,
  PeerGroup, requireExclusivePorts,
} from './flows';
import { networkPolicies, PolicyDocument } from './policies';
import { ExtraFlow, resolveExtraFlows, validateFlowTable } from './table';

/** A database outside the Temporal namespace. */
export interface ExternalDatabaseProps {
  /** Where it is: address ranges (`Peer.cidr`) or pods of another namespace (`Peer.namespace`). */
  readonly peers: readonly ExternalPeer[];
  /** @default - the ports of the stores that do not use the evaluation PostgreSQL */
  readonly ports?: readonly number[];
}

/** The network options of a deployment (also accepted, flat, by SecureTemporalChart). */
export interface NetworkBoundaryOptions {
  /**
   * Peers admitted to the frontend's gRPC port: the namespaces of your SDK clients and workers. This is
   * one row of the table; once the authorizer proxy exists it will point at the proxy instead.
   * @default - none: nothing outside the namespace reaches the frontend
   */
  readonly clientNamespaces?: readonly ExternalPeer[];
  /**
   * The ingress controller's pods, admitted to the Web UI port when the Web UI has an Ingress.
   * @default Peer.namespace('ingress-nginx')
   */
  readonly ingressController?: ExternalPeer;
  /**
   * Peers admitted to every component's metrics port (the role `monitoring`): one, several (a second monitoring
   * system), or `false` for none.
   * @default Peer.namespace('monitoring')
   */
  readonly monitoring?: ExternalPeer | readonly ExternalPeer[] | false;
  /**
   * Roles of your own: peers outside the namespace that components admit or call by role name
   * (`{ outside: { role: 'otel-collector' } }`, `metrics.scrapedBy`), resolved here, without changing the library.
   * The built-in roles (`clients`, `ingress-controller`, `monitoring`, `database`) are set by their own options.
   * @default - none
   */
  readonly outsideRoles?: Readonly<Record<string, { readonly label?: string; readonly peers: readonly ExternalPeer[] }>>;
  /** Cluster DNS. @default - pods `k8s-app=kube-dns` of namespace `kube-system`, port 53 (UDP and TCP) */
  readonly clusterDns?: DnsPeerProps;
  /** Required when a store is not the evaluation PostgreSQL. @default - none */
  readonly externalDatabase?: ExternalDatabaseProps;
  /**
   * The escape hatch: flows the design does not know about. Each names source, destination, ports and
   * purpose, is validated like the built-in rows and appears in the docs and the diagram.
   * @default - none
   */
  readonly extraFlows?: readonly ExtraFlow[];
}

/** Props of the boundary. Its installation's name prefixes the NetworkPolicies (`<name>-<component>`). */
export interface NetworkBoundaryProps extends NetworkBoundaryOptions, InstallationScopedProps {
  /**
   * The components to fence.
   * @default - every component (construct implementing IComponent) of the boundary's Chart, in the order they were added
   */
  readonly components?: readonly IComponent[];
}

function validPort(port: unknown): boolean {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Validates the options up front, so that errors name the prop rather than a row of the table. */
const BUILT_IN_ROLES = ['clients', 'ingress-controller', 'monitoring', 'database'] as const;

/** The monitoring option as a list of peers (the default when unset). */
function monitoringPeers(monitoring: NetworkBoundaryOptions['monitoring']): readonly ExternalPeer[] {
  if (monitoring === false) {
    return [];
  }
  if (monitoring === undefined) {
    return [DEFAULT_MONITORING_PEER];
  }
  return Array.isArray(monitoring) ? monitoring as readonly ExternalPeer[] : [monitoring as ExternalPeer];
}

function validateOptions(path: string, props: NetworkBoundaryOptions): void {
  (props.clientNamespaces ?? []).forEach((peer, i) => validatePeer(path, `clientNamespaces[${i}]`, peer));
  if (props.ingressController !== undefined) {
    validatePeer(path, 'ingressController', props.ingressController);
  }
  if (props.monitoring !== undefined && props.monitoring !== false) {
    const monitoring = monitoringPeers(props.monitoring);
    if (monitoring.length === 0) {
      throw new ValidationError('INVALID_PEER', path, 'monitoring lists no peer', props.monitoring,
        'name where Prometheus runs, e.g. Peer.namespace("monitoring"), or set monitoring: false');
    }
    monitoring.forEach((peer, i) => validatePeer(path, Array.isArray(props.monitoring) ? `monitoring[${i}]` : 'monitoring', peer));
  }
  for (const [role, declared] of Object.entries(props.outsideRoles ?? {})) {
    if ((BUILT_IN_ROLES as readonly string[]).includes(role) || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(role)) {
      throw new ValidationError('INVALID_PEER', `${path}/outsideRoles`, (BUILT_IN_ROLES as readonly string[]).includes(role)
        ? 'is a built-in role, set by its own option' : 'a role name must be a DNS label', role,
      `name your role otherwise (the built-in ones: ${BUILT_IN_ROLES.join(', ')}), e.g. "otel-collector"`);
    }
    if (!Array.isArray(declared?.peers) || declared.peers.length === 0) {
      throw new ValidationError('INVALID_PEER', `${path}/outsideRoles/${role}`, 'lists no peer', declared,
        'give the role its peers, e.g. { peers: [Peer.namespace("observability")] }');
    }
    declared.peers.forEach((peer, i) => validatePeer(path, `outsideRoles.${role}.peers[${i}]`, peer));
  }
  if (props.clusterDns?.peer !== undefined) {
    validatePeer(path, 'clusterDns.peer', props.clusterDns.peer);
  }
  if (props.clusterDns?.port !== undefined && !validPort(props.clusterDns.port)) {
    throw new ValidationError('INVALID_PORT', path, 'clusterDns.port must be 1-65535', props.clusterDns.port,
      'use the port the DNS pods listen on, usually 53');
  }
  const db = props.externalDatabase;
  if (db !== undefined) {
    (db.peers ?? []).forEach((peer, i) => validatePeer(path, `externalDatabase.peers[${i}]`, peer));
    if (db.ports !== undefined && (db.ports.length === 0 || !db.ports.every(validPort))) {
      throw new ValidationError('INVALID_PORT', path, 'externalDatabase.ports must list ports 1-65535', db.ports,
        'leave ports unset (the stores\' ports are used) or list the database ports, e.g. [5432]');
    }
  }
}

/** What the components need from the external database: each component calling it, with what it says is there. */
function externalDatabaseCallers(described: readonly DescribedComponent[]): string[] {
  const callers: string[] = [];
  for (const { description } of described) {
    for (const call of description.calls ?? []) {
      if ('outside' in call && 'role' in call.outside && call.outside.role === 'database') {
        for (const what of call.targets && call.targets.length > 0 ? call.targets : [`the database of ${description.id}`]) {
          if (!callers.includes(what)) {
            callers.push(what);
          }
        }
      }
    }
  }
  return callers;
}

/** Kinds whose objects run pods. */
const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'];

/**
 * The NetworkPolicy boundary of one Temporal deployment: default deny for ingress and egress of every
 * pod in the namespace, then exactly the rows of one flows table, built by pure functions from what the
 * components say about themselves (their ports, what they call, what they admit), plus DNS for each and
 * declared extra flows. It reads only the component interface: a construct of your own that implements
 * IComponent gets its rows by being in the Chart. `flows` is the table; `diagram` its picture.
 */
export class NetworkBoundary extends Construct {
  public readonly components: readonly Component[];
  public readonly flows: readonly Flow[];
  public readonly policies: readonly k8s.KubeNetworkPolicy[];
  public readonly policyDocuments: readonly PolicyDocument[];
  /** Mermaid flowchart of the allowed flows. */
  public readonly diagram: string;
  /** Markdown page: the diagram and the full table. */
  public readonly document: string;

  constructor(scope: Construct, id: string, props: NetworkBoundaryProps = {}) {
    super(scope, id);
    try {
      const path = this.node.path;
      const installation = Installation.resolve(this, props);
      validateOptions(path, props);
      const constructs = props.components ?? Components.findAll(Chart.of(this));
      const described = constructs.map((c) => componentNode(path, c));
      const components = described.map((d) => d.node);

      const stores = externalDatabaseCallers(described);
      if (stores.length > 0 && (!props.externalDatabase || props.externalDatabase.peers.length === 0)) {
        throw new ValidationError('INVALID_PEER', `${path}/externalDatabase`,
          `store(s) ${stores.join(', ')} are outside the namespace and no database peer is declared`, props.externalDatabase,
          'set externalDatabase: { peers: [Peer.cidr("10.20.0.0/24")] } (the database\'s address range)');
      }
      if (stores.length === 0 && props.externalDatabase) {
        throw new ValidationError('INVALID_PEER', `${path}/externalDatabase`,
          'an external database is declared but every store uses the evaluation PostgreSQL', props.externalDatabase,
          'remove externalDatabase, or point persistence at the external database');
      }

      const flows: Flow[] = declaredFlows(path, described, this.outsideResolver(path, props));
      const dns: PeerGroup = { kind: 'peers', id: 'dns', label: 'cluster DNS', peers: [props.clusterDns?.peer ?? DEFAULT_DNS_PEER] };
      flows.push(...dnsFlows(components, dns, props.clusterDns?.port ?? 53));
      flows.push(...resolveExtraFlows(path, components, props.extraFlows ?? []));

      validateFlowTable(path, components, flows);
      requireExclusivePorts(path, described, flows);
      this.components = components;
      this.flows = flows;
      this.policyDocuments = networkPolicies(installation.name, components, flows);
      requireUnusedNames(this, this.policyDocuments.map((doc) => ({ kind: 'NetworkPolicy', name: doc.name })),
        'give each installation of one namespace its own name');
      const labels = componentLabels(installation.name, 'network');
      this.policies = this.policyDocuments.map((doc) => new k8s.KubeNetworkPolicy(this, doc.component ?? 'DefaultDeny', {
        metadata: { name: doc.name, labels },
        spec: doc.spec,
      }));
      this.diagram = flowDiagram(installation.namespace, components, flows);
      this.document = flowsDocument(installation.namespace, components, flows);
      const fenced = new Set(described.map((d) => d.description.workload));
      this.node.addValidation({ validate: () => this.unfencedWorkloads(fenced) });
    } catch (error) {
      rollback(this, error);
    }
  }

  /**
   * Workloads of the Chart that no component of the boundary describes (run by cdk8s validation at synth): a
   * construct that does not register as a component, or one added after the boundary. Their pods would be
   * fenced by the default deny with no row at all, DNS included.
   */
  public unfencedWorkloads(fenced: ReadonlySet<ApiObject>): string[] {
    return Chart.of(this).node.findAll()
      .filter((c): c is ApiObject => c instanceof ApiObject && WORKLOAD_KINDS.includes(c.kind) && !fenced.has(c))
      .map((o) => `${o.node.path}: ${o.kind} "${o.name}" is in the Chart of ${this.node.path} but no component describes it, so ` +
        'its pods get no NetworkPolicy row (not even DNS). Fix: implement IComponent, call Components.register(this), and create ' +
        'it before the boundary (SecureTemporalChart: in addComponents)');
  }

  /** The deployment's answer to "which peers outside?" for each role a component names. */
  private outsideResolver(path: string, props: NetworkBoundaryOptions): OutsideResolver {
    const group = (id: string, label: string, peers: readonly ExternalPeer[]): PeerGroup => ({ kind: 'peers', id, label, peers });
    return (outside: OutsidePeers, ports: readonly FlowPort[]) => {
      if (!('role' in outside)) {
        outside.peers.forEach((peer, i) => validatePeer(path, `${outside.id}.peers[${i}]`, peer));
        return { group: group(outside.id, outside.label, outside.peers), ports };
      }
      switch (outside.role) {
        case 'clients':
          return props.clientNamespaces && props.clientNamespaces.length > 0
            ? { group: group('clients', 'client namespaces', props.clientNamespaces), ports } : undefined;
        case 'ingress-controller':
          return { group: group('ingress-controller', 'ingress controller', [props.ingressController ?? DEFAULT_INGRESS_CONTROLLER_PEER]),
            ports };
        case 'monitoring':
          return props.monitoring === false ? undefined : { group: group('monitoring', 'monitoring', monitoringPeers(props.monitoring)), ports };
        case 'database': {
          // Checked before any row is built: a database call without externalDatabase is refused.
          const db = props.externalDatabase as ExternalDatabaseProps;
          return { group: group('database', 'external database', db.peers),
            ports: databasePorts(db.ports ?? ports.map((p) => p.port)) };
        }
        default: {
          const declared = props.outsideRoles?.[outside.role];
          if (declared === undefined) {
            throw new ValidationError('INVALID_PEER', `${path}/outsideRoles`, 'a component names a role the deployment does not resolve',
              outside.role, `declare it: outsideRoles: { "${outside.role}": { peers: [Peer.namespace("...")] } }`);
          }
          return { group: group(outside.role, declared.label ?? outside.role, declared.peers), ports };
        }
      }
    };
  }
}
