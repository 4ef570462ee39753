import { App, Duration } from 'cdk8s';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { AuthorizerPolicy } from '../../lib/authorizer/policy';
import { bundledProgram } from '../../lib/authorizer/program';
import { CODEC_ENV } from '../../lib/codec/server-env';
import { Peer } from '../../lib/core/peers';
import { apiObjectsUnder, containerOf, envValue, envVar, expectValidationError, findAll, findByPrefix, findObject, hasObject, K8sObject,
  podTemplate, synth } from '../util';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const OIDC = { issuer: 'https://login.example.com/realms/t', audience: 'temporal', jwksUri: 'https://login.example.com/realms/t/certs',
  peers: [Peer.cidr('203.0.113.0/24')] };
const SSO = { clientId: 'temporal-ui', clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' };
const SIGNED_IN: SecureTemporalChartProps = {
  authorizerProxy: { oidc: { ...OIDC, caBundle: CA_PEM } },
  webUi: { sso: SSO, ingress: { host: 'temporal.example.com', tlsSecretName: 'temporal-web-tls' } },
  codecServer: { ingress: { host: 'codec.example.com', tlsSecretName: 'codec-ingress-tls' } },
};

/**
 * The codec server's key ring Secrets by mount path; checks on the way that each is mounted read-only, once, from a
 * Secret volume that must exist (`optional: false`) and that only the key rings are mounted under the keys folder.
 */
function keyRingMounts(objs: readonly K8sObject[]): Record<string, string> {
  const { spec } = podTemplate(objs, 'Deployment', 'temporal-codec');
  const keysDir = envValue(codec(objs), CODEC_ENV.keysDir);
  expect(keysDir).toBe('/etc/codec-server/keys');
  const mounts = (codec(objs).volumeMounts ?? []).filter((m) => m.mountPath.startsWith(`${keysDir}/`) || m.mountPath === keysDir);
  return Object.fromEntries(mounts.map((m) => {
    expect(m.readOnly).toBe(true);
    expect(m.subPath).toBeUndefined();
    const volumes = (spec.volumes ?? []).filter((v) => v.name === m.name);
    expect(volumes).toHaveLength(1);
    expect(volumes[0].secret).toEqual({ secretName: expect.any(String), defaultMode: 0o440, optional: false });
    return [m.mountPath, volumes[0].secret?.secretName as string];
  }));
}

function build(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const chart = new SecureTemporalChart(new App(), 'temporal', props);
  return { chart, objs: synth(chart) };
}
const codec = (objs: readonly K8sObject[]) => containerOf(podTemplate(objs, 'Deployment', 'temporal-codec').spec, 'codec-server');
const web = (objs: readonly K8sObject[]) => containerOf(podTemplate(objs, 'Deployment', 'temporal-web').spec, 'web');
const policyOf = (objs: readonly K8sObject[]): AuthorizerPolicy =>
  JSON.parse((findObject(objs, 'ConfigMap', 'temporal-authorizer-proxy-policy').data as Record<string, string>)['policy.json']);

describe('CodecServer in the default chart', () => {
  const { objs } = build();
  const pod = podTemplate(objs, 'Deployment', 'temporal-codec');

  it('does run the bundled program from an immutable, content-named ConfigMap in the pinned Node image', () => {
    const c = codec(objs);
    expect(c.image).toBe('node:20.20.2-bookworm-slim');
    expect(c.command).toEqual(['node', '/opt/codec-server/codec-server.js']);
    const program = findByPrefix(objs, 'ConfigMap', 'temporal-codec-program-');
    expect(program.immutable).toBe(true);
    expect((program.data as Record<string, string>)['codec-server.js']).toBe(bundledProgram('codec-server'));
  });

  it('does mount the key ring Secret you create for the declared namespace, the proxy\'s policy, its certificate and the client CAs', () => {
    const volumes = Object.fromEntries((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    expect(keyRingMounts(objs)).toEqual({ '/etc/codec-server/keys/default': 'temporal-codec-keys-default' });
    expect(hasObject(objs, 'Secret', 'temporal-codec-keys-default')).toBe(false);
    expect(volumes.policy.configMap?.name).toBe('temporal-authorizer-proxy-policy');
    expect(volumes['server-tls'].secret?.secretName).toBe('temporal-codec-tls');
    const c = codec(objs);
    expect(envValue(c, CODEC_ENV.keysDir)).toBe('/etc/codec-server/keys');
    expect(envValue(c, CODEC_ENV.policyFile)).toBe('/etc/codec-server/policy/policy.json');
    expect(envValue(c, CODEC_ENV.clientCaFiles)).toMatch(/workload/);
    // Only workload certificates decrypt: the platform-clients CA (admin tools, namespace Job) is neither trusted nor mounted.
    expect(JSON.stringify(volumes['tls-trust'])).not.toMatch(/platform-clients/);
    expect((c.env ?? []).map((e) => e.value).join(' ')).not.toMatch(/platform-clients/);
    const cert = findAll(objs, 'Certificate').find((x) => (x.spec as { secretName: string }).secretName === 'temporal-codec-tls');
    expect((cert?.spec as { dnsNames: string[] }).dnsNames).toContain('temporal-codec.temporal.svc.cluster.local');
    expect((cert?.spec as { usages: string[] }).usages).toContain('server auth');
  });

  it('does take no token without an identity provider, allow no browser origin, and publish nothing', () => {
    const names = (codec(objs).env ?? []).map((e) => e.name);
    expect(names).not.toContain(CODEC_ENV.oidcIssuer);
    expect(names).not.toContain(CODEC_ENV.corsOrigins);
    expect(hasObject(objs, 'Ingress', 'temporal-codec')).toBe(false);
    expect(envValue(codec(objs), CODEC_ENV.maxBodyBytes)).toBe(String(4 * 1024 * 1024));
    expect(envValue(codec(objs), CODEC_ENV.maxPayloads)).toBe('1000');
  });

  it('does run restricted, without an API token, two replicas behind a PodDisruptionBudget', () => {
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(codec(objs).securityContext).toEqual(expect.objectContaining({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
      runAsNonRoot: true }));
    expect(findObject(objs, 'Deployment', 'temporal-codec').spec?.replicas).toBe(2);
    expect(hasObject(objs, 'PodDisruptionBudget', 'temporal-codec')).toBe(true);
  });

  it('does leave the Web UI without sign-on read-only on its own identity, and without a codec endpoint', () => {
    const names = (web(objs).env ?? []).map((e) => e.name);
    expect(names).not.toContain('TEMPORAL_AUTH_ENABLED');
    expect(names).not.toContain('TEMPORAL_CODEC_ENDPOINT');
    expect(policyOf(objs).rules).toContainEqual(expect.objectContaining({ name: 'temporal/web', grants: { 'temporal-system': 'read' } }));
  });

  it('does deploy none with codecServer: false', () => {
    const none = build({ codecServer: false }).objs;
    expect(hasObject(none, 'Deployment', 'temporal-codec')).toBe(false);
    expect(findAll(none, 'Certificate').some((x) => (x.spec as { secretName: string }).secretName === 'temporal-codec-tls')).toBe(false);
  });
});

describe('the Web UI behind single sign-on, with the codec server', () => {
  const { chart, objs } = build(SIGNED_IN);

  it('does sign users in with the provider the proxy trusts, the client secret from its Secret', () => {
    const c = web(objs);
    expect(envValue(c, 'TEMPORAL_AUTH_ENABLED')).toBe('true');
    expect(envValue(c, 'TEMPORAL_AUTH_PROVIDER_URL')).toBe(OIDC.issuer);
    expect(envValue(c, 'TEMPORAL_AUTH_ISSUER_URL')).toBe(OIDC.issuer);
    expect(envValue(c, 'TEMPORAL_AUTH_CLIENT_ID')).toBe('temporal-ui');
    expect(envVar(c, 'TEMPORAL_AUTH_CLIENT_SECRET')).toEqual({ name: 'TEMPORAL_AUTH_CLIENT_SECRET',
      valueFrom: { secretKeyRef: { name: 'temporal-ui-oidc', key: 'client-secret' } } });
    expect(envValue(c, 'TEMPORAL_AUTH_CALLBACK_URL')).toBe(SSO.callbackUrl);
    expect(envValue(c, 'TEMPORAL_AUTH_SCOPES')).toBe('openid,profile,email');
    expect(envValue(c, 'TEMPORAL_TLS_ENABLE_HOST_VERIFICATION')).toBe('true');
  });

  it('does hand the browser the codec server\'s public URL with the user\'s token', () => {
    expect(chart.codecServer?.publicUrl).toBe('https://codec.example.com');
    expect(envValue(web(objs), 'TEMPORAL_CODEC_ENDPOINT')).toBe('https://codec.example.com');
    expect(envValue(web(objs), 'TEMPORAL_CODEC_PASS_ACCESS_TOKEN')).toBe('true');
  });

  it('does let the codec server verify the same provider\'s tokens and allow only the UI\'s origin', () => {
    const c = codec(objs);
    expect([envValue(c, CODEC_ENV.oidcIssuer), envValue(c, CODEC_ENV.oidcAudience), envValue(c, CODEC_ENV.oidcJwksUri)])
      .toEqual([OIDC.issuer, OIDC.audience, OIDC.jwksUri]);
    expect(envValue(c, CODEC_ENV.corsOrigins)).toBe('https://temporal.example.com');
    expect(envValue(c, 'NODE_EXTRA_CA_CERTS')).toBe('/etc/codec-server/oidc-ca/ca.crt');
    expect(envValue(web(objs), 'SSL_CERT_FILE')).toBe('/etc/web-ui/oidc-ca/ca.crt');
  });

  it('does grant the UI\'s own certificate nothing: every call acts with the user\'s token', () => {
    expect(policyOf(objs).rules.map((r) => r.name)).not.toContain('temporal/web');
  });

  it('does publish the codec server over TLS to an HTTPS backend', () => {
    const ingress = findObject(objs, 'Ingress', 'temporal-codec');
    expect(ingress.spec?.tls).toEqual([{ hosts: ['codec.example.com'], secretName: 'codec-ingress-tls' }]);
    expect(ingress.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' });
    const annotated = build({ ...SIGNED_IN, codecServer: { ingress: { host: 'codec.example.com', tlsSecretName: 'codec-ingress-tls',
      annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } } } }).objs;
    expect(findObject(annotated, 'Ingress', 'temporal-codec').metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' });
    const cert = findAll(objs, 'Certificate').find((x) => (x.spec as { secretName: string }).secretName === 'temporal-codec-tls');
    expect((cert?.spec as { dnsNames: string[] }).dnsNames).toContain('codec.example.com');
  });

  it('does describe the codec server\'s flows: the IdP, the clients, the ingress controller, monitoring', () => {
    const description = chart.codecServer?.description;
    expect(description?.calls).toEqual([expect.objectContaining({ targets: [OIDC.jwksUri], ports: [{ port: 443 }] })]);
    expect((description?.admits ?? []).map((a) => 'outside' in a.from ? (a.from.outside as { role: string }).role : 'component'))
      .toEqual(['clients', 'ingress-controller']);
    // Monitoring is admitted from its metrics endpoint (the boundary derives the row).
    expect(description?.metrics).toEqual({ port: { name: 'metrics', port: 9090, protocol: 'TCP' }, path: '/metrics' });
  });
});

describe('one key ring per Temporal namespace', () => {
  it('does mount one Secret per declared namespace and per extra namespace, each in the folder named after it', () => {
    const { chart, objs } = build({ namespaces: [{ name: 'orders' }, { name: 'billing.eu' }],
      codecServer: { extraNamespaces: ['Payments_Legacy', 'orders'], keySecrets: { Payments_Legacy: 'payments-legacy-codec-keys' } } });
    expect(keyRingMounts(objs)).toEqual({
      '/etc/codec-server/keys/billing.eu': 'temporal-codec-keys-billing.eu',
      '/etc/codec-server/keys/orders': 'temporal-codec-keys-orders',
      '/etc/codec-server/keys/Payments_Legacy': 'payments-legacy-codec-keys',
    });
    expect(chart.codecServer?.namespaces).toEqual(['Payments_Legacy', 'billing.eu', 'orders']);
    expect(chart.codecServer?.keySecrets).toEqual({ 'billing.eu': 'temporal-codec-keys-billing.eu', orders: 'temporal-codec-keys-orders',
      Payments_Legacy: 'payments-legacy-codec-keys' });
    // The Secrets are the user's: none is made.
    expect(findAll(objs, 'Secret').map((x) => x.metadata.name).filter((n) => n.includes('codec-keys'))).toEqual([]);
    // Volume names are valid, distinct DNS labels.
    const names = (podTemplate(objs, 'Deployment', 'temporal-codec').spec.volumes ?? []).map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    names.forEach((n) => expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/));
  });

  it('does serve extra namespaces when the cluster declares none', () => {
    const { objs } = build({ namespaces: [], codecServer: { extraNamespaces: ['orders'] } });
    expect(keyRingMounts(objs)).toEqual({ '/etc/codec-server/keys/orders': 'temporal-codec-keys-orders' });
  });

  it('does override the Secret of one namespace and keep the default name of the others', () => {
    const { objs } = build({ namespaces: [{ name: 'default' }, { name: 'orders' }], codecServer: { keySecrets: { orders: 'orders-keys' } } });
    expect(keyRingMounts(objs)).toEqual({
      '/etc/codec-server/keys/default': 'temporal-codec-keys-default',
      '/etc/codec-server/keys/orders': 'orders-keys',
    });
  });

  const AT = 'temporal/CodecServer';
  it.each([
    ['the removed single key ring (keySecretName)', { codecServer: { keySecretName: 'temporal-codec-keys' } as never }, 'INVALID_POLICY', AT, [
      'keySecretName is removed: one key ring for every namespace let whoever may read one namespace decrypt the payloads of all',
      'Fix: give each Temporal namespace its own key ring Secret, temporal-codec-keys-<namespace>',
      'copy the shared keys into each so old payloads keep decoding', 'docs/SECURITY.md "Migrating from one shared key ring"']],
    ['a namespace whose Secret cannot be named after it', { namespaces: [{ name: 'Orders_EU' }] }, 'INVALID_NAME', AT, [
      'the key ring Secret of namespace "Orders_EU" cannot be named after it: temporal-codec-keys-Orders_EU is not a lower-case DNS name',
      'Fix: name its Secret in keySecrets["Orders_EU"]']],
    ['a namespace too long for the default Secret name', { namespaces: [{ name: 'n'.repeat(60) }] }, 'INVALID_NAME', AT, [
      'cannot be named after it', 'Fix: name its Secret in keySecrets']],
    ['a Secret name that is not a DNS name', { codecServer: { keySecrets: { default: 'Bad_Name' } } }, 'INVALID_NAME', AT, [
      'keySecrets["default"] must be a lower-case DNS name', '(got "Bad_Name")']],
    ['a Secret for a namespace it does not serve', { codecServer: { keySecrets: { ordres: 'orders-keys' } } }, 'INVALID_NAMESPACE', AT, [
      'keySecrets names namespace "ordres", which the codec server does not decode for (it serves default)',
      'Fix: add it to extraNamespaces (or declare it), or remove the entry']],
    ['two namespaces sharing one Secret', { namespaces: [{ name: 'default' }, { name: 'orders' }],
      codecServer: { keySecrets: { orders: 'temporal-codec-keys-default' } } }, 'INVALID_POLICY', AT, [
      'namespaces "default" and "orders" share the key ring Secret temporal-codec-keys-default',
      'Fix: give each namespace its own key ring Secret']],
    ['an extra namespace that is not a Temporal namespace name', { codecServer: { extraNamespaces: ['temporal-system'] } }, 'INVALID_NAMESPACE',
      `${AT}/extraNamespaces[0]`, ['a Temporal namespace name must be', '(got "temporal-system")']],
    ['no namespace at all', { namespaces: [] }, 'INVALID_NAMESPACE', AT, [
      'the codec server decodes for no namespace',
      'Fix: declare the namespaces (namespaces), name them in codecServer.extraNamespaces, or leave the codec server out']],
  ] as const)('fails on %s, naming the field and the fix', (_what, props, code, path, fragments) => {
    const error = expectValidationError(() => build(props as SecureTemporalChartProps), code, { path });
    fragments.forEach((fragment) => expect(error.message).toContain(fragment));
  });

  it('does leave nothing behind when a key ring is refused', () => {
    const app = new App();
    expect(() => new SecureTemporalChart(app, 'temporal', { codecServer: { keySecrets: { nope: 'x' } } })).toThrow();
    const chart = app.node.tryFindChild('temporal');
    expect(chart ? apiObjectsUnder(chart) : []).toEqual([]);
  });
});

describe('validation', () => {
  it.each([
    ['an Ingress without TLS', { codecServer: { ingress: { host: 'codec.example.com' } as never } }, 'INVALID_INGRESS', 'temporal/CodecServer/Ingress'],
    ['a plain-HTTP public URL', { codecServer: { publicUrl: 'http://codec.example.com' } }, 'INVALID_INGRESS', 'temporal/CodecServer'],
    ['maxPayloads 0', { codecServer: { maxPayloads: 0 } }, 'INVALID_RESOURCES', 'temporal/CodecServer'],
    ['maxBodyBytes 10', { codecServer: { maxBodyBytes: 10 } }, 'INVALID_RESOURCES', 'temporal/CodecServer'],
    ['compressAtBytes 0', { codecServer: { compressAtBytes: 0 } }, 'INVALID_RESOURCES', 'temporal/CodecServer'],
    ['a one-hour request timeout', { codecServer: { requestTimeout: Duration.hours(1) } }, 'INVALID_DURATION', 'temporal/CodecServer'],
    ['an image without a pinned tag', { codecServer: { image: 'node:latest' } }, 'INVALID_IMAGE', 'temporal/CodecServer'],
    ['a codec endpoint without sign-on', { webUi: { codecEndpoint: 'https://codec.example.com' } as never }, 'INVALID_INGRESS', 'temporal/WebUi'],
    ['a callback URL that is not the UI\'s callback', { authorizerProxy: { oidc: OIDC }, webUi: { sso: { ...SSO,
      callbackUrl: 'https://temporal.example.com/' } } }, 'INVALID_POLICY', 'temporal/WebUi/sso'],
    ['a plain-HTTP callback URL', { authorizerProxy: { oidc: OIDC }, webUi: { sso: { ...SSO,
      callbackUrl: 'http://temporal.example.com/auth/sso/callback' } } }, 'INVALID_INGRESS', 'temporal/WebUi/sso'],
    ['the UI\'s client id as the audience the proxy accepts (ID tokens would pass)', { authorizerProxy: { oidc: OIDC },
      webUi: { sso: { ...SSO, clientId: 'temporal' } } }, 'INVALID_POLICY', 'temporal/WebUi/sso'],
    ['scopes without openid', { authorizerProxy: { oidc: OIDC }, webUi: { sso: { ...SSO, scopes: ['profile'] } } }, 'INVALID_POLICY',
      'temporal/WebUi/sso'],
    ['a client secret given as a value', { authorizerProxy: { oidc: OIDC }, webUi: { sso: { ...SSO, clientSecret: 's3cret' as never } } },
      'INVALID_POLICY', 'temporal/WebUi/sso'],
  ] as const)('fails on %s, naming the field and the fix', (_what, props, code, path) => {
    const error = expectValidationError(() => build(props as SecureTemporalChartProps), code, { path });
    expect(error.fix.length).toBeGreaterThan(5);
  });

  it('does leave nothing of the codec server behind when it is refused', () => {
    const app = new App();
    expect(() => new SecureTemporalChart(app, 'temporal', { codecServer: { maxPayloads: 0 } })).toThrow();
    const chart = app.node.tryFindChild('temporal');
    expect(chart ? apiObjectsUnder(chart) : []).toEqual([]);
  });

  it('does accept http only for a local callback (a port-forward)', () => {
    const { objs } = build({ authorizerProxy: { oidc: OIDC }, webUi: { sso: { ...SSO, callbackUrl: 'http://localhost:8080/auth/sso/callback' } } });
    expect(envValue(web(objs), 'TEMPORAL_CORS_ORIGINS')).toBe('http://localhost:8080');
    expect(envValue(codec(objs), CODEC_ENV.corsOrigins)).toBe('http://localhost:8080');
  });
});
