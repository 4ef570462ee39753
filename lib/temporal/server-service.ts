import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  Admission, Call, ComponentDescription, Components, Endpoint, ExclusivePort, HealthCheck, HealthEndpoints, healthProbe, IComponent,
  IdentityRef, NamedPort, ProbeTiming, scrapeAnnotations,
} from '../core/component';
import { ServiceDns } from '../core/dns';
import { IMAGE_USERS } from '../core/images';
import { CONFIG_CHECKSUM_ANNOTATION, componentLabels, selectorLabels, SERVER_VERSION_ANNOTATION } from '../core/labels';
import {
  disruptionBudget, restrictedContainerSecurityContext, restrictedPodBasics, spreadConstraints, TMP_MOUNT, TMP_VOLUME,
} from '../core/pod-security';
import type { TlsPodWiring } from '../tls/consumers';
import { ResolvedSqlStore } from './persistence';
import { PORT_NAMES, serverPorts, ServicePorts, TemporalService } from './ports';
import { storePasswordEnv, storeTlsVolumes } from './store-wiring';
import { ResolvedServerVersion } from './versions';

/** Where the static config and the dynamic config are mounted in server containers. */
export const SERVER_CONFIG_DIR = '/etc/temporal/config';
export const SERVER_CONFIG_FILE = 'config_template.yaml';
/** The key of the frontend's own config in the config ConfigMap (mounted as SERVER_CONFIG_FILE in frontend pods). */
export const FRONTEND_CONFIG_FILE = 'frontend_config_template.yaml';
export const DYNAMIC_CONFIG_DIR = '/etc/temporal/dynamicconfig';
export const DYNAMIC_CONFIG_FILE = 'dynamic_config.yaml';
export const POD_IP_ENV = 'POD_IP';

/** The Temporal server services, drawn together in diagrams. */
export const SERVER_GROUP = { id: 'servers', label: 'Temporal server services' } as const;

/** What a server service connects to and accepts, known once every service of the cluster exists. */
export interface ServerConnections {
  readonly calls: readonly Call[];
  readonly admits: readonly Admission[];
  /** Ports only some components may reach (the frontend's client ports while the authorizer proxy is on). */
  readonly exclusive?: readonly ExclusivePort[];
}

export interface TemporalServerServiceProps {
  readonly instance: string;
  readonly service: TemporalService;
  readonly ports: ServicePorts;
  readonly replicas: number;
  readonly resources: k8s.ResourceRequirements;
  readonly image: string;
  /** The release the image runs: its pods say it, and wait for its schema. */
  readonly version: ResolvedServerVersion;
  readonly configMapName: string;
  /** The key of the config ConfigMap this service reads (mounted as SERVER_CONFIG_FILE). @default SERVER_CONFIG_FILE */
  readonly configKey?: string;
  readonly dynamicConfigMapName: string;
  /**
   * The config has no authorizer: set `TEMPORAL_ALLOW_NO_AUTH` to say so explicitly (every authenticated caller
   * may then do everything). @default false
   */
  readonly allowNoAuth?: boolean;
  /** More environment variables. @default - none */
  readonly env?: readonly k8s.EnvVar[];
  readonly configChecksum: string;
  readonly stores: readonly ResolvedSqlStore[];
  /** Certificates and trust anchors of the server's listeners. @default - none (plaintext) */
  readonly tls?: TlsPodWiring;
  /** The ClusterIP Service clients reach its gRPC port through (frontends). @default - none */
  readonly clientService?: ServiceDns;
  /** Its connections, asked for once the whole cluster exists (they name the other services' ports). */
  readonly connections: (self: TemporalServerService) => ServerConnections;
  /** Certificates its listeners serve. @default - none */
  readonly serves?: readonly IdentityRef[];
  /** Certificates it presents as a client. @default - none */
  readonly presents?: readonly IdentityRef[];
}

/**
 * One Temporal server service: its ServiceAccount (no API token), Deployment (started with its own
 * `--service` flag), headless Service for membership and a PodDisruptionBudget. A component: its ports
 * (gRPC, membership, HTTP on frontends, metrics) come from the ports table and are named once here.
 */
export class TemporalServerService extends Construct implements IComponent {
  public readonly deployment: k8s.KubeDeployment;
  public readonly headlessService: k8s.KubeService;
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** Labels that select this service's pods. */
  public readonly selector: Record<string, string>;
  public readonly name: string;
  public readonly service: TemporalService;
  /** The gRPC port (through the client Service on frontends): `cluster.frontend.grpc`. */
  public readonly grpc: Endpoint;
  /** The ringpop membership port. */
  public readonly membership: Endpoint;
  /** The HTTP API port (frontends only). */
  public readonly http?: Endpoint;
  /** The Prometheus metrics port. */
  public readonly metrics: Endpoint;
  /** What its probes check: a TCP connect to the port the service listens on. */
  public readonly health: HealthEndpoints;
  private readonly ports: readonly NamedPort[];
  private readonly props: TemporalServerServiceProps;

