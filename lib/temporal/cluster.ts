import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Admission, Call, Endpoint, endpointAddress, ExclusivePort, IComponent } from '../core/component';
import { serviceDnsOf, serviceFqdn } from '../core/dns';
import { ValidationError } from '../core/errors';
import { Installation, InstallationScopedProps } from '../core/installation';
import { componentLabels, selectorLabels } from '../core/labels';
import { pascalCase, requireReplicas } from '../core/names';
import { ComputeResources, toResourceRequirements } from '../core/pod-security';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { Role, SYSTEM_NAMESPACE } from '../authorizer/policy';
import { AuthorizerProxy, AuthorizerProxyOptions, JWKS_REFRESH_SECONDS } from '../authorizer/proxy';
import { TlsIdentity } from '../tls/identity';
import { purposeTrustDir } from '../tls/layout';
import { systemTrustEnv } from '../tls/consumers';
import { TemporalPki } from '../tls/pki';
import { FrontendAccess } from '../tls/trust';
import { serverCalls } from './call-graph';
import { ClientTls, clientTls, ClusterTls, ConfigVariant, configVariant, issueClusterTls } from './cluster-tls';
import { DynamicConfig, mergeDynamicConfig, renderDynamicConfig, RINGPOP_TLS_DYNAMIC_CONFIG } from './dynamic-config';
import { NamespaceRegistration, resolveNamespaces, TemporalNamespaceProps } from './namespace-job';
import { ResolvedSqlStore, resolveSqlStore, SqlStoreProps } from './persistence';
import { assertNoPortClash, PORT_NAMES, SERVICE_PORTS, TemporalService } from './ports';
import { SchemaJob } from './schema-job';
import { AuthorizationConfig, buildServerConfig, renderServerConfig, ServerConfig } from './server-config';
import {
  DYNAMIC_CONFIG_DIR, DYNAMIC_CONFIG_FILE, FRONTEND_CONFIG_FILE, POD_IP_ENV, SERVER_CONFIG_FILE, ServerConnections,
  TemporalServerService,
} from './server-service';
import { storeCalls, storeIdentities } from './store-wiring';
import { ResolvedServerVersion, resolveServerVersion } from './versions';

/** Replicas and resources of one server service. */
export interface ServerServiceProps {
  /** @default 1 */
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

/** Props of a cluster. Its installation defaults to the PKI's, when it has one. */
export interface TemporalClusterProps extends InstallationScopedProps {
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
   * Run an internal-frontend: the server's own system clients (the system worker's) then reach the cluster
   * through it, as system admin over internode mTLS. Needed once server-side authorization is on, so always
   * on with an authorizer proxy; without one, admin tools and jobs use it too.
   * @default - on with an authorizer proxy, else off
   */
  readonly internalFrontend?: boolean | ServerServiceProps;
  /**
   * The authorizer proxy: every client reaches Temporal through it, and the frontend enforces the grants of
   * the tokens it signs (Temporal's default JWT claim mapper and authorizer, the proxy's JWKS as key source).
   * A workload certificate straight to the frontend is then refused at TLS. Needs `pki`.
   * `false` is the same as leaving it out.
   * @default - none: no authorization (every caller the frontend's TLS admits may do everything)
   */
  readonly authorizerProxy?: AuthorizerProxyOptions | false;
  /**
   * Dynamic config values, merged key by key over DEFAULT_DYNAMIC_CONFIG.
   * @default - DEFAULT_DYNAMIC_CONFIG
   */
  readonly dynamicConfig?: DynamicConfig;
  /** Temporal namespaces to register (created if missing, retention updated if present). @default - none */
  readonly namespaces?: readonly TemporalNamespaceProps[];
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * The Temporal server release to deploy (`major.minor.patch`, a release line of SERVER_RELEASES: 1.30.x or 1.31.x).
   * It sets the default images and the schema versions the schema Jobs install and the servers wait for.
   * @default TEMPORAL_VERSION (1.31.2)
   */
  readonly serverVersion?: string;
  /**
   * The server version the cluster runs now, when this synth upgrades (or rolls back) it. The synth refuses a jump
   * of more than one minor up or down, with the steps to take instead (docs/OPERATIONS.md "Upgrades"). The Pulumi
   * stack passes its previous `serverVersion` output here by itself.
   * @default - not checked (a new installation)
   */
  readonly runningServerVersion?: string;
  /**
   * Server image (pinned). A tag that names a version must name `serverVersion`.
   * @default `temporalio/server:<serverVersion>`
   */
  readonly serverImage?: string;
  /**
   * Admin tools image (schema and namespace jobs, admin tools): it installs the schema of its own release, so a tag that
   * names a version must name `serverVersion`.
   * @default `temporalio/admin-tools:<serverVersion>`
   */
  readonly adminToolsImage?: string;
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
 * (headless) Services, the frontend Service, schema jobs for both stores and the namespace job. Each
 * server service and job is a component that describes its own ports and connections.
 */
export class TemporalCluster extends Construct {
  public readonly installation: Installation;
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
  /** The frontend's static config (the most complete variant). */
  public readonly serverConfig: ServerConfig;
  /** The frontend's rendered config file. */
  public readonly renderedConfig: string;
  /** The static config of each variant: the frontend's, and every other service's. */
  public readonly serverConfigs: Readonly<Record<ConfigVariant, ServerConfig>>;
  public readonly renderedConfigs: Readonly<Record<ConfigVariant, string>>;
  /** The authorizer proxy, when the cluster has one: clients call `clientEndpoint` (its gRPC port). */
  public readonly authorizerProxy?: AuthorizerProxy;
  public readonly adminToolsImage: string;
  /** The server release it deploys, its images and the schema versions it needs. */
  public readonly serverVersion: ResolvedServerVersion;
  public readonly schemaJobs: readonly SchemaJob[];
  public readonly namespaceRegistration?: NamespaceRegistration;
  /**
   * Who may present a client certificate to the frontend: derived, never set. `direct` while the
   * deployment has no authorizer proxy (clients call the frontend with workload certificates); with a
   * proxy, `authorizer-proxy` (the frontend then refuses workload certificates).
   */
  public readonly frontendAccess: FrontendAccess;
  /** The cluster's server certificates and TLS config, when it has a PKI. */
  public readonly tls?: ClusterTls;

