import { Duration } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { buildGlobalTls, GlobalTlsConfig, serverTrustAnchors } from '../../lib/tls/global-tls';
import { tlsFixture } from './fixtures';
import { expectTlsError, selfSignedPem } from './pem';

/**
 * Keys Temporal's `RootTLS` understands (server v1.31.2 `common/config/config.go`). Temporal unmarshals
 * its config non-strictly: a misspelled key is silently ignored, so every key we render must be in here.
 */
const ROOT_TLS_KEYS: Record<string, readonly string[]> = {
  '': ['internode', 'frontend', 'systemWorker', 'remoteClusters', 'expirationChecks', 'refreshInterval'],
  'internode': ['server', 'client', 'hostOverrides'],
  'frontend': ['server', 'client', 'hostOverrides'],
  'internode.server': ['certFile', 'keyFile', 'clientCaFiles', 'certData', 'keyData', 'clientCaData', 'requireClientAuth'],
  'frontend.server': ['certFile', 'keyFile', 'clientCaFiles', 'certData', 'keyData', 'clientCaData', 'requireClientAuth'],
  'internode.client': ['serverName', 'disableHostVerification', 'rootCaFiles', 'rootCaData', 'forceTLS'],
  'frontend.client': ['serverName', 'disableHostVerification', 'rootCaFiles', 'rootCaData', 'forceTLS'],
  'systemWorker': ['certFile', 'keyFile', 'certData', 'keyData', 'client'],
  'systemWorker.client': ['serverName', 'disableHostVerification', 'rootCaFiles', 'rootCaData', 'forceTLS'],
  'expirationChecks': ['warningWindow', 'errorWindow', 'checkInterval'],
};

function unknownKeys(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [];
  }
  const allowed = ROOT_TLS_KEYS[path];
  return Object.entries(value).flatMap(([key, child]) => {
    const at = path ? `${path}.${key}` : key;
    if (allowed === undefined || !allowed.includes(key)) {
      return [at];
    }
    return ROOT_TLS_KEYS[at] ? unknownKeys(child, at) : [];
  });
}

describe('buildGlobalTls', () => {
  const fixture = tlsFixture();
  const config: GlobalTlsConfig = fixture.pki.globalTls({ internode: fixture.internode, frontend: fixture.frontend });

  it('does require client certificates on both listeners, each trusting exactly its purpose CAs', () => {
    expect(config.internode.server).toEqual({
      certFile: '/etc/temporal/tls/internode/tls.crt',
      keyFile: '/etc/temporal/tls/internode/tls.key',
      requireClientAuth: true,
      // Both key slots of each CA: a rollover moves signing between them, and peers trust both all along.
      clientCaFiles: ['/etc/temporal/tls/trust/internode-ca.crt', '/etc/temporal/tls/trust/internode-ca-2.crt'],
    });
    expect(config.frontend.server).toEqual({
      certFile: '/etc/temporal/tls/frontend/tls.crt',
      keyFile: '/etc/temporal/tls/frontend/tls.key',
      requireClientAuth: true,
      clientCaFiles: [
        '/etc/temporal/tls/trust/internode-ca.crt', '/etc/temporal/tls/trust/internode-ca-2.crt',
        '/etc/temporal/tls/trust/platform-clients-ca.crt', '/etc/temporal/tls/trust/platform-clients-ca-2.crt',
        '/etc/temporal/tls/trust/workload-ca.crt', '/etc/temporal/tls/trust/workload-ca-2.crt',
      ],
    });
  });

  it('does leave the workload CA out of the frontend behind the authorizer proxy', () => {
    const proxied = tlsFixture({}, { access: 'authorizer-proxy' });
    const tls = proxied.pki.globalTls({ internode: proxied.internode, frontend: proxied.frontend });
    expect(tls.frontend.server.clientCaFiles).toEqual([
      '/etc/temporal/tls/trust/internode-ca.crt', '/etc/temporal/tls/trust/internode-ca-2.crt',
      '/etc/temporal/tls/trust/platform-clients-ca.crt', '/etc/temporal/tls/trust/platform-clients-ca-2.crt',
    ]);
    expect(serverTrustAnchors(proxied.internode.asServer(), proxied.frontend.asServer())).not.toContain('workload');
  });

  it('does verify servers by the server names derived from their certificates, host verification on', () => {
    expect(config.internode.client).toEqual({
      serverName: fixture.internode.serverName,
      disableHostVerification: false,
      rootCaFiles: ['/etc/temporal/tls/trust/internode-ca.crt', '/etc/temporal/tls/trust/internode-ca-2.crt'],
    });
    expect(config.frontend.client).toEqual({
      serverName: 'temporal-frontend.temporal.svc.cluster.local',
      disableHostVerification: false,
      rootCaFiles: ['/etc/temporal/tls/trust/frontend-ca.crt', '/etc/temporal/tls/trust/frontend-ca-2.crt'],
    });
  });

  it('does list one file per purpose for anchors without a second slot: buildGlobalTls alone, an override', async () => {
    const { internode, frontend } = fixture;
    expect(buildGlobalTls({ internode: internode.asServer(), frontend: frontend.asServer() }).internode.server.clientCaFiles)
      .toEqual(['/etc/temporal/tls/trust/internode-ca.crt']);
    const ca = await selfSignedPem('override');
    const overridden = tlsFixture({ trustOverrides: { internode: ca.cert } });
    const tls = overridden.pki.globalTls({ internode: overridden.internode, frontend: overridden.frontend });
    expect(tls.internode.server.clientCaFiles).toEqual(['/etc/temporal/tls/trust/internode-ca.crt']);
    expect(tls.frontend.client.rootCaFiles).toEqual(['/etc/temporal/tls/trust/frontend-ca.crt', '/etc/temporal/tls/trust/frontend-ca-2.crt']);
  });

  it('does give the system worker the internode certificate and the frontend client settings', () => {
    expect(config.systemWorker).toEqual({
      certFile: '/etc/temporal/tls/internode/tls.crt',
      keyFile: '/etc/temporal/tls/internode/tls.key',
      client: config.frontend.client,
    });
  });

  it('does reload certificates every minute and watch expiry inside the renewal margin', () => {
    expect(config.refreshInterval).toBe('1m');
    expect(config.expirationChecks).toEqual({ warningWindow: '504h', errorWindow: '168h', checkInterval: '1h' });
    const custom = fixture.pki.globalTls({
      internode: fixture.internode, frontend: fixture.frontend, refreshInterval: Duration.seconds(30),
      expirationChecks: { warningWindow: Duration.days(14), errorWindow: Duration.days(3), checkInterval: Duration.minutes(10) },
    });
    expect(custom.refreshInterval).toBe('30s');
    expect(custom.expirationChecks).toEqual({ warningWindow: '336h', errorWindow: '72h', checkInterval: '10m' });
  });

  it('does render only keys Temporal knows, as valid YAML', () => {
    expect(unknownKeys(config)).toEqual([]);
    expect(unknownKeys({ ...config, refreshIntervall: '1m' })).toEqual(['refreshIntervall']);
    expect(parse(stringify({ global: { tls: config } })).global.tls.frontend.server.requireClientAuth).toBe(true);
  });

  it('does list the trust anchors server pods must mount', () => {
    expect(serverTrustAnchors(fixture.internode.asServer(), fixture.frontend.asServer()).sort())
      .toEqual(['frontend', 'internode', 'platform-clients', 'workload']);
  });
});

