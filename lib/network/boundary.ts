import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { ValidationError } from '../errors';
import { serviceDnsOf, serviceFqdn } from '../tls/dns';
import { TemporalAdminTools } from '../temporal/admin-tools';
import { TemporalCluster } from '../temporal/cluster';
import { EvaluationPostgres } from '../temporal/evaluation-postgres';
import { componentLabels } from '../temporal/labels';
import { ResolvedSqlStore } from '../temporal/persistence';
import { SERVICE_PORTS, TemporalService, WEB_UI_PORT } from '../temporal/ports';
import { TemporalWebUi } from '../temporal/web-ui';
import { flowDiagram, flowsDocument } from './diagram';
import {
  callFlow, Component, databasePorts, dnsFlows, Flow, FlowContribution, FlowEndpoint, ListenPort, metricsFlows,
  PeerGroup, Protocol, serverComponent, serverFlows,
} from './flows';
import {
  DEFAULT_DNS_PEER, DEFAULT_INGRESS_CONTROLLER_PEER, DEFAULT_MONITORING_PEER, DnsPeerProps, ExternalPeer, validatePeer,
} from './peers';
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
   * Peers admitted to every server's metrics port, or `false` for none.
   * @default Peer.namespace('monitoring')
   */
  readonly monitoring?: ExternalPeer | false;
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

export interface NetworkBoundaryProps extends NetworkBoundaryOptions {
  readonly cluster: TemporalCluster;
  /** @default - no Web UI */
  readonly webUi?: TemporalWebUi;
  /** @default - no admin tools */
  readonly adminTools?: TemporalAdminTools;
  /** @default - no evaluation database */
  readonly evaluationDatabase?: EvaluationPostgres;
  /**
   * Rows contributed by other constructs (a codec server, an authorizer proxy): their components and
   * the flows they need. DNS egress is added for every contributed component.
   * @default - none
   */
  readonly contributions?: readonly FlowContribution[];
}

interface PodTemplate {
  readonly labels: Record<string, string>;
  readonly ports: ListenPort[];
}

/** Labels and container ports of a workload's pod template, as synthesized. */
function podTemplate(workload: ApiObject): PodTemplate {
  const json = workload.toJson() as {
    spec?: { template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: {
      ports?: { name?: string; containerPort: number; protocol?: Protocol }[] }[] } } };
  };
  const template = json.spec?.template;
  const ports = (template?.spec?.containers ?? []).flatMap((c) => c.ports ?? [])
    .map((p) => ({ name: p.name ?? '', port: p.containerPort, protocol: p.protocol ?? 'TCP' }));
  return { labels: template?.metadata?.labels ?? {}, ports };
}

