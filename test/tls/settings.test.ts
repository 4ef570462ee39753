import { Duration } from 'cdk8s';
import { isDnsLabel, isDnsName } from '../../lib/core/names';
import { globalPrefix } from '../../lib/tls/generated-chain';
import { tlsMount, trustAnchorFile } from '../../lib/tls/layout';
import { lifetime, privateKeySpec, resolvePrivateKey, usagesFor } from '../../lib/tls/settings';
import { requireCaBundle, requireTrustSource } from '../../lib/tls/sources';
import { synth, tlsFixture } from './fixtures';
import { expectTlsError, selfSignedPem } from './pem';

describe('TLS settings and helpers', () => {
  it('does map every role to its usages', () => {
    expect(usagesFor('ca', 'ECDSA')).toEqual(['cert sign', 'crl sign', 'digital signature']);
    expect(usagesFor('internode', 'ECDSA')).toEqual(['digital signature', 'server auth', 'client auth']);
    expect(usagesFor('server', 'RSA')).toEqual(['digital signature', 'key encipherment', 'server auth']);
    expect(usagesFor('platform-client', 'Ed25519')).toEqual(['digital signature', 'client auth']);
    expect(usagesFor('workload-client', 'ECDSA')).toEqual(['digital signature', 'client auth']);
    expect(usagesFor('trust-carrier', 'RSA')).toEqual(['digital signature', 'email protection']);
  });

  it('does resolve key defaults and render the privateKey block', () => {
    expect(resolvePrivateKey('T')).toEqual({ algorithm: 'ECDSA', size: 256 });
    expect(resolvePrivateKey('T', { algorithm: 'RSA' })).toEqual({ algorithm: 'RSA', size: 3072 });
    expect(resolvePrivateKey('T', { algorithm: 'Ed25519', size: 4096 })).toEqual({ algorithm: 'Ed25519' });
    expect(privateKeySpec({ algorithm: 'ECDSA', size: 384 }, 'Never'))
      .toEqual({ algorithm: 'ECDSA', size: 384, encoding: 'PKCS8', rotationPolicy: 'Never' });
  });

  it('does render lifetimes as Go durations', () => {
    expect(lifetime('T', 'leaf', Duration.days(90), Duration.days(30))).toEqual({ duration: '2160h', renewBefore: '720h' });
    expect(lifetime('T', 'leaf', Duration.hours(1), Duration.minutes(5))).toEqual({ duration: '1h', renewBefore: '5m' });
  });

  it('does validate DNS labels and names', () => {
    expect(isDnsLabel('temporal-frontend')).toBe(true);
    expect(isDnsLabel('a'.repeat(64))).toBe(false);
    expect(isDnsName('temporal.example.com')).toBe(true);
    expect(isDnsName('*.example.com')).toBe(false);
    expect(isDnsName('*.example.com', true)).toBe(true);
    expect(isDnsName(`${'a'.repeat(64)}.com`)).toBe(false);
  });

  it('does name cross-namespace objects uniquely per installation', () => {
    expect(globalPrefix('temporal', 'temporal')).toBe('temporal');
    expect(globalPrefix('temporal', 'team-a')).toBe('team-a-temporal');
  });

  it('does lay out files under /etc/temporal/tls', () => {
    expect(tlsMount('/etc/temporal/tls/internode').keyFile).toBe('/etc/temporal/tls/internode/tls.key');
    expect(trustAnchorFile('platform-clients')).toBe('/etc/temporal/tls/trust/platform-clients-ca.crt');
  });

  it('does normalize CA bundles and validate trust sources', async () => {
    const a = await selfSignedPem('A');
    const b = await selfSignedPem('B');
    const bundle = requireCaBundle('T', 'x', `${a.cert.trim()}\r\n\r\n${b.cert}`);
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle.endsWith('-----\n')).toBe(true);
    expect(bundle).not.toContain('\r');
    expect(requireTrustSource('T', 'x', { secretName: 's', key: 'ca.crt' })).toEqual({ secretName: 's', key: 'ca.crt' });
    expectTlsError(() => requireTrustSource('T', 'x', { configMapName: '', key: 'k' }), 'INVALID_TLS');
  });

  it('does synthesize the same bytes twice', () => {
    expect(JSON.stringify(synth(tlsFixture()))).toBe(JSON.stringify(synth(tlsFixture())));
  });
});
