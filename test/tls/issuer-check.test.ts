import { assertIssuerRefsResolve, issuerProblems, ManifestObject } from '../../lib/tls/issuer-check';
import { NAMESPACE, Obj, synth, tlsFixture } from './fixtures';
import { expectTlsError } from './pem';

const cm = (kind: string, name: string, namespace: string | undefined, spec: Obj): ManifestObject => ({
  apiVersion: 'cert-manager.io/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec,
});
const cert = (name: string, namespace: string, issuerRef: Obj) => cm('Certificate', name, namespace, { secretName: name, issuerRef });

describe('issuerProblems', () => {
  it('does find nothing wrong in the output of TemporalPki, direct or behind the proxy', () => {
    for (const fixture of [tlsFixture(), tlsFixture({}, { access: 'authorizer-proxy' }), tlsFixture({ clusterResourceNamespace: 'pki' })]) {
      expect(issuerProblems(synth(fixture), { clusterResourceNamespace: fixture.pki.clusterResourceNamespace })).toEqual([]);
    }
  });

  it('does report a Certificate whose issuer exists nowhere', () => {
    expect(issuerProblems([cert('a', NAMESPACE, { name: 'missing' })]))
      .toEqual(['Certificate temporal/a: issuerRef cert-manager.io/Issuer "missing" does not resolve']);
  });

  it('does report a namespaced Issuer used from another namespace', () => {
    const objects = [cm('Issuer', 'ca', NAMESPACE, { selfSigned: {} }), cert('w', 'orders', { name: 'ca', kind: 'Issuer' })];
    expect(issuerProblems(objects)).toEqual([expect.stringMatching(/a namespaced Issuer only serves its own namespace/)]);
  });

  it('does report a CA ClusterIssuer whose Secret is not in the cluster resource namespace', () => {
    const objects = [
      cm('Issuer', 'boot', NAMESPACE, { selfSigned: {} }),
      cert('workload-ca', NAMESPACE, { name: 'boot' }),
      cm('ClusterIssuer', 'workload-ca', undefined, { ca: { secretName: 'workload-ca' } }),
    ];
    expect(issuerProblems(objects)).toEqual([expect.stringMatching(
      /ClusterIssuer workload-ca: its CA Secret "workload-ca" is not written by any Certificate in namespace "cert-manager"/)]);
    expect(issuerProblems(objects, { clusterResourceNamespace: NAMESPACE })).toEqual([]);
  });

  it('does report a CA Issuer whose Secret nobody issues in its namespace', () => {
    expect(issuerProblems([cm('Issuer', 'ca', NAMESPACE, { ca: { secretName: 'ca-keypair' } })]))
      .toEqual([expect.stringMatching(/Issuer temporal\/ca: its CA Secret "ca-keypair" is not written/)]);
  });

  it('does report a ClusterIssuer that carries a namespace (the cdk8s chart-namespace pitfall)', () => {
    const objects = [cm('ClusterIssuer', 'self', NAMESPACE, { selfSigned: {} })];
    expect(issuerProblems(objects)).toEqual([expect.stringMatching(/ClusterIssuer temporal\/self: a ClusterIssuer is cluster-scoped/)]);
  });

  it('does accept declared external issuers, matching kind, group and (for Issuers) namespace', () => {
    const objects = [
      cert('a', NAMESPACE, { name: 'vault', kind: 'Issuer' }),
      cert('b', 'orders', { name: 'corp', kind: 'ClusterIssuer' }),
      cert('c', NAMESPACE, { name: 'pca', kind: 'AWSPCAClusterIssuer', group: 'awspca.cert-manager.io' }),
    ];
    const declared = [
      { kind: 'Issuer' as const, name: 'vault', namespace: NAMESPACE },
      { kind: 'ClusterIssuer' as const, name: 'corp' },
      { kind: 'AWSPCAClusterIssuer', name: 'pca', group: 'awspca.cert-manager.io' },
    ];
    expect(issuerProblems(objects, { declared })).toEqual([]);
    expect(issuerProblems(objects, { declared: [{ ...declared[0], namespace: 'other' }, declared[1], declared[2]] }))
      .toEqual([expect.stringMatching(/Certificate temporal\/a/)]);
    expect(issuerProblems(objects, { declared: declared.slice(0, 2) })).toEqual([expect.stringMatching(/awspca.cert-manager.io/)]);
  });

  it('fails with TLS_UNRESOLVED_ISSUER listing every problem', () => {
    const objects = [cert('a', NAMESPACE, { name: 'x' }), cert('b', NAMESPACE, { name: 'y', kind: 'ClusterIssuer' })];
    const error = expectTlsError(() => assertIssuerRefsResolve('Test', objects), 'TLS_UNRESOLVED_ISSUER', /"x" does not resolve; .*"y"/);
    expect(error.value).toBe(2);
    expect(() => assertIssuerRefsResolve('Test', synth(tlsFixture()))).not.toThrow();
  });
});
