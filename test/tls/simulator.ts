import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import {
  CertificateSpecJson, CryptoKeyPair, extensionsFor, generateKeys, parseGoDuration, signingAlgorithm, subjectName, x509,
} from './x509-spec';

/** A synthesized object (plain JSON from `Testing.synth`). */
export interface Manifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: Record<string, unknown>;
}

/** One Secret as cert-manager would write it. */
export interface IssuedSecret {
  readonly namespace: string;
  readonly secretName: string;
  /** The Certificate it was issued for. */
  readonly certificateName: string;
  readonly spec: CertificateSpecJson;
  /** The leaf (or CA) certificate. */
  readonly certificate: x509.X509Certificate;
  /** `tls.crt`: the certificate followed by its intermediates, without a self-signed root. */
  readonly chain: readonly x509.X509Certificate[];
  /** `ca.crt`: the top of the chain (for a self-signed certificate: itself). */
  readonly ca?: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
  /** File contents: `tls.crt`, `tls.key` (PKCS#8 PEM), `ca.crt`. */
  readonly files: Readonly<Record<string, string>>;
}

export interface IssueOptions {
  /** Validity window override (for expired certificates). @default now .. now + spec.duration */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Generate a new key even where rotationPolicy is Never; keep the key where false. @default - per rotationPolicy */
  readonly newKey?: boolean;
  /** Write this key into `tls.key` instead of the certificate's own (a key that does not match). */
  readonly mismatchedKey?: boolean;
}

const pem = (certs: readonly x509.X509Certificate[]): string => certs.map((c) => c.toString('pem')).join('\n') + '\n';

/**
 * Issues real X.509 certificates to the specs of synthesized cert-manager objects, the way cert-manager
 * v1.21 does: selfSigned and CA issuers (Issuer in the Certificate's namespace, ClusterIssuer reading its
 * Secret from the cluster resource namespace), subject, SANs, usages (KeyUsage critical, ExtKeyUsage),
 * basicConstraints, key algorithm and size, duration, rotationPolicy; Secrets shaped like cert-manager's
 * (`pkg/util/pki/parse_certificate_chain.go`): `tls.crt` = leaf + intermediates without the self-signed
 * root, `ca.crt` = the top of the chain.
 */
export class IssuanceSimulator {
  private readonly certificates: Manifest[];
  private readonly issuers: Manifest[];
  private readonly secrets = new Map<string, IssuedSecret>();
  private readonly clusterResourceNamespace: string;

  constructor(manifests: readonly Manifest[], options: { readonly clusterResourceNamespace?: string } = {}) {
    const cm = manifests.filter((m) => m.apiVersion === 'cert-manager.io/v1');
    this.certificates = cm.filter((m) => m.kind === 'Certificate');
    this.issuers = cm.filter((m) => m.kind === 'Issuer' || m.kind === 'ClusterIssuer');
    this.clusterResourceNamespace = options.clusterResourceNamespace ?? 'cert-manager';
  }

