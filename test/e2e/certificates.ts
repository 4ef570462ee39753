/**
 * The cert-manager of the end-to-end tier: issues every Certificate of the synthesized output with the
 * issuance simulator (test/tls/simulator.ts: real X.509 certificates to the spec of the synthesized
 * Issuer, ClusterIssuer and Certificate objects) into one directory per Secret,
 * `<root>/secrets/<namespace>/<secretName>/{tls.crt,tls.key,ca.crt}`, shaped like cert-manager's
 * Secrets. Pods get these files through their volume definitions (pods.ts), never by name.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ISSUED_BY_LABEL } from '../../lib/tls/identity';
import { IssuanceSimulator, IssuedSecret, IssueOptions, Manifest, writeSecret } from '../tls/simulator';
import type { KubeObject, Manifests, Secrets } from './manifests';

/** The files of one Secret as written on disk. */
export interface SecretFiles {
  readonly dir: string;
  /** `tls.crt`: the certificate and its intermediates. */
  readonly cert: string;
  /** `tls.key`: the private key (PKCS#8 PEM). */
  readonly key: string;
  /** `ca.crt`: the top of the chain. */
  readonly ca: string;
}

function filesOf(dir: string): SecretFiles {
  return { dir, cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
}

/** SHA-256 fingerprint of the first certificate of a PEM file, in Node's `AA:BB:...` form. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

export class CertificateStore {
  private constructor(
    private readonly sim: IssuanceSimulator,
    private readonly root: string,
    /** Every Certificate object, to find the one behind a Secret. */
    public readonly certificates: readonly KubeObject[],
  ) {}

  /** Issues every Certificate of `manifests` (CAs first) and writes the Secrets under `<root>/secrets`. */
  public static async issue(manifests: Manifests, root: string): Promise<CertificateStore> {
    const cm = manifests.objects.filter((o) => o.apiVersion === 'cert-manager.io/v1');
    const sim = new IssuanceSimulator(cm as unknown as Manifest[], {
      clusterResourceNamespace: manifests.clusterResourceNamespace,
    });
    await sim.issueAll();
    const store = new CertificateStore(sim, root, cm.filter((o) => o.kind === 'Certificate'));
    mkdirSync(join(root, 'secrets'), { recursive: true });
    sim.writeTo(join(root, 'secrets'));
    return store;
  }

  /** The Secrets of a namespace as the API server would serve them: name -> key -> content, read from the files. */
  public secrets(namespace: string): Secrets {
    const dir = join(this.root, 'secrets', namespace);
    if (!existsSync(dir)) {
      return {};
    }
    return Object.fromEntries(readdirSync(dir).map((name) => [name, Object.fromEntries(
      readdirSync(join(dir, name)).map((key) => [key, readFileSync(join(dir, name, key), 'utf8')]),
    )]));
  }

  /** Files of the issued Secret `namespace/secretName`. */
  public files(namespace: string, secretName: string): SecretFiles {
    this.sim.secret(namespace, secretName);
    return filesOf(join(this.root, 'secrets', namespace, secretName));
  }

  /** The issued Secret `namespace/secretName` (certificate, chain, keys). */
  public issued(namespace: string, secretName: string): IssuedSecret {
    return this.sim.secret(namespace, secretName);
  }

  /** The secretName of the one Certificate in `namespace` matching `predicate`. */
  public secretNameOf(namespace: string, predicate: (certificate: KubeObject) => boolean): string {
    const matches = this.certificates.filter((c) => c.metadata.namespace === namespace && predicate(c));
    if (matches.length !== 1) {
      throw new Error(`expected one matching Certificate in ${namespace}, found ${matches.map((c) => c.metadata.name).join(', ') || 'none'}`);
    }
    const secretName = (matches[0].spec as { secretName?: string }).secretName;
    if (secretName === undefined) {
      throw new Error(`Certificate ${namespace}/${matches[0].metadata.name} has no secretName`);
    }
    return secretName;
  }

  /**
   * cert-manager's renewal with a new private key (rotationPolicy Always): the Secret's files are
   * overwritten with the new certificate and key. Pods see them after their volumes are synced.
   */
  public async renew(namespace: string, secretName: string): Promise<IssuedSecret> {
    const issued = await this.sim.reissue(namespace, secretName, { newKey: true });
    writeSecret(join(this.root, 'secrets'), issued);
    return issued;
  }

  /**
   * Re-issues the Certificate behind `namespace/secretName` as cert-manager does: with `newKey`, a new key (its Secret
   * deleted, or rotationPolicy Always); without, the key it has (a CA renewed with rotationPolicy Never, re-signed by
   * its issuer's current key).
   */
  public async reissue(namespace: string, secretName: string, options: { readonly newKey: boolean }): Promise<IssuedSecret> {
    const issued = await this.sim.reissue(namespace, secretName, { newKey: options.newKey });
    writeSecret(join(this.root, 'secrets'), issued);
    return issued;
  }

  /** Applies the Issuers and ClusterIssuers of `manifests` (e.g. a CA issuer moved to another key slot); returns how many changed. */
  public applyIssuers(manifests: Manifests): number {
    return this.sim.applyIssuers(manifests.objects as unknown as Manifest[]);
  }

  /** Every Certificate (namespace and Secret name) labelled as issued by `purpose`: what `cmctl renew -A -l` selects. */
  public issuedBy(purpose: string): { namespace: string; secretName: string }[] {
    return this.certificates.filter((c) => c.metadata.labels?.[ISSUED_BY_LABEL] === purpose)
      .map((c) => ({ namespace: c.metadata.namespace ?? '', secretName: (c.spec as { secretName: string }).secretName }));
  }

  /**
   * A certificate of the same Certificate spec with `options` (expired, key that does not match),
   * written to `<root>/variants/<label>/`; the issued Secret stays as it is.
   */
  public async variant(namespace: string, secretName: string, label: string, options: IssueOptions): Promise<SecretFiles> {
    const issued = await this.sim.variant(namespace, secretName, options);
    return filesOf(writeSecret(join(this.root, 'variants', label), issued));
  }
}
