import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { ValidationError } from '../errors';
import { DynamicConfig, mergeDynamicConfig, renderDynamicConfig } from './dynamic-config';
import { DEFAULT_IMAGES, requirePinnedImage } from './images';
import { serviceDnsOf, serviceFqdn } from '../tls/dns';
import { RINGPOP_TLS_DYNAMIC_CONFIG } from '../tls/global-tls';
import { TemporalPki } from '../tls/pki';
import { ClientTls, ClusterTls, issueClusterTls, platformClientTls } from './cluster-tls';
import { componentLabels, selectorLabels } from './labels';
import { DEFAULT_CLUSTER_DOMAIN, requireChartNamespace, requireClusterDomain, requireDns1035Label, requireReplicas } from './names';
import { NamespaceRegistration, resolveNamespaces, TemporalNamespaceProps } from './namespace-job';
import { ResolvedSqlStore, resolveSqlStore, SqlStoreProps } from './persistence';
import { assertNoPortClash, PORT_NAMES, SERVICE_PORTS, TemporalService } from './ports';
import { ComputeResources, toResourceRequirements } from './security';
import { SchemaJob } from './schema-job';
import { buildServerConfig, renderServerConfig, ServerConfig } from './server-config';
import {
  DYNAMIC_CONFIG_DIR, DYNAMIC_CONFIG_FILE, POD_IP_ENV, SERVER_CONFIG_FILE, TemporalServerService,
} from './server-service';

/** Replicas and resources of one server service. */
export interface ServerServiceProps {
  /** @default 1 (history: 1) */
  readonly replicas?: number;
  /** @default - per service, see DEFAULT_SERVER_RESOURCES */
  readonly resources?: ComputeResources;
}

/** The two stores. */
export interface PersistenceProps {
  /** The default store (workflow state). */
  readonly default: SqlStoreProps;
  /** The visibility store (listing and search). */
  readonly visibility: SqlStoreProps;
}

export interface TemporalClusterProps {
  /**
   * Name prefix of every object (`<name>-frontend`, ...); a DNS label of at most 30 characters.
   * @default 'temporal'
   */
  readonly name?: string;
  /** Persistence: default and visibility SQL stores. */
  readonly persistence: PersistenceProps;
  /**
   * Number of history shards. IMMUTABLE: it is written to the database on first start and can never be
   * changed without a new database. 512 suits most production clusters; 4 is enough for evaluation.
   * @default 512
   */
  readonly numHistoryShards?: number;
  /** @default - 1 replica, default resources */
  readonly frontend?: ServerServiceProps;
  /** @default - 1 replica, default resources */
  readonly history?: ServerServiceProps;
  /** @default - 1 replica, default resources */
  readonly matching?: ServerServiceProps;
  /** @default - 1 replica, default resources */
  readonly worker?: ServerServiceProps;
  /**
   * Run an internal-frontend: the system worker, admin tools and jobs then reach the cluster through it
   * (needed once server-side authorization is on).
   * @default false
   */
  readonly internalFrontend?: boolean | ServerServiceProps;
  /**
   * Dynamic config values, merged key by key over DEFAULT_DYNAMIC_CONFIG.
   * @default - DEFAULT_DYNAMIC_CONFIG
   */
  readonly dynamicConfig?: DynamicConfig;
  /** Temporal namespaces to register (created if missing, retention updated if present). @default - none */
  readonly namespaces?: readonly TemporalNamespaceProps[];
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Server image. @default DEFAULT_IMAGES.server */
  readonly serverImage?: string;
  /** Admin tools image (schema and namespace jobs); must match the server version. @default DEFAULT_IMAGES.adminTools */
  readonly adminToolsImage?: string;
  /** Kubernetes cluster DNS domain. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * The PKI that issues the cluster's certificates: with it, every listener (frontend, internode,
   * membership) requires mutual TLS. Without it the cluster runs in PLAINTEXT, which is only for tests;
   * `SecureTemporalChart` always passes one.
   * @default - plaintext
   */
  readonly pki?: TemporalPki;
  /**
   * Extra DNS names clients use to reach the frontend (an ingress or load-balancer name), added to the
   * frontend certificate's SANs.
   * @default - none
   */
  readonly frontendExtraHosts?: readonly string[];
}