  constructor(scope: Construct, id: string, props: TemporalClusterProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      this.installation = resolveClusterInstallation(this, props);
      this.name = this.installation.name;
      this.namespace = this.installation.namespace;
      this.clusterDomain = this.installation.clusterDomain;
      this.numHistoryShards = props.numHistoryShards ?? 512;
      if (!Number.isInteger(this.numHistoryShards) || this.numHistoryShards < 1 || this.numHistoryShards > 65536) {
        throw new ValidationError('INVALID_SHARDS', path, 'numHistoryShards must be an integer from 1 to 65536',
          props.numHistoryShards, 'choose it once, e.g. 512 (production) or 4 (evaluation); it can never change');
      }
      this.serverVersion = resolveServerVersion(path, props);
      const serverImage = this.serverVersion.serverImage;
      this.adminToolsImage = this.serverVersion.adminToolsImage;
      this.defaultStore = resolveSqlStore(path, 'default', props.persistence?.default);
      this.visibilityStore = resolveSqlStore(path, 'visibility', props.persistence?.visibility);
      const proxyOptions = props.authorizerProxy === false ? undefined : props.authorizerProxy;
      if (proxyOptions !== undefined && props.pki === undefined) {
        throw new ValidationError('INVALID_TLS', path, 'the authorizer proxy needs mTLS: the cluster has no PKI', 'authorizerProxy',
          'pass pki (a TemporalPki), or leave authorizerProxy out');
      }
      if (proxyOptions !== undefined && props.internalFrontend === false) {
        throw new ValidationError('INVALID_TLS', path,
          'with the authorizer proxy the server authorizes every frontend call, so its system worker needs the internal-frontend',
          false, 'leave internalFrontend unset (or true), or leave authorizerProxy out');
      }
      // With a proxy, clients must go through it: the frontend then refuses workload certificates.
      this.frontendAccess = proxyOptions ? 'authorizer-proxy' : 'direct';

      const internal = props.internalFrontend ?? proxyOptions !== undefined;
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
        const servicePath = `${path}/${pascalCase(service)}`;
        const replicas = requireReplicas(servicePath, sp.replicas ?? 1,
          'set replicas to 1 or more (scale to zero by deleting the cluster, not one service)');
        return [service, replicas, toResourceRequirements(servicePath, sp.resources ?? DEFAULT_SERVER_RESOURCES[service])] as const;
      });
      resolveNamespaces(`${path}/Namespaces`, props.namespaces ?? []);
      requireUnusedNames(this, [{ kind: 'ConfigMap', name: `${this.name}-config` }],
        'give each cluster of one namespace its own installation name');

