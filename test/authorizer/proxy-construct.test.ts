/**
 * The AuthorizerProxy construct, built through the chart (where it is on by default) and standalone: its
 * Deployment runs the bundled program with exactly the environment the program reads, every file it names is
 * mounted, the policy it ships is valid and grants what the deployment declares, and every bad prop is refused
 * with a ValidationError that leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { App, Chart, Duration } from 'cdk8s';
import type { IContainer, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { AuthorizerPolicy, grantsOf, PolicyRule, Role, SYSTEM_NAMESPACE, validatePolicy } from '../../lib/authorizer/policy';
import { AuthorizerProxy, AuthorizerProxyOptions, OidcProps } from '../../lib/authorizer/proxy';
import { PROXY_ENV } from '../../lib/authorizer/proxy-env';
import { ValidationCode, ValidationError } from '../../lib/core/errors';
import { DEFAULT_IMAGES } from '../../lib/core/images';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../lib/core/labels';
import { Peer } from '../../lib/core/peers';
import { TemporalCluster } from '../../lib/temporal/cluster';
import { TemporalPki } from '../../lib/tls/pki';
import { configFromEnv } from '../../services/authorizer-proxy/config';
import { postgresPersistence } from '../fixtures';
import {
  K8sObject, apiObjectsUnder, containerOf, expectAtomicFailure, findAll, findObject, hasObject, podTemplate, podTemplates, synth,
} from '../util';

const PROXY = 'temporal-authorizer-proxy';
const PROXY_HOST = 'temporal-authorizer-proxy.temporal.svc.cluster.local';
const FRONTEND_HOST = 'temporal-frontend.temporal.svc.cluster.local';

/** A public certificate (its content is never parsed by the construct, only shipped). */
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUYm9ndXMtdGVzdC1jZXJ0aWZpY2F0ZTAKBggqhkjOPQQDAjAR\n' +
  'MQ8wDQYDVQQDDAZ0ZXN0Y2EwHhcNMjQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAwWjAR\n-----END CERTIFICATE-----\n';

const OIDC: OidcProps = {
  issuer: 'https://login.example.com/realms/t',
  audience: 't',
  jwksUri: 'https://login.example.com/realms/t/certs',
  peers: [Peer.cidr('203.0.113.0/24')],
  caBundle: CA_PEM,
};

/** Environment variables the program refuses to start without (services/authorizer-proxy/config.ts). */
const REQUIRED_ENV = [
  PROXY_ENV.certFile, PROXY_ENV.keyFile, PROXY_ENV.clientCaFiles, PROXY_ENV.trustDomain, PROXY_ENV.upstreamAddress,
  PROXY_ENV.upstreamServerName, PROXY_ENV.upstreamCaFiles, PROXY_ENV.upstreamCertFile, PROXY_ENV.upstreamKeyFile,
  PROXY_ENV.signingKeyFile, PROXY_ENV.tokenIssuer, PROXY_ENV.tokenAudience, PROXY_ENV.policyFile,
];

/** Environment variables that name files (comma-separated lists for the CA sets). */
const FILE_ENV = [
  PROXY_ENV.certFile, PROXY_ENV.keyFile, PROXY_ENV.clientCaFiles, PROXY_ENV.platformCaFiles, PROXY_ENV.chainCaFiles,
  PROXY_ENV.upstreamCaFiles, PROXY_ENV.upstreamCertFile, PROXY_ENV.upstreamKeyFile, PROXY_ENV.signingKeyFile, PROXY_ENV.policyFile,
];

const CLIENTS: SecureTemporalChartProps = {
  clientIdentities: [
    { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders', 'orders-staging'] },
    { name: 'billing-reader', namespace: 'billing', temporalNamespaces: ['billing'], role: 'read' },
  ],
  clientNamespaces: [Peer.namespace('orders'), Peer.namespace('billing')],
};

function build(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const chart = new SecureTemporalChart(new App(), 'temporal', props);
  return { chart, objs: synth(chart) };
}

function proxyOf(chart: SecureTemporalChart): AuthorizerProxy {
  const proxy = chart.cluster.authorizerProxy;
  if (proxy === undefined) {
    throw new Error('the chart has no authorizer proxy');
  }
  return proxy;
}

function proxySpec(objs: readonly K8sObject[], name = PROXY): IPodSpec {
  return podTemplate(objs, 'Deployment', name).spec;
}

function proxyContainer(objs: readonly K8sObject[], name = PROXY): IContainer {
  return containerOf(proxySpec(objs, name), 'authorizer-proxy');
}

/** The container's env as a process would see it (literal values only; anything else is a test failure). */
function envOf(container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value === undefined) {
      throw new Error(`env ${e.name} has no literal value`);
    }
    env[e.name] = e.value;
  }
  return env;
}

