/**
 * Shared test inputs: stores, clusters and the whole-chart configurations the invariant tests run over.
 */
import { App, Chart, Duration } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { SecureTemporalChart } from '../charts/secure-temporal-chart';
import { Peer } from '../lib/core/peers';
import { PersistenceProps, TemporalCluster, TemporalClusterProps } from '../lib/temporal/cluster';
import { SecretKeyReference, SqlStoreProps } from '../lib/temporal/persistence';
import { SERVER_CONFIG_FILE } from '../lib/temporal/server-service';
import { K8sObject, findObject, synth, testChart } from './util';

/**
 * Password values placed in Secrets created by the test charts. None of them may ever appear in a
 * ConfigMap or a literal env value.
 */
export const TEST_PASSWORDS = ['unit-default-pw-7Hq2', 'unit-visibility-pw-9Zx4'] as const;

/** A reference to key `password` of an existing Secret (nothing is synthesized for it). */
export function passwordRef(scope: Construct, secretName = 'db-password', key = 'password'): SecretKeyReference {
  const id = `Ref-${secretName}`;
  const existing = scope.node.tryFindChild(id);
  const secret = existing !== undefined ? (existing as unknown as ReturnType<typeof Secret.fromSecretName>)
    : Secret.fromSecretName(scope, id, secretName);
  return { secret, key };
}

/** A Secret synthesized with a literal test password, and the reference to it. */
export function literalPassword(scope: Construct, id: string, value: string): SecretKeyReference {
  return { secret: new Secret(scope, id, { stringData: { password: value } }), key: 'password' };
}

/** An external PostgreSQL store. */
export function postgresStore(scope: Construct, database: string, overrides: Partial<SqlStoreProps> = {}): SqlStoreProps {
  return {
    plugin: 'postgres12_pgx',
    host: 'pg.db.example.internal',
    database,
    user: 'temporal',
    password: passwordRef(scope),
    ...overrides,
  };
}

/** Both stores on an external PostgreSQL. */
export function postgresPersistence(scope: Construct, overrides: Partial<SqlStoreProps> = {}): PersistenceProps {
  return {
    default: postgresStore(scope, 'temporal', overrides),
    visibility: postgresStore(scope, 'temporal_visibility', overrides),
  };
}

/** Both stores on an external MySQL 8 over TLS with a client certificate; passwords from literal Secrets. */
export function mysqlTlsPersistence(scope: Construct): PersistenceProps {
  const ca = { secret: Secret.fromSecretName(scope, 'DbCa', 'mysql-ca'), key: 'ca.pem' };
  const clientCertificate = Secret.fromSecretName(scope, 'DbClient', 'mysql-client-tls');
  const store = (database: string, password: SecretKeyReference): SqlStoreProps => ({
    plugin: 'mysql8',
    host: 'mysql.db.example.internal',
    database,
    user: 'temporal_app',
    password,
    tls: { ca, clientCertificate },
    connectAttributes: { tx_isolation: "'READ-COMMITTED'" },
    maxConns: 30,
    maxIdleConns: 10,
  });
  return {
    default: store('temporal', literalPassword(scope, 'DefaultPassword', TEST_PASSWORDS[0])),
    visibility: { ...store('temporal_visibility', literalPassword(scope, 'VisibilityPassword', TEST_PASSWORDS[1])),
      createDatabase: false },
  };
}

/** A TemporalCluster on external PostgreSQL in a fresh chart (namespace `temporal`), and its output. */
export function clusterOutput(
  overrides: Partial<TemporalClusterProps> = {},
  chart: Chart = testChart(),
): { chart: Chart; cluster: TemporalCluster; objs: K8sObject[] } {
  const cluster = new TemporalCluster(chart, 'Cluster', {
    persistence: postgresPersistence(chart),
    numHistoryShards: 4,
    ...overrides,
  });
  return { chart, cluster, objs: synth(cluster.node.scope as Chart) };
}

/** The objects of every chart of an App, in order. */
export function appOutput(app: App): K8sObject[] {
  return app.charts.flatMap((chart) => synth(chart));
}

/** A named whole-output configuration: the invariant tests run over each. */
export interface Configuration {
  readonly name: string;
  /** Adds the charts to a fresh App. */
  readonly build: (app: App) => void;
}