      // Client-facing Services first: certificates and addresses are derived from them.
      this.frontendService = this.clientService('frontend');
      if (this.services.includes('internal-frontend')) {
        this.internalFrontendService = this.clientService('internal-frontend');
      }
      this.tls = props.pki ? issueClusterTls(new Construct(this, 'Tls'), props.pki, {
        services: this.services,
        frontendService: this.frontendService,
        internalFrontendService: this.internalFrontendService,
        clusterDomain: this.clusterDomain,
        frontendExtraHosts: props.frontendExtraHosts,
        access: this.frontendAccess,
      }) : undefined;

      this.authorizerProxy = proxyOptions && this.tls ? new AuthorizerProxy(this, 'AuthorizerProxy', {
        ...proxyOptions,
        installation: this.installation,
        pki: this.tls.pki,
        upstream: { address: this.frontendAddress, server: this.tls.frontend, endpoint: () => this.frontend.grpc },
      }) : undefined;
      const proxy = this.authorizerProxy;
      const authorization: Record<ConfigVariant, AuthorizationConfig | undefined> = proxy ? {
        // The frontend reads the caller's grants from the token the proxy signed, and enforces them.
        frontend: {
          authorizer: 'default',
          claimMapper: 'default',
          jwtKeyProvider: { keySourceURIs: [proxy.jwksUrl], refreshInterval: `${JWKS_REFRESH_SECONDS}s` },
          permissionsClaimName: 'permissions',
          audience: proxy.tokenAudience,
        },
        // Only the internal-frontend authorizes among the others: it maps every caller to system admin, and
        // internode mTLS is its guard. No claim mapper, so no process but the frontend fetches keys.
        internal: { authorizer: 'default' },
      } : { frontend: undefined, internal: undefined };
      const configOf = (variant: ConfigVariant): ServerConfig => buildServerConfig({
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
        tls: this.tls?.globalTls[variant],
        authorization: authorization[variant],
      });
      this.serverConfigs = { frontend: configOf('frontend'), internal: configOf('internal') };
      this.renderedConfigs = {
        frontend: renderServerConfig(this.serverConfigs.frontend),
        internal: renderServerConfig(this.serverConfigs.internal),
      };
      this.serverConfig = this.serverConfigs.frontend;
      this.renderedConfig = this.renderedConfigs.frontend;
      // One file when both variants are the same (plaintext), else the frontend's next to the others'.
      const configKeys: Record<ConfigVariant, string> = this.renderedConfigs.frontend === this.renderedConfigs.internal
        ? { frontend: SERVER_CONFIG_FILE, internal: SERVER_CONFIG_FILE }
        : { frontend: FRONTEND_CONFIG_FILE, internal: SERVER_CONFIG_FILE };
      // With mTLS, ringpop membership traffic uses the internode TLS settings too; that is enforced over
      // any user value (membership in plaintext would bypass the internode mTLS).
      const dynamicConfig = renderDynamicConfig(mergeDynamicConfig(`${path}/DynamicConfig`, {
        ...(props.dynamicConfig ?? {}),
        ...(this.tls ? RINGPOP_TLS_DYNAMIC_CONFIG : {}),
      }));

      const labels = componentLabels(this.name, 'server');
      const configMap = new k8s.KubeConfigMap(this, 'Config', {
        metadata: { name: `${this.name}-config`, labels },
        data: Object.fromEntries((['internal', 'frontend'] as const).map((v) => [configKeys[v], this.renderedConfigs[v]])),
      });
      const dynamicConfigMap = new k8s.KubeConfigMap(this, 'DynamicConfig', {
        metadata: { name: `${this.name}-dynamic-config`, labels },
        data: { [DYNAMIC_CONFIG_FILE]: dynamicConfig },
      });
      const checksum = (variant: ConfigVariant) => createHash('sha256').update(this.renderedConfigs[variant]).digest('hex');
      const stores = [this.defaultStore, this.visibilityStore];

      const created: Partial<Record<TemporalService, TemporalServerService>> = {};
      for (const [service, replicas, resources] of resolved) {
        const clientService = service === 'frontend' ? this.frontendService
          : service === 'internal-frontend' ? this.internalFrontendService : undefined;
        created[service] = new TemporalServerService(this, pascalCase(service), {
          instance: this.name,
          service,
          ports: SERVICE_PORTS[service],
          replicas,
          resources,
          image: serverImage,
          version: this.serverVersion,
          configMapName: configMap.name,
          configKey: configKeys[configVariant(service)],
          dynamicConfigMapName: dynamicConfigMap.name,
          configChecksum: checksum(configVariant(service)),
          allowNoAuth: proxy === undefined,
          // The frontend fetches the proxy's JWKS over HTTPS: Go's client trusts the frontend CA that issued it (both
          // key slots: the frontend's own trust directory for that purpose, see issueClusterTls).
          env: proxy && service === 'frontend' ? systemTrustEnv(purposeTrustDir('frontend')) : [],
          stores,
          tls: this.tls?.wiring(service),
          clientService: clientService ? serviceDnsOf(clientService, this.clusterDomain) : undefined,
          connections: (self) => this.serverConnections(self),
          // Every service serves its internode certificate (its gRPC or membership listener); the frontend
          // also serves its own. Each presents its internode certificate, and the stores' client certificate.
          serves: this.tls ? [this.internodeOf(service), ...(service === 'frontend' ? [this.tls.frontend] : [])] : [],
          presents: [...(this.tls ? [this.internodeOf(service)] : []), ...storeIdentities(stores, this.namespace)],
        });
      }
      this.serverServices = created;