describe('buildGlobalTls failures', () => {
  const fixture = tlsFixture();
  const internode = fixture.internode.asServer();
  const frontend = fixture.frontend.asServer();

  it('fails when a serverName is not among the SANs of the certificate the server presents', () => {
    expectTlsError(() => buildGlobalTls({ internode: { ...internode, serverName: 'temporal-internode' }, frontend }),
      'TLS_SERVER_NAME_MISMATCH', /"internode" certificate/);
    expectTlsError(() => buildGlobalTls({ internode, frontend: { ...frontend, dnsNames: ['temporal-frontend'] } }),
      'TLS_SERVER_NAME_MISMATCH', /"temporal-frontend" certificate/);
  });

  it('fails when the frontend does not trust the internode CA its in-cluster clients present', () => {
    expectTlsError(() => buildGlobalTls({ internode, frontend: { ...frontend, acceptsClientsFrom: ['platform-clients'] } }),
      'TLS_UNTRUSTED_CLIENT', /internode CA, which the "temporal-frontend" listener does not trust/);
  });

  it('fails when the internode certificate cannot authenticate as a client', () => {
    expectTlsError(() => buildGlobalTls({ internode: { ...internode, usages: ['digital signature', 'server auth'] }, frontend }),
      'INVALID_TLS', /client auth/);
  });

  it('does derive the default expiry windows from the leaves\' renewBefore', () => {
    const short = tlsFixture({ leafDuration: Duration.days(30), leafRenewBefore: Duration.days(10) });
    expect(short.pki.globalTls({ internode: short.internode, frontend: short.frontend }).expirationChecks)
      .toEqual({ warningWindow: '168h', errorWindow: '56h', checkInterval: '1h' });
    expect(buildGlobalTls({ internode, frontend }).expirationChecks).toEqual({ warningWindow: '504h', errorWindow: '168h', checkInterval: '1h' });
  });

  it('fails on expiration windows that would warn about healthy certificates, or are inverted', () => {
    expectTlsError(() => fixture.pki.globalTls({ internode: fixture.internode, frontend: fixture.frontend,
      expirationChecks: { warningWindow: Duration.days(45) } }), 'INVALID_TLS', /shorter than the leaves' renewBefore/);
    expectTlsError(() => buildGlobalTls({ internode, frontend,
      expirationChecks: { warningWindow: Duration.days(7), errorWindow: Duration.days(7) } }), 'INVALID_TLS', /errorWindow must be shorter/);
  });

  it('fails on a refresh interval of zero (rotated certificates would never be reloaded)', () => {
    expectTlsError(() => buildGlobalTls({ internode, frontend, refreshInterval: Duration.seconds(0) }), 'INVALID_DURATION', /refreshInterval/);
  });
});
