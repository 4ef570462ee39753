/**
 * The cluster's authorization wiring: with the authorizer proxy (the chart's default) the frontend reads the
 * caller's grants from the proxy's tokens and enforces them, every other service authorizes as system admin over
 * internode mTLS, clients go through the proxy, and the frontend refuses workload certificates. Without it, every
 * service says explicitly that it runs without authorization, and clients call the frontend.
 */
import { createHash } from 'node:crypto';
import { App } from 'cdk8s';
import type { IContainer, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { ValidationError } from '../../lib/core/errors';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../lib/core/labels';
import { Peer } from '../../lib/core/peers';
import { TemporalCluster } from '../../lib/temporal/cluster';
import { postgresPersistence } from '../fixtures';
import {
  K8sObject, apiObjectsUnder, containerOf, envValue, expectAtomicFailure, findByPrefix, findObject, hasObject, podTemplate, podTemplates,
  synth,
} from '../util';

const SERVICES = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'] as const;
const CONFIG_FILE = 'config_template.yaml';
const FRONTEND_CONFIG_FILE = 'frontend_config_template.yaml';
const PROXY_HOST = 'temporal-authorizer-proxy.temporal.svc.cluster.local';
const FRONTEND_HOST = 'temporal-frontend.temporal.svc.cluster.local';

interface ServerTls {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly requireClientAuth?: boolean;
  readonly clientCaFiles?: string[];
}

interface ParsedConfig {
  readonly global: {
    readonly authorization?: Record<string, unknown>;
    readonly tls: { readonly internode: { readonly server: ServerTls }; readonly frontend: { readonly server: ServerTls } };
  };
}

function build(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const chart = new SecureTemporalChart(new App(), 'temporal', props);
  return { chart, objs: synth(chart) };
}

/** The text of one key of the config ConfigMap. */
function configText(objs: readonly K8sObject[], key: string): string {
  const text = findObject(objs, 'ConfigMap', 'temporal-config').data?.[key];
  if (text === undefined) {
    throw new Error(`temporal-config has no key ${key}`);
  }
  return text;
}

/** One key of the config ConfigMap, parsed with its template line dropped and its `{{ ... }}` actions blanked. */
function configOf(objs: readonly K8sObject[], key: string): ParsedConfig {
  const [first, ...rest] = configText(objs, key).split('\n');
  expect(first).toBe('# enable-template');
  return parse(rest.join('\n').replace(/\{\{.*?\}\}/g, '""')) as ParsedConfig;
}

function serverSpec(objs: readonly K8sObject[], service: string): IPodSpec {
  return podTemplate(objs, 'Deployment', `temporal-${service}`).spec;
}

function serverContainer(objs: readonly K8sObject[], service: string): IContainer {
  return containerOf(serverSpec(objs, service), service);
}

/** Names of the Secrets a pod spec mounts (Secret volumes and Secret sources of projected volumes). */
function mountedSecrets(spec: IPodSpec): string[] {
  return (spec.volumes ?? []).flatMap((v: IVolume) => [
    ...(v.secret?.secretName ? [v.secret.secretName] : []),
    ...(v.projected?.sources ?? []).flatMap((s) => (s.secret?.name ? [s.secret.name] : [])),
  ]);
}

/** File names of the volume mounted exactly at `dir` (projected Secret/ConfigMap items). */
function filesMountedAt(spec: IPodSpec, container: IContainer, dir: string): string[] {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dir);
  const volume = (spec.volumes ?? []).find((v) => v.name === mount?.name);
  return (volume?.projected?.sources ?? []).flatMap((s) => (s.secret?.items ?? s.configMap?.items ?? []).map((i) => i.path));
}

const env = (container: IContainer) => (container.env ?? []).map((e) => e.name);

