import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { serviceDnsNames, serviceDnsOf, serviceFqdn } from '../../lib/core/dns';
import { Installation } from '../../lib/core/installation';
import { TemporalPki } from '../../lib/tls/pki';
import { certificateFor, NAMESPACE, synth, tlsFixture } from './fixtures';
import { expectTlsError } from './pem';

describe('TlsIdentity', () => {
  const fixture = tlsFixture();
  const objects = synth(fixture);

  it('does derive all four in-cluster DNS names of a Service', () => {
    expect(serviceDnsNames({ name: 'svc', namespace: 'ns', clusterDomain: 'cluster.local' }))
      .toEqual(['svc', 'svc.ns', 'svc.ns.svc', 'svc.ns.svc.cluster.local']);
    expect(serviceDnsOf(fixture.frontendService)).toEqual({ name: 'temporal-frontend', namespace: NAMESPACE, clusterDomain: 'cluster.local' });
  });

  it('does give the internode certificate a logical server name plus every name of the Services it serves', () => {
    const { internode } = fixture;
    expect(internode.serverName).toBe('temporal-internode.temporal.svc.cluster.local');
    expect(internode.dnsNames[0]).toBe(internode.serverName);
    for (const svc of [...fixture.headless, fixture.internalFrontendService]) {
      for (const name of serviceDnsNames(serviceDnsOf(svc))) {
        expect(internode.dnsNames).toContain(name);
      }
    }
    const cert = certificateFor(objects, NAMESPACE, 'temporal-internode-tls');
    expect(cert.spec.dnsNames).toEqual(internode.dnsNames);
    expect(cert.spec.usages).toEqual(['digital signature', 'server auth', 'client auth']);
    expect(cert.spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'Issuer', name: 'temporal-internode-ca' });
    expect(internode.acceptsClientsFrom).toEqual(['internode']);
  });

  it('does derive the frontend SANs and server name from its Service object, plus extra hosts', () => {
    const { frontend } = fixture;
    const service = serviceDnsOf(fixture.frontendService);
    expect(serviceFqdn(service)).toBe('temporal-frontend.temporal.svc.cluster.local');
    expect(frontend.serverName).toBe('temporal-frontend.temporal.svc.cluster.local');
    expect(frontend.dnsNames).toEqual(['temporal-frontend', 'temporal-frontend.temporal', 'temporal-frontend.temporal.svc',
      'temporal-frontend.temporal.svc.cluster.local', 'temporal.example.com']);
    const cert = certificateFor(objects, NAMESPACE, 'temporal-frontend-tls');
    expect(cert.spec).toMatchObject({ commonName: 'temporal-frontend.temporal.svc.cluster.local',
      usages: ['digital signature', 'server auth'] });
    expect(frontend.acceptsClientsFrom).toEqual(['internode', 'platform-clients', 'workload']);
  });

  it('does follow a renamed Service: the name is never typed twice', () => {
    const chart = new Chart(Testing.app(), 'x', { namespace: 'prod' });
    const svc = new k8s.KubeService(chart, 'Svc', { metadata: { name: 'tmprl-frontend' }, spec: { ports: [{ port: 7233 }] } });
    const pki = new TemporalPki(chart, 'Pki', { installation: Installation.of(chart, { clusterDomain: 'corp.internal' }) });
    const frontend = pki.issueFrontendCertificate(chart, 'Frontend', { service: serviceDnsOf(svc, pki.clusterDomain), access: 'direct' });
    expect(frontend.serverName).toBe('tmprl-frontend.prod.svc.corp.internal');
    expect(frontend.secretName).toBe('tmprl-frontend-tls');
    expect(frontend.dnsNames).toContain('tmprl-frontend.prod');
  });

  it('does issue platform clients from the platform-clients CA with client auth only and a stable identity URI', () => {
    for (const [identity, name] of [[fixture.web, 'web'], [fixture.adminTools, 'admintools'], [fixture.jobs, 'jobs']] as const) {
      const cert = certificateFor(objects, NAMESPACE, `temporal-${name}-client-tls`);
      expect(identity.secretName).toBe(`temporal-${name}-client-tls`);
      expect(cert.spec).toMatchObject({
        commonName: name,
        uris: [`spiffe://cluster.local/ns/temporal/temporal-platform/${name}`],
        usages: ['digital signature', 'client auth'],
        issuerRef: { kind: 'Issuer', name: 'temporal-platform-clients-ca' },
      });
      expect(cert.spec.dnsNames).toBeUndefined();
      expect(identity.serverName).toBeUndefined();
    }
  });

  it('does issue a workload identity into its own namespace from the workload ClusterIssuer', () => {
    const { worker } = fixture;
    expect(worker).toMatchObject({ namespace: 'orders', secretName: 'orders-worker-temporal-tls', issuedBy: 'workload' });
    expect(worker.temporalNamespaces).toEqual(['orders', 'orders-staging']);
    const cert = certificateFor(objects, 'orders', 'orders-worker-temporal-tls');
    expect(cert.metadata.namespace).toBe('orders');
    expect(cert.spec).toMatchObject({
      commonName: 'orders-worker',
      uris: ['spiffe://cluster.local/ns/orders/temporal-client/orders-worker'],
      usages: ['digital signature', 'client auth'],
      issuerRef: { kind: 'ClusterIssuer', name: 'temporal-workload-ca' },
    });
    const other = tlsFixture();
    const custom = other.pki.issueClientCertificate(other.chart, 'Ci', {
      name: 'ci', namespace: 'ci', temporalNamespaces: ['orders'], secretName: 'temporal-client',
    });
    expect(custom.secretName).toBe('temporal-client');
  });

  it('does lay out mounts as tls.crt and tls.key, without ca.crt, readable through the fsGroup only', () => {
    expect(fixture.frontend.mount()).toEqual({
      dir: '/etc/temporal/tls/frontend',
      certFile: '/etc/temporal/tls/frontend/tls.crt',
      keyFile: '/etc/temporal/tls/frontend/tls.key',
    });
    expect(fixture.web.mount('/x').certFile).toBe('/x/tls.crt');
    expect(fixture.internode.volume('internode-tls')).toEqual({
      name: 'internode-tls',
      secret: {
        secretName: 'temporal-internode-tls',
        defaultMode: 0o440,
        items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }],
      },
    });
    expect(fixture.internode.volumeMount('internode-tls'))
      .toEqual({ name: 'internode-tls', mountPath: '/etc/temporal/tls/internode', readOnly: true });
  });

  it('does label every leaf (and its Secret) with the CA that issued it, for renewal by selector', () => {
    for (const [ns, secret, ca] of [[NAMESPACE, 'temporal-internode-tls', 'internode'], [NAMESPACE, 'temporal-frontend-tls', 'frontend'],
      [NAMESPACE, 'temporal-web-client-tls', 'platform-clients'], ['orders', 'orders-worker-temporal-tls', 'workload']]) {
      const cert = certificateFor(objects, ns, secret);
      expect(cert.metadata.labels['secure-temporal.io/issued-by']).toBe(ca);
      expect(cert.spec.secretTemplate.labels['secure-temporal.io/issued-by']).toBe(ca);
    }
  });

  it('does add key encipherment for RSA keys only', () => {
    const rsa = tlsFixture({ privateKey: { algorithm: 'RSA' } });
    expect(rsa.frontend.usages).toEqual(['digital signature', 'key encipherment', 'server auth']);
    expect(fixture.frontend.usages).not.toContain('key encipherment');
  });
});