  /** Issues every Certificate, CAs before what they sign. Throws when an issuer never becomes ready. */
  public async issueAll(): Promise<ReadonlyMap<string, IssuedSecret>> {
    const pending = [...this.certificates];
    while (pending.length > 0) {
      const ready = pending.filter((c) => this.canIssue(c));
      if (ready.length === 0) {
        const names = pending.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`).join(', ');
        throw new Error(`cannot issue (issuer missing or its CA Secret never issued): ${names}`);
      }
      for (const cert of ready) {
        await this.issue(cert);
        pending.splice(pending.indexOf(cert), 1);
      }
    }
    return this.secrets;
  }

  /** The issued Secret `namespace/secretName`. */
  public secret(namespace: string, secretName: string): IssuedSecret {
    const secret = this.secrets.get(`${namespace}/${secretName}`);
    if (secret === undefined) {
      throw new Error(`no Secret ${namespace}/${secretName} issued`);
    }
    return secret;
  }

  /** Every issued Secret. */
  public all(): IssuedSecret[] {
    return [...this.secrets.values()];
  }

  /**
   * Takes the issuers of `manifests` in place of those of the same kind, namespace and name (an apply of changed
   * Issuer objects, such as a CA issuer moved to another key slot). Certificates issued from now on use them.
   */
  public applyIssuers(manifests: readonly Manifest[]): number {
    let applied = 0;
    for (const next of manifests.filter((m) => m.apiVersion === 'cert-manager.io/v1' && (m.kind === 'Issuer' || m.kind === 'ClusterIssuer'))) {
      const index = this.issuers.findIndex((i) => i.kind === next.kind && i.metadata?.name === next.metadata?.name &&
        i.metadata?.namespace === next.metadata?.namespace);
      if (index === -1) {
        throw new Error(`no ${next.kind} ${next.metadata?.namespace ?? ''}/${next.metadata?.name} to update`);
      }
      if (JSON.stringify(this.issuers[index]) !== JSON.stringify(next)) {
        this.issuers[index] = next;
        applied += 1;
      }
    }
    return applied;
  }

  /** Re-issues the Certificate behind `namespace/secretName` (renewal), honouring its rotationPolicy unless told. */
  public async reissue(namespace: string, secretName: string, options: IssueOptions = {}): Promise<IssuedSecret> {
    const cert = this.certificates.find((c) => c.metadata?.namespace === namespace && c.spec?.secretName === secretName);
    if (cert === undefined) {
      throw new Error(`no Certificate writes ${namespace}/${secretName}`);
    }
    return this.issue(cert, options);
  }

  /** A certificate of the same spec, returned without replacing the issued Secret (bad certificates for negative tests). */
  public async variant(namespace: string, secretName: string, options: IssueOptions): Promise<IssuedSecret> {
    const key = `${namespace}/${secretName}`;
    const current = this.secrets.get(key);
    const issued = await this.reissue(namespace, secretName, options);
    if (current !== undefined) {
      this.secrets.set(key, current);
    }
    return issued;
  }

  /** Writes each Secret to `<dir>/<namespace>/<secretName>/{tls.crt,tls.key,ca.crt}`; returns the per-secret dirs. */
  public writeTo(dir: string): Map<string, string> {
    const dirs = new Map<string, string>();
    for (const [key, secret] of this.secrets) {
      dirs.set(key, writeSecret(dir, secret));
    }
    return dirs;
  }

  private issuerOf(cert: Manifest): Manifest | undefined {
    const ref = (cert.spec?.issuerRef ?? {}) as { name?: string; kind?: string; group?: string };
    if ((ref.group ?? 'cert-manager.io') !== 'cert-manager.io') {
      return undefined;
    }
    const kind = ref.kind ?? 'Issuer';
    return this.issuers.find((i) => i.kind === kind && i.metadata?.name === ref.name &&
      (kind === 'ClusterIssuer' || i.metadata?.namespace === cert.metadata?.namespace));
  }

  private caSecretKey(issuer: Manifest): string | undefined {
    const ca = issuer.spec?.ca as { secretName?: string } | undefined;
    if (!ca?.secretName) {
      return undefined;
    }
    const namespace = issuer.kind === 'ClusterIssuer' ? this.clusterResourceNamespace : issuer.metadata?.namespace;
    return `${namespace}/${ca.secretName}`;
  }

  private canIssue(cert: Manifest): boolean {
    const issuer = this.issuerOf(cert);
    if (issuer === undefined) {
      return false;
    }
    if (issuer.spec?.selfSigned !== undefined) {
      return true;
    }
    const key = this.caSecretKey(issuer);
    return key !== undefined && this.secrets.has(key);
  }

  private async issue(cert: Manifest, options: IssueOptions = {}): Promise<IssuedSecret> {
    const spec = cert.spec as unknown as CertificateSpecJson;
    const namespace = cert.metadata?.namespace ?? 'default';
    const key = `${namespace}/${spec.secretName}`;
    const issuer = this.issuerOf(cert);
    if (issuer === undefined) {
      throw new Error(`${key}: issuer ${JSON.stringify(spec.issuerRef)} does not resolve`);
    }
    const previous = this.secrets.get(key);
    const rotate = options.newKey ?? (spec.privateKey?.rotationPolicy ?? 'Always') === 'Always';
    const keys = previous && !rotate ? previous.keys : await generateKeys(spec.privateKey);
    const selfSigned = issuer.spec?.selfSigned !== undefined;
    const signer = selfSigned ? undefined : this.secrets.get(this.caSecretKey(issuer) ?? '');
    if (!selfSigned && signer === undefined) {
      throw new Error(`${key}: CA Secret of issuer ${issuer.metadata?.name} not issued yet`);
    }
    const signingKey = signer ? signer.keys.privateKey : keys.privateKey;
    const notBefore = options.notBefore ?? new Date(Math.floor(Date.now() / 1000) * 1000);
    const notAfter = options.notAfter ?? new Date(notBefore.getTime() + parseGoDuration(spec.duration ?? '2160h'));
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: subjectName(spec),
      issuer: signer ? signer.certificate.subjectName : subjectName(spec),
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey,
      signingAlgorithm: signingAlgorithm(signingKey),
      extensions: await extensionsFor(spec, keys.publicKey, signer?.keys.publicKey),
    });
    const caCerts = signer ? [...signer.chain, ...(signer.ca ? [signer.ca] : [])] : [];
    const { chain, ca } = await buildBundle(certificate, caCerts);
    const keyForFile = options.mismatchedKey ? (await generateKeys(spec.privateKey)).privateKey : keys.privateKey;
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keyForFile);
    const files: Record<string, string> = {
      'tls.crt': pem(chain),
      'tls.key': `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`,
      ...(ca ? { 'ca.crt': pem([ca]) } : {}),
    };
    const issued: IssuedSecret = {
      namespace, secretName: spec.secretName, certificateName: cert.metadata?.name ?? '', spec, certificate, chain, ca, keys, files,
    };
    this.secrets.set(key, issued);
    return issued;
  }
}

/** Writes one Secret's files to `<dir>/<namespace>/<secretName>/`; returns that directory. */
export function writeSecret(dir: string, secret: IssuedSecret): string {
  const target = join(dir, secret.namespace, secret.secretName);
  mkdirSync(target, { recursive: true });
  for (const [file, content] of Object.entries(secret.files)) {
    writeFileSync(join(target, file), content, { mode: file === 'tls.key' ? 0o600 : 0o644 });
  }
  return target;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // positive
  bytes[0] |= 0x01; // no leading zero byte
  return Buffer.from(bytes).toString('hex');
}

async function isIssuedBy(child: x509.X509Certificate, parent: x509.X509Certificate): Promise<boolean> {
  return child.issuer === parent.subject && await child.verify({ publicKey: parent.publicKey, signatureOnly: true });
}

/**
 * cert-manager's ParseSingleCertificateChain: de-duplicate, link every certificate to its issuer, then
 * chain = leaf upwards without a self-signed top, ca = the top (a self-signed certificate alone: both).
 */
export async function buildBundle(leaf: x509.X509Certificate, caCerts: readonly x509.X509Certificate[]):
  Promise<{ chain: x509.X509Certificate[]; ca?: x509.X509Certificate }> {
  const unique = caCerts.filter((c, i) => caCerts.findIndex((d) => d.equal(c)) === i && !c.equal(leaf));
  const chain: x509.X509Certificate[] = [leaf];
  let current = leaf;
  for (;;) {
    const candidates = unique.filter((c) => !chain.some((d) => d.equal(c)));
    let parent: x509.X509Certificate | undefined;
    for (const candidate of candidates) {
      if (await isIssuedBy(current, candidate)) {
        parent = candidate;
        break;
      }
    }
    if (parent === undefined) {
      break;
    }
    chain.push(parent);
    current = parent;
  }
  const top = chain[chain.length - 1];
  const topSelfSigned = await top.isSelfSigned();
  if (chain.length === 1) {
    return topSelfSigned ? { chain, ca: top } : { chain };
  }
  return { chain: topSelfSigned ? chain.slice(0, -1) : chain, ca: top };
}
