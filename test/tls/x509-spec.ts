import './reflect-polyfill';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto types (the project's `lib` has no DOM): aliases used below and by the simulator.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The part of a cert-manager Certificate spec the simulator honours (plain JSON, as synthesized). */
export interface CertificateSpecJson {
  readonly secretName: string;
  readonly issuerRef: { readonly name: string; readonly kind?: string; readonly group?: string };
  readonly commonName?: string;
  readonly subject?: { readonly organizations?: string[]; readonly organizationalUnits?: string[]; readonly countries?: string[] };
  readonly dnsNames?: string[];
  readonly ipAddresses?: string[];
  readonly uris?: string[];
  readonly emailAddresses?: string[];
  readonly isCA?: boolean;
  readonly usages?: string[];
  readonly duration?: string;
  readonly privateKey?: { readonly algorithm?: string; readonly size?: number; readonly rotationPolicy?: string };
  readonly literalSubject?: string;
  readonly otherNames?: unknown[];
  readonly nameConstraints?: unknown;
}

/** Key algorithm parameters for WebCrypto, from cert-manager's `privateKey` (its defaults: RSA 2048). */
export function keyAlgorithm(privateKey: CertificateSpecJson['privateKey'] = {}): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | Algorithm {
  const algorithm = privateKey.algorithm ?? 'RSA';
  switch (algorithm) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: privateKey.size ?? 2048 };
    case 'ECDSA': {
      const size = privateKey.size ?? 256;
      const curves: Record<number, string> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };
      if (!curves[size]) {
        throw new Error(`unsupported ECDSA size ${size}`);
      }
      return { name: 'ECDSA', namedCurve: curves[size] };
    }
    case 'Ed25519':
      return { name: 'Ed25519' };
    default:
      throw new Error(`unsupported key algorithm ${algorithm}`);
  }
}

/** The signature algorithm a key signs with (what Go picks from the signer: ECDSA hash by curve size, RSA SHA-256). */
export function signingAlgorithm(key: CryptoKey): Algorithm | webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams {
  const alg = key.algorithm as webcrypto.EcKeyAlgorithm & webcrypto.RsaHashedKeyAlgorithm;
  if (alg.name === 'ECDSA') {
    const hashes: Record<string, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };
    return { name: 'ECDSA', hash: hashes[alg.namedCurve] } as webcrypto.EcdsaParams;
  }
  if (alg.name === 'RSASSA-PKCS1-v1_5') {
    return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as webcrypto.RsaHashedImportParams;
  }
  return { name: alg.name };
}

export async function generateKeys(privateKey: CertificateSpecJson['privateKey']): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(keyAlgorithm(privateKey) as webcrypto.EcKeyGenParams, true, ['sign', 'verify']) as CryptoKeyPair;
}

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
  'signing': x509.KeyUsageFlags.digitalSignature,
  'digital signature': x509.KeyUsageFlags.digitalSignature,
  'content commitment': x509.KeyUsageFlags.nonRepudiation,
  'key encipherment': x509.KeyUsageFlags.keyEncipherment,
  'key agreement': x509.KeyUsageFlags.keyAgreement,
  'data encipherment': x509.KeyUsageFlags.dataEncipherment,
  'cert sign': x509.KeyUsageFlags.keyCertSign,
  'crl sign': x509.KeyUsageFlags.cRLSign,
  'encipher only': x509.KeyUsageFlags.encipherOnly,
  'decipher only': x509.KeyUsageFlags.decipherOnly,
};

const EXT_KEY_USAGES: Record<string, string> = {
  'any': '2.5.29.37.0',
  'server auth': x509.ExtendedKeyUsage.serverAuth,
  'client auth': x509.ExtendedKeyUsage.clientAuth,
  'code signing': x509.ExtendedKeyUsage.codeSigning,
  'email protection': x509.ExtendedKeyUsage.emailProtection,
  's/mime': x509.ExtendedKeyUsage.emailProtection,
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  'timestamping': x509.ExtendedKeyUsage.timeStamping,
  'ocsp signing': x509.ExtendedKeyUsage.ocspSigning,
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

/** cert-manager's usages: default `digital signature, key encipherment`; `isCA` adds `cert sign`. */
export function effectiveUsages(spec: CertificateSpecJson): string[] {
  const usages = spec.usages && spec.usages.length > 0 ? [...spec.usages] : ['digital signature', 'key encipherment'];
  if (spec.isCA && !usages.includes('cert sign')) {
    usages.push('cert sign');
  }
  return usages;
}

/** Parses a Go duration (`2160h`, `1h30m`, `90s`) to milliseconds. */
export function parseGoDuration(value: string): number {
  const units: Record<string, number> = { h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`not a Go duration: ${value}`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
}

/** The subject DN, in the order Go's pkix.Name writes it. Throws for fields the simulator does not model. */
export function subjectName(spec: CertificateSpecJson): x509.JsonName {
  if (spec.literalSubject !== undefined || spec.otherNames !== undefined || spec.nameConstraints !== undefined) {
    throw new Error('the simulator does not model literalSubject, otherNames or nameConstraints');
  }
  const name: x509.JsonName = [];
  for (const c of spec.subject?.countries ?? []) name.push({ C: [c] });
  for (const o of spec.subject?.organizations ?? []) name.push({ O: [o] });
  for (const ou of spec.subject?.organizationalUnits ?? []) name.push({ OU: [ou] });
  if (spec.commonName) name.push({ CN: [spec.commonName] });
  return name;
}

/** The X.509 extensions cert-manager (through Go's x509 package) puts in a certificate of this spec. */
export async function extensionsFor(spec: CertificateSpecJson, subjectKey: CryptoKey, issuerKey?: CryptoKey): Promise<x509.Extension[]> {
  const usages = effectiveUsages(spec);
  const unknown = usages.filter((u) => !(u in KEY_USAGES) && !(u in EXT_KEY_USAGES));
  if (unknown.length > 0) {
    throw new Error(`unknown usages ${unknown.join(', ')}`);
  }
  const flags = usages.filter((u) => u in KEY_USAGES).reduce((f, u) => f | KEY_USAGES[u], 0);
  const ekus = [...new Set(usages.filter((u) => u in EXT_KEY_USAGES).map((u) => EXT_KEY_USAGES[u]))];
  const sans: x509.JsonGeneralNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(spec.emailAddresses ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(spec.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(spec.isCA === true, undefined, true)];
  if (flags !== 0) {
    extensions.push(new x509.KeyUsagesExtension(flags, true));
  }
  if (ekus.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(ekus, false));
  }
  if (sans.length > 0) {
    // RFC 5280: the SAN extension is critical when the subject is empty.
    extensions.push(new x509.SubjectAlternativeNameExtension(sans, subjectName(spec).length === 0));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(subjectKey));
  if (issuerKey !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuerKey));
  }
  return extensions;
}

export { x509 };