describe('TlsIdentity failures', () => {
  const { pki, chart: scope } = tlsFixture();
  const svc = { name: 'temporal-proxy', namespace: NAMESPACE, clusterDomain: 'cluster.local' };

  it('fails on extra hosts that are not DNS names', () => {
    for (const host of ['Temporal.Example.com', 'temporal example', '-x.example.com', 'a..b']) {
      expectTlsError(() => pki.issueServerCertificate(scope, `P${host.length}`, { service: svc, extraHosts: [host] }), 'INVALID_NAME',
        /extraHosts/);
    }
    expect(() => pki.issueServerCertificate(scope, 'Wildcard', { service: svc, extraHosts: ['*.temporal.example.com'] })).not.toThrow();
  });

  it('fails on invalid identity names and namespaces', () => {
    const platform = expectTlsError(() => pki.issuePlatformClientCertificate(scope, 'Bad', { name: 'Web_UI' }), 'INVALID_NAME',
      /name must be a DNS label/);
    expect(platform.fix).toBe('rename it, e.g. "web"');
    const workload = expectTlsError(() => pki.issueClientCertificate(scope, 'Bad', { name: 'Orders_Worker', namespace: 'orders',
      temporalNamespaces: ['orders'] }), 'INVALID_NAME', /name must be a DNS label/);
    expect(workload.fix).toBe('rename it, e.g. "orders-worker"');
    const namespace = expectTlsError(() => pki.issueClientCertificate(scope, 'Bad', { name: 'w', namespace: 'Orders',
      temporalNamespaces: ['orders'] }), 'INVALID_NAME', /namespace must be a DNS label/);
    expect(namespace.fix).toBe('rename it, e.g. "orders"');
    expectTlsError(() => pki.issueClientCertificate(scope, 'Bad', { name: 'w', namespace: 'orders', temporalNamespaces: ['orders'],
      secretName: 'W Tls' }), 'INVALID_NAME', /secretName/);
  });

  it('fails on a client identity without Temporal namespaces, or with an invalid one', () => {
    expectTlsError(() => pki.issueClientCertificate(scope, 'None', { name: 'w', namespace: 'orders', temporalNamespaces: [] }),
      'INVALID_NAMESPACE', /at least one Temporal namespace/);
    expectTlsError(() => pki.issueClientCertificate(scope, 'Sys', { name: 'w', namespace: 'orders', temporalNamespaces: ['temporal-system'] }),
      'INVALID_NAMESPACE');
  });

  it('fails on a Service reference that is not a Service or has a bad name', () => {
    const chart = new Chart(Testing.app(), 'x', { namespace: NAMESPACE });
    const configMap = new k8s.KubeConfigMap(chart, 'Cm', { metadata: { name: 'cm' } });
    expectTlsError(() => serviceDnsOf(configMap), 'INVALID_NAME', /expected a Service/);
    expectTlsError(() => pki.issueServerCertificate(scope, 'BadSvc', { service: { ...svc, name: 'Temporal' } }), 'INVALID_NAME', /service name/);
    expectTlsError(() => pki.issueServerCertificate(scope, 'BadDomain', { service: { ...svc, clusterDomain: '' } }), 'INVALID_NAME',
      /clusterDomain/);
  });

  it('fails when a client certificate is used as a server view', () => {
    expectTlsError(() => tlsFixture().web.asServer(), 'INVALID_TLS', /not a server certificate/);
  });
});
