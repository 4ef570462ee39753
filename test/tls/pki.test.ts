import { App, Chart, Duration, Testing } from 'cdk8s';
import { Certificate } from '../../imports/cert-manager.io';
import { Construct } from 'constructs';
import { Installation } from '../../lib/core/installation';
import { clientTlsFiles } from '../../lib/tls/consumers';
import { TemporalPki, TemporalPkiProps } from '../../lib/tls/pki';
import { specificationProblems } from '../../lib/tls/specification';
import { certificateFor, find, NAMESPACE, ofKind, Obj, synth, tlsFixture } from './fixtures';
import { expectTlsError, selfSignedPem } from './pem';

function pkiOnly(props: TemporalPkiProps = {}, namespace: string | null = NAMESPACE): { app: App; chart: Chart; pki: TemporalPki } {
  const app = Testing.app();
  const chart = new Chart(app, 'pki', namespace === null ? {} : { namespace });
  return { app, chart, pki: new TemporalPki(chart, 'Pki', props) };
}

const summary = (objects: Obj[]) => objects.filter((o) => o.apiVersion === 'cert-manager.io/v1').map((o) => ({
  kind: o.kind,
  at: `${o.metadata.namespace ?? '<cluster>'}/${o.metadata.name}`,
  issuer: o.spec.issuerRef ? `${o.spec.issuerRef.kind}/${o.spec.issuerRef.name}` : undefined,
  issues: o.spec.ca?.secretName ?? (o.spec.selfSigned ? 'self-signed' : undefined),
}));

