import { App, Chart } from 'cdk8s';
import { SecureTemporalChart } from '../../charts/secure-temporal-chart';
import { Peer } from '../../lib/core/peers';
import { TemporalCluster } from '../../lib/temporal/cluster';
import { DEFAULT_IMAGES } from '../../lib/core/images';
import { WEB_UI_PORT } from '../../lib/temporal/ports';
import { TemporalWebUi, TemporalWebUiProps } from '../../lib/temporal/web-ui';
import { postgresPersistence } from '../fixtures';
import {
  K8sObject, containerOf, envValue, expectAtomicFailure, expectValidationError, findAll, findObject, hasObject, podTemplate,
  synth, testChart,
} from '../util';

function cluster(chart: Chart, internalFrontend = false): TemporalCluster {
  return new TemporalCluster(chart, 'Cluster', { persistence: postgresPersistence(chart), numHistoryShards: 4, internalFrontend });
}

function webUi(props: Omit<TemporalWebUiProps, 'cluster'> = {}, internalFrontend = false): { ui: TemporalWebUi; objs: K8sObject[] } {
  const chart = testChart();
  const ui = new TemporalWebUi(chart, 'WebUi', { cluster: cluster(chart, internalFrontend), ...props });
  return { ui, objs: synth(chart) };
}

export const SSO_OIDC = { issuer: 'https://login.example.com/realms/t', audience: 'temporal', jwksUri: 'https://login.example.com/realms/t/certs',
  peers: [Peer.cidr('203.0.113.0/24')] };