function validPort(port: unknown): boolean {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Validates the options up front, so that errors name the prop rather than a row of the table. */
function validateOptions(path: string, props: NetworkBoundaryOptions): void {
  (props.clientNamespaces ?? []).forEach((peer, i) => validatePeer(path, `clientNamespaces[${i}]`, peer));
  if (props.ingressController !== undefined) {
    validatePeer(path, 'ingressController', props.ingressController);
  }
  if (props.monitoring !== undefined && props.monitoring !== false) {
    validatePeer(path, 'monitoring', props.monitoring);
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

/**
 * The NetworkPolicy boundary of one Temporal deployment: default deny for ingress and egress of every
 * pod in the namespace, then exactly the rows of one flows table, which is built by pure functions from
 * the constructs' own facts (selectors, ports from the ports table, the addresses clients use, which
 * services exist), plus declared extra flows. `flows` is the table; `diagram` its picture.
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

  constructor(scope: Construct, id: string, props: NetworkBoundaryProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const { cluster } = props;
      validateOptions(path, props);
      const component = (cid: string, selector: Record<string, string>, workload: ApiObject): Component => {
        const template = podTemplate(workload);
        const missing = Object.entries(selector).filter(([k, v]) => template.labels[k] !== v);
        if (missing.length > 0) {
          throw new ValidationError('INVALID_FLOW', `${path}/${cid}`, 'the selector does not select the pods',
            Object.fromEntries(missing), 'label the pod template with the selector labels');
        }
        return { kind: 'component', id: cid, selector: { ...selector }, listens: template.ports };
      };

      // Server services: listening ports as synthesized; the flows take them from the ports table.
      const servers: Partial<Record<TemporalService, Component>> = {};
      for (const service of cluster.services) {
        const server = cluster.serverServices[service];
        if (server) {
          const declared = component(service, server.selector, server.deployment);
          servers[service] = { ...serverComponent(service, server.selector), listens: declared.listens };
        }
      }
      // Temporal's rule: system SDK clients use internal-frontend when it is configured, else the frontend.
      const systemTarget: TemporalService = 'internal-frontend' in cluster.serverConfig.services ? 'internal-frontend' : 'frontend';
      const flows: Flow[] = serverFlows(servers, systemTarget);
      const components: Component[] = Object.values(servers);

      const serverAt = (client: string, address: string): [TemporalService, Component] => {
        const services: [TemporalService, k8s.KubeService | undefined][] = [
          ['frontend', cluster.frontendService], ['internal-frontend', cluster.internalFrontendService],
        ];
        const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
        for (const [service, svc] of services) {
          const target = servers[service];
          // The client's host must be the Service's full DNS name, derived as the cluster derives addresses.
          if (svc && target && host === serviceFqdn(serviceDnsOf(svc, cluster.clusterDomain)) &&
            port === SERVICE_PORTS[service].grpc) {
            return [service, target];
          }
        }
        throw new ValidationError('INVALID_FLOW', `${path}/${client}`, 'the client talks to an address no frontend Service serves',
          address, 'point it at cluster.frontendAddress or cluster.adminAddress');
      };

      if (props.webUi) {
        const web = component('web', props.webUi.selector, props.webUi.deployment);
        components.push(web);
        const [service, target] = serverAt('web', props.webUi.address);
        flows.push(callFlow(web, target, service, 'ui', 'the Web UI server calls the frontend API'));
        if (props.webUi.ingress) {
          const controller: PeerGroup = { kind: 'peers', id: 'ingress-controller', label: 'ingress controller',
            peers: [props.ingressController ?? DEFAULT_INGRESS_CONTROLLER_PEER] };
          flows.push({ from: controller, to: web, ports: [{ port: WEB_UI_PORT, protocol: 'TCP', name: 'web http' }],
            category: 'ingress', purpose: 'browsers reach the Web UI through the Ingress' });
        }
      }
      const admins: [string, Record<string, string>, ApiObject, string][] = [];
      if (props.adminTools) {
        admins.push(['admintools', props.adminTools.selector, props.adminTools.deployment, props.adminTools.address]);
      }
      if (cluster.namespaceRegistration) {
        const job = cluster.namespaceRegistration;
        admins.push(['namespaces', job.selector, job.job, job.address]);
      }
      for (const [cid, selector, workload, address] of admins) {
        const admin = component(cid, selector, workload);
        components.push(admin);
        const [service, target] = serverAt(cid, address);
        flows.push(callFlow(admin, target, service, 'admin', `${cid === 'namespaces' ? 'registers namespaces' : 'operator CLI'} ` +
          `(${service === 'internal-frontend' ? 'internal-frontend: system admin over internode mTLS' : 'frontend API'})`));
      }

      // Databases: a store on the evaluation PostgreSQL is reached by pod selector, any other by the
      // declared external peers.
      const schemaJobs = cluster.schemaJobs.map((job) => ({ job, comp: component(`schema-${job.store.role}`, job.selector, job.job) }));
      components.push(...schemaJobs.map((s) => s.comp));
      const evaluation = props.evaluationDatabase;
      const postgres = evaluation ? component('postgres', evaluation.selector, evaluation.statefulSet) : undefined;
      const onEvaluation = (store: ResolvedSqlStore): boolean => evaluation !== undefined && store.host === evaluation.host;
      const stores = [cluster.defaultStore, cluster.visibilityStore];
      const externalStores = stores.filter((s) => !onEvaluation(s));
      let external: PeerGroup | undefined;
      if (externalStores.length > 0) {
        if (!props.externalDatabase || props.externalDatabase.peers.length === 0) {
          throw new ValidationError('INVALID_PEER', `${path}/externalDatabase`,
            `store(s) ${externalStores.map((s) => `${s.role} at ${s.host}:${s.port}`).join(', ')} are outside the namespace ` +
            'and no database peer is declared', props.externalDatabase,
            'set externalDatabase: { peers: [Peer.cidr("10.20.0.0/24")] } (the database\'s address range)');
        }
        external = { kind: 'peers', id: 'database', label: 'external database', peers: props.externalDatabase.peers };
      } else if (props.externalDatabase) {
        throw new ValidationError('INVALID_PEER', `${path}/externalDatabase`,
          'an external database is declared but every store uses the evaluation PostgreSQL', props.externalDatabase,
          'remove externalDatabase, or point persistence at the external database');
      }
      if (postgres) {
        components.push(postgres);
      }
      const destinations = (used: readonly ResolvedSqlStore[]): [FlowEndpoint, number[]][] => {
        const out: [FlowEndpoint, number[]][] = [];
        const onPod = used.filter(onEvaluation);
        if (postgres && onPod.length > 0) {
          out.push([postgres, onPod.map((s) => s.port)]);
        }
        const outside = used.filter((s) => !onEvaluation(s));
        if (external && outside.length > 0) {
          out.push([external, [...(props.externalDatabase?.ports ?? outside.map((s) => s.port))]]);
        }
        return out;
      };
      for (const server of Object.values(servers)) {
        for (const [to, ports] of destinations(stores)) {
          flows.push({ from: server, to, ports: databasePorts(ports), category: 'database',
            purpose: 'persistence (default and visibility stores)' });
        }
      }
      for (const { job, comp } of schemaJobs) {
        for (const [to, ports] of destinations([job.store])) {
          flows.push({ from: comp, to, ports: databasePorts(ports), category: 'database',
            purpose: `installs and upgrades the ${job.store.role} schema` });
        }
      }

      if (props.clientNamespaces && props.clientNamespaces.length > 0) {
        const clients: PeerGroup = { kind: 'peers', id: 'clients', label: 'client namespaces', peers: props.clientNamespaces };
        flows.push(callFlow(clients, servers.frontend as Component, 'frontend', 'client',
          'SDK clients and workers of the declared namespaces (this row moves to the authorizer proxy)'));
      }
      if (props.monitoring !== false) {
        const monitoring: PeerGroup = { kind: 'peers', id: 'monitoring', label: 'monitoring',
          peers: [props.monitoring ?? DEFAULT_MONITORING_PEER] };
        flows.push(...metricsFlows(monitoring, Object.values(servers)));
      }
      for (const contribution of props.contributions ?? []) {
        components.push(...contribution.components);
        flows.push(...contribution.flows);
      }
      const dns: PeerGroup = { kind: 'peers', id: 'dns', label: 'cluster DNS', peers: [props.clusterDns?.peer ?? DEFAULT_DNS_PEER] };
      flows.push(...dnsFlows(components, dns, props.clusterDns?.port ?? 53));
      flows.push(...resolveExtraFlows(path, components, props.extraFlows ?? []));

      validateFlowTable(path, components, flows);
      this.components = components;
      this.flows = flows;
      this.policyDocuments = networkPolicies(cluster.name, components, flows);
      const labels = componentLabels(cluster.name, 'network');
      this.policies = this.policyDocuments.map((doc) => new k8s.KubeNetworkPolicy(this, doc.component ?? 'DefaultDeny', {
        metadata: { name: doc.name, labels },
        spec: doc.spec,
      }));
      this.diagram = flowDiagram(cluster.namespace, components, flows);
      this.document = flowsDocument(cluster.namespace, components, flows);
    } catch (error) {
      rollback(this, error);
    }
  }
}