/** Default resources per service (requests; memory limits). */
export const DEFAULT_SERVER_RESOURCES: Readonly<Record<TemporalService, ComputeResources>> = {
  'frontend': { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' },
  'internal-frontend': { cpu: '100m', memory: '256Mi', memoryLimit: '512Mi' },
  'history': { cpu: '500m', memory: '1Gi', memoryLimit: '2Gi' },
  'matching': { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' },
  'worker': { cpu: '100m', memory: '256Mi', memoryLimit: '512Mi' },
};

/**
 * A Temporal cluster: one Deployment per service, config and dynamic-config ConfigMaps, membership
 * (headless) Services, the frontend Service, schema jobs for both stores and the namespace job.
 */
export class TemporalCluster extends Construct {
  public readonly name: string;
  /** Kubernetes namespace the cluster runs in (the Chart's). */
  public readonly namespace: string;
  public readonly clusterDomain: string;
  public readonly numHistoryShards: number;
  public readonly services: readonly TemporalService[];
  public readonly serverServices: Readonly<Partial<Record<TemporalService, TemporalServerService>>>;
  /** ClusterIP Service of the frontend (clients connect here). */
  public readonly frontendService: k8s.KubeService;
  /** ClusterIP Service of the internal-frontend, when enabled. */
  public readonly internalFrontendService?: k8s.KubeService;
  public readonly defaultStore: ResolvedSqlStore;
  public readonly visibilityStore: ResolvedSqlStore;
  public readonly serverConfig: ServerConfig;
  public readonly renderedConfig: string;
  public readonly adminToolsImage: string;
  public readonly schemaJobs: readonly SchemaJob[];
  public readonly namespaceRegistration?: NamespaceRegistration;
  /** The cluster's server certificates and TLS config, when it has a PKI. */
  public readonly tls?: ClusterTls;

  constructor(scope: Construct, id: string, props: TemporalClusterProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      this.name = requireDns1035Label(path, 'name', props.name ?? 'temporal', 30);
      this.namespace = requireChartNamespace(this);
      this.clusterDomain = requireClusterDomain(path, props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
      this.numHistoryShards = props.numHistoryShards ?? 512;
      if (!Number.isInteger(this.numHistoryShards) || this.numHistoryShards < 1 || this.numHistoryShards > 65536) {
        throw new ValidationError('INVALID_SHARDS', path, 'numHistoryShards must be an integer from 1 to 65536',
          props.numHistoryShards, 'choose it once, e.g. 512 (production) or 4 (evaluation); it can never change');
      }
      const serverImage = requirePinnedImage(path, 'serverImage', props.serverImage ?? DEFAULT_IMAGES.server);
      this.adminToolsImage = requirePinnedImage(path, 'adminToolsImage', props.adminToolsImage ?? DEFAULT_IMAGES.adminTools);
      this.defaultStore = resolveSqlStore(path, 'default', props.persistence?.default);
      this.visibilityStore = resolveSqlStore(path, 'visibility', props.persistence?.visibility);

      const internal = props.internalFrontend;
      const serviceProps: Partial<Record<TemporalService, ServerServiceProps>> = {
        'frontend': props.frontend ?? {},
        'history': props.history ?? {},
        'matching': props.matching ?? {},
        'worker': props.worker ?? {},
        ...(internal ? { 'internal-frontend': internal === true ? {} : internal } : {}),
      };
      this.services = (Object.keys(SERVICE_PORTS) as TemporalService[]).filter((s) => serviceProps[s] !== undefined);
      assertNoPortClash(path, Object.fromEntries(this.services.map((s) => [s, SERVICE_PORTS[s]])));
      const resolved = this.services.map((service) => {
        const sp = serviceProps[service] ?? {};
        const servicePath = `${path}/${pascal(service)}`;
        const replicas = requireReplicas(servicePath, sp.replicas ?? 1,
          'set replicas to 1 or more (scale to zero by deleting the cluster, not one service)');
        return [service, replicas, toResourceRequirements(servicePath, sp.resources ?? DEFAULT_SERVER_RESOURCES[service])] as const;
      });
      resolveNamespaces(`${path}/Namespaces`, props.namespaces ?? []);

      // Client-facing Services first: certificates and addresses are derived from them.
      this.frontendService = this.clientService('frontend');
      if (this.services.includes('internal-frontend')) {
        this.internalFrontendService = this.clientService('internal-frontend');
      }
      this.tls = props.pki ? issueClusterTls(props.pki, {
        frontendService: this.frontendService,
        internalFrontendService: this.internalFrontendService,
        clusterDomain: this.clusterDomain,
        frontendExtraHosts: props.frontendExtraHosts,
      }) : undefined;

      this.serverConfig = buildServerConfig({
        services: this.services,
        numHistoryShards: this.numHistoryShards,
        defaultStore: this.defaultStore,
        visibilityStore: this.visibilityStore,
        frontendAddress: this.frontendAddress,
        frontendHttpAddress: `${this.frontendHost}:${SERVICE_PORTS.frontend.http}`,
        dynamicConfigPath: `${DYNAMIC_CONFIG_DIR}/${DYNAMIC_CONFIG_FILE}`,
        dynamicConfigPollSeconds: 10,
        logLevel: props.logLevel ?? 'info',
        podIpEnv: POD_IP_ENV,
        tls: this.tls?.globalTls,
      });
      this.renderedConfig = renderServerConfig(this.serverConfig);
      // With mTLS, ringpop membership traffic uses the internode TLS settings too; that is enforced over
      // any user value (membership in plaintext would bypass the internode mTLS).
      const dynamicConfig = renderDynamicConfig(mergeDynamicConfig(`${path}/DynamicConfig`, {
        ...(props.dynamicConfig ?? {}),
        ...(this.tls ? RINGPOP_TLS_DYNAMIC_CONFIG : {}),
      }));

      const labels = componentLabels(this.name, 'server');
      const configMap = new k8s.KubeConfigMap(this, 'Config', {
        metadata: { name: `${this.name}-config`, labels },
        data: { [SERVER_CONFIG_FILE]: this.renderedConfig },
      });
      const dynamicConfigMap = new k8s.KubeConfigMap(this, 'DynamicConfig', {
        metadata: { name: `${this.name}-dynamic-config`, labels },
        data: { [DYNAMIC_CONFIG_FILE]: dynamicConfig },
      });
      const configChecksum = createHash('sha256').update(this.renderedConfig).digest('hex');

      const created: Partial<Record<TemporalService, TemporalServerService>> = {};
      for (const [service, replicas, resources] of resolved) {
        created[service] = new TemporalServerService(this, pascal(service), {
          instance: this.name,
          service,
          ports: SERVICE_PORTS[service],
          replicas,
          resources,
          image: serverImage,
          configMapName: configMap.name,
          dynamicConfigMapName: dynamicConfigMap.name,
          configChecksum,
          stores: [this.defaultStore, this.visibilityStore],
          tls: this.tls?.serverWiring,
        });
      }
      this.serverServices = created;

      const jobsAccount = new k8s.KubeServiceAccount(this, 'JobsServiceAccount', {
        metadata: { name: `${this.name}-jobs`, labels: componentLabels(this.name, 'jobs') },
        automountServiceAccountToken: false,
      });
      this.schemaJobs = [this.defaultStore, this.visibilityStore].map((store) => new SchemaJob(this,
        `Schema${store.role === 'default' ? 'Default' : 'Visibility'}`, {
          instance: this.name,
          store,
          image: this.adminToolsImage,
          serviceAccountName: jobsAccount.name,
        }));

      if (props.namespaces && props.namespaces.length > 0) {
        this.namespaceRegistration = new NamespaceRegistration(this, 'Namespaces', {
          instance: this.name,
          image: this.adminToolsImage,
          address: this.adminAddress,
          namespaces: props.namespaces,
          serviceAccountName: jobsAccount.name,
          tls: this.adminClientTls('JobsClient', 'jobs'),
        });
      }
    } catch (error) {
      rollback(this, error);
    }
  }

  /** DNS name of the frontend Service (read from the Service object). */
  public get frontendHost(): string {
    return serviceFqdn(serviceDnsOf(this.frontendService, this.clusterDomain));
  }

  /** `host:port` clients (SDK workers, the Web UI) use. */
  public get frontendAddress(): string {
    return `${this.frontendHost}:${SERVICE_PORTS.frontend.grpc}`;
  }

  /** `host:port` admin tools and jobs use: the internal-frontend when enabled, else the frontend. */
  public get adminAddress(): string {
    if (this.internalFrontendService) {
      return `${serviceFqdn(serviceDnsOf(this.internalFrontendService, this.clusterDomain))}:` +
        `${SERVICE_PORTS['internal-frontend'].grpc}`;
    }
    return this.frontendAddress;
  }

  /**
   * mTLS of an admin client (admin tools, jobs) towards `adminAddress`: a platform-clients certificate
   * named `name` for the frontend, or the internode certificate for the internal-frontend (which admits
   * only internode certificates). Undefined without a PKI.
   */
  public adminClientTls(id: string, name: string): ClientTls | undefined {
    if (!this.tls) {
      return undefined;
    }
    return platformClientTls(this.tls, {
      id, name, target: this.internalFrontendService ? 'internal-frontend' : 'frontend', program: 'temporal-cli',
    });
  }

  private clientService(service: 'frontend' | 'internal-frontend'): k8s.KubeService {
    const ports = SERVICE_PORTS[service];
    return new k8s.KubeService(this, `${pascal(service)}Service`, {
      metadata: { name: `${this.name}-${service}`, labels: componentLabels(this.name, service) },
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(this.name, service),
        ports: [
          { name: PORT_NAMES.grpc, port: ports.grpc, targetPort: k8s.IntOrString.fromString(PORT_NAMES.grpc),
            protocol: 'TCP', appProtocol: 'tcp' },
          ...(ports.http !== undefined ? [{ name: PORT_NAMES.http, port: ports.http,
            targetPort: k8s.IntOrString.fromString(PORT_NAMES.http), protocol: 'TCP', appProtocol: 'http' }] : []),
        ],
      },
    });
  }
}

function pascal(service: string): string {
  return service.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

