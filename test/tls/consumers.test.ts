import { serviceDnsOf, serviceFqdn } from '../../lib/core/dns';
import {
  clientTlsFiles, clientTlsWiring, serverTlsWiring, temporalCliTlsEnv, TLS_VOLUMES, webUiTlsEnv,
} from '../../lib/tls/consumers';
import { tlsFixture } from './fixtures';
import { expectTlsError } from './pem';

describe('TLS wiring helpers', () => {
  const fixture = tlsFixture();
  const { pki } = fixture;

  it('does mount both server certificates and exactly the anchors the listeners need in server pods', () => {
    const wiring = serverTlsWiring(pki, { internode: fixture.internode, frontend: fixture.frontend });
    expect(wiring.mounts).toEqual([
      { name: 'internode-tls', mountPath: '/etc/temporal/tls/internode', readOnly: true },
      { name: 'frontend-tls', mountPath: '/etc/temporal/tls/frontend', readOnly: true },
      { name: 'tls-trust', mountPath: '/etc/temporal/tls/trust', readOnly: true },
    ]);
    const trust = wiring.volumes.find((v) => v.name === TLS_VOLUMES.trust);
    expect(trust?.projected?.defaultMode).toBe(0o444);
    // Both key slots of each purpose CA, each its CA Secret's certificate (never a key); the workload CA by its carriers.
    expect(trust?.projected?.sources).toEqual([
      { secret: { name: 'temporal-internode-ca', items: [{ key: 'tls.crt', path: 'internode-ca.crt' }] } },
      { secret: { name: 'temporal-internode-ca-2', items: [{ key: 'tls.crt', path: 'internode-ca-2.crt' }] } },
      { secret: { name: 'temporal-frontend-ca', items: [{ key: 'tls.crt', path: 'frontend-ca.crt' }] } },
      { secret: { name: 'temporal-frontend-ca-2', items: [{ key: 'tls.crt', path: 'frontend-ca-2.crt' }] } },
      { secret: { name: 'temporal-platform-clients-ca', items: [{ key: 'tls.crt', path: 'platform-clients-ca.crt' }] } },
      { secret: { name: 'temporal-platform-clients-ca-2', items: [{ key: 'tls.crt', path: 'platform-clients-ca-2.crt' }] } },
      { secret: { name: 'temporal-workload-ca-anchor-tls', items: [{ key: 'ca.crt', path: 'workload-ca.crt' }] } },
      { secret: { name: 'temporal-workload-ca-2-anchor-tls', items: [{ key: 'ca.crt', path: 'workload-ca-2.crt' }] } },
    ]);
  });

  it('does not mount the workload anchor in server pods behind the authorizer proxy', () => {
    const proxied = tlsFixture({}, { access: 'authorizer-proxy' });
    const wiring = serverTlsWiring(proxied.pki, { internode: proxied.internode, frontend: proxied.frontend });
    expect(JSON.stringify(wiring.volumes)).not.toContain('workload');
  });

  it('does derive the Web UI TLS env from the two certificates, with host verification on', () => {
    const files = clientTlsFiles(fixture.web, fixture.frontend, { anchorFiles: (purpose, dir) => pki.trustAnchorFiles(purpose, dir) });
    expect(files).toEqual({
      serverName: 'temporal-frontend.temporal.svc.cluster.local',
      serverCa: 'frontend',
      serverCaFile: '/etc/temporal/tls/trust/frontend-ca.crt',
      serverCaFiles: ['/etc/temporal/tls/trust/frontend-ca.crt', '/etc/temporal/tls/trust/frontend-ca-2.crt'],
      serverCaDir: '/etc/temporal/tls/trust',
      certFile: '/etc/temporal/tls/client/tls.crt',
      keyFile: '/etc/temporal/tls/client/tls.key',
    });
    // No CA file (one file cannot hold two Secrets): Go's system roots are every file of the client's trust volume,
    // which holds the server CA's anchors alone, and no bundle of the image (SSL_CERT_FILE is empty).
    expect(webUiTlsEnv(files)).toEqual([
      { name: 'SSL_CERT_FILE', value: '/dev/null' },
      { name: 'SSL_CERT_DIR', value: '/etc/temporal/tls/trust' },
      { name: 'TEMPORAL_TLS_CERT', value: '/etc/temporal/tls/client/tls.crt' },
      { name: 'TEMPORAL_TLS_KEY', value: '/etc/temporal/tls/client/tls.key' },
      { name: 'TEMPORAL_TLS_SERVER_NAME', value: 'temporal-frontend.temporal.svc.cluster.local' },
      { name: 'TEMPORAL_TLS_ENABLE_HOST_VERIFICATION', value: 'true' },
    ]);
    expect(webUiTlsEnv(files, '/etc/oidc/ca.crt').slice(0, 2)).toEqual([
      { name: 'SSL_CERT_FILE', value: '/etc/oidc/ca.crt' },
      { name: 'SSL_CERT_DIR', value: '/etc/temporal/tls/trust' },
    ]);
    const wiring = clientTlsWiring(pki, fixture.web, files);
    expect(wiring.volumes.map((v) => v.name)).toEqual(['client-tls', 'tls-trust']);
    expect(wiring.volumes[1].projected?.sources).toEqual([
      { secret: { name: 'temporal-frontend-ca', items: [{ key: 'tls.crt', path: 'frontend-ca.crt' }] } },
      { secret: { name: 'temporal-frontend-ca-2', items: [{ key: 'tls.crt', path: 'frontend-ca-2.crt' }] } },
    ]);
    expect(wiring.mounts.map((m) => m.mountPath)).toEqual(['/etc/temporal/tls/client', '/etc/temporal/tls/trust']);
  });

  it('does derive the temporal CLI env for admin tools and jobs', () => {
    expect(temporalCliTlsEnv(clientTlsFiles(fixture.jobs, fixture.frontend))).toEqual([
      { name: 'TEMPORAL_TLS', value: 'true' },
      { name: 'SSL_CERT_FILE', value: '/dev/null' },
      { name: 'SSL_CERT_DIR', value: '/etc/temporal/tls/trust' },
      { name: 'TEMPORAL_TLS_CLIENT_CERT_PATH', value: '/etc/temporal/tls/client/tls.crt' },
      { name: 'TEMPORAL_TLS_CLIENT_KEY_PATH', value: '/etc/temporal/tls/client/tls.key' },
      { name: 'TEMPORAL_TLS_SERVER_NAME', value: 'temporal-frontend.temporal.svc.cluster.local' },
    ]);
  });

  it('does reach the internal-frontend by its Service name with the internode certificate only', () => {
    const internalFrontend = serviceFqdn(serviceDnsOf(fixture.internalFrontendService));
    const files = clientTlsFiles(fixture.internode, fixture.internode, { serverName: internalFrontend });
    expect(files).toMatchObject({ serverName: internalFrontend, serverCaFile: '/etc/temporal/tls/trust/internode-ca.crt' });
    expectTlsError(() => clientTlsFiles(fixture.adminTools, fixture.internode, { serverName: internalFrontend }), 'TLS_UNTRUSTED_CLIENT');
  });

  it('does accept an extra host as server name and refuse a name the certificate does not carry', () => {
    expect(clientTlsFiles(fixture.web, fixture.frontend, { serverName: 'temporal.example.com' }).serverName).toBe('temporal.example.com');
    expectTlsError(() => clientTlsFiles(fixture.web, fixture.frontend, { serverName: 'temporal.other.com' }), 'TLS_SERVER_NAME_MISMATCH');
  });

  it('does refuse a workload identity at the frontend behind the authorizer proxy', () => {
    const proxied = tlsFixture({}, { access: 'authorizer-proxy' });
    expectTlsError(() => clientTlsFiles(proxied.worker, proxied.frontend), 'TLS_UNTRUSTED_CLIENT', /workload CA/);
  });
});
