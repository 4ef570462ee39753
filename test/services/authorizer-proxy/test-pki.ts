/**
 * Certificates for the proxy's tests, made with @peculiar/x509 (independent of the library's PKI): a root with
 * the frontend and platform-clients CAs under it, a self-signed workload CA, and leaves of every shape a
 * caller might present, good and bad.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateSpecJson, CryptoKeyPair, extensionsFor, generateKeys, signingAlgorithm, subjectName, x509 } from '../../tls/x509-spec';

export interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly keys: CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

const DAY = 86_400_000;

export async function issue(spec: Omit<CertificateSpecJson, 'secretName' | 'issuerRef'>, issuer?: Issued,
  validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<Issued> {
  const keys = await generateKeys({ algorithm: 'ECDSA', size: 256 });
  const full = { secretName: 'x', issuerRef: { name: 'x' }, ...spec };
  const subject = subjectName(full);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e12).toString(16).padStart(12, '0'),
    subject,
    issuer: issuer ? issuer.certificate.subjectName.toJSON() : subject,
    notBefore: validity.notBefore ?? new Date(Date.now() - DAY),
    notAfter: validity.notAfter ?? new Date(Date.now() + DAY),
    publicKey: keys.publicKey,
    signingKey: issuer ? issuer.keys.privateKey : keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer ? issuer.keys.privateKey : keys.privateKey),
    extensions: await extensionsFor(full, keys.publicKey, issuer?.keys.publicKey),
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: `${certificate.toString('pem')}\n`, key: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`, keys, certificate };
}

const ca = (cn: string) => ({ commonName: cn, isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'] });
const client = (name: string, namespace: string, kind: 'temporal-client' | 'temporal-platform' = 'temporal-client') => ({
  commonName: name, usages: ['digital signature', 'client auth'], uris: [`spiffe://cluster.local/ns/${namespace}/${kind}/${name}`] });

export interface TestPki {
  readonly dir: string;
  readonly root: Issued;
  readonly frontendCa: Issued;
  readonly platformCa: Issued;
  readonly workloadCa: Issued;
  readonly proxyServer: Issued;
  readonly frontendServer: Issued;
  readonly proxyClient: Issued;
  readonly worker: Issued;
  readonly web: Issued;
  /** Bad client certificates. */
  readonly bad: Readonly<Record<'ca' | 'subCaLeaf' | 'rootLeaf' | 'noClientAuth' | 'noUri' | 'expired' | 'otherDomain' | 'foreign' |
    'workloadAsPlatform' | 'platformAsWorkload' | 'twoUris', Issued>>;
  /** Path of a file with `content` in the PKI's folder. */
  file(name: string, content: string): string;
}

export async function testPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-pki-'));
  const root = await issue(ca('test root CA'));
  const frontendCa = await issue(ca('test frontend CA'), root);
  const platformCa = await issue(ca('test platform-clients CA'), root);
  const workloadCa = await issue(ca('test workload CA'));
  const server = (name: string) => ({ commonName: name, dnsNames: [name, 'localhost'], ipAddresses: ['127.0.0.1'],
    usages: ['digital signature', 'server auth'] });
  const subCa = await issue(ca('rogue sub-CA'), workloadCa);
  const otherCa = await issue(ca('test workload CA'));
  return {
    dir,
    root,
    frontendCa,
    platformCa,
    workloadCa,
    proxyServer: await issue(server('temporal-authorizer-proxy.temporal.svc.cluster.local'), frontendCa),
    frontendServer: await issue(server('temporal-frontend.temporal.svc.cluster.local'), frontendCa),
    proxyClient: await issue(client('authorizer-proxy', 'temporal', 'temporal-platform'), platformCa),
    worker: await issue(client('orders-worker', 'orders'), workloadCa),
    web: await issue(client('web', 'temporal', 'temporal-platform'), platformCa),
    bad: {
      ca: subCa,
      subCaLeaf: await issue(client('orders-worker', 'orders'), subCa),
      rootLeaf: await issue(client('orders-worker', 'orders'), root),
      noClientAuth: await issue({ ...client('orders-worker', 'orders'), usages: ['digital signature', 'server auth'] }, workloadCa),
      noUri: await issue({ commonName: 'orders-worker', usages: ['digital signature', 'client auth'] }, workloadCa),
      expired: await issue(client('orders-worker', 'orders'), workloadCa, { notBefore: new Date(Date.now() - 3 * DAY),
        notAfter: new Date(Date.now() - 2 * DAY) }),
      otherDomain: await issue({ ...client('orders-worker', 'orders'),
        uris: ['spiffe://other.example/ns/orders/temporal-client/orders-worker'] }, workloadCa),
      foreign: await issue(client('orders-worker', 'orders'), otherCa),
      // A platform identity from the workload CA (and the reverse): refused whatever the policy says.
      workloadAsPlatform: await issue(client('web', 'temporal', 'temporal-platform'), workloadCa),
      platformAsWorkload: await issue(client('orders-worker', 'orders'), platformCa),
      // A valid workload URI next to a platform one: the policy must never see the unchecked second URI.
      twoUris: await issue({ ...client('x', 'mallory'), uris: ['spiffe://cluster.local/ns/mallory/temporal-client/x',
        'spiffe://cluster.local/ns/temporal/temporal-platform/web'] }, workloadCa),
    },
    file: (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}