describe('TemporalPki', () => {
  it('does synthesize the generated chain (change detector)', () => {
    expect(summary(synth(pkiOnly()))).toMatchSnapshot();
  });

  it('does chain bootstrap -> root CA -> purpose CAs in the Temporal namespace', () => {
    const objects = synth(pkiOnly());
    expect(find(objects, 'Issuer', 'temporal-pki-bootstrap', NAMESPACE).spec).toEqual({ selfSigned: {} });
    const root = certificateFor(objects, NAMESPACE, 'temporal-root-ca');
    expect(root.spec).toMatchObject({ isCA: true, issuerRef: { kind: 'Issuer', name: 'temporal-pki-bootstrap' } });
    expect(find(objects, 'Issuer', 'temporal-root-ca', NAMESPACE).spec).toEqual({ ca: { secretName: 'temporal-root-ca' } });
    for (const purpose of ['internode', 'frontend', 'platform-clients']) {
      const ca = certificateFor(objects, NAMESPACE, `temporal-${purpose}-ca`);
      expect(ca.spec).toMatchObject({ isCA: true, issuerRef: { kind: 'Issuer', name: 'temporal-root-ca' } });
      expect(find(objects, 'Issuer', `temporal-${purpose}-ca`, NAMESPACE).spec).toEqual({ ca: { secretName: `temporal-${purpose}-ca` } });
    }
  });

  it('does put the workload CA in the cluster resource namespace, behind a ClusterIssuer without namespace', () => {
    const objects = synth(pkiOnly());
    const bootstrap = find(objects, 'Issuer', 'temporal-workload-bootstrap', 'cert-manager');
    expect(bootstrap.spec).toEqual({ selfSigned: {} });
    const ca = certificateFor(objects, 'cert-manager', 'temporal-workload-ca');
    expect(ca.spec).toMatchObject({ isCA: true, issuerRef: { kind: 'Issuer', name: 'temporal-workload-bootstrap' } });
    const clusterIssuer = find(objects, 'ClusterIssuer', 'temporal-workload-ca');
    expect(clusterIssuer.metadata.namespace).toBeUndefined();
    expect(clusterIssuer.spec).toEqual({ ca: { secretName: 'temporal-workload-ca' } });
  });

  it('does honour another cluster resource namespace and prefix cluster-wide names with the namespace', () => {
    const chart = new Chart(Testing.app(), 'pki', { namespace: 'temporal-prod' });
    new TemporalPki(chart, 'Pki', { clusterResourceNamespace: 'security' });
    const objects = synth({ chart });
    certificateFor(objects, 'security', 'temporal-prod-temporal-workload-ca');
    find(objects, 'Issuer', 'temporal-prod-temporal-workload-bootstrap', 'security');
    expect(find(objects, 'ClusterIssuer', 'temporal-prod-temporal-workload-ca').spec.ca.secretName)
      .toBe('temporal-prod-temporal-workload-ca');
    expect(ofKind(objects, 'Certificate').filter((c) => c.metadata.namespace === 'cert-manager')).toEqual([]);
  });

  it('does carry the workload CA into the Temporal namespace through the ca.crt of a TLS-less certificate', () => {
    const { pki, chart } = pkiOnly();
    expect(pki.trustSources.workload).toEqual({ secretName: 'temporal-workload-ca-anchor-tls', key: 'ca.crt' });
    expect(pki.secondSlotTrustSources.workload).toEqual({ secretName: 'temporal-workload-ca-2-anchor-tls', key: 'ca.crt' });
    const objects = synth({ chart });
    // One carrier per key slot, each issued by its slot's own ClusterIssuer (so that its ca.crt is that slot's CA,
    // whichever slot signs workload certificates).
    for (const [secretName, issuer, caSecret] of [
      ['temporal-workload-ca-anchor-tls', 'temporal-workload-ca-slot-1', 'temporal-workload-ca'],
      ['temporal-workload-ca-2-anchor-tls', 'temporal-workload-ca-slot-2', 'temporal-workload-ca-2'],
    ]) {
      const carrier = certificateFor(objects, NAMESPACE, secretName);
      expect(carrier.spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer });
      expect(carrier.spec.usages).toEqual(['digital signature', 'email protection']);
      expect(find(objects, 'ClusterIssuer', issuer).spec.ca.secretName).toBe(caSecret);
    }
  });

  it('does use the purpose CA certificates (tls.crt of their Secrets) as trust anchors, never the root', () => {
    const { pki } = pkiOnly();
    expect(pki.trustSources).toMatchObject({
      'internode': { secretName: 'temporal-internode-ca', key: 'tls.crt' },
      'frontend': { secretName: 'temporal-frontend-ca', key: 'tls.crt' },
      'platform-clients': { secretName: 'temporal-platform-clients-ca', key: 'tls.crt' },
    });
    expect(JSON.stringify(pki.trustSources)).not.toContain('root');
  });

  it('does default to ECDSA P-256, PKCS#8, 10y root, 5y CAs renewed a year ahead, 90-day leaves renewed 30 days ahead', () => {
    const objects = synth(tlsFixture());
    expect(certificateFor(objects, NAMESPACE, 'temporal-root-ca').spec).toMatchObject({ duration: '87600h', renewBefore: '8760h' });
    expect(certificateFor(objects, NAMESPACE, 'temporal-internode-ca').spec).toMatchObject({ duration: '43800h', renewBefore: '8760h' });
    expect(certificateFor(objects, 'cert-manager', 'temporal-workload-ca').spec).toMatchObject({ duration: '87600h' });
    expect(certificateFor(objects, NAMESPACE, 'temporal-frontend-tls').spec).toMatchObject({ duration: '2160h', renewBefore: '720h' });
    for (const cert of ofKind(objects, 'Certificate')) {
      expect(cert.spec.privateKey).toMatchObject({ algorithm: 'ECDSA', size: 256, encoding: 'PKCS8' });
    }
  });

  it('does rotate every leaf key (Always) and keep CA keys on renewal (Never) unless told', () => {
    const check = (objects: Obj[], caPolicy: string) => {
      for (const cert of ofKind(objects, 'Certificate')) {
        expect([cert.metadata.name, cert.spec.privateKey.rotationPolicy])
          .toEqual([cert.metadata.name, cert.spec.isCA ? caPolicy : 'Always']);
      }
    };
    check(synth(tlsFixture()), 'Never');
    check(synth(tlsFixture({ caPrivateKeyRotationPolicy: 'Always' })), 'Always');
  });

  it('does apply custom key settings and lifetimes', () => {
    const objects = synth(tlsFixture({
      privateKey: { algorithm: 'RSA', size: 4096 }, rootCaDuration: Duration.days(7300), caDuration: Duration.days(730),
      caRenewBefore: Duration.days(90), leafDuration: Duration.days(30), leafRenewBefore: Duration.days(10),
    }));
    expect(certificateFor(objects, NAMESPACE, 'temporal-root-ca').spec).toMatchObject({ duration: '175200h', renewBefore: '2160h' });
    expect(certificateFor(objects, NAMESPACE, 'temporal-frontend-ca').spec).toMatchObject({ duration: '17520h' });
    expect(certificateFor(objects, NAMESPACE, 'temporal-frontend-tls').spec).toMatchObject({
      duration: '720h', renewBefore: '240h', privateKey: { algorithm: 'RSA', size: 4096 },
    });
    const ed = synth(tlsFixture({ privateKey: { algorithm: 'Ed25519' } }));
    expect(certificateFor(ed, NAMESPACE, 'temporal-frontend-tls').spec.privateKey).toEqual({
      algorithm: 'Ed25519', encoding: 'PKCS8', rotationPolicy: 'Always',
    });
  });

  it('does derive the CAs the frontend certificate accepts from the deployment\'s one access decision', () => {
    expect(tlsFixture().frontend.acceptsClientsFrom).toEqual(['internode', 'platform-clients', 'workload']);
    expect(tlsFixture({}, { access: 'authorizer-proxy' }).frontend.acceptsClientsFrom).toEqual(['internode', 'platform-clients']);
  });

  it('does replace a trust anchor with an override bundle in a ConfigMap of public certificates', async () => {
    const oldCa = await selfSignedPem('old internode CA');
    const newCa = await selfSignedPem('new internode CA');
    const { pki, chart } = pkiOnly({ trustOverrides: { internode: oldCa.cert + newCa.cert } });
    expect(pki.trustSources.internode).toHaveProperty('pem');
    const configMap = find(synth({ chart }), 'ConfigMap', 'temporal-tls-trust-anchors', NAMESPACE);
    expect(Object.keys(configMap.data)).toEqual(['internode-ca.crt']);
    expect(configMap.data['internode-ca.crt'].match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(pki.trustVolume('trust', ['internode']).projected?.sources).toEqual([
      { configMap: { name: 'temporal-tls-trust-anchors', items: [{ key: 'internode-ca.crt', path: 'internode-ca.crt' }] } },
    ]);
  });

  it('does run the issuer check as a synth-time validation of the chart', () => {
    const { app, chart, pki } = pkiOnly();
    pki.issueClientCertificate(chart, 'Worker', { name: 'w', namespace: 'orders', temporalNamespaces: ['orders'] });
    expect(pki.issuerProblems()).toEqual([]);
    expect(() => app.synth()).not.toThrow();
    // A Certificate of someone else's, in the same chart, naming an issuer that does not exist:
    new Certificate(chart, 'Stray', { metadata: { name: 'stray' }, spec: { secretName: 'stray', issuerRef: { name: 'nope' } } });
    expect(pki.issuerProblems()).toEqual([expect.stringMatching(/Certificate temporal\/stray: issuerRef .*"nope" does not resolve/)]);
    expect(() => app.synth()).toThrow(/does not resolve/);
  });
});