describe('TemporalCluster authorization', () => {
  describe('with the authorizer proxy (chart default)', () => {
    const { chart, objs } = build();
    const frontend = configOf(objs, FRONTEND_CONFIG_FILE);
    const internal = configOf(objs, CONFIG_FILE);

    it('ships two configs: the frontend\'s, and one for every other service', () => {
      expect(Object.keys(findObject(objs, 'ConfigMap', 'temporal-config').data ?? {}).sort()).toEqual([CONFIG_FILE, FRONTEND_CONFIG_FILE]);
    });

    it.each(SERVICES)('mounts the right config into %s as config_template.yaml, pinned by its sha256', (service) => {
      const key = service === 'frontend' ? FRONTEND_CONFIG_FILE : CONFIG_FILE;
      const spec = serverSpec(objs, service);
      const container = serverContainer(objs, service);
      const path = envValue(container, 'TEMPORAL_SERVER_CONFIG_FILE_PATH');
      const dir = path.slice(0, path.lastIndexOf('/'));
      const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dir);
      const volume = (spec.volumes ?? []).find((v) => v.name === mount?.name);
      expect(path.endsWith(`/${CONFIG_FILE}`)).toBe(true);
      expect(volume?.configMap).toEqual({ name: 'temporal-config', items: [{ key, path: CONFIG_FILE }] });
      const sha = createHash('sha256').update(configText(objs, key)).digest('hex');
      expect(podTemplate(objs, 'Deployment', `temporal-${service}`).metadata.annotations?.[CONFIG_CHECKSUM_ANNOTATION]).toBe(sha);
    });

    it('has the frontend enforce the grants of the proxy\'s tokens (default authorizer and claim mapper, the proxy\'s JWKS)', () => {
      const service = findObject(objs, 'Service', 'temporal-frontend');
      expect(frontend.global.authorization).toEqual({
        authorizer: 'default',
        claimMapper: 'default',
        jwtKeyProvider: {
          keySourceURIs: [`https://${PROXY_HOST}:8443/.well-known/jwks.json`],
          refreshInterval: '15s',
        },
        permissionsClaimName: 'permissions',
        audience: `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`,
      });
    });

    it('has the JWKS URL and audience agree with what the proxy serves and signs', () => {
      const proxy = chart.cluster.authorizerProxy;
      const authorization = frontend.global.authorization as { jwtKeyProvider: { keySourceURIs: string[] }; audience: string };
      expect(authorization.jwtKeyProvider.keySourceURIs).toEqual([proxy?.jwksUrl]);
      expect(authorization.audience).toBe(proxy?.tokenAudience);
      const proxyEnv = containerOf(podTemplate(objs, 'Deployment', 'temporal-authorizer-proxy').spec, 'authorizer-proxy');
      expect(envValue(proxyEnv, 'PROXY_AUDIENCE')).toBe(authorization.audience);
      expect(findObject(objs, 'Service', 'temporal-authorizer-proxy').spec?.ports?.map((p) => p.port)).toContain(8443);
    });

    it('has every other service authorize with the default authorizer only (no claim mapper, no key fetching)', () => {
      expect(internal.global.authorization).toEqual({ authorizer: 'default' });
    });

    it('serves the internode certificate on the frontend block of the other services\' config, never the frontend key', () => {
      expect(internal.global.tls.frontend.server).toEqual(internal.global.tls.internode.server);
      expect(configText(objs, CONFIG_FILE)).not.toContain('/etc/temporal/tls/frontend/');
      expect(frontend.global.tls.frontend.server.certFile).toBe('/etc/temporal/tls/frontend/tls.crt');
    });

    it('runs no server service with TEMPORAL_ALLOW_NO_AUTH', () => {
      const allowing = SERVICES.filter((s) => env(serverContainer(objs, s)).includes('TEMPORAL_ALLOW_NO_AUTH'));
      expect(allowing).toEqual([]);
    });

    it('lets the frontend verify the proxy\'s JWKS endpoint with the frontend CA only (both key slots), a directory it mounts', () => {
      const container = serverContainer(objs, 'frontend');
      // Go's system roots: no bundle file, and every file of a directory holding the frontend CA's anchors alone.
      expect(envValue(container, 'SSL_CERT_FILE')).toBe('/dev/null');
      expect(envValue(container, 'SSL_CERT_DIR')).toBe('/etc/temporal/tls/trust-frontend');
      expect(filesMountedAt(serverSpec(objs, 'frontend'), container, '/etc/temporal/tls/trust-frontend')?.sort())
        .toEqual(['frontend-ca-2.crt', 'frontend-ca.crt']);
      expect(SERVICES.filter((s) => s !== 'frontend' && env(serverContainer(objs, s)).some((n) => n.startsWith('SSL_CERT')))).toEqual([]);
    });

    it('mounts the frontend\'s private key Secret in frontend pods only', () => {
      expect(chart.cluster.tls?.frontend.secretName).toBe('temporal-frontend-tls');
      const mounting = podTemplates(objs).filter((p) => mountedSecrets(p.spec).includes('temporal-frontend-tls'));
      expect(mounting.map((p) => p.name)).toEqual(['temporal-frontend']);
    });

    it.each(SERVICES)('mounts the %s internode Secret in its own pods, and no other service\'s', (service) => {
      const internode = mountedSecrets(serverSpec(objs, service)).filter((s) => /^temporal-.*-internode-tls$/.test(s));
      expect(internode).toEqual([`temporal-${service}-internode-tls`]);
      const others = podTemplates(objs).filter((p) => mountedSecrets(p.spec).includes(`temporal-${service}-internode-tls`));
      expect(others.map((p) => p.name)).toEqual([`temporal-${service}`]);
    });

    it('runs the internal-frontend without being asked', () => {
      expect(chart.cluster.services).toContain('internal-frontend');
      expect(hasObject(objs, 'Deployment', 'temporal-internal-frontend')).toBe(true);
      expect(hasObject(objs, 'Service', 'temporal-internal-frontend')).toBe(true);
    });

    it.each([
      ['the Web UI', 'Deployment', 'temporal-web', 'web'],
      ['the admin tools', 'Deployment', 'temporal-admintools', 'admintools'],
      ['the namespace Job', 'Job', 'temporal-namespaces-', 'register'],
    ] as const)('points %s at the proxy', (_what, kind, name, containerName) => {
      const workload = kind === 'Job' ? findByPrefix(objs, 'Job', name).metadata.name : name;
      const container = containerOf(podTemplate(objs, kind, workload).spec, containerName);
      expect(envValue(container, 'TEMPORAL_ADDRESS')).toBe(`${PROXY_HOST}:7233`);
      expect(envValue(container, 'TEMPORAL_TLS_SERVER_NAME')).toBe(PROXY_HOST);
    });

    it('sets frontendAccess to authorizer-proxy, and the frontend accepts no workload certificate', () => {
      expect(chart.cluster.frontendAccess).toBe('authorizer-proxy');
      expect(chart.cluster.tls?.frontend.acceptsClientsFrom).not.toContain('workload');
      expect(frontend.global.tls.frontend.server.requireClientAuth).toBe(true);
      expect((frontend.global.tls.frontend.server.clientCaFiles ?? []).filter((f) => f.includes('workload'))).toEqual([]);
      const trust = filesMountedAt(serverSpec(objs, 'frontend'), serverContainer(objs, 'frontend'), '/etc/temporal/tls/trust');
      expect(trust).not.toContain('workload-ca.crt');
    });

    it('derives the JWKS URL from the installation\'s name, namespace and cluster domain', () => {
      const other = build({ name: 'tx', namespace: 'tns', clusterDomain: 'corp.internal' }).objs;
      const text = findObject(other, 'ConfigMap', 'tx-config').data?.[FRONTEND_CONFIG_FILE] ?? '';
      const parsed = parse(text.replace(/\{\{.*?\}\}/g, '""')) as ParsedConfig;
      expect(parsed.global.authorization).toMatchObject({
        jwtKeyProvider: { keySourceURIs: ['https://tx-authorizer-proxy.tns.svc.corp.internal:8443/.well-known/jwks.json'] },
        audience: 'tx-frontend.tns.svc.corp.internal',
      });
    });
  });

  describe('without the authorizer proxy (authorizerProxy: false)', () => {
    const { chart, objs } = build({ authorizerProxy: false });
    const services = SERVICES.filter((s) => s !== 'internal-frontend');

    it('runs no proxy and no internal-frontend unless asked', () => {
      expect(chart.cluster.authorizerProxy).toBeUndefined();
      expect(hasObject(objs, 'Deployment', 'temporal-authorizer-proxy')).toBe(false);
      expect(hasObject(objs, 'Deployment', 'temporal-internal-frontend')).toBe(false);
    });

    it('configures no authorization in any config', () => {
      const keys = Object.keys(findObject(objs, 'ConfigMap', 'temporal-config').data ?? {});
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.map((key) => configOf(objs, key).global.authorization)).toEqual(keys.map(() => undefined));
    });

    it('says TEMPORAL_ALLOW_NO_AUTH=true on every server service', () => {
      expect(services.map((s) => envValue(serverContainer(objs, s), 'TEMPORAL_ALLOW_NO_AUTH'))).toEqual(services.map(() => 'true'));
    });

    it('also with an internal-frontend', () => {
      const withInternal = build({ authorizerProxy: false, internalFrontend: true }).objs;
      expect(SERVICES.map((s) => envValue(serverContainer(withInternal, s), 'TEMPORAL_ALLOW_NO_AUTH'))).toEqual(SERVICES.map(() => 'true'));
    });

    it('gives the frontend no SSL_CERT_FILE (it fetches no keys)', () => {
      expect(env(serverContainer(objs, 'frontend'))).not.toContain('SSL_CERT_FILE');
    });

    it.each([
      ['the Web UI', 'Deployment', 'temporal-web', 'web'],
      ['the admin tools', 'Deployment', 'temporal-admintools', 'admintools'],
      ['the namespace Job', 'Job', 'temporal-namespaces-', 'register'],
    ] as const)('points %s at the frontend', (_what, kind, name, containerName) => {
      const workload = kind === 'Job' ? findByPrefix(objs, 'Job', name).metadata.name : name;
      const container = containerOf(podTemplate(objs, kind, workload).spec, containerName);
      expect(envValue(container, 'TEMPORAL_ADDRESS')).toBe(`${FRONTEND_HOST}:7233`);
      expect(envValue(container, 'TEMPORAL_TLS_SERVER_NAME')).toBe(FRONTEND_HOST);
    });

    it('sets frontendAccess to direct: the frontend accepts workload certificates', () => {
      const c = build({ authorizerProxy: false, clientNamespaces: [Peer.namespace('orders')],
        clientIdentities: [{ name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'] }] });
      expect(c.chart.cluster.frontendAccess).toBe('direct');
      expect(c.chart.cluster.tls?.frontend.acceptsClientsFrom).toContain('workload');
      expect(configOf(c.objs, FRONTEND_CONFIG_FILE).global.tls.frontend.server.clientCaFiles)
        .toContain('/etc/temporal/tls/trust/workload-ca.crt');
    });
  });

  describe('validation', () => {
    it('refuses internalFrontend: false with the proxy (INVALID_TLS), leaving nothing behind', () => {
      const app = new App();
      let thrown: unknown;
      try {
        new SecureTemporalChart(app, 'temporal', { internalFrontend: false });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      const error = thrown as ValidationError;
      expect({ code: error.code, path: error.path }).toEqual({ code: 'INVALID_TLS', path: 'temporal/Cluster' });
      expect(error.message).toContain('internal-frontend');
      expect(error.message).toContain('Fix: ');
      expect(apiObjectsUnder(app)).toEqual([]);
      // Without the proxy the same prop is fine.
      expect(() => build({ internalFrontend: false, authorizerProxy: false })).not.toThrow();
    });

    it('refuses a TemporalCluster with an authorizer proxy but no PKI (INVALID_TLS), leaving nothing behind', () => {
      const error = expectAtomicFailure(() => undefined, (chart) => new TemporalCluster(chart, 'Cluster', {
        persistence: postgresPersistence(chart), numHistoryShards: 4, authorizerProxy: {},
      }), 'INVALID_TLS');
      expect(error.path).toBe('test/Cluster');
      expect(error.message).toContain('PKI');
      expect(error.fix).toContain('pki');
    });
  });
});
