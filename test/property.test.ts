/**
 * Property-based: for random props (valid and invalid), construction either throws a ValidationError at
 * construction time, or the output passes every whole-output invariant and schema check. Any other
 * exception, or an invalid manifest, is a bug.
 */
import { App, Chart, Duration } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import * as fc from 'fast-check';
import { Peer } from '../lib/core/peers';
import { WebUiSsoProps } from '../lib/temporal/web-ui';
import { SecureTemporalChart, SecureTemporalChartProps } from '../charts/secure-temporal-chart';
import { ValidationError } from '../lib/core/errors';
import { TemporalCluster, TemporalClusterProps } from '../lib/temporal/cluster';
import { DynamicConfigValue } from '../lib/temporal/dynamic-config';
import { SqlStoreProps } from '../lib/temporal/persistence';
import { ComputeResources } from '../lib/core/pod-security';
import { NO_VIOLATIONS, allViolations } from './checks';
import { synth } from './util';

/** Runs per property; the two properties together make ~100 runs. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 50);

/** Mostly valid (so that many runs synthesize), sometimes invalid (so that validation is exercised). */
function mostly<T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 49, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}

const name = mostly(fc.oneof(fc.constantFrom('temporal', 'tprod', 'a'), fc.stringMatching(/^[a-z]([a-z0-9-]{0,12}[a-z0-9])?$/)),
  fc.constantFrom('Temporal', '-t', 't-', 't_x', '', 'a'.repeat(31), 't.x', '1temporal'));
const namespace = mostly(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
  fc.constantFrom('Temporal', 'a_b', '-ns', 'a'.repeat(64)));
const replicas = mostly(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5, NaN, Infinity, 2 ** 31));
const resources: fc.Arbitrary<ComputeResources> = mostly<ComputeResources>(fc.record({
  cpu: fc.constantFrom('100m', '1', '0.5', '2500m'),
  memory: fc.constantFrom('64Mi', '512Mi', '1000M'),
  memoryLimit: fc.constantFrom('1Gi', '2Gi'),
  cpuLimit: fc.constantFrom('2', '500m'),
}, { requiredKeys: ['cpu', 'memory', 'memoryLimit'] }), fc.constantFrom(
  { cpu: 'lots', memory: '64Mi', memoryLimit: '1Gi' }, { cpu: '1', memory: '1Gi', memoryLimit: '32Mi' },
  { cpu: '1', memory: '1GB', memoryLimit: '2Gi' }, { cpu: '-1', memory: '64Mi', memoryLimit: '1Gi', cpuLimit: 'max' },
));
const serviceProps = fc.record({ replicas, resources }, { requiredKeys: [] });
const shards = mostly(fc.oneof(fc.integer({ min: 1, max: 65536 }), fc.constantFrom(1, 4, 512, 65536)),
  fc.constantFrom(0, -1, 0.5, 65537, NaN));
const image = (repo: string, tag: string) => mostly(
  fc.constantFrom(`${repo}:${tag}`, `mirror.example:5000/${repo}:${tag}`, `${repo}@sha256:${'c'.repeat(64)}`),
  fc.constantFrom(`${repo}:latest`, repo, `mirror.example:5000/${repo}`));
const retention = mostly(fc.oneof(fc.integer({ min: 1, max: 30 }).map((d) => Duration.days(d)),
  fc.integer({ min: 24, max: 96 }).map((h) => Duration.hours(h))),
fc.constantFrom(Duration.hours(23), Duration.seconds(0), Duration.millis(86_400_500)));
const temporalNamespace = fc.record({
  name: mostly(fc.oneof(fc.constantFrom('default', 'orders', 'a.b_c'), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/)),
    fc.constantFrom('temporal-system', '', "it's", 'has space', '.x')),
  retention,
  description: mostly(fc.constantFrom('', 'Orders', 'Payments v2'), fc.constantFrom("it's", 'two\nlines')),
}, { requiredKeys: ['name'] });
const dynamicConfig = fc.dictionary<DynamicConfigValue[]>(
  mostly(fc.oneof(fc.constantFrom('frontend.namespaceRPS', 'history.persistenceMaxQPS'),
    fc.stringMatching(/^[a-z]{1,5}(\.[a-zA-Z]{1,6}){1,2}$/)), fc.constantFrom('rps', 'a b.c', '.x')),
  mostly<DynamicConfigValue[]>(fc.constantFrom([{ value: 1 }], [{ value: true, constraints: { namespace: 'x' } }], [{ value: 'x' }, { value: 2 }]),
    fc.constant([])),
  { maxKeys: 2 },
);
const ingressHost = mostly(fc.constantFrom('temporal.example.com', 'ui.a.example.org'), fc.constantFrom('localhost', 'UI.example.com', ''));