  constructor(scope: Construct, id: string, props: TemporalServerServiceProps) {
    super(scope, id);
    const { instance, service } = props;
    this.props = props;
    this.service = service;
    this.name = `${instance}-${service}`;
    const labels = componentLabels(instance, service);
    this.selector = selectorLabels(instance, service);
    const named = serverPorts(props.ports);
    this.ports = [named.grpc, named.membership, ...(named.http ? [named.http] : []), named.metrics];
    this.grpc = { component: this, port: named.grpc, ...(props.clientService ? { service: props.clientService } : {}) };
    this.membership = { component: this, port: named.membership };
    this.http = named.http ? { component: this, port: named.http, ...(props.clientService ? { service: props.clientService } : {}) }
      : undefined;
    this.metrics = { component: this, port: named.metrics };

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels },
      automountServiceAccountToken: false,
    });

    const containerPorts: k8s.ContainerPort[] = this.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' }));
    const tls = storeTlsVolumes(props.stores);
    // Every service listens on its gRPC port, except the worker of releases before 1.31 (membership only).
    const probed = service === 'worker' && !props.version.release.workerServesGrpc ? named.membership : named.grpc;
    this.health = { startup: { port: probed }, readiness: { port: probed }, liveness: { port: probed } };
    const probe = (check: HealthCheck, extra: ProbeTiming): k8s.Probe =>
      healthProbe(check, { periodSeconds: 10, timeoutSeconds: 5, ...extra });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, labels },
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.selector },
        // A new pod must be Ready before an old one goes: on an upgrade, a server of the new release refuses to start
        // until its schema Job has upgraded the stores (its start-up schema check), so until then the old pods serve.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0),
          maxSurge: k8s.IntOrString.fromNumber(1) } },
        template: {
          metadata: {
            labels,
            annotations: {
              [SERVER_VERSION_ANNOTATION]: props.version.version.text,
              [CONFIG_CHECKSUM_ANNOTATION]: props.configChecksum,
              ...scrapeAnnotations({ port: named.metrics }),
            },
          },
          spec: {
            ...restrictedPodBasics(this.serviceAccount.name, IMAGE_USERS.server),
            topologySpreadConstraints: spreadConstraints(this.selector),
            terminationGracePeriodSeconds: 60,
            containers: [{
              name: service,
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['temporal-server', 'start', '--service', service],
              env: [
                { name: 'TEMPORAL_SERVER_CONFIG_FILE_PATH', value: `${SERVER_CONFIG_DIR}/${SERVER_CONFIG_FILE}` },
                { name: POD_IP_ENV, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                // Without an authorizer the server lets every authenticated caller act on every namespace:
                // said explicitly instead of by a start-up warning (future releases require the flag).
                ...(props.allowNoAuth ? [{ name: 'TEMPORAL_ALLOW_NO_AUTH', value: 'true' }] : []),
                ...(props.env ?? []),
                ...storePasswordEnv(props.stores),
              ],
              ports: containerPorts,
              startupProbe: probe(this.health.startup ?? this.health.readiness, { failureThreshold: 30, periodSeconds: 5 }),
              readinessProbe: probe(this.health.readiness, { failureThreshold: 3 }),
              livenessProbe: probe(this.health.liveness ?? this.health.readiness, { failureThreshold: 6, periodSeconds: 20 }),
              resources: props.resources,
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: SERVER_CONFIG_DIR, readOnly: true },
                { name: 'dynamic-config', mountPath: DYNAMIC_CONFIG_DIR, readOnly: true },
                TMP_MOUNT,
                ...tls.mounts,
                ...(props.tls?.mounts ?? []),
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: props.configMapName,
                items: [{ key: props.configKey ?? SERVER_CONFIG_FILE, path: SERVER_CONFIG_FILE }] } },
              { name: 'dynamic-config', configMap: { name: props.dynamicConfigMapName } },
              TMP_VOLUME,
              ...tls.volumes,
              ...(props.tls?.volumes ?? []),
            ],
          },
        },
      },
    });

    this.headlessService = new k8s.KubeService(this, 'Headless', {
      metadata: { name: `${this.name}-headless`, labels },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: this.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: k8s.IntOrString.fromString(p.name),
          protocol: 'TCP',
          appProtocol: p.name === PORT_NAMES.http || p.name === PORT_NAMES.metrics ? 'http' : 'tcp',
        })),
      },
    });

    disruptionBudget(this, this.name, labels, this.selector);
    Components.register(this);
  }

  public get description(): ComponentDescription {
    const { calls, admits, exclusive } = this.props.connections(this);
    return {
      id: this.service,
      workload: this.deployment,
      selector: this.selector,
      ports: this.ports,
      calls,
      admits,
      metrics: { port: this.metrics.port },
      health: this.health,
      ...(exclusive !== undefined && exclusive.length > 0 ? { exclusive } : {}),
      serves: this.props.serves ?? [],
      presents: this.props.presents ?? [],
      group: SERVER_GROUP,
    };
  }
}