      const jobsAccount = new k8s.KubeServiceAccount(this, 'JobsServiceAccount', {
        metadata: { name: `${this.name}-jobs`, labels: componentLabels(this.name, 'jobs') },
        automountServiceAccountToken: false,
      });
      this.schemaJobs = stores.map((store) => new SchemaJob(this,
        `Schema${store.role === 'default' ? 'Default' : 'Visibility'}`, {
          instance: this.name,
          store,
          image: this.adminToolsImage,
          version: this.serverVersion,
          serviceAccountName: jobsAccount.name,
        }));

      if (props.namespaces && props.namespaces.length > 0) {
        this.namespaceRegistration = new NamespaceRegistration(this, 'Namespaces', {
          instance: this.name,
          image: this.adminToolsImage,
          target: this.adminEndpoint,
          namespaces: props.namespaces,
          serviceAccountName: jobsAccount.name,
          tls: (scope) => this.adminClientTls(scope, 'JobsClient', 'jobs'),
        });
      }
    } catch (error) {
      rollback(this, error);
    }
  }

  /** The frontend service: `cluster.frontend.grpc` is the endpoint clients call. */
  public get frontend(): TemporalServerService {
    return this.server('frontend');
  }

  /** The internal-frontend service, when enabled. */
  public get internalFrontend(): TemporalServerService | undefined {
    return this.serverServices['internal-frontend'];
  }

  /** The endpoint clients (SDK workers and clients, the Web UI) call: the authorizer proxy's, else the frontend's. */
  public get clientEndpoint(): Endpoint {
    return this.authorizerProxy?.grpc ?? this.frontend.grpc;
  }

  /**
   * The endpoint admin tools and jobs call: the authorizer proxy's (as system admin there); without one, the
   * internal-frontend's when enabled, else the frontend's.
   */
  public get adminEndpoint(): Endpoint {
    return this.authorizerProxy?.grpc ?? (this.internalFrontend ?? this.frontend).grpc;
  }

  /** DNS name of the frontend Service (read from the Service object). */
  public get frontendHost(): string {
    return serviceFqdn(serviceDnsOf(this.frontendService, this.clusterDomain));
  }

  /** `host:port` clients (SDK workers, the Web UI) use: the authorizer proxy's, else the frontend's. */
  public get clientAddress(): string {
    return endpointAddress(this.clientEndpoint);
  }

  /** `host:port` of the frontend Service's gRPC port. */
  public get frontendAddress(): string {
    return `${this.frontendHost}:${SERVICE_PORTS.frontend.grpc}`;
  }

  /** `host:port` admin tools and jobs use: the internal-frontend when enabled, else the frontend. */
  public get adminAddress(): string {
    return endpointAddress(this.adminEndpoint);
  }

  /**
   * mTLS of a platform client (the Web UI, a tool of your own) towards `clientEndpoint`, its platform-clients
   * certificate `name` issued into `scope`. With the authorizer proxy the certificate is granted `role` in
   * `namespaces` there. Undefined without a PKI.
   */
  public clientTls(scope: Construct, id: string, props: {
    readonly name: string;
    readonly program: 'web-ui' | 'temporal-cli';
    /** Its role through the proxy; none: the certificate authenticates the component, and grants nothing by itself. */
    readonly role?: Role;
    /** Where: Temporal namespaces, or `temporal-system` for all. */
    readonly namespaces: readonly string[];
    /** A file of anchors the program also trusts (Web UI: the identity provider's CA). @default - none */
    readonly extraTrustFile?: string;
  }): ClientTls | undefined {
    if (!this.tls) {
      return undefined;
    }
    const identity = this.tls.pki.issuePlatformClientCertificate(scope, id, { name: props.name });
    const proxy = this.authorizerProxy;
    if (props.role !== undefined) {
      proxy?.grant(identity, props.role, props.namespaces);
    }
    return clientTls(this.tls.pki, identity, proxy?.serverIdentity ?? this.tls.frontend, props.program, props.extraTrustFile);
  }

  /**
   * mTLS of an admin client (admin tools, jobs) towards `adminEndpoint`, its certificate issued into `scope`:
   * through the authorizer proxy, a platform-clients certificate granted `admin` on `temporal-system`; else
   * towards the internal-frontend (which admits only internode certificates) an internode certificate of its
   * own, `<name>-internode`; else a platform-clients certificate for the frontend. Undefined without a PKI.
   */
  public adminClientTls(scope: Construct, id: string, name: string): ClientTls | undefined {
    if (!this.tls) {
      return undefined;
    }
    const internalFrontend = this.tls.internode['internal-frontend'];
    if (this.authorizerProxy === undefined && internalFrontend !== undefined) {
      const identity = this.tls.pki.issueInternodeCertificate(scope, id, { name: `${name}-internode` });
      return clientTls(this.tls.pki, identity, internalFrontend, 'temporal-cli');
    }
    return this.clientTls(scope, id, { name, program: 'temporal-cli', role: 'admin', namespaces: [SYSTEM_NAMESPACE] });
  }

  /** The internode certificate of `service` (with a PKI). */
  private internodeOf(service: TemporalService): TlsIdentity {
    const identity = this.tls?.internode[service];
    if (identity === undefined) {
      throw new Error(`${this.node.path}: no internode certificate for ${service}`);
    }
    return identity;
  }

  private server(service: TemporalService): TemporalServerService {
    const found = this.serverServices[service];
    if (found === undefined) {
      throw new Error(`${this.node.path}: the cluster runs no ${service}`);
    }
    return found;
  }

  /**
   * A server service's connections: the server-to-server calls of Temporal's call graph, the databases; while
   * clients call the frontend directly, it admits the client namespaces on the frontend's gRPC port (the monitoring
   * peers come from its metrics endpoint).
   */
  private serverConnections(self: TemporalServerService): ServerConnections {
    const calls: Call[] = serverCalls(self.service, this.services).map((c) => {
      const to = this.server(c.to);
      return { to: c.port === 'membership' ? to.membership : to.grpc, category: c.category, purpose: c.purpose };
    });
    calls.push(...storeCalls([this.defaultStore, this.visibilityStore], 'persistence (default and visibility stores)'));
    if (self.service === 'frontend' && this.authorizerProxy) {
      calls.push({ to: this.authorizerProxy.jwks, category: 'authorization',
        purpose: 'fetches the keys of the tokens the authorizer proxy signs (JWKS over HTTPS)' });
    }
    const admits: Admission[] = [];
    if (self.service === 'frontend' && this.frontendAccess === 'direct') {
      admits.push({ from: { outside: { role: 'clients' } }, port: self.grpc.port, category: 'client',
        purpose: 'SDK clients and workers of the declared namespaces (this row moves to the authorizer proxy)' });
    }
    // The one door: while the proxy is on, the frontend's client ports (gRPC and HTTP) are the proxy's alone.
    const exclusive: ExclusivePort[] = self.service === 'frontend' && this.authorizerProxy
      ? [self.grpc.port, ...(self.http ? [self.http.port] : [])].map((port) => ({
        port, from: [this.authorizerProxy as IComponent],
        why: 'clients reach the frontend through the authorizer proxy only, which authenticates and authorizes every call',
        fix: 'call the authorizer proxy\'s endpoint (cluster.authorizerProxy.grpc, its Service on port 7233) instead, '
          + 'or turn the proxy off (authorizerProxy: false) to let clients call the frontend directly',
      }))
      : [];
    return { calls, admits, exclusive };
  }

  private clientService(service: 'frontend' | 'internal-frontend'): k8s.KubeService {
    const ports = SERVICE_PORTS[service];
    return new k8s.KubeService(this, `${pascalCase(service)}Service`, {
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

/** The cluster's installation: its own, the PKI's, or the Chart's; the PKI's must be the same one. */
function resolveClusterInstallation(cluster: TemporalCluster, props: TemporalClusterProps): Installation {
  const installation = Installation.resolve(cluster, props, props.pki?.installation);
  const pki = props.pki?.installation;
  if (pki !== undefined && (pki.name !== installation.name || pki.clusterDomain !== installation.clusterDomain ||
    pki.namespace !== installation.namespace)) {
    throw new ValidationError('INVALID_NAME', cluster.node.path, 'the PKI belongs to another installation',
      { cluster: installation.name, pki: pki.name }, 'create the PKI and the cluster with the same installation');
  }
  return installation;
}

