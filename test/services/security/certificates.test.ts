import { X509Certificate } from 'node:crypto';
import { certificateIdentity, CertificateTrust, identityUri, IDENTITY_SEGMENTS, parseCertificates }
  from '../../../services/security/certificates';
import { der, reason, securityPki, SecurityPki } from './fixtures';

const JAN_15 = Date.parse('2030-01-15T00:00:00Z');

let fixture: SecurityPki;
let trust: CertificateTrust;

beforeAll(async () => {
  fixture = await securityPki();
  trust = {
    trustDomain: 'cluster.local',
    cas: [
      { certificate: new X509Certificate(fixture.pki.platformCa.cert), kind: 'platform' },
      { certificate: new X509Certificate(fixture.pki.workloadCa.cert), kind: 'workload' },
    ],
  };
});

describe('parseCertificates', () => {
  it('does read every certificate of a bundle, text around them left out', () => {
    const bundle = `# old CA\n${fixture.pki.workloadCa.cert}\n# new CA\n${fixture.nextWorkloadCa.cert}`;
    const certificates = parseCertificates(bundle);
    expect(certificates.map((c) => c.subject)).toEqual(['CN=test workload CA', 'CN=test workload CA 2031']);
    expect(parseCertificates(Buffer.from(bundle)).map((c) => c.subject)).toEqual(['CN=test workload CA', 'CN=test workload CA 2031']);
  });

  it('does read a bundle of one certificate', () => {
    expect(parseCertificates(fixture.pki.root.cert).map((c) => c.subject)).toEqual(['CN=test root CA']);
  });

  it('fails when the bundle holds no certificate, naming it', () => {
    expect(() => parseCertificates('')).toThrow('the bundle holds no PEM certificate');
    expect(() => parseCertificates(fixture.pki.workloadCa.key, '/trust/ca.crt')).toThrow('/trust/ca.crt holds no PEM certificate');
  });

  it('fails when a certificate block does not parse', () => {
    expect(() => parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow();
  });
});

describe('identityUri', () => {
  it('does read the namespace and name of an identity of each kind', () => {
    expect(identityUri('spiffe://cluster.local/ns/orders/temporal-client/orders-worker', 'cluster.local', 'workload'))
      .toEqual({ namespace: 'orders', name: 'orders-worker' });
    expect(identityUri('spiffe://cluster.local/ns/temporal/temporal-platform/web', 'cluster.local', 'platform'))
      .toEqual({ namespace: 'temporal', name: 'web' });
    expect(identityUri('spiffe://cluster.local/ns/a/temporal-client/b', 'cluster.local', 'workload')).toEqual({ namespace: 'a', name: 'b' });
    expect(identityUri('spiffe://corp.example/ns/a-1/temporal-client/9z', 'corp.example', 'workload'))
      .toEqual({ namespace: 'a-1', name: '9z' });
  });

  it.each([
    ['another trust domain', 'spiffe://other.example/ns/orders/temporal-client/w'],
    ['a trust domain that only starts like it', 'spiffe://cluster.local.evil/ns/orders/temporal-client/w'],
    ['the other kind', 'spiffe://cluster.local/ns/temporal/temporal-platform/web'],
    ['an uppercase namespace', 'spiffe://cluster.local/ns/Orders/temporal-client/w'],
    ['a namespace ending in "-"', 'spiffe://cluster.local/ns/orders-/temporal-client/w'],
    ['a name starting with "-"', 'spiffe://cluster.local/ns/orders/temporal-client/-w'],
    ['characters before the namespace', 'spiffe://cluster.local/ns/X_orders/temporal-client/w'],
    ['a path after the name', 'spiffe://cluster.local/ns/orders/temporal-client/w/x'],
    ['an empty name', 'spiffe://cluster.local/ns/orders/temporal-client/'],
    ['another scheme', 'https://cluster.local/ns/orders/temporal-client/w'],
  ])('fails on %s', (_what, uri) => {
    expect(identityUri(uri, 'cluster.local', 'workload')).toBeUndefined();
  });

  it('does name the path segment of each kind', () => {
    expect(IDENTITY_SEGMENTS).toEqual({ workload: 'temporal-client', platform: 'temporal-platform' });
  });
});

describe('certificateIdentity', () => {
  it('does read the identity of a workload leaf and its validity', () => {
    expect(certificateIdentity(der(fixture.worker), trust, JAN_15)).toStrictEqual({
      identity: {
        kind: 'certificate',
        uris: ['spiffe://cluster.local/ns/orders/temporal-client/orders-worker'],
        dnsNames: ['orders-worker.orders.svc'],
        commonName: 'orders-worker',
        organizations: ['Acme', 'Orders'],
        organizationalUnits: ['payments'],
      },
      notBefore: Date.parse('2030-01-01T00:00:00Z'),
      notAfter: Date.parse('2030-01-31T00:00:00Z'),
    });
  });

  it('does read a platform identity from the platform CA', () => {
    expect(certificateIdentity(der(fixture.web), trust, JAN_15).identity).toStrictEqual({
      kind: 'certificate', uris: ['spiffe://cluster.local/ns/temporal/temporal-platform/web'], dnsNames: [], commonName: 'web',
      organizations: [], organizationalUnits: [],
    });
  });

  it('does leave out the common name when the subject has none', () => {
    expect(certificateIdentity(der(fixture.noCommonName), trust, JAN_15).identity).toStrictEqual({
      kind: 'certificate', uris: ['spiffe://cluster.local/ns/orders/temporal-client/anonymous'], dnsNames: [], organizations: ['Acme'],
      organizationalUnits: [],
    });
  });

  // Known bug: node:crypto gives `subject` undefined for an empty subject, and certificates.ts splits it (a TypeError,
  // not an identity nor Unauthenticated). Turn this into `it` once certificates.ts reads `cert.subject ?? ''`.
  it('does read the identity of a certificate with an empty subject (a SAN-only SVID)', () => {
    expect(certificateIdentity(der(fixture.emptySubject), trust, JAN_15).identity).toStrictEqual({
      kind: 'certificate', uris: ['spiffe://cluster.local/ns/orders/temporal-client/anonymous'], dnsNames: [], organizations: [],
      organizationalUnits: [],
    });
  });

  it('does accept a leaf of the second CA of a bundle (a rotation)', () => {
    const rotated: CertificateTrust = {
      trustDomain: 'cluster.local',
      cas: parseCertificates(`${fixture.pki.workloadCa.cert}${fixture.nextWorkloadCa.cert}`).map((certificate) => ({ certificate,
        kind: 'workload' as const })),
    };
    expect(certificateIdentity(der(fixture.nextWorker), rotated, JAN_15).identity.uris)
      .toEqual(['spiffe://cluster.local/ns/billing/temporal-client/billing-worker']);
    expect(certificateIdentity(der(fixture.worker), rotated, JAN_15).identity.uris)
      .toEqual(['spiffe://cluster.local/ns/orders/temporal-client/orders-worker']);
  });

  it('does accept a leaf exactly at its notBefore and exactly at its notAfter', () => {
    expect(certificateIdentity(der(fixture.worker), trust, Date.parse('2030-01-01T00:00:00Z')).notBefore).toBe(1893456000000);
    expect(certificateIdentity(der(fixture.worker), trust, Date.parse('2030-01-31T00:00:00Z')).notAfter).toBe(1896048000000);
  });

  it('fails one millisecond before notBefore and one after notAfter', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.worker), trust, 1893456000000 - 1)))
      .toBe('the client certificate is expired or not yet valid');
    expect(await reason(() => certificateIdentity(der(fixture.worker), trust, 1896048000000 + 1)))
      .toBe('the client certificate is expired or not yet valid');
  });

  it('fails when the bytes are not a certificate', async () => {
    expect(await reason(() => certificateIdentity(Buffer.from('not a certificate'), trust, JAN_15)))
      .toBe('the client certificate does not parse');
  });

  it('fails on a certificate carrying the workload CA\'s subject and key identifier but signed by another key', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.bad.forged), trust, JAN_15)))
      .toBe('the client certificate is not issued directly by a trusted CA');
  });

  it.each([
    ['signed by a trusted CA\'s key but naming another issuer', 'misnamed'],
    ['issued by a CA of the same name with another key', 'foreign'],
    ['issued by a sub-CA of a trusted CA', 'subCaLeaf'],
  ] as const)('fails on a certificate %s', async (_what, which) => {
    expect(await reason(() => certificateIdentity(der(fixture.bad[which]), trust, JAN_15)))
      .toBe('the client certificate is not issued directly by a trusted CA');
  });

  it('fails on a CA certificate, even one with a client identity', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.bad.caWithIdentity), trust, JAN_15)))
      .toBe('a CA certificate cannot authenticate a caller');
  });

  it('fails when the trust holds no CA', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.worker), { trustDomain: 'cluster.local', cas: [] }, JAN_15)))
      .toBe('the client certificate is not issued directly by a trusted CA');
  });

  it('fails on a certificate for server authentication only, or without extended key usage', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.bad.serverAuthOnly), trust, JAN_15)))
      .toBe('the client certificate is not for client authentication');
    expect(await reason(() => certificateIdentity(der(fixture.bad.noExtendedUsage), trust, JAN_15)))
      .toBe('the client certificate is not for client authentication');
  });

  it('fails on a certificate with two URIs, even when the first is a good identity', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.bad.twoUris), trust, JAN_15)))
      .toBe('the client certificate carries more than one URI');
  });

  it.each([
    ['no URI', 'noUri', 'workload'],
    ['a URI of another trust domain', 'otherDomain', 'workload'],
    ['a platform identity from the workload CA', 'workloadAsPlatform', 'workload'],
    ['a workload identity from the platform CA', 'platformAsWorkload', 'platform'],
  ] as const)('fails on a certificate with %s', async (_what, which, kind) => {
    expect(await reason(() => certificateIdentity(der(fixture.bad[which]), trust, JAN_15)))
      .toBe(`the client certificate carries no ${kind} identity URI of this trust domain`);
  });

  it('fails when the trust domain is another one', async () => {
    expect(await reason(() => certificateIdentity(der(fixture.worker), { ...trust, trustDomain: 'corp.example' }, JAN_15)))
      .toBe('the client certificate carries no workload identity URI of this trust domain');
  });
});
