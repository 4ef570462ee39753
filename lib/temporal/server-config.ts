import { stringify } from 'yaml';
import { DB_TLS_FILES, ResolvedSqlStore, storeAddress } from './persistence';
import type { GlobalTlsConfig } from '../tls/global-tls';
import { METRICS_PORT, SERVICE_PORTS, ServicePorts, TemporalService } from './ports';

/**
 * A value the server fills in at start-up from an environment variable (`{{ env "NAME" | quote }}` in a
 * config file whose first line is `# enable-template`). This is the only way pod-specific values and
 * secrets enter the config: the ConfigMap itself holds no secret.
 */
export class EnvValue {
  constructor(public readonly name: string) {}
}

/** Everything the static config depends on, already validated and resolved. */
export interface ServerConfigInput {
  /** Services present in the cluster (their `services.<name>.rpc` blocks are rendered). */
  readonly services: readonly TemporalService[];
  readonly numHistoryShards: number;
  readonly defaultStore: ResolvedSqlStore;
  readonly visibilityStore: ResolvedSqlStore;
  /** `host:port` of the frontend (cluster metadata `rpcAddress`). */
  readonly frontendAddress: string;
  /** `host:port` of the frontend HTTP API (cluster metadata `httpAddress`). */
  readonly frontendHttpAddress: string;
  /** Absolute path the dynamic config file is mounted at. */
  readonly dynamicConfigPath: string;
  /** Seconds between reads of the dynamic config file (>= 5). */
  readonly dynamicConfigPollSeconds: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Env var holding the pod IP (`membership.broadcastAddress`). */
  readonly podIpEnv: string;
  /** Ports per service. @default SERVICE_PORTS */
  readonly ports?: Readonly<Record<TemporalService, ServicePorts>>;
  /** `global.tls` (mTLS of every listener). @default - none: plaintext */
  readonly tls?: GlobalTlsConfig;
  /** `global.authorization`. @default - none: the server's no-op authorizer (every caller may do everything) */
  readonly authorization?: AuthorizationConfig;
}

/**
 * Temporal's `global.authorization` (server v1.31 `common/config/config.go`), as we render it: the default
 * authorizer, and on the frontend the default JWT claim mapper reading tokens signed by the authorizer proxy.
 */
export interface AuthorizationConfig {
  readonly authorizer: 'default';
  /** `default`: claims from the bearer JWT; absent: every caller is system admin (only for processes that authorize nothing themselves). */
  readonly claimMapper?: 'default';
  readonly jwtKeyProvider?: { readonly keySourceURIs: readonly string[]; readonly refreshInterval: string };
  readonly permissionsClaimName?: string;
  /** The `aud` every token must carry. */
  readonly audience?: string;
}

/** The cluster name in `clusterMetadata` (single cluster). */
export const CLUSTER_NAME = 'active';

/** Typed subset of Temporal's static config (server v1.31, `common/config/config.go`) that we render. */
export interface ServerConfig {
  readonly log: { readonly stdout: boolean; readonly level: string; readonly format: 'json' };
  readonly persistence: {
    readonly defaultStore: string;
    readonly visibilityStore: string;
    readonly numHistoryShards: number;
    readonly datastores: Record<string, { readonly sql: Record<string, unknown> }>;
  };
  readonly global: {
    readonly membership: { readonly maxJoinDuration: string; readonly broadcastAddress: EnvValue };
    readonly metrics: {
      readonly prometheus: { readonly framework: 'tally'; readonly timerType: 'histogram'; readonly listenAddress: string };
    };
    readonly tls?: GlobalTlsConfig;
    readonly authorization?: AuthorizationConfig;
  };
  readonly services: Record<string, { readonly rpc: Record<string, unknown> }>;
  readonly clusterMetadata: Record<string, unknown>;
  readonly dcRedirectionPolicy: { readonly policy: 'noop' };
  readonly dynamicConfigClient: { readonly filepath: string; readonly pollInterval: string };
}