const OIDC = { issuer: 'https://login.example.com/realms/t', audience: 'temporal', jwksUri: 'https://login.example.com/realms/t/certs',
  peers: [Peer.cidr('203.0.113.0/24')] };
const sso = mostly<WebUiSsoProps>(fc.record({
  clientId: fc.constantFrom('temporal-ui', 'ui'),
  clientSecret: fc.record({ name: fc.constantFrom('temporal-ui-oidc', 'ui-secret'), key: fc.constantFrom('client-secret', 'secret') },
    { requiredKeys: ['name'] }),
  callbackUrl: fc.constantFrom('https://temporal.example.com/auth/sso/callback', 'http://localhost:8080/auth/sso/callback'),
}), fc.constantFrom(
  { clientId: 'temporal', clientSecret: { name: 'x' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' },
  { clientId: 'ui', clientSecret: { name: 'x' }, callbackUrl: 'http://temporal.example.com/auth/sso/callback' },
  { clientId: 'ui', clientSecret: { name: 'x' }, callbackUrl: 'https://temporal.example.com/' },
));

const baseChartProps: fc.Arbitrary<SecureTemporalChartProps> = fc.record({
  namespace,
  name,
  createNamespace: fc.boolean(),
  numHistoryShards: shards,
  frontend: serviceProps,
  history: serviceProps,
  matching: serviceProps,
  worker: serviceProps,
  internalFrontend: fc.oneof(fc.boolean(), serviceProps),
  namespaces: fc.array(temporalNamespace, { maxLength: 3 }),
  dynamicConfig,
  webUi: fc.oneof(fc.constant(false as const), fc.record({
    replicas, resources, image: image('temporalio/ui', '2.52.0'),
    ingress: fc.record({ host: ingressHost, tlsSecretName: mostly(fc.constant('temporal-web-tls'), fc.constant('Bad Secret')),
      allowPlaintext: fc.boolean() }, { requiredKeys: ['host', 'tlsSecretName'] }),
    defaultNamespace: fc.constantFrom('default', 'orders'),
    // An Ingress needs sign-on (its absence is covered by the unit tests).
    sso,
  }, { requiredKeys: ['sso'] })),
  // Tokens of an identity provider (the Web UI's sign-on needs them), mostly.
  authorizerProxy: mostly(fc.constant({ oidc: OIDC }), fc.constant({})),
  codecServer: fc.oneof(fc.constant(false as const), fc.record({ replicas, maxPayloads: mostly(fc.integer({ min: 1, max: 5000 }),
    fc.constantFrom(0, -1)),
  // A codec server decodes for the cluster's namespaces and these (with neither it is refused): mostly one more.
  extraNamespaces: mostly(fc.array(fc.constantFrom<string>('payments', 'audit'), { minLength: 1, maxLength: 2 }), fc.constantFrom<string[]>([], ['Bad Name'])) },
  { requiredKeys: [] })),
  adminTools: fc.boolean(),
  logLevel: fc.constantFrom('debug', 'info', 'warn', 'error'),
}, { requiredKeys: [] });

/**
 * Namespace names that are no DNS name (`orders_v2`) need their key ring Secret named (`keySecrets`); mostly the props
 * name one (its absence is refused, which the unit tests cover).
 */
const chartProps: fc.Arbitrary<SecureTemporalChartProps> = fc.tuple(baseChartProps, fc.oneof({ weight: 9, arbitrary: fc.constant(true) },
  { weight: 1, arbitrary: fc.constant(false) })).map(([props, nameRings]) => {
  if (!nameRings || props.codecServer === false || props.codecServer === undefined) {
    return props;
  }
  const names = [...(props.namespaces ?? []).map((n) => n.name), ...(props.codecServer.extraNamespaces ?? [])]
    .filter((n) => typeof n === 'string' && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(n));
  const keySecrets = Object.fromEntries(names.map((n, i) => [n, `codec-ring-${i}`]));
  return { ...props, codecServer: { ...props.codecServer, keySecrets } };
});

/** What a ValidationError must look like; anything else thrown fails the property. */
function expectGoodValidationError(e: unknown): void {
  if (!(e instanceof ValidationError)) {
    throw e;
  }
  expect(e.message.startsWith(`${e.path}: `)).toBe(true);
  expect(e.message).toContain(' (got ');
  expect(e.message).toContain('. Fix: ');
}

/**
 * The property itself: `build` either throws a well-formed ValidationError (false) or yields a chart whose
 * output passes every invariant (true). Anything else thrown fails the run.
 */
function buildOrReject(build: () => Chart): boolean {
  let chart: Chart;
  try {
    chart = build();
  } catch (e) {
    expectGoodValidationError(e);
    return false;
  }
  expect(allViolations(synth(chart))).toEqual(NO_VIOLATIONS);
  return true;
}

describe('SecureTemporalChart (property)', () => {
  it('does either throw a ValidationError or synthesize output that passes every invariant', () => {
    let synthesized = 0;
    fc.assert(fc.property(chartProps, (props) => {
      synthesized += buildOrReject(() => new SecureTemporalChart(new App(), 'temporal', props)) ? 1 : 0;
    }), { numRuns: RUNS });
    // The property is vacuous if (almost) every run is rejected: most runs must synthesize.
    expect(synthesized).toBeGreaterThanOrEqual(RUNS * 0.3);
  });
});

const plugin = mostly(fc.constantFrom('postgres12', 'postgres12_pgx', 'mysql8'), fc.constantFrom('sqlite', 'postgres')) as
  fc.Arbitrary<SqlStoreProps['plugin']>;
const host = mostly(fc.constantFrom('db.example.internal', '10.0.0.5', 'pg', 'fd00::5'), fc.constantFrom('db host', '-db', 'db.', '', 'db:5432'));
const identifier = mostly(fc.constantFrom('temporal', 'temporal_visibility', 'T1'), fc.constantFrom('temporal-db', '1db', '', 'a'.repeat(64)));
type StoreInput = Omit<SqlStoreProps, 'password' | 'tls'> & { readonly password: boolean; readonly tlsOn: boolean };
const store: fc.Arbitrary<StoreInput> = fc.record({
  plugin, host, database: identifier, user: identifier,
  port: mostly(fc.constantFrom(5432, 3306, 6432), fc.constantFrom(0, 65536, 1.5)),
  maxConns: mostly(fc.integer({ min: 20, max: 50 }), fc.constantFrom(0, -1)),
  maxIdleConns: mostly(fc.integer({ min: 0, max: 20 }), fc.constantFrom(-1, 60)),
  maxConnLifetime: mostly(fc.constantFrom(Duration.hours(1), Duration.minutes(5)),
    fc.constantFrom(Duration.seconds(0), Duration.millis(1500))),
  connectAttributes: fc.constantFrom({}, { tx_isolation: "'READ-COMMITTED'" }),
  createDatabase: fc.boolean(),
  password: mostly(fc.constant(true), fc.constant(false)),
  tlsOn: fc.boolean(),
}, { requiredKeys: ['plugin', 'host', 'database', 'user', 'password', 'tlsOn'] }) as fc.Arbitrary<StoreInput>;

const clusterProps = fc.record({
  chartNamespace: mostly(namespace, fc.constant(null)),
  name,
  numHistoryShards: shards,
  // Said, as a digest-pinned image needs; sometimes left out or not a release the chart deploys.
  serverVersion: mostly(fc.constant('1.31.2'), fc.constantFrom(undefined, '1.29.0', 'v1.31.2', '1.30.8')),
  serverImage: image('temporalio/server', '1.31.2'),
  adminToolsImage: image('temporalio/admin-tools', '1.31.2'),
  clusterDomain: mostly(fc.constantFrom('cluster.local', 'k8s.example'), fc.constantFrom('Cluster.Local', 'cluster_local')),
  history: serviceProps,
  matching: serviceProps,
  internalFrontend: fc.oneof(fc.boolean(), serviceProps),
  namespaces: fc.array(temporalNamespace, { maxLength: 2 }),
  defaultStore: store,
  visibilityStore: store,
}, { requiredKeys: ['chartNamespace', 'defaultStore', 'visibilityStore'] });

describe('TemporalCluster (property)', () => {
  it('does either throw a ValidationError or synthesize output that passes every invariant', () => {
    let synthesized = 0;
    fc.assert(fc.property(clusterProps, ({ chartNamespace, defaultStore, visibilityStore, ...rest }) => {
      const chart = new Chart(new App(), 'test', chartNamespace === null ? {} : { namespace: chartNamespace });
      const pw = Secret.fromSecretName(chart, 'Pw', 'db-pw');
      const ca = Secret.fromSecretName(chart, 'Ca', 'db-ca');
      const toStore = ({ password, tlsOn, ...input }: StoreInput): SqlStoreProps => ({
        ...input,
        password: password ? { secret: pw, key: 'password' } : undefined,
        tls: tlsOn ? { ca: { secret: ca, key: 'ca.crt' } } : undefined,
      });
      const props: TemporalClusterProps = {
        ...rest, persistence: { default: toStore(defaultStore), visibility: toStore(visibilityStore) },
      };
      synthesized += buildOrReject(() => {
        new TemporalCluster(chart, 'Cluster', props);
        return chart;
      }) ? 1 : 0;
    }), { numRuns: RUNS });
    expect(synthesized).toBeGreaterThanOrEqual(RUNS * 0.3);
  });
});
