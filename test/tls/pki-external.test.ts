import { Chart, Testing } from 'cdk8s';
import { issuerProblems } from '../../lib/tls/issuer-check';
import { TemporalPki, TemporalPkiProps } from '../../lib/tls/pki';
import { ExternalPkiProps } from '../../lib/tls/sources';
import { certificateFor, find, NAMESPACE, Obj, ofKind, synth, tlsFixture } from './fixtures';
import { expectTlsError, selfSignedPem } from './pem';
import { IssuanceSimulator } from './simulator';

const corp = (name: string, kind: 'Issuer' | 'ClusterIssuer' = 'ClusterIssuer') => ({
  issuer: { kind, name },
  trustAnchor: { configMapName: 'corp-trust', key: `${name}.crt` },
});

const EXTERNAL: ExternalPkiProps = {
  internode: corp('vault-temporal-internode', 'Issuer'),
  frontend: corp('corp-server-ca'),
  platformClients: corp('vault-temporal-platform', 'Issuer'),
  workload: corp('vault-temporal-workloads'),
};

function external(props: Partial<TemporalPkiProps> = {}) {
  return tlsFixture({ external: EXTERNAL, ...props });
}

describe('TemporalPki with external issuers', () => {
  it('does generate no CA of its own and point every leaf at the declared issuer', () => {
    const fixture = external();
    const objects = synth(fixture);
    expect(ofKind(objects, 'Issuer')).toEqual([]);
    expect(ofKind(objects, 'ClusterIssuer')).toEqual([]);
    expect(ofKind(objects, 'Certificate').filter((c) => c.spec.isCA)).toEqual([]);
    expect(fixture.pki.mode).toBe('external');
    expect(certificateFor(objects, NAMESPACE, 'temporal-internode-tls').spec.issuerRef)
      .toEqual({ group: 'cert-manager.io', kind: 'Issuer', name: 'vault-temporal-internode' });
    expect(certificateFor(objects, NAMESPACE, 'temporal-frontend-tls').spec.issuerRef)
      .toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'corp-server-ca' });
    expect(certificateFor(objects, 'orders', 'orders-worker-temporal-tls').spec.issuerRef)
      .toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'vault-temporal-workloads' });
  });

  it('does take trust anchors from the declared sources, and resolve against the declared issuers', () => {
    const fixture = external();
    expect(fixture.pki.trustSources.frontend).toEqual({ configMapName: 'corp-trust', key: 'corp-server-ca.crt' });
    expect(fixture.pki.workloadTrustCarrier).toBeUndefined();
    const objects = synth(fixture);
    expect(issuerProblems(objects, { declared: fixture.pki.declaredIssuers })).toEqual([]);
    expect(issuerProblems(objects)).toHaveLength(6);
  });

  it('does accept an issuer of another API group (e.g. AWS Private CA)', () => {
    const fixture = external({
      external: {
        ...EXTERNAL,
        workload: { ...corp('pca'), issuer: { kind: 'AWSPCAClusterIssuer', name: 'pca', group: 'awspca.cert-manager.io' } },
      },
    });
    const objects = synth(fixture);
    expect(certificateFor(objects, 'orders', 'orders-worker-temporal-tls').spec.issuerRef)
      .toEqual({ group: 'awspca.cert-manager.io', kind: 'AWSPCAClusterIssuer', name: 'pca' });
    expect(issuerProblems(objects, { declared: fixture.pki.declaredIssuers })).toEqual([]);
  });

  it('does render PEM anchors into the trust ConfigMap', async () => {
    const ca = await selfSignedPem('Corp Root');
    const fixture = external({ external: { ...EXTERNAL, frontend: { ...corp('corp-server-ca'), trustAnchor: { pem: ca.cert } } } });
    expect(find(synth(fixture), 'ConfigMap', 'temporal-tls-trust-anchors', NAMESPACE).data).toEqual({ 'frontend-ca.crt': ca.cert });
  });

  it('does let the simulator issue every leaf once the external issuers exist', async () => {
    // Stand-ins for the external CAs: a namespaced Issuer reads its CA Secret in its own namespace, a
    // ClusterIssuer in the cluster resource namespace.
    const externalCa = (name: string, kind: 'Issuer' | 'ClusterIssuer') => {
      const namespace = kind === 'Issuer' ? NAMESPACE : 'cert-manager';
      const cm = (k: string, metadata: Obj, spec: Obj): Obj => ({ apiVersion: 'cert-manager.io/v1', kind: k, metadata, spec });
      return [
        cm('Issuer', { name: `${name}-root`, namespace }, { selfSigned: {} }),
        // ECDSA like the PKI's own keys (cert-manager's default, RSA 2048, costs seconds per CA on a busy machine).
        cm('Certificate', { name, namespace }, { secretName: name, isCA: true, commonName: name, issuerRef: { name: `${name}-root` },
          privateKey: { algorithm: 'ECDSA', size: 256 } }),
        cm(kind, { name, ...(kind === 'Issuer' ? { namespace } : {}) }, { ca: { secretName: name } }),
      ];
    };
    const cas = Object.values(EXTERNAL).flatMap((ca) => externalCa(ca.issuer.name, ca.issuer.kind));
    const sim = new IssuanceSimulator([...cas, ...synth(external())]);
    await sim.issueAll();
    expect(sim.secret('orders', 'orders-worker-temporal-tls').ca?.subject).toBe('CN=vault-temporal-workloads');
    expect(sim.secret(NAMESPACE, 'temporal-internode-tls').ca?.subject).toBe('CN=vault-temporal-internode');
  });
});