function sqlStore(store: ResolvedSqlStore): { sql: Record<string, unknown> } {
  const sql: Record<string, unknown> = {
    pluginName: store.plugin,
    databaseName: store.database,
    connectAddr: storeAddress(store),
    connectProtocol: 'tcp',
    user: store.user,
    ...(store.password ? { password: new EnvValue(store.passwordEnv) } : {}),
    maxConns: store.maxConns,
    maxIdleConns: store.maxIdleConns,
    maxConnLifetime: store.maxConnLifetime,
  };
  if (Object.keys(store.connectAttributes).length > 0) {
    sql.connectAttributes = sortKeys(store.connectAttributes);
  }
  if (store.tls) {
    sql.tls = {
      enabled: true,
      caFile: `${store.tls.mountPath}/ca/${DB_TLS_FILES.ca}`,
      ...(store.tls.clientCertificate ? {
        certFile: `${store.tls.mountPath}/client/${DB_TLS_FILES.cert}`,
        keyFile: `${store.tls.mountPath}/client/${DB_TLS_FILES.key}`,
      } : {}),
      enableHostVerification: store.tls.enableHostVerification,
      serverName: store.tls.serverName,
    };
  }
  return { sql };
}

function sortKeys(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** Builds the typed config model. Pure. */
export function buildServerConfig(input: ServerConfigInput): ServerConfig {
  const ports = input.ports ?? SERVICE_PORTS;
  const services: Record<string, { rpc: Record<string, unknown> }> = {};
  for (const service of input.services) {
    const p = ports[service];
    services[service] = {
      rpc: {
        grpcPort: p.grpc,
        membershipPort: p.membership,
        bindOnIP: '0.0.0.0',
        ...(p.http !== undefined ? { httpPort: p.http } : {}),
      },
    };
  }
  return {
    log: { stdout: true, level: input.logLevel, format: 'json' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: input.numHistoryShards,
      datastores: { default: sqlStore(input.defaultStore), visibility: sqlStore(input.visibilityStore) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: new EnvValue(input.podIpEnv) },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `0.0.0.0:${METRICS_PORT}` },
      },
      ...(input.tls ? { tls: input.tls } : {}),
      ...(input.authorization ? { authorization: input.authorization } : {}),
    },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: CLUSTER_NAME,
      currentClusterName: CLUSTER_NAME,
      clusterInformation: {
        [CLUSTER_NAME]: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcAddress: input.frontendAddress,
          httpAddress: input.frontendHttpAddress,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: input.dynamicConfigPath, pollInterval: `${input.dynamicConfigPollSeconds}s` },
  };
}

const PLACEHOLDER = /__TEMPORAL_ENV_([A-Z0-9_]+)__/g;

/**
 * Renders the config file: a `# enable-template` header (the server renders `{{ env ... }}` itself,
 * v1.30+) followed by the YAML. Env values are emitted as `{{ env "NAME" | quote }}` so that any value,
 * passwords included, stays one valid YAML string. Pure and deterministic.
 */
export function renderServerConfig(config: ServerConfig): string {
  const body = stringify(config,
    (_key: unknown, value: unknown) => (value instanceof EnvValue ? `__TEMPORAL_ENV_${value.name}__` : value),
    { lineWidth: 0 });
  const rendered = body.replace(PLACEHOLDER, (_m, name: string) => `{{ env "${name}" | quote }}`);
  return [
    '# enable-template',
    '# Temporal server static config, generated: edit the constructs, not this file.',
    rendered,
  ].join('\n');
}

/** Names of every env var the rendered config reads (each must be set on every server container). */
export function configEnvNames(config: ServerConfig): string[] {
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (value instanceof EnvValue) {
      names.add(value.name);
    } else if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value !== null && typeof value === 'object') {
      Object.values(value).forEach(walk);
    }
  };
  walk(config);
  return [...names].sort();
}