function policyOf(objs: readonly K8sObject[], name = PROXY): AuthorizerPolicy {
  const text = findObject(objs, 'ConfigMap', `${name}-policy`).data?.['policy.json'];
  if (text === undefined) {
    throw new Error('the policy ConfigMap has no policy.json');
  }
  return JSON.parse(text) as AuthorizerPolicy;
}

/** File names a volume provides at its root (undefined when they cannot be known from the output). */
function filesOfVolume(objs: readonly K8sObject[], volume: IVolume): string[] | undefined {
  if (volume.secret) {
    return volume.secret.items?.map((i) => i.path);
  }
  if (volume.configMap) {
    return volume.configMap.items?.map((i) => i.path) ??
      Object.keys(findObject(objs, 'ConfigMap', volume.configMap.name ?? '').data ?? {});
  }
  if (volume.projected) {
    const files = (volume.projected.sources ?? []).map((s) => (s.secret?.items ?? s.configMap?.items)?.map((i) => i.path));
    return files.some((f) => f === undefined) ? undefined : files.flat() as string[];
  }
  return undefined;
}

/** The volume mounted (deepest mount) over `file`, and the file's path inside it. */
function volumeOver(spec: IPodSpec, container: IContainer, file: string): { volume: IVolume; relative: string } | undefined {
  const mounts = (container.volumeMounts ?? []).filter((m) => file.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mount = mounts[0];
  const volume = mount && (spec.volumes ?? []).find((v) => v.name === mount.name);
  return volume ? { volume, relative: file.slice(mount.mountPath.length + 1) } : undefined;
}

/** True when `file` is provided by the volume mounted over it. */
function provided(objs: readonly K8sObject[], spec: IPodSpec, container: IContainer, file: string): boolean {
  const over = volumeOver(spec, container, file);
  return over !== undefined && (filesOfVolume(objs, over.volume) ?? []).includes(over.relative);
}

const dirOf = (file: string) => file.slice(0, file.lastIndexOf('/'));

/**
 * Builds a chart with `props`, which must throw a ValidationError `code` at `path`, naming `field` and a fix,
 * and leave nothing in the App.
 */
function expectChartFailure(props: SecureTemporalChartProps, code: ValidationCode, path: string, field: string): ValidationError {
  const app = new App();
  let thrown: unknown;
  try {
    new SecureTemporalChart(app, 'temporal', props);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  const error = thrown as ValidationError;
  expect({ code: error.code, path: error.path }).toEqual({ code, path });
  expect(error.message).toContain(field);
  expect(error.message).toContain('Fix: ');
  expect(error.fix.length).toBeGreaterThan(0);
  expect(apiObjectsUnder(app).map((o) => `${o.kind}/${o.name}`)).toEqual([]);
  return error;
}

/** A PKI and a cluster without a proxy in `chart`; a standalone proxy then forwards to its frontend. */
function standaloneSetup(chart: Chart): { pki: TemporalPki; cluster: TemporalCluster } {
  const pki = new TemporalPki(chart, 'Pki');
  const cluster = new TemporalCluster(chart, 'Cluster', { persistence: postgresPersistence(chart), numHistoryShards: 4, pki });
  return { pki, cluster };
}

function standaloneProxy(chart: Chart, context: { pki: TemporalPki; cluster: TemporalCluster },
  options: AuthorizerProxyOptions = {}): AuthorizerProxy {
  const { pki, cluster } = context;
  const server = cluster.tls?.frontend;
  if (server === undefined) {
    throw new Error('the cluster has no TLS');
  }
  return new AuthorizerProxy(chart, 'Proxy', {
    ...options, pki, upstream: { address: cluster.frontendAddress, server, endpoint: () => cluster.frontend.grpc },
  });
}

describe('AuthorizerProxy', () => {
  describe('the Deployment (default chart)', () => {
    const { chart, objs } = build(CLIENTS);
    const spec = proxySpec(objs);
    const container = proxyContainer(objs);
    const env = envOf(container);

    it('is on by default and is the cluster\'s authorizerProxy', () => {
      expect(proxyOf(chart).name).toBe(PROXY);
      expect(proxyOf(chart).deployment.name).toBe(PROXY);
      expect(findObject(objs, 'Service', PROXY).spec?.ports?.map((p) => p.port)).toEqual([7233, 8443]);
    });

    it('runs the bundled program on the pinned Node image, two replicas by default', () => {
      expect(container.image).toBe(DEFAULT_IMAGES.node);
      expect(container.command).toEqual(['node', '/opt/authorizer-proxy/authorizer-proxy.js']);
      expect(findObject(objs, 'Deployment', PROXY).spec?.replicas).toBe(2);
      expect(findObject(build({ authorizerProxy: { replicas: 3 } }).objs, 'Deployment', PROXY).spec?.replicas).toBe(3);
    });

    it('has no autoscaler unless asked; with one, an autoscaling/v2 CPU autoscaler of its Deployment, which leaves replicas to it', () => {
      expect(findAll(objs, 'HorizontalPodAutoscaler')).toEqual([]);
      const scaled = build({ authorizerProxy: { autoscaling: { maxReplicas: 10 } } }).objs;
      const [hpa] = findAll(scaled, 'HorizontalPodAutoscaler');
      expect(hpa).toMatchObject({ apiVersion: 'autoscaling/v2', metadata: { name: PROXY }, spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: PROXY }, minReplicas: 2, maxReplicas: 10,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] } });
      expect(findObject(scaled, 'Deployment', PROXY).spec).not.toHaveProperty('replicas');
      const autoscaling = { minReplicas: 3, maxReplicas: 6, targetCpuUtilization: 60 };
      const custom = build({ authorizerProxy: { replicas: 5, autoscaling } }).objs;
      expect(findAll(custom, 'HorizontalPodAutoscaler')[0]).toMatchObject({ spec: { minReplicas: 3, maxReplicas: 6,
        metrics: [{ resource: { target: { averageUtilization: 60 } } }] } });
      expect(findObject(custom, 'Deployment', PROXY).spec).not.toHaveProperty('replicas');
    });

    it('runs restricted: user 1000, non-root, read-only root filesystem, no privilege escalation, no API token', () => {
      expect(spec.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
    });

    it('sets every variable the program requires, non-empty', () => {
      const missing = REQUIRED_ENV.filter((name) => env[name] === undefined || env[name] === '');
      expect(missing).toEqual([]);
    });

    it('lists exactly the variables the program cannot start without (each one, removed, fails configFromEnv)', () => {
      for (const name of REQUIRED_ENV) {
        const without = { ...env };
        delete without[name];
        expect(() => configFromEnv(without)).toThrow(name);
      }
    });

    it('has an environment the program accepts, describing this deployment', () => {
      const config = configFromEnv(env);
      expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 7233 });
      expect(config.jwks).toEqual({ host: '0.0.0.0', port: 8443 });
      expect(config.http).toEqual({ host: '0.0.0.0', port: 9090 });
      expect(config.trustDomain).toBe('cluster.local');
      expect(config.upstream).toMatchObject({ address: `${FRONTEND_HOST}:7233`, serverName: FRONTEND_HOST });
      expect(config.signer).toMatchObject({ issuer: `https://${PROXY_HOST}:8443`, audience: FRONTEND_HOST, ttlSeconds: 300,
        publishDelaySeconds: 150 });
      expect(config.oidc).toBeUndefined();
      expect(config.logLevel).toBe('info');
    });

    it('passes tokenTtl and logLevel through to the program', () => {
      const other = envOf(proxyContainer(build({ authorizerProxy: { tokenTtl: Duration.minutes(10), logLevel: 'debug' } }).objs));
      expect(configFromEnv(other).signer.ttlSeconds).toBe(600);
      expect(configFromEnv(other).logLevel).toBe('debug');
    });

    it('mounts every file its environment names, from a volume that provides that file', () => {
      const files = FILE_ENV.flatMap((name) => (env[name] ?? '').split(',').filter((f) => f !== ''));
      expect(files.length).toBeGreaterThanOrEqual(FILE_ENV.length);
      const unprovided = files.filter((file) => !provided(objs, spec, container, file));
      expect(unprovided).toEqual([]);
    });

    it('mounts the program it runs', () => {
      expect(provided(objs, spec, container, container.command?.[1] ?? '')).toBe(true);
    });

    it('puts no key material or PEM in its environment, and reads nothing from Secrets through env', () => {
      const values = (container.env ?? []).map((e) => e.value ?? '');
      expect(values.filter((v) => /-----BEGIN|PRIVATE KEY|^MII/.test(v))).toEqual([]);
      expect((container.env ?? []).filter((e) => e.valueFrom !== undefined).map((e) => e.name)).toEqual([]);
    });

    it('exposes only tls.key and its certificate of the signing key Secret, and no other pod mounts that Secret', () => {
      const over = volumeOver(spec, container, env[PROXY_ENV.signingKeyFile]);
      const secretName = proxyOf(chart).signingKey.secretName;
      expect(over?.volume.secret?.secretName).toBe(secretName);
      expect(over?.volume.secret?.items).toEqual([{ key: 'tls.key', path: 'tls.key' }, { key: 'tls.crt', path: 'tls.crt' }]);
      expect(volumeOver(spec, container, env[PROXY_ENV.signingCertFile])?.volume.name).toBe(over?.volume.name);
      // The Secret is the one cert-manager writes the key into.
      expect((findObject(objs, 'Certificate', `${PROXY}-signing-key`).spec as { secretName?: string }).secretName).toBe(secretName);
      const mounting = podTemplates(objs).filter((p) => (p.spec.volumes ?? []).some((v) => v.secret?.secretName === secretName ||
        (v.projected?.sources ?? []).some((s) => s.secret?.name === secretName)));
      expect(mounting.map((p) => p.name)).toEqual([PROXY]);
    });

    it('mounts a trust volume with the workload, platform-clients, frontend and root CAs, certificates only', () => {
      const over = volumeOver(spec, container, env[PROXY_ENV.clientCaFiles]);
      expect(over?.volume.projected).toBeDefined();
      expect((filesOfVolume(objs, over?.volume ?? { name: 'none' }) ?? []).sort())
        .toEqual(['frontend-ca-2.crt', 'frontend-ca.crt', 'platform-clients-ca-2.crt', 'platform-clients-ca.crt', 'root-ca.crt',
          'workload-ca-2.crt', 'workload-ca.crt']);
      const keys = (over?.volume.projected?.sources ?? []).flatMap((s) => (s.secret?.items ?? []).map((i) => i.key));
      expect(keys.filter((k) => k !== 'tls.crt' && k !== 'ca.crt')).toEqual([]);
      expect(dirOf(env[PROXY_ENV.platformCaFiles].split(',')[0])).toBe(dirOf(env[PROXY_ENV.clientCaFiles].split(',')[0]));
      // Every CA the proxy trusts, both key slots, each a file of the trust volume (so that each reloads on its own).
      const trustDir = dirOf(env[PROXY_ENV.clientCaFiles].split(',')[0]);
      expect(env[PROXY_ENV.upstreamCaFiles].split(',')).toEqual([`${trustDir}/frontend-ca.crt`, `${trustDir}/frontend-ca-2.crt`]);
      expect(env[PROXY_ENV.clientCaFiles].split(',')).toEqual([`${trustDir}/workload-ca.crt`, `${trustDir}/workload-ca-2.crt`]);
      expect(env[PROXY_ENV.platformCaFiles].split(',')).toEqual([`${trustDir}/platform-clients-ca.crt`, `${trustDir}/platform-clients-ca-2.crt`]);
    });
  });

  describe('the program ConfigMap', () => {
    const { objs } = build();
    const spec = proxySpec(objs);
    const container = proxyContainer(objs);
    const over = volumeOver(spec, container, container.command?.[1] ?? '');
    const configMap = findObject(objs, 'ConfigMap', over?.volume.configMap?.name ?? '(not a ConfigMap)');
    const content = configMap.data?.[over?.relative ?? ''] ?? '';
    const sha = createHash('sha256').update(content).digest('hex');

    it('is immutable and holds the program', () => {
      expect(configMap.immutable).toBe(true);
      expect(content.length).toBeGreaterThan(1000);
    });

    it('is named after the first 8 hex characters of the sha256 of its content', () => {
      expect(configMap.metadata.name).toBe(`${PROXY}-program-${sha.slice(0, 8)}`);
    });

    it('is pinned in the pod template by the sha256 of its content', () => {
      expect(podTemplate(objs, 'Deployment', PROXY).metadata.annotations?.[CONFIG_CHECKSUM_ANNOTATION]).toBe(sha);
    });
  });

  describe('the policy', () => {
    const { chart, objs } = build(CLIENTS);
    const policy = policyOf(objs);
    const ruleFor = (uri: string) => policy.rules.filter((r) => r.certificate?.uri === uri);
    const certificateUris = (name: string, namespace = 'temporal') => {
      const cert = findAll(objs, 'Certificate').find((c) => c.metadata.name === name && c.metadata.namespace === namespace);
      return (cert?.spec as { uris?: string[] } | undefined)?.uris ?? [];
    };

    it('parses and is valid', () => {
      expect(() => validatePolicy('policy', policy)).not.toThrow();
      expect(policy.rules.length).toBeGreaterThan(0);
    });

    it.each([
      ['web', 'read'], ['admintools', 'admin'], ['jobs', 'admin'],
    ] as const)('grants the platform component %s %s on temporal-system, matched by its certificate\'s URI', (name, role) => {
      const uri = `spiffe://cluster.local/ns/temporal/temporal-platform/${name}`;
      expect(certificateUris(`temporal-${name}-client`)).toEqual([uri]);
      const rules = ruleFor(uri);
      expect(rules).toHaveLength(1);
      expect(rules[0].grants).toEqual({ [SYSTEM_NAMESPACE]: role });
      expect(rules[0].certificate).toEqual({ uri });
    });

    it('grants each client identity its role (default write) on each of its Temporal namespaces', () => {
      const cases: [string, string, Record<string, Role>][] = [
        ['orders', 'orders-worker', { 'orders': 'write', 'orders-staging': 'write' }],
        ['billing', 'billing-reader', { billing: 'read' }],
      ];
      for (const [namespace, name, grants] of cases) {
        const uri = `spiffe://cluster.local/ns/${namespace}/temporal-client/${name}`;
        expect(certificateUris(`${name}-temporal`, namespace)).toEqual([uri]);
        const rules = ruleFor(uri);
        expect(rules.map((r) => r.grants)).toEqual([grants]);
      }
    });

    it('gives a client identity those roles and nothing else, and a platform URI nothing from a workload\'s rule', () => {
      const identity = (uri: string) => ({ kind: 'certificate' as const, uris: [uri], dnsNames: [], organizations: [],
        organizationalUnits: [] });
      const orders = grantsOf(policy, identity('spiffe://cluster.local/ns/orders/temporal-client/orders-worker'));
      expect(Object.fromEntries([...orders.roles].map(([ns, roles]) => [ns, [...roles]])))
        .toEqual({ 'orders': ['write'], 'orders-staging': ['write'] });
      const stranger = grantsOf(policy, identity('spiffe://cluster.local/ns/other/temporal-client/orders-worker'));
      expect(stranger.roles.size).toBe(0);
    });

    it('includes the rules given in authorizerProxy.rules, as given', () => {
      const rules: PolicyRule[] = [
        { name: 'ci', jwt: { group: 'ci' }, grants: { orders: ['read', 'worker'] } },
        { name: 'ops', certificate: { organizationalUnit: 'ops' }, grants: { [SYSTEM_NAMESPACE]: 'admin' },
          denyApis: ['DeleteNamespace'] },
      ];
      const given = policyOf(build({ authorizerProxy: { rules, jwtPermissionsClaim: false } }).objs);
      expect(given.rules.filter((r) => r.name === 'ci' || r.name === 'ops')).toEqual(rules);
      expect(given.jwtPermissionsClaim).toBe(false);
    });

    it('ships rules added after construction (addRule), rendered at synth', () => {
      const other = build(CLIENTS).chart;
      const rule: PolicyRule = { name: 'late', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/late' },
        grants: { orders: 'worker' } };
      proxyOf(other).addRule(rule);
      const shipped = policyOf(synth(other));
      expect(shipped.rules.find((r) => r.name === 'late')).toEqual(rule);
      expect(shipped.rules.map((r) => r.name)).toEqual([...policy.rules.map((r) => r.name), 'late']);
      // The rule this chart did not get is not in it.
      expect(policyOf(synth(chart)).rules.some((r) => r.name === 'late')).toBe(false);
    });
  });

  describe('validation (through the chart)', () => {
    const oidc = (o: Partial<OidcProps>): SecureTemporalChartProps => ({ authorizerProxy: { oidc: { ...OIDC, ...o } } });
    const at = 'temporal/Cluster/AuthorizerProxy';

    it.each([
      ['issuer', { issuer: 'http://login.example.com/realms/t' }],
      ['issuer', { issuer: 'login.example.com/realms/t' }],
      ['jwksUri', { jwksUri: 'http://login.example.com/realms/t/certs' }],
      ['jwksUri', { jwksUri: 'https://user:pw@login.example.com/certs' }],
    ] as const)('refuses oidc.%s %j that is not https (INVALID_POLICY)', (field, o) => {
      const error = expectChartFailure(oidc(o), 'INVALID_POLICY', `${at}/oidc`, `oidc.${field}`);
      expect(error.message).toContain('https');
    });

    it.each(['', '  '])('refuses an empty oidc.audience %j (INVALID_POLICY)', (audience) => {
      expectChartFailure(oidc({ audience }), 'INVALID_POLICY', `${at}/oidc`, 'oidc.audience');
    });

    it('refuses oidc without peers (INVALID_PEER)', () => {
      expectChartFailure(oidc({ peers: [] }), 'INVALID_PEER', `${at}/oidc`, 'oidc.peers');
    });

    it('refuses a caBundle holding a private key (INVALID_TLS), without repeating it', () => {
      const secret = 'c2VjcmV0LWtleS1tYXRlcmlhbA==';
      const caBundle = `${CA_PEM}-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`;
      const error = expectChartFailure(oidc({ caBundle }), 'INVALID_TLS', `${at}/oidc`, 'oidc.caBundle');
      expect(error.message).not.toContain(secret);
    });

    it.each([
      ['10 seconds', Duration.seconds(10)], ['2 hours', Duration.hours(2)],
    ] as const)('refuses a tokenTtl of %s (INVALID_DURATION)', (_what, tokenTtl) => {
      expectChartFailure({ authorizerProxy: { tokenTtl } }, 'INVALID_DURATION', at, 'tokenTtl');
    });

    it('refuses 0 replicas (INVALID_REPLICAS)', () => {
      expectChartFailure({ authorizerProxy: { replicas: 0 } }, 'INVALID_REPLICAS', at, 'replicas');
    });

    it.each([
      ['minReplicas 1', { minReplicas: 1, maxReplicas: 4 }, 'autoscaling.minReplicas'],
      ['a fractional minReplicas', { minReplicas: 2.5, maxReplicas: 4 }, 'autoscaling.minReplicas'],
      ['maxReplicas below minReplicas', { minReplicas: 3, maxReplicas: 2 }, 'autoscaling.maxReplicas'],
      ['no maxReplicas', {}, 'autoscaling.maxReplicas'],
      ['maxReplicas past 1000', { maxReplicas: 1001 }, 'autoscaling.maxReplicas'],
      ['a CPU target of 5 %', { maxReplicas: 4, targetCpuUtilization: 5 }, 'autoscaling.targetCpuUtilization'],
      ['a CPU target of 101 %', { maxReplicas: 4, targetCpuUtilization: 101 }, 'autoscaling.targetCpuUtilization'],
      ['an unknown key (a typo)', { maxReplica: 4, maxReplicas: 4 }, 'maxReplica'],
    ])('refuses autoscaling with %s (INVALID_REPLICAS), naming the field', (_what, autoscaling, field) => {
      const error = expectChartFailure({ authorizerProxy: { autoscaling: autoscaling as never } }, 'INVALID_REPLICAS', at, field);
      expect(error.fix).toContain('autoscaling: { minReplicas: 2, maxReplicas: 10');
    });

    it('refuses an unpinned image (INVALID_IMAGE)', () => {
      const error = expectChartFailure({ authorizerProxy: { image: 'node:latest' } }, 'INVALID_IMAGE', at, 'image');
      expect(error.message).toContain('"node:latest"');
    });

    it.each([
      ['a certificate match without fields', { certificate: {} }, 'rules[0]/certificate', 'every caller'],
      ['a JWT match without fields', { jwt: {} }, 'rules[0]/jwt', 'every caller'],
      ['a URI that is only a wildcard', { certificate: { uri: '*' } }, 'rules[0]/certificate/uri', 'uri'],
    ] as const)('refuses a rule that matches everybody: %s (INVALID_POLICY)', (_what, match, where, field) => {
      const rule = { name: 'everyone', ...match, grants: { orders: 'read' } } as PolicyRule;
      expectChartFailure({ authorizerProxy: { rules: [rule] } }, 'INVALID_POLICY', `${at}/rules/${where}`, field);
    });

    it('refuses two rules with one name (INVALID_POLICY)', () => {
      const rule: PolicyRule = { name: 'twice', certificate: { organization: 'acme' }, grants: { orders: 'read' } };
      const error = expectChartFailure({ authorizerProxy: { rules: [rule, { ...rule, grants: { billing: 'read' } }] } },
        'INVALID_POLICY', `${at}/rules/rules[1]`, 'name');
      expect(error.message).toContain('"twice"');
    });

    it('refuses a given rule whose name a platform grant also uses (INVALID_POLICY)', () => {
      const rule: PolicyRule = { name: 'temporal/web', certificate: { organization: 'acme' }, grants: { orders: 'read' } };
      const app = new App();
      let thrown: unknown;
      try {
        new SecureTemporalChart(app, 'temporal', { authorizerProxy: { rules: [rule] } });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).code).toBe('INVALID_POLICY');
      expect((thrown as ValidationError).path.startsWith(`${at}/rules`)).toBe(true);
      expect(apiObjectsUnder(app)).toEqual([]);
    });

    it('refuses a client identity role that is not one (INVALID_POLICY)', () => {
      const identity = { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'], role: 'owner' as Role };
      const error = expectChartFailure({ clientIdentities: [identity], clientNamespaces: [Peer.namespace('orders')] },
        'INVALID_POLICY', 'temporal/clientIdentities[0]', 'role');
      expect(error.message).toContain('"owner"');
    });

    it('refuses a client identity role without the authorizer proxy (INVALID_POLICY)', () => {
      const identity = { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'], role: 'read' as Role };
      expectChartFailure({ clientIdentities: [identity], clientNamespaces: [Peer.namespace('orders')], authorizerProxy: false },
        'INVALID_POLICY', 'temporal/clientIdentities[0]', 'authorizerProxy');
    });

    it('refuses addRule with a role that is not one (INVALID_POLICY), and ships the policy unchanged', () => {
      const { chart, objs } = build(CLIENTS);
      const before = policyOf(objs);
      const proxy = proxyOf(chart);
      let thrown: unknown;
      try {
        proxy.addRule({ name: 'bad', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/x' },
          grants: { orders: 'owner' as Role } });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).code).toBe('INVALID_POLICY');
      expect((thrown as ValidationError).path).toBe(`${at}/rules/rules[${before.rules.length}]/grants/orders`);
      expect((thrown as ValidationError).message).toContain('role');
      expect(policyOf(synth(chart))).toEqual(before);
      // The refused rule left nothing behind: corrected, it is accepted under the same name.
      proxy.addRule({ name: 'bad', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/x' }, grants: { orders: 'read' } });
      expect(policyOf(synth(chart)).rules.map((r) => r.name)).toContain('bad');
    });

    it('refuses addRule with the name of an existing rule (INVALID_POLICY)', () => {
      const proxy = proxyOf(build(CLIENTS).chart);
      expect(() => proxy.addRule({ name: 'orders/orders-worker', certificate: { organization: 'acme' }, grants: { orders: 'read' } }))
        .toThrow(expect.objectContaining({ code: 'INVALID_POLICY' }));
    });
  });

  describe('with an identity provider (oidc)', () => {
    const { objs } = build({ authorizerProxy: { oidc: OIDC } });
    const spec = proxySpec(objs);
    const container = proxyContainer(objs);
    const env = envOf(container);

    it('tells the program the issuer, audience and JWKS URI', () => {
      expect([env[PROXY_ENV.oidcIssuer], env[PROXY_ENV.oidcAudience], env[PROXY_ENV.oidcJwksUri]])
        .toEqual([OIDC.issuer, OIDC.audience, OIDC.jwksUri]);
      expect(configFromEnv(env).oidc).toEqual({ issuer: OIDC.issuer, audience: OIDC.audience, jwksUri: OIDC.jwksUri,
        maxStaleSeconds: 3600 });
    });

    it('adds the CA bundle to Node\'s trust from a mounted ConfigMap holding exactly the bundle', () => {
      const file = env.NODE_EXTRA_CA_CERTS;
      expect(file).toBeDefined();
      expect(provided(objs, spec, container, file)).toBe(true);
      const over = volumeOver(spec, container, file);
      const name = over?.volume.configMap?.name;
      expect(name).toBeDefined();
      expect(findObject(objs, 'ConfigMap', name ?? '').data?.[over?.relative ?? '']).toBe(CA_PEM);
    });

    it('trusts only the image\'s CAs when no bundle is given', () => {
      const noBundle: OidcProps = { issuer: OIDC.issuer, audience: OIDC.audience, jwksUri: OIDC.jwksUri, peers: OIDC.peers };
      const other = build({ authorizerProxy: { oidc: noBundle } }).objs;
      expect(envOf(proxyContainer(other)).NODE_EXTRA_CA_CERTS).toBeUndefined();
      expect(findAll(other, 'ConfigMap').filter((c) => c.data !== undefined && Object.values(c.data).includes(CA_PEM))).toEqual([]);
      expect(configFromEnv(envOf(proxyContainer(other))).oidc?.issuer).toBe(OIDC.issuer);
    });

    it('lets the proxy reach the provider\'s addresses on the JWKS port (443), and nowhere outside without oidc', () => {
      const egressTo = (all: readonly K8sObject[]) => (findObject(all, 'NetworkPolicy', PROXY).spec?.egress ?? [])
        .filter((rule) => (rule.to ?? []).some((peer) => peer.ipBlock !== undefined));
      expect(egressTo(objs)).toEqual([{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
      expect(egressTo(build().objs)).toEqual([]);
    });

    it('uses the JWKS URI\'s own port for that egress', () => {
      const other = build({ authorizerProxy: { oidc: { ...OIDC, jwksUri: 'https://login.example.com:8443/realms/t/certs' } } }).objs;
      const rules = (findObject(other, 'NetworkPolicy', PROXY).spec?.egress ?? [])
        .filter((rule) => (rule.to ?? []).some((peer) => peer.ipBlock?.cidr === '203.0.113.0/24'));
      expect(rules.map((r) => r.ports)).toEqual([[{ port: 8443, protocol: 'TCP' }]]);
    });
  });

  describe('standalone', () => {
    it('forwards to the frontend it is given, with an empty policy of its own', () => {
      const chart = new Chart(new App(), 'test', { namespace: 'temporal' });
      const context = standaloneSetup(chart);
      const proxy = standaloneProxy(chart, context);
      const objs = synth(chart);
      const env = envOf(proxyContainer(objs));
      expect(configFromEnv(env).upstream.address).toBe(context.cluster.frontendAddress);
      expect(proxy.tokenAudience).toBe(context.cluster.tls?.frontend.serverName);
      expect(policyOf(objs)).toEqual({ rules: [] });
      // Its client certificate is one the frontend accepts, and its server certificate admits workloads and platform clients.
      expect(context.cluster.tls?.frontend.acceptsClientsFrom).toContain(proxy.clientIdentity.issuedBy);
      expect(proxy.serverIdentity.acceptsClientsFrom).toEqual(['workload', 'platform-clients']);
    });

    // The component option `name` names the proxy's objects (not the installation).
    it('names its objects after the component name option (authorizerProxy: { name })', () => {
      const { objs } = build({ authorizerProxy: { name: 'authz' } });
      expect(hasObject(objs, 'Deployment', 'temporal-authz')).toBe(true);
      expect(hasObject(objs, 'Deployment', PROXY)).toBe(false);
    });

    it.each([
      ['tokenTtl', { tokenTtl: Duration.seconds(10) }, 'INVALID_DURATION'],
      ['replicas', { replicas: 0 }, 'INVALID_REPLICAS'],
      ['image', { image: 'node:latest' }, 'INVALID_IMAGE'],
      ['oidc', { oidc: { ...OIDC, issuer: 'http://login.example.com' } }, 'INVALID_POLICY'],
      ['oidc peers', { oidc: { ...OIDC, peers: [] } }, 'INVALID_PEER'],
      ['rules', { rules: [{ name: 'everyone', certificate: {}, grants: { orders: 'read' } }] }, 'INVALID_POLICY'],
    ] as const)('leaves nothing behind when %s is invalid', (_what, options, code) => {
      expectAtomicFailure(standaloneSetup, (chart, context) => standaloneProxy(chart, context, options as AuthorizerProxyOptions), code);
    });
  });
});