describe('TemporalPki with external issuers: failures', () => {
  it('fails when two purposes a listener must tell apart share an issuer', () => {
    expectTlsError(() => external({ external: { ...EXTERNAL, workload: EXTERNAL.internode } }), 'TLS_SHARED_ISSUER',
      /internode and workload CAs share an issuer or trust anchor, so the internode listener/);
    expectTlsError(() => external({ external: { ...EXTERNAL, platformClients: EXTERNAL.internode } }), 'TLS_SHARED_ISSUER',
      /internode and platform-clients/);
  });

  it('fails when they share a trust anchor, even under different issuer names', () => {
    const shared = { ...EXTERNAL.workload!, issuer: { kind: 'ClusterIssuer' as const, name: 'other' }, trustAnchor: EXTERNAL.internode.trustAnchor };
    expectTlsError(() => external({ external: { ...EXTERNAL, workload: shared } }), 'TLS_SHARED_ISSUER');
  });

  it('fails when workloads and platform clients share an issuer: the frontend behind a proxy must tell them apart', () => {
    const shared = corp('vault-temporal-clients');
    expectTlsError(() => external({ external: { ...EXTERNAL, platformClients: shared, workload: shared } }), 'TLS_SHARED_ISSUER',
      /frontend behind the authorizer proxy, which accepts platform-clients certificates but not workload ones/);
  });

  it('fails to issue a client identity in another namespace from a namespaced workload Issuer', () => {
    expectTlsError(() => external({ external: { ...EXTERNAL, workload: corp('local-workloads', 'Issuer') } }), 'TLS_UNRESOLVED_ISSUER',
      /namespaced Issuer of "temporal" and cannot issue into another namespace/);
  });

  it('fails to issue a client identity without a workload issuer', () => {
    const chart = new Chart(Testing.app(), 'x', { namespace: NAMESPACE });
    const pki = new TemporalPki(chart, 'Pki', { external: { ...EXTERNAL, workload: undefined } });
    expectTlsError(() => pki.issueClientCertificate(chart, 'W', { name: 'w', namespace: 'orders', temporalNamespaces: ['orders'] }),
      'TLS_UNRESOLVED_ISSUER', /no workload issuer/);
    expectTlsError(() => pki.trustVolume('trust', ['workload']), 'INVALID_TLS', /no trust anchor for the workload CA/);
  });

  it('fails on malformed issuer references and trust sources', () => {
    expectTlsError(() => external({ external: { ...EXTERNAL, frontend: { ...corp('x'), issuer: { kind: 'Vault', name: 'x' } } } }),
      'INVALID_TLS', /Issuer or ClusterIssuer/);
    expectTlsError(() => external({ external: { ...EXTERNAL, frontend: { ...corp('x'), issuer: { kind: 'not a kind', name: 'x', group: 'x.io' } } } }),
      'INVALID_TLS', /Issuer or ClusterIssuer/);
    expectTlsError(() => external({ external: { ...EXTERNAL, frontend: { ...corp('x'), issuer: { kind: 'ClusterIssuer', name: '' } } } }),
      'INVALID_NAME', /issuer name/);
    expectTlsError(() => external({ external: { ...EXTERNAL, frontend: { ...corp('x'), trustAnchor: { secretName: 'x' } as never } } }),
      'INVALID_TLS', /must be \{ pem \}/);
  });
});