export const SSO = { clientId: 'temporal-ui', clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' };

/** A Web UI with single sign-on in the default chart (the authorizer proxy accepting the same provider). */
function ssoUi(props: Omit<TemporalWebUiProps, 'cluster' | 'sso'> = {}): { ui: TemporalWebUi; objs: K8sObject[] } {
  const chart = new SecureTemporalChart(new App(), 'test', { authorizerProxy: { oidc: SSO_OIDC }, webUi: { sso: SSO, ...props } });
  return { ui: chart.webUi as TemporalWebUi, objs: synth(chart) };
}

const web = (objs: readonly K8sObject[]) => containerOf(podTemplate(objs, 'Deployment', 'temporal-web').spec, 'web');

describe('TemporalWebUi trust (both key slots of the server\'s CA as Go\'s system roots)', () => {
  const envOf = (objs: readonly K8sObject[]) => Object.fromEntries((web(objs).env ?? []).map((e) => [e.name, e.value]));
  it('reads no bundle of the image without single sign-on, the identity provider\'s CA with a private one, the image\'s public ' +
    'bundle with a public one', () => {
    const plain = envOf(synth(new SecureTemporalChart(new App(), 'test', { webUi: {} })));
    expect([plain.SSL_CERT_FILE, plain.SSL_CERT_DIR, plain.TEMPORAL_TLS_CA]).toEqual(['/dev/null', '/etc/temporal/tls/trust', undefined]);
    // A provider with a public certificate: SSL_CERT_FILE unset, so Go reads the image's own bundle of public CAs for it.
    const publicIdp = envOf(ssoUi().objs);
    expect(Object.keys(publicIdp)).not.toContain('SSL_CERT_FILE');
    expect(publicIdp.SSL_CERT_DIR).toBe('/etc/temporal/tls/trust');
    const ca = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
    const privateIdp = envOf(synth(new SecureTemporalChart(new App(), 'test', {
      authorizerProxy: { oidc: { ...SSO_OIDC, caBundle: ca } }, webUi: { sso: SSO } })));
    expect([privateIdp.SSL_CERT_FILE, privateIdp.SSL_CERT_DIR]).toEqual(['/etc/web-ui/oidc-ca/ca.crt', '/etc/temporal/tls/trust']);
  });
});

describe('TemporalWebUi', () => {
  it('does render the same container as before (change detector)', () => {
    const c = web(webUi().objs);
    expect({ image: c.image, env: c.env, ports: c.ports, readiness: c.readinessProbe }).toMatchSnapshot();
  });

  it('does point TEMPORAL_ADDRESS at the frontend address', () => {
    const { ui, objs } = webUi();
    expect(envValue(web(objs), 'TEMPORAL_ADDRESS')).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    expect(ui.address).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
  });

  it('does keep calling the public frontend when an internal-frontend runs', () => {
    expect(envValue(web(webUi({}, true).objs), 'TEMPORAL_ADDRESS')).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
  });

  it('does listen on the Web UI port and serve it through a ClusterIP Service', () => {
    const { objs, ui } = webUi();
    expect(envValue(web(objs), 'TEMPORAL_UI_PORT')).toBe(String(WEB_UI_PORT));
    expect(web(objs).ports).toEqual([{ name: 'http', containerPort: WEB_UI_PORT, protocol: 'TCP' }]);
    const svc = findObject(objs, 'Service', 'temporal-web');
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[WEB_UI_PORT, 'http']]);
    expect(svc.spec?.selector).toEqual(ui.selector);
  });

  it('does use the pinned default image and the configured default namespace', () => {
    const c = web(webUi({ defaultNamespace: 'orders' }).objs);
    expect(c.image).toBe(DEFAULT_IMAGES.ui);
    expect(envValue(c, 'TEMPORAL_DEFAULT_NAMESPACE')).toBe('orders');
  });

  it('does probe /healthz on the named http port', () => {
    const c = web(webUi().objs);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('does run under its own ServiceAccount with no API token, with a PodDisruptionBudget', () => {
    const { objs } = webUi({ replicas: 2 });
    const pod = podTemplate(objs, 'Deployment', 'temporal-web');
    expect(pod.spec.serviceAccountName).toBe('temporal-web');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(findObject(objs, 'ServiceAccount', 'temporal-web').automountServiceAccountToken).toBe(false);
    expect(findObject(objs, 'Deployment', 'temporal-web').spec?.replicas).toBe(2);
    expect(findObject(objs, 'PodDisruptionBudget', 'temporal-web').spec?.maxUnavailable).toBe(1);
  });

  it('does create no Ingress unless asked', () => {
    const { objs, ui } = webUi();
    expect(findAll(objs, 'Ingress')).toEqual([]);
    expect(ui.ingress).toBeUndefined();
  });

  it('does route the Ingress host to the Web UI Service, with TLS when a Secret is named', () => {
    const { objs } = ssoUi({ ingress: { host: 'temporal.example.com', className: 'nginx', tlsSecretName: 'ui-tls',
      annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' } } });
    const ingress = findObject(objs, 'Ingress', 'temporal-web');
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['temporal.example.com'], secretName: 'ui-tls' }],
      rules: [{ host: 'temporal.example.com', http: { paths: [
        { path: '/', pathType: 'Prefix', backend: { service: { name: 'temporal-web', port: { name: 'http' } } } },
      ] } }],
    });
    expect(ingress.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' });
    expect(hasObject(objs, 'Service', 'temporal-web')).toBe(true);
  });

  it('does leave TLS out of the Ingress only when plain HTTP is explicitly allowed', () => {
    const ingress = findObject(ssoUi({ ingress: { host: 'temporal.example.com', allowPlaintext: true } }).objs, 'Ingress', 'temporal-web');
    expect(ingress.spec?.tls).toBeUndefined();
    expect(ingress.spec?.ingressClassName).toBeUndefined();
  });

  it('does call the frontend\'s gRPC endpoint, and admit the ingress controller only with an Ingress', () => {
    const plain = webUi().ui.description;
    expect(plain.calls).toEqual([expect.objectContaining({ category: 'ui', to: expect.objectContaining({
      port: { name: 'grpc-rpc', port: 7233, protocol: 'TCP' } }) })]);
    expect(plain.admits).toEqual([]);
    const published = ssoUi({ ingress: { host: 'temporal.example.com', tlsSecretName: 'ui-tls' } }).ui.description;
    expect(published.calls).toEqual([expect.objectContaining({ category: 'ui' }), expect.objectContaining({ category: 'client',
      targets: ['https://login.example.com/realms/t'], ports: [{ port: 443 }] })]);
    expect(published.admits).toEqual([{ from: { outside: { role: 'ingress-controller' } }, port: { name: 'http', port: 8080,
      protocol: 'TCP' }, category: 'ingress', purpose: 'browsers reach the Web UI through the Ingress' }]);
  });

  it('does run a second Web UI under a name of its own', () => {
    const chart = testChart();
    const c = cluster(chart);
    new TemporalWebUi(chart, 'WebUi', { cluster: c });
    const second = new TemporalWebUi(chart, 'PublicUi', { cluster: c, name: 'web-public' });
    const objs = synth(chart);
    expect(findObject(objs, 'Deployment', 'temporal-web-public').spec?.selector.matchLabels)
      .toEqual({ 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal', 'app.kubernetes.io/component': 'web-public' });
    expect(second.description.id).toBe('web-public');
  });

  describe('validation', () => {
    it.each([0, -1, 1.5])('fails when replicas is %p', (replicas) => {
      expectValidationError(() => webUi({ replicas }), 'INVALID_REPLICAS', { path: 'test/WebUi', value: String(replicas) });
    });

    it.each(['temporalio/ui:latest', 'temporalio/ui', 'registry.example:5000/ui'])('fails when image is %j', (image) => {
      const error = expectValidationError(() => webUi({ image }), 'INVALID_IMAGE', { path: 'test/WebUi', value: JSON.stringify(image) });
      expect(error.fix).toContain('"temporalio/ui:2.52.0"');
      expect(error.fix).not.toContain('temporalio/server');
    });

    it('fails when the Ingress has no TLS and plain HTTP is not explicitly allowed', () => {
      const error = expectValidationError(() => ssoUi({ ingress: { host: 'temporal.example.com' } }), 'INVALID_INGRESS',
        { path: 'test/WebUi/Ingress' });
      expect(error.message).toContain('plain HTTP');
      expect(error.fix).toContain('tlsSecretName');
      expect(error.fix).toContain('allowPlaintext: true');
    });

    it('fails with DUPLICATE_NAME when a second Web UI on one cluster takes the first one\'s name', () => {
      expectAtomicFailure((chart) => {
        const c = cluster(chart);
        new TemporalWebUi(chart, 'WebUi', { cluster: c });
        return c;
      }, (chart, c) => new TemporalWebUi(chart, 'SecondUi', { cluster: c }), 'DUPLICATE_NAME');
      const chart = testChart();
      const c = cluster(chart);
      new TemporalWebUi(chart, 'WebUi', { cluster: c });
      const error = expectValidationError(() => new TemporalWebUi(chart, 'SecondUi', { cluster: c }), 'DUPLICATE_NAME',
        { path: 'test/SecondUi', value: '"temporal-web"' });
      expect(error.fix).toContain('{ name: "web-2" }');
    });

    it.each(['localhost', 'Temporal.Example.com', 'temporal_ui.example.com', '*.example.com', 'https://temporal.example.com', ''])(
      'fails when the ingress host is %j', (host) => {
        expectValidationError(() => webUi({ ingress: { host, tlsSecretName: 'ui-tls' } }), 'INVALID_INGRESS',
          { path: 'test/WebUi/Ingress', value: JSON.stringify(host) });
      });

    it('fails when replicas exceeds int32', () => {
      expectValidationError(() => webUi({ replicas: 2 ** 31 }), 'INVALID_REPLICAS', { path: 'test/WebUi', value: String(2 ** 31) });
    });

    it('fails when an ingress host label is longer than 63 characters', () => {
      const host = `${'a'.repeat(64)}.example.com`;
      expectValidationError(() => webUi({ ingress: { host, tlsSecretName: 'ui-tls' } }), 'INVALID_INGRESS',
        { path: 'test/WebUi/Ingress', value: JSON.stringify(host) });
    });

    it('fails when resources are not quantities', () => {
      const resources = { cpu: 'lots', memory: '64Mi', memoryLimit: '128Mi' };
      expectValidationError(() => webUi({ resources }), 'INVALID_RESOURCES', { path: 'test/WebUi', value: JSON.stringify(resources) });
    });
  });

  describe('atomic construction (nothing half-synthesized)', () => {
    it.each([
      ['replicas', { replicas: 0 }, 'INVALID_REPLICAS'],
      ['image', { image: 'temporalio/ui:latest' }, 'INVALID_IMAGE'],
    ] as const)('does leave no objects behind when %s is invalid', (_prop, props, code) => {
      expectAtomicFailure((chart) => cluster(chart), (chart, c) => new TemporalWebUi(chart, 'WebUi', { cluster: c, ...props }), code);
    });

    it.each([
      ['ingress host', { ingress: { host: 'localhost' } }, 'INVALID_INGRESS'],
      ['resources', { resources: { cpu: '1', memory: '1Gi', memoryLimit: '1Mi' } }, 'INVALID_RESOURCES'],
    ] as const)('does leave no objects behind when %s is invalid', (_prop, props, code) => {
      expectAtomicFailure((chart) => cluster(chart), (chart, c) => new TemporalWebUi(chart, 'WebUi', { cluster: c, ...props }), code);
    });
  });
});