/** Builds a configuration in a fresh App and returns all its objects. */
export function configurationOutput(configuration: Configuration): K8sObject[] {
  const app = new App();
  configuration.build(app);
  return appOutput(app);
}

export const CONFIGURATIONS: readonly Configuration[] = [
  {
    name: 'the default chart (evaluation PostgreSQL)',
    build: (app) => new SecureTemporalChart(app, 'temporal'),
  },
  {
    name: 'external MySQL 8 over TLS with a client certificate',
    build: (app) => {
      const secrets = new Chart(app, 'secrets', { namespace: 'temporal-mysql' });
      new SecureTemporalChart(app, 'temporal', {
        namespace: 'temporal-mysql',
        persistence: mysqlTlsPersistence(secrets),
        externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] },
        logLevel: 'warn',
      });
    },
  },
  {
    name: 'internal-frontend on, Web UI with single sign-on and the codec server behind Ingresses, several replicas',
    build: (app) => new SecureTemporalChart(app, 'temporal', {
      namespace: 'temporal-prod',
      name: 'tprod',
      internalFrontend: { replicas: 2 },
      frontend: { replicas: 3 },
      history: { replicas: 3, resources: { cpu: '1', memory: '2Gi', memoryLimit: '4Gi', cpuLimit: '2' } },
      matching: { replicas: 3 },
      worker: { replicas: 2 },
      namespaces: [
        { name: 'default', retention: Duration.days(3) },
        { name: 'orders-prod', retention: Duration.days(30), description: 'Order workflows' },
      ],
      dynamicConfig: { 'frontend.namespaceRPS': [{ value: 2400 }] },
      authorizerProxy: { oidc: { issuer: 'https://login.example.com/realms/temporal', audience: 'temporal',
        jwksUri: 'https://login.example.com/realms/temporal/protocol/openid-connect/certs', peers: [Peer.cidr('203.0.113.0/24')] },
      autoscaling: { minReplicas: 3, maxReplicas: 12 } },
      webUi: { replicas: 2, ingress: { host: 'temporal.example.com', className: 'nginx', tlsSecretName: 'temporal-ui-tls' },
        sso: { clientId: 'temporal-ui', clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' } },
      codecServer: { ingress: { host: 'codec.temporal.example.com', className: 'nginx', tlsSecretName: 'temporal-codec-ingress-tls' } },
      clusterDomain: 'cluster.example',
    }),
  },
  {
    name: 'external PostgreSQL over TLS without host verification, no Web UI, no admin tools, no Namespace',
    build: (app) => {
      const secrets = new Chart(app, 'secrets', { namespace: 'tpg' });
      const ca = { secret: Secret.fromSecretName(secrets, 'Ca', 'pg-ca'), key: 'ca.crt' };
      new SecureTemporalChart(app, 'temporal', {
        namespace: 'tpg',
        createNamespace: false,
        persistence: postgresPersistence(secrets, { tls: { ca, enableHostVerification: false }, port: 6432 }),
        externalDatabase: { peers: [Peer.cidr('10.30.0.0/16')] },
        webUi: false,
        adminTools: false,
        logLevel: 'debug',
      });
    },
  },
];

/** The parts of the rendered static config the tests read. */
export interface RenderedServerConfig {
  readonly persistence: {
    readonly numHistoryShards: number;
    readonly datastores: Record<string, { readonly sql: Record<string, unknown> & { readonly tls?: Record<string, unknown> } }>;
  };
  readonly services: Record<string, { readonly rpc: Record<string, number | string> }>;
  readonly global: Record<string, unknown>;
  readonly clusterMetadata: Record<string, unknown>;
  readonly dynamicConfigClient: { readonly filepath: string; readonly pollInterval: string };
  readonly log: { readonly level: string };
}

/**
 * The static config in ConfigMap `name` as the server sees it once it has rendered its
 * `{{ env "X" | quote }}` templates (each becomes the string `env:X`).
 */
export function serverConfigOf(objs: readonly K8sObject[], name = 'temporal-config'): RenderedServerConfig {
  const text = findObject(objs, 'ConfigMap', name).data?.[SERVER_CONFIG_FILE] ?? '';
  return parse(text.replace(/\{\{ env "([A-Z0-9_]+)" \| quote \}\}/g, (_m, n: string) => JSON.stringify(`env:${n}`)));
}
