import { certManagerSchemaErrors, certManagerSchemas } from './crd-schema';
import { certificateFor, NAMESPACE, synth, tlsFixture } from './fixtures';

describe('certManagerSchemaErrors', () => {
  const cert = certificateFor(synth(tlsFixture()), NAMESPACE, 'temporal-frontend-tls');

  it('does load the four cert-manager.io kinds and approver-policy\'s CertificateRequestPolicy of the vendored CRDs', () => {
    expect([...certManagerSchemas().keys()].sort()).toEqual(['Certificate', 'CertificateRequest', 'CertificateRequestPolicy', 'ClusterIssuer',
      'Issuer']);
  });

  it('does accept a synthesized Certificate and skip other API groups', () => {
    expect(certManagerSchemaErrors(cert)).toEqual([]);
    expect(certManagerSchemaErrors({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual([]);
  });

  it('does report unknown fields, bad enums, wrong types and missing required fields', () => {
    const bad = {
      ...cert,
      spec: { ...cert.spec, isCa: true, usages: ['server auth', 'server-auth'], duration: 2160, issuerRef: { kind: 'Issuer' } },
    };
    expect(certManagerSchemaErrors(bad)).toEqual(expect.arrayContaining([
      'Certificate/temporal-frontend.spec: unknown field "isCa"',
      expect.stringMatching(/spec.usages\[1\]: "server-auth" is not one of/),
      'Certificate/temporal-frontend.spec.duration: expected a string',
      'Certificate/temporal-frontend.spec.issuerRef: missing required field "name"',
    ]));
    expect(certManagerSchemaErrors({ apiVersion: 'cert-manager.io/v1', kind: 'Bundle' })).toEqual(['Bundle/undefined: no CRD schema for kind Bundle']);
  });
});
