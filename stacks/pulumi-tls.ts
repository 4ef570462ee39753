import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as tls from '@pulumi/tls';
import { ValidationError } from '../lib/core/errors';
import { CertificateSpecification } from '../lib/tls/specification';

/** The cert-manager usage names of a specification as `@pulumi/tls` `allowedUses`. */
export function allowedUses(usages: readonly string[]): string[] {
  const names: Record<string, string> = { 'cert sign': 'cert_signing', 'crl sign': 'crl_signing' };
  return usages.map((usage) => names[usage] ?? usage.replace(/ /g, '_'));
}

/**
 * The hours of a Go duration as the PKI renders lifetimes (`2160h`, `120m`, `7200s`). `@pulumi/tls` counts validity
 * and early renewal in whole hours: anything else is refused (rounding could put a certificate inside its renewal
 * window for good, re-issuing it at every `pulumi up`).
 */
export function hours(goDuration: string, what = 'a lifetime'): number {
  const match = /^([0-9]+)(h|m|s)$/.exec(goDuration);
  if (!match) {
    throw new Error(`not a lifetime the PKI renders: ${JSON.stringify(goDuration)}`);
  }
  const seconds = Number(match[1]) * { h: 3600, m: 60, s: 1 }[match[2] as 'h' | 'm' | 's'];
  if (seconds % 3600 !== 0 || seconds === 0) {
    throw new ValidationError('INVALID_TLS', 'tls', `${what} of ${goDuration} is not a whole number of hours, which @pulumi/tls needs`,
      goDuration, 'in pulumi-tls mode give tls durations and renewBefore in whole hours, e.g. Duration.hours(720) or "720h"');
  }
  return seconds / 3600;
}

function keyArgs(spec: CertificateSpecification): tls.PrivateKeyArgs {
  switch (spec.privateKey.algorithm) {
    case 'ECDSA':
      return { algorithm: 'ECDSA', ecdsaCurve: `P${spec.privateKey.size ?? 256}` };
    case 'RSA':
      return { algorithm: 'RSA', rsaBits: spec.privateKey.size ?? 2048 };
    case 'Ed25519':
      return { algorithm: 'ED25519' };
  }
}

/** One minted certificate: its key, its PEM, and its chain up to (not including) the self-signed top. */
export interface MintedCertificate {
  readonly specification: CertificateSpecification;
  readonly key: tls.PrivateKey;
  readonly certPem: pulumi.Output<string>;
  /** This certificate followed by its intermediates (the `tls.crt` of its Secret). */
  readonly chain: pulumi.Output<string>[];
  /** The self-signed top of its chain (the `ca.crt` of its Secret). */
  readonly top: pulumi.Output<string>;
  readonly secret: k8s.core.v1.Secret;
}

/**
 * Mints every specification of the PKI with `@pulumi/tls` into Secrets of the names cert-manager would write, with
 * the specification's labels. Leaves and signing keys: `kubernetes.io/tls` with `tls.crt` (the certificate followed
 * by its intermediates), `tls.key` (PKCS#8), `ca.crt` (the self-signed top of the chain). CAs: `Opaque` with `tls.crt`
 * and `ca.crt` only; their keys never leave the Pulumi state, since nothing in the cluster signs. CAs first: each
 * certificate is signed by the key of the CA its specification names. Certificates are re-issued on the first `pulumi up` after
 * `duration - renewBefore` (`earlyRenewalHours`); keys are kept unless the key settings change. Private keys and
 * the Secrets' data are Pulumi secrets.
 */