describe('TemporalPki key slots (the CA rollover)', () => {
  const PURPOSES = ['internode', 'frontend', 'platform-clients', 'workload'] as const;
  const signing = (objects: Obj[]) => Object.fromEntries([...ofKind(objects, 'Issuer'), ...ofKind(objects, 'ClusterIssuer')]
    .filter((i) => i.spec.ca).map((i) => [i.metadata.name, i.spec.ca.secretName]));

  it('does give every purpose CA a second slot: its own key, same issuer and lifetime, trusted wherever the first is', () => {
    const { pki, chart } = pkiOnly();
    const objects = synth({ chart });
    for (const purpose of PURPOSES) {
      const first = pki.caSpecifications[purpose];
      const second = pki.secondSlotCaSpecifications[purpose];
      expect(second).toMatchObject({ role: 'ca', ca: purpose, slot: 2, issuer: first?.issuer, namespace: first?.namespace,
        lifetime: first?.lifetime, secretName: `${first?.secretName}-2`, commonName: `temporal ${purpose} CA 2` });
      const certificate = certificateFor(objects, second?.namespace ?? '', second?.secretName ?? '');
      expect(certificate.spec).toMatchObject({ isCA: true, issuerRef: certificateFor(objects, first?.namespace ?? '', first?.secretName ?? '').spec.issuerRef });
      expect(pki.trustAnchorFiles(purpose)).toEqual([`/etc/temporal/tls/trust/${purpose}-ca.crt`, `/etc/temporal/tls/trust/${purpose}-ca-2.crt`]);
    }
    // Slot 1 signs by default; nothing signs with slot 2 but the workload carrier of slot 2.
    expect(signing(objects)).toEqual({
      'temporal-root-ca': 'temporal-root-ca', 'temporal-internode-ca': 'temporal-internode-ca', 'temporal-frontend-ca': 'temporal-frontend-ca',
      'temporal-platform-clients-ca': 'temporal-platform-clients-ca', 'temporal-workload-ca': 'temporal-workload-ca',
      'temporal-workload-ca-slot-1': 'temporal-workload-ca', 'temporal-workload-ca-slot-2': 'temporal-workload-ca-2',
    });
    expect(pki.caSigningSlots).toEqual({ 'internode': 1, 'frontend': 1, 'platform-clients': 1, 'workload': 1 });
  });

  it('does move signing to slot 2 by changing the issuers alone: same names, and not one byte of any other object', () => {
    const before = synth(pkiOnly());
    const { pki, chart } = pkiOnly({ caSigningSlots: { 'internode': 2, 'workload': 2 } });
    pki.issueClientCertificate(chart, 'Worker', { name: 'w', namespace: 'orders', temporalNamespaces: ['orders'] });
    const after = synth({ chart });
    expect(signing(after)).toMatchObject({
      'temporal-internode-ca': 'temporal-internode-ca-2', 'temporal-workload-ca': 'temporal-workload-ca-2',
      'temporal-frontend-ca': 'temporal-frontend-ca', 'temporal-platform-clients-ca': 'temporal-platform-clients-ca',
      // The carriers' issuers never move: each carries its own slot.
      'temporal-workload-ca-slot-1': 'temporal-workload-ca', 'temporal-workload-ca-slot-2': 'temporal-workload-ca-2',
    });
    const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const changed = after.filter((o) => o.metadata.name !== 'w-temporal-tls' && o.metadata.name !== 'w-temporal')
      .filter((o) => JSON.stringify(o) !== JSON.stringify(before.find((b) => key(b) === key(o))));
    expect(changed.map(key).sort()).toEqual(['ClusterIssuer//temporal-workload-ca', 'Issuer/temporal/temporal-internode-ca']);
    // Leaves keep naming the issuer by the CA's name: no Certificate, policy or label changes.
    expect(certificateFor(after, 'orders', 'w-temporal-tls').spec.issuerRef.name).toBe('temporal-workload-ca');
    // Pods mount the same trust volume whichever slot signs.
    expect(pki.trustVolume('trust', [...PURPOSES])).toEqual(pkiOnly().pki.trustVolume('trust', [...PURPOSES]));
  });

  it('does keep one anchor (the override) for an overridden purpose, both slots for the others', async () => {
    const ca = await selfSignedPem('pinned internode CA');
    const { pki } = pkiOnly({ trustOverrides: { internode: ca.cert } });
    expect(pki.trustAnchorFiles('internode')).toEqual(['/etc/temporal/tls/trust/internode-ca.crt']);
    expect(pki.trustAnchorFiles('frontend')).toHaveLength(2);
    expect(pki.trustVolume('trust', ['internode']).projected?.sources).toHaveLength(1);
  });

  it('does have no slots outside the generated chain: provided issuance and external issuers', () => {
    const provided = tlsFixture({ issuance: 'provided' });
    expect(provided.pki.secondSlotCaSpecifications).toEqual({});
    expect(provided.pki.trustAnchorFiles('internode')).toEqual(['/etc/temporal/tls/trust/internode-ca.crt']);
  });

  it('fails on a signing slot that is not 1 or 2, an unknown purpose, slots without the generated chain, or slot 2 under an override, ' +
    'leaving nothing behind', async () => {
    const chart = new Chart(Testing.app(), 'pki', { namespace: NAMESPACE });
    const slot3 = expectTlsError(() => new TemporalPki(chart, 'Pki', { caSigningSlots: { internode: 3 as never } }), 'INVALID_TLS',
      /a signing slot is 1 or 2/);
    expect(slot3.path).toBe('pki/Pki/caSigningSlots/internode');
    expect(slot3.message).toMatch(/set 2 to move signing to the second slot/);
    expectTlsError(() => new TemporalPki(chart, 'Pki2', { caSigningSlots: { root: 2 } as never }), 'INVALID_TLS', /unknown purpose/);
    expectTlsError(() => new TemporalPki(chart, 'Pki3', { issuance: 'provided', caSigningSlots: { internode: 2 } }), 'INVALID_TLS',
      /signing slots belong to the generated chain/);
    const pinned = await selfSignedPem('pinned internode CA');
    const overridden = expectTlsError(() => new TemporalPki(chart, 'Pki4', { trustOverrides: { internode: pinned.cert },
      caSigningSlots: { internode: 2 } }), 'INVALID_TLS', /replaces both key slots' anchors/);
    expect(overridden.message).toMatch(/drop trustOverrides.internode before moving signing to slot 2/);
    // Slot 1 with an override, and slot 2 for a purpose without one, are fine.
    expect(() => new TemporalPki(new Chart(Testing.app(), 'ok', { namespace: NAMESPACE }), 'Pki', {
      trustOverrides: { internode: pinned.cert }, caSigningSlots: { internode: 1, frontend: 2 } })).not.toThrow();
    expect(Testing.synth(chart)).toEqual([]);
  });
});

describe('TemporalPki failures', () => {
  it('fails when the Chart has no namespace', () => {
    expectTlsError(() => pkiOnly({}, null), 'INVALID_NAMESPACE', /no Kubernetes namespace/);
  });

  it('fails on a bad name, cluster domain or cluster resource namespace', () => {
    const chart = new Chart(Testing.app(), 'pki', { namespace: NAMESPACE });
    expectTlsError(() => new TemporalPki(chart, 'Pki', { installation: Installation.of(chart, { name: 'Temporal' }) }),
      'INVALID_NAME', /name must be an RFC 1035 label of at most 30/);
    expectTlsError(() => new TemporalPki(chart, 'Pki', { installation: Installation.of(chart, { clusterDomain: 'Cluster Local' }) }),
      'INVALID_NAME', /clusterDomain/);
    expectTlsError(() => pkiOnly({ clusterResourceNamespace: 'cert_manager' }), 'INVALID_NAME', /clusterResourceNamespace/);
  });

  it('fails when its installation belongs to a Chart of another namespace', () => {
    const app = Testing.app();
    const other = new Chart(app, 'other', { namespace: 'elsewhere' });
    const chart = new Chart(app, 'pki', { namespace: NAMESPACE });
    expectTlsError(() => new TemporalPki(chart, 'Pki', { installation: Installation.of(other) }), 'INVALID_NAMESPACE',
      /installation's \("elsewhere"\)/);
  });

  it('fails on unsupported key settings', () => {
    expectTlsError(() => pkiOnly({ privateKey: { algorithm: 'ECDSA', size: 255 } }), 'INVALID_TLS', /256, 384, 521/);
    expectTlsError(() => pkiOnly({ privateKey: { algorithm: 'RSA', size: 1024 } }), 'INVALID_TLS', /2048, 3072, 4096, 8192/);
    expectTlsError(() => pkiOnly({ privateKey: { algorithm: 'DSA' as never } }), 'INVALID_TLS', /ECDSA, RSA or Ed25519/);
    expectTlsError(() => pkiOnly({ caPrivateKeyRotationPolicy: 'Sometimes' as never }), 'INVALID_TLS', /Never/);
  });

  it('fails on lifetimes cert-manager would reject or that do not nest', () => {
    expectTlsError(() => pkiOnly({ leafDuration: Duration.minutes(30) }), 'INVALID_TLS', /at least 1 hour/);
    expectTlsError(() => pkiOnly({ leafRenewBefore: Duration.days(90) }), 'INVALID_TLS', /shorter than its duration/);
    expectTlsError(() => pkiOnly({ leafRenewBefore: Duration.minutes(1) }), 'INVALID_TLS', /at least 5 minutes/);
    expectTlsError(() => pkiOnly({ caDuration: Duration.days(4000) }), 'INVALID_TLS', /leaf <= CA <= root CA/);
    expectTlsError(() => pkiOnly({ leafDuration: Duration.days(2000), leafRenewBefore: Duration.days(30) }), 'INVALID_TLS', /nest/);
  });

  it('fails on trust overrides that are not CA certificates, or carry a private key', async () => {
    const ca = await selfSignedPem('some CA');
    const leaf = await selfSignedPem('a leaf', false);
    expectTlsError(() => pkiOnly({ trustOverrides: { internode: ca.cert + ca.key } }), 'INVALID_TLS', /never a private key/);
    expectTlsError(() => pkiOnly({ trustOverrides: { internode: leaf.cert } }), 'INVALID_TLS', /not a CA/);
    expectTlsError(() => pkiOnly({ trustOverrides: { internode: 'hello' } }), 'INVALID_TLS', /PEM "CERTIFICATE" blocks/);
    expectTlsError(() => pkiOnly({ trustOverrides: { root: ca.cert } as never }), 'INVALID_TLS', /unknown purpose/);
  });

  it('fails without leaving any object behind', async () => {
    const leaf = await selfSignedPem('a leaf', false);
    const chart = new Chart(Testing.app(), 'pki', { namespace: NAMESPACE });
    expectTlsError(() => new TemporalPki(chart, 'Pki', { trustOverrides: { workload: leaf.cert } }), 'INVALID_TLS');
    expectTlsError(() => new TemporalPki(chart, 'Pki2', { leafDuration: Duration.minutes(1) }), 'INVALID_TLS');
    expect(Testing.synth(chart)).toEqual([]);
  });
});

describe('TemporalPki certificates, owned by their consumers', () => {
  it('does issue a leaf into the consumer\'s scope, so a failed consumer takes its certificate with it', () => {
    const { chart, pki } = pkiOnly();
    const consumer = new Construct(chart, 'Consumer');
    const identity = pki.issuePlatformClientCertificate(consumer, 'Client', { name: 'reports' });
    expect(identity.node.path).toBe('pki/Consumer/Client');
    expect(pki.specifications().map((s) => s.secretName)).toContain('temporal-reports-client-tls');
    chart.node.tryRemoveChild('Consumer');
    expect(pki.specifications().map((s) => s.secretName)).not.toContain('temporal-reports-client-tls');
    expect(ofKind(synth({ chart }), 'Certificate').map((c) => c.spec.secretName)).not.toContain('temporal-reports-client-tls');
    // Its Secret name is free again.
    expect(() => pki.issuePlatformClientCertificate(chart, 'Again', { name: 'reports' })).not.toThrow();
  });

  it('fails with DUPLICATE_NAME when a leaf would overwrite a CA\'s Secret', () => {
    const { chart, pki } = pkiOnly();
    expectTlsError(() => pki.issueClientCertificate(chart, 'Sneaky', { name: 'w', namespace: 'temporal', temporalNamespaces: ['default'],
      secretName: 'temporal-frontend-ca' }), 'DUPLICATE_NAME', /"temporal\/temporal-frontend-ca" is already issued to the frontend CA/);
  });

  it('fails with DUPLICATE_NAME when two leaves would write one Secret', () => {
    const { chart, pki } = pkiOnly();
    pki.issuePlatformClientCertificate(new Construct(chart, 'One'), 'Client', { name: 'web' });
    const error = expectTlsError(() => pki.issuePlatformClientCertificate(new Construct(chart, 'Two'), 'Client', { name: 'web' }),
      'DUPLICATE_NAME', /"temporal\/temporal-web-client-tls" is already issued to pki\/One\/Client/);
    expect(error.path).toBe('pki/Two/Client');
  });

  it('does list every certificate as a specification: the CAs of the chain, then the leaves as issued', () => {
    const fixture = tlsFixture();
    const specs = fixture.pki.specifications();
    expect(specs.map((s) => `${s.namespace}/${s.secretName} <- ${s.issuer}`)).toEqual([
      'temporal/temporal-root-ca <- self',
      'temporal/temporal-internode-ca <- root',
      'temporal/temporal-frontend-ca <- root',
      'temporal/temporal-platform-clients-ca <- root',
      'cert-manager/temporal-workload-ca <- self',
      'temporal/temporal-internode-ca-2 <- root',
      'temporal/temporal-frontend-ca-2 <- root',
      'temporal/temporal-platform-clients-ca-2 <- root',
      'cert-manager/temporal-workload-ca-2 <- self',
      'temporal/temporal-workload-ca-anchor-tls <- workload',
      'temporal/temporal-workload-ca-2-anchor-tls <- workload',
      'temporal/temporal-internode-tls <- internode',
      'temporal/temporal-frontend-tls <- frontend',
      'temporal/temporal-web-client-tls <- platform-clients',
      'temporal/temporal-admintools-client-tls <- platform-clients',
      'temporal/temporal-jobs-client-tls <- platform-clients',
      'orders/orders-worker-temporal-tls <- workload',
    ]);
    const frontend = specs.find((s) => s.secretName === 'temporal-frontend-tls');
    expect(frontend).toMatchObject({ role: 'server', commonName: 'temporal-frontend.temporal.svc.cluster.local',
      usages: ['digital signature', 'server auth'], keyRotation: 'Always',
      lifetime: { duration: '2160h', renewBefore: '720h' }, privateKey: { algorithm: 'ECDSA', size: 256 } });
    expect(frontend?.dnsNames).toEqual(['temporal-frontend', 'temporal-frontend.temporal', 'temporal-frontend.temporal.svc',
      'temporal-frontend.temporal.svc.cluster.local', 'temporal.example.com']);
  });
});

describe('TemporalPki with certificates minted outside cert-manager (issuance: provided)', () => {
  const fixture = tlsFixture({ issuance: 'provided' });
  const objects = synth(fixture);

  it('does synthesize no cert-manager object at all', () => {
    expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    expect(fixture.pki.mode).toBe('provided');
    expect(fixture.pki.issuanceProblems()).toEqual([]);
  });

  it('does give every leaf the same Secret name and specification as cert-manager would', () => {
    const managed = tlsFixture();
    const shape = (f: typeof fixture) => f.pki.specifications().filter((s) => s.role !== 'ca' && s.role !== 'trust-carrier')
      .map((s) => ({ ...s }));
    expect(shape(fixture)).toEqual(shape(managed));
    expect(fixture.pki.specifications().find((s) => s.secretName === 'orders-worker-temporal-tls')).toEqual({
      certificateName: 'orders-worker-temporal', secretName: 'orders-worker-temporal-tls', namespace: 'orders',
      role: 'workload-client', issuer: 'workload', commonName: 'orders-worker',
      dnsNames: [], uris: ['spiffe://cluster.local/ns/orders/temporal-client/orders-worker'],
      usages: ['digital signature', 'client auth'], privateKey: { algorithm: 'ECDSA', size: 256 }, keyRotation: 'Always',
      lifetime: { duration: '2160h', renewBefore: '720h' },
      labels: { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal', 'app.kubernetes.io/component': 'tls',
        'app.kubernetes.io/part-of': 'temporal', 'app.kubernetes.io/managed-by': 'secure-temporal',
        'secure-temporal.io/issued-by': 'workload' },
    });
    expect(fixture.frontend.issuance).toEqual({ kind: 'provided' });
    expect(fixture.frontend.volume('tls').secret?.secretName).toBe('temporal-frontend-tls');
  });

  it('does take every trust anchor from the CA Secrets of the chain, the workload CA\'s in the Temporal namespace', () => {
    expect(fixture.pki.trustSources).toEqual({
      'internode': { secretName: 'temporal-internode-ca', key: 'tls.crt' },
      'frontend': { secretName: 'temporal-frontend-ca', key: 'tls.crt' },
      'platform-clients': { secretName: 'temporal-platform-clients-ca', key: 'tls.crt' },
      'workload': { secretName: 'temporal-workload-ca', key: 'tls.crt' },
    });
    expect(fixture.pki.workloadTrustCarrier).toBeUndefined();
    expect(fixture.pki.specifications().filter((s) => s.role === 'ca').map((s) => `${s.namespace}/${s.secretName}`)).toEqual([
      'temporal/temporal-root-ca', 'temporal/temporal-internode-ca', 'temporal/temporal-frontend-ca',
      'temporal/temporal-platform-clients-ca', 'temporal/temporal-workload-ca',
    ]);
  });

  it('does keep the synth-time checks: a serverName outside the SANs, an untrusted client', () => {
    expectTlsError(() => clientTlsFiles(fixture.web, fixture.frontend, { serverName: 'temporal.other.example.com' }),
      'TLS_SERVER_NAME_MISMATCH');
    expectTlsError(() => clientTlsFiles(fixture.worker, fixture.internode), 'TLS_UNTRUSTED_CLIENT');
  });

  it('does report a specification whose issuer is not among them', () => {
    const specs = fixture.pki.specifications();
    expect(specificationProblems(specs.filter((s) => s.ca !== 'workload'))).toEqual([
      'orders/orders-worker-temporal-tls: its issuer, the workload CA, is not among the specifications',
    ]);
    const internode = specs.find((s) => s.secretName === 'temporal-internode-tls');
    expect(specificationProblems([...specs, internode!])).toEqual([
      'temporal/temporal-internode-tls: written by two specifications (temporal-internode and temporal-internode)',
    ]);
  });

  it('fails when combined with external cert-manager issuers, or given an unknown issuance', () => {
    expectTlsError(() => pkiOnly({ issuance: 'provided', external: {} as never }), 'INVALID_TLS', /need cert-manager issuance/);
    expectTlsError(() => pkiOnly({ issuance: 'vault' as never }), 'INVALID_TLS', /"cert-manager" or "provided"/);
  });
});
