import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Certificate } from '../../imports/cert-manager.io';
import { IdentityRef } from '../core/component';
import { ValidationError } from '../core/errors';
import type { MountedServer } from './global-tls';
import { IssuerReference } from './issuer-check';
import { KEY_FILE_MODE, TLS_FILES, TlsMount, tlsMount } from './layout';
import { CertificateRole } from './settings';
import { certManagerSpec, CertificateSpecification } from './specification';
import { CaPurpose, CertificateView, ServerView } from './trust';

/** Label of every leaf Certificate (and its Secret): the purpose CA that issued it. */
export const ISSUED_BY_LABEL = 'secure-temporal.io/issued-by';

/**
 * How a certificate comes into being: cert-manager issues it from `issuerRef` (a Certificate object is
 * synthesized), or its Secret is `provided` by something else that minted it from the same specification
 * (e.g. `@pulumi/tls` on the Pulumi path), and nothing is synthesized for it.
 */
export type Issuance =
  | { readonly kind: 'cert-manager'; readonly issuerRef: IssuerReference }
  | { readonly kind: 'provided' };

/** Everything one leaf certificate is made of. Use the `TemporalPki.issue*` facades rather than this directly. */
export interface TlsIdentityProps {
  /** Identity name, e.g. `internode`, `frontend`, `web`, `orders-worker`. */
  readonly name: string;
  /** What is issued: names, SANs, usages, key, lifetime, the Secret. */
  readonly specification: CertificateSpecification;
  /** The purpose CA that issues it. */
  readonly issuedBy: CaPurpose | 'database-clients';
  readonly issuance: Issuance;
  /** For server certificates: the name clients verify. Must be one of the DNS names. @default - not a server */
  readonly serverName?: string;
  /** For server certificates: the CAs whose leaves the listener accepts. @default - none */
  readonly acceptsClientsFrom?: readonly CaPurpose[];
  /** For workload identities: the Temporal namespaces it is meant for. @default - none */
  readonly temporalNamespaces?: readonly string[];
  /** Default mount directory. */
  readonly mountDir: string;
}

/**
 * One leaf certificate and everything a consumer needs to use it: the Secret's name and namespace, its DNS
 * names and usages, the issuing CA and the mount layout (`tls.crt` with the chain, `tls.key`). It lives in
 * the scope of the construct that uses it. The private key only ever exists in that Secret: it is never
 * rendered into a ConfigMap or an env var.
 */
export class TlsIdentity extends Construct implements CertificateView, IdentityRef {
  public readonly path: string;
  public readonly role: Exclude<CertificateRole, 'ca'>;
  public readonly name: string;
  public readonly namespace: string;
  public readonly secretName: string;
  public readonly issuedBy: CaPurpose | 'database-clients';
  public readonly issuance: Issuance;
  public readonly commonName?: string;
  public readonly dnsNames: readonly string[];
  public readonly uris: readonly string[];
  public readonly usages: readonly string[];
  /** For server certificates: the name clients verify (derived from the Service that serves it). */
  public readonly serverName?: string;
  /** For server certificates: the CAs whose client certificates the listener accepts. */
  public readonly acceptsClientsFrom: readonly CaPurpose[];
  /** For workload identities: the Temporal namespaces it is meant for (enforced once authorization is on). */
  public readonly temporalNamespaces: readonly string[];
  /** Default mount directory. */
  public readonly mountDir: string;
  /** What is issued, whoever issues it. */
  public readonly specification: CertificateSpecification;
  /** The cert-manager Certificate (cert-manager issuance only). */
  public readonly certificate?: Certificate;

  constructor(scope: Construct, id: string, props: TlsIdentityProps) {
    super(scope, id);
    const spec = props.specification;
    if (spec.role === 'ca') {
      throw new ValidationError('INVALID_TLS', this.node.path, 'a TlsIdentity is a leaf, not a CA', spec.role,
        'issue CAs through TemporalPki');
    }
    this.path = this.node.path;
    this.role = spec.role;
    this.name = props.name;
    this.namespace = spec.namespace;
    this.secretName = spec.secretName;
    this.issuedBy = props.issuedBy;
    this.issuance = props.issuance;
    this.commonName = spec.commonName;
    this.dnsNames = [...new Set(spec.dnsNames)];
    this.uris = [...spec.uris];
    this.usages = [...spec.usages];
    this.serverName = props.serverName;
    this.acceptsClientsFrom = [...(props.acceptsClientsFrom ?? [])];
    this.temporalNamespaces = [...(props.temporalNamespaces ?? [])];
    this.mountDir = props.mountDir;
    this.specification = { ...spec, dnsNames: this.dnsNames };
    if (this.commonName === undefined && this.dnsNames.length === 0 && this.uris.length === 0) {
      throw new ValidationError('INVALID_TLS', this.path, 'a certificate needs a common name, a DNS name or a URI', props.name,
        'give the identity a name');
    }
    if (this.commonName !== undefined && this.commonName.length > 64) {
      throw new ValidationError('INVALID_TLS', this.path, 'commonName must be at most 64 characters', this.commonName,
        'shorten the identity name');
    }
    if (props.issuance.kind === 'cert-manager') {
      this.certificate = new Certificate(this, 'Certificate', {
        metadata: { name: spec.certificateName, namespace: spec.namespace, labels: { ...spec.labels } },
        spec: certManagerSpec(this.specification, props.issuance.issuerRef),
      });
    }
  }

  /** Paths of this certificate mounted at `dir`. */
  public mount(dir: string = this.mountDir): TlsMount {
    return tlsMount(dir);
  }

  /**
   * A Secret volume with `tls.crt` and `tls.key` only (mode 0440: readable through the pod's fsGroup).
   * `ca.crt` is left out on purpose: trust anchors come from the PKI's trust volume. Usable only by pods
   * in this identity's namespace.
   */
  public volume(volumeName: string): k8s.Volume {
    return {
      name: volumeName,
      secret: {
        secretName: this.secretName,
        defaultMode: KEY_FILE_MODE,
        items: [{ key: TLS_FILES.cert, path: TLS_FILES.cert }, { key: TLS_FILES.key, path: TLS_FILES.key }],
      },
    };
  }

  /** A read-only mount of `volume(volumeName)` at `dir`. */
  public volumeMount(volumeName: string, dir: string = this.mountDir): k8s.VolumeMount {
    return { name: volumeName, mountPath: dir, readOnly: true };
  }

  /** The server view (serverName, accepted client CAs, mount), for `buildGlobalTls` and `clientConnection`. */
  public asServer(dir: string = this.mountDir): MountedServer {
    const issuedBy = this.issuedBy;
    if (this.serverName === undefined || issuedBy === 'database-clients') {
      throw new ValidationError('INVALID_TLS', this.path, `the "${this.name}" certificate is not a server certificate`,
        this.role, 'use a server or internode identity');
    }
    const view: ServerView = {
      path: this.path,
      name: this.name,
      issuedBy,
      dnsNames: this.dnsNames,
      usages: this.usages,
      serverName: this.serverName,
      acceptsClientsFrom: this.acceptsClientsFrom,
    };
    return { ...view, mount: this.mount(dir) };
  }
}