export function mintCertificates(parent: pulumi.Resource, specs: readonly CertificateSpecification[],
  secretOptions: (spec: CertificateSpecification) => pulumi.CustomResourceOptions,
  secretDependsOn: (spec: CertificateSpecification) => pulumi.Resource[] = () => []): Map<string, MintedCertificate> {
  const minted = new Map<string, MintedCertificate>();
  const byCa = new Map<string, MintedCertificate>();
  // CAs before what they sign; the self-signed first.
  const order = [...specs].sort((a, b) => rank(a) - rank(b));
  for (const spec of order) {
    const name = `${spec.namespace}-${spec.secretName}`;
    const key = new tls.PrivateKey(`${name}-key`, keyArgs(spec), {
      parent, additionalSecretOutputs: ['privateKeyPem', 'privateKeyPemPkcs8', 'privateKeyOpenssh'],
    });
    const validityPeriodHours = hours(spec.lifetime.duration, `${spec.secretName}: the duration`);
    const earlyRenewalHours = hours(spec.lifetime.renewBefore, `${spec.secretName}: renewBefore`);
    if ((spec.organizationalUnits ?? []).length > 1) {
      throw new Error(`${spec.namespace}/${spec.secretName}: @pulumi/tls puts one organizational unit in a subject, the ` +
        `specification has ${spec.organizationalUnits!.length}`);
    }
    const subject = {
      ...(spec.commonName !== undefined ? { commonName: spec.commonName } : {}),
      ...(spec.organizationalUnits?.length ? { organizationalUnit: spec.organizationalUnits[0] } : {}),
    };
    const common = {
      allowedUses: allowedUses(spec.usages),
      validityPeriodHours,
      earlyRenewalHours,
      isCaCertificate: spec.role === 'ca',
      ...(spec.dnsNames.length > 0 ? { dnsNames: [...spec.dnsNames] } : {}),
      ...(spec.uris.length > 0 ? { uris: [...spec.uris] } : {}),
    };
    let certPem: pulumi.Output<string>;
    let chain: pulumi.Output<string>[];
    let top: pulumi.Output<string>;
    if (spec.issuer === 'self') {
      const cert = new tls.SelfSignedCert(`${name}-cert`, {
        privateKeyPem: key.privateKeyPem, subject, ...common, setSubjectKeyId: true,
      }, { parent });
      certPem = cert.certPem;
      chain = [certPem];
      top = certPem;
    } else {
      const ca = byCa.get(spec.issuer);
      if (ca === undefined) {
        throw new Error(`${spec.namespace}/${spec.secretName}: its issuer, the ${spec.issuer} CA, is not among the specifications`);
      }
      const request = new tls.CertRequest(`${name}-csr`, { privateKeyPem: key.privateKeyPem, subject,
        ...(common.dnsNames ? { dnsNames: common.dnsNames } : {}), ...(common.uris ? { uris: common.uris } : {}) }, { parent });
      const cert = new tls.LocallySignedCert(`${name}-cert`, {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: ca.key.privateKeyPem,
        caCertPem: ca.certPem,
        allowedUses: common.allowedUses,
        validityPeriodHours,
        earlyRenewalHours,
        isCaCertificate: common.isCaCertificate,
        ...(spec.role === 'ca' ? { setSubjectKeyId: true } : {}),
      }, { parent });
      certPem = cert.certPem;
      // The issuer's chain without the self-signed top: the intermediates.
      chain = [certPem, ...ca.chain.filter((_, i) => i < ca.chain.length - (ca.specification.issuer === 'self' ? 1 : 0))];
      top = ca.top;
    }
    // A CA's key signs nothing in the cluster (Pulumi signs): it stays in the Pulumi state (a secret) and its Secret
    // carries only the certificate, as pods mount it (`tls.crt`) to trust the CA. Leaves and signing keys get the
    // cert-manager shape, key included.
    const isCa = spec.role === 'ca';
    const secret = new k8s.core.v1.Secret(name, {
      metadata: { name: spec.secretName, namespace: spec.namespace, labels: { ...spec.labels } },
      type: isCa ? 'Opaque' : 'kubernetes.io/tls',
      stringData: {
        'tls.crt': pulumi.all(chain).apply((pems) => pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('')),
        ...(isCa ? {} : { 'tls.key': key.privateKeyPemPkcs8 }),
        'ca.crt': top,
      },
    }, { ...secretOptions(spec), parent, dependsOn: secretDependsOn(spec), additionalSecretOutputs: ['data', 'stringData'] });
    const result: MintedCertificate = { specification: spec, key, certPem, chain, top, secret };
    minted.set(`${spec.namespace}/${spec.secretName}`, result);
    if (spec.role === 'ca' && spec.ca !== undefined) {
      byCa.set(spec.ca, result);
    }
  }
  return minted;
}

/** Self-signed CAs, then CAs they sign, then leaves. */
function rank(spec: CertificateSpecification): number {
  if (spec.role === 'ca') {
    return spec.issuer === 'self' ? 0 : 1;
  }
  return 2;
}
