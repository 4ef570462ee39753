import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Certificate } from '../../imports/cert-manager.io';
import { ValidationError } from '../errors';
import { componentLabels } from '../temporal/labels';
import { IssuerReference } from './issuer-check';
import { KEY_FILE_MODE, TLS_FILES, TlsMount, tlsMount } from './layout';
import { CertificateRole, Lifetime, privateKeySpec, ResolvedPrivateKey, usagesFor } from './settings';
import { CaPurpose, CertificateView, ServerView } from './trust';
import type { MountedServer } from './global-tls';

/** Label of every leaf Certificate (and its Secret): the purpose CA that issued it. */
export const ISSUED_BY_LABEL = 'secure-temporal.io/issued-by';

/** Everything one leaf certificate is made of. Use the `TemporalPki.issue*` facades rather than this directly. */
export interface TlsIdentityProps {
  /** Instance name for labels (the PKI's name). */
  readonly instance: string;
  /** What the certificate is for; decides its usages. */
  readonly role: Exclude<CertificateRole, 'ca'>;
  /** Identity name, e.g. `internode`, `frontend`, `web`, `orders-worker`. */
  readonly name: string;
  /** Namespace of the Certificate and of the Secret cert-manager writes. */
  readonly namespace: string;
  /** Name of the Certificate object. */
  readonly certificateName: string;
  /** Name of the Secret cert-manager writes (`tls.crt`, `tls.key`, `ca.crt`). */
  readonly secretName: string;
  /** The purpose CA that issues it. */
  readonly issuedBy: CaPurpose;
  /** The issuer object of that CA. */
  readonly issuerRef: IssuerReference;
  /** Key algorithm and size. */
  readonly privateKey: ResolvedPrivateKey;
  /** Duration and renewBefore. */
  readonly lifetime: Lifetime;
  /** Subject common name. @default - none */
  readonly commonName?: string;
  /** DNS SANs (servers: every name clients use). @default - none */
  readonly dnsNames?: readonly string[];
  /** URI SANs (clients: a stable identity). @default - none */
  readonly uris?: readonly string[];
  /** For server certificates: the name clients verify. Must be one of dnsNames. @default - not a server */
  readonly serverName?: string;
  /** For server certificates: the CAs whose leaves the listener accepts. @default - none */
  readonly acceptsClientsFrom?: readonly CaPurpose[];
  /** For workload identities: the Temporal namespaces it is meant for. @default - none */
  readonly temporalNamespaces?: readonly string[];
  /** Default mount directory. */
  readonly mountDir: string;
}

/**
 * One leaf certificate (a cert-manager Certificate) and everything a consumer needs to use it: the
 * Secret's name and namespace, its DNS names and usages, the issuing CA and the mount layout
 * (`tls.crt` with the chain, `tls.key`). The private key only ever exists in that Secret: it is never
 * rendered into a ConfigMap or an env var.
 */
export class TlsIdentity extends Construct implements CertificateView {
  public readonly path: string;
  public readonly role: Exclude<CertificateRole, 'ca'>;
  public readonly name: string;
  public readonly namespace: string;
  public readonly secretName: string;
  public readonly issuedBy: CaPurpose;
  public readonly issuerRef: IssuerReference;
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
  public readonly certificate: Certificate;

  constructor(scope: Construct, id: string, props: TlsIdentityProps) {
    super(scope, id);
    this.path = this.node.path;
    this.role = props.role;
    this.name = props.name;
    this.namespace = props.namespace;
    this.secretName = props.secretName;
    this.issuedBy = props.issuedBy;
    this.issuerRef = props.issuerRef;
    this.commonName = props.commonName;
    this.dnsNames = [...new Set(props.dnsNames ?? [])];
    this.uris = [...(props.uris ?? [])];
    this.serverName = props.serverName;
    this.acceptsClientsFrom = [...(props.acceptsClientsFrom ?? [])];
    this.temporalNamespaces = [...(props.temporalNamespaces ?? [])];
    this.mountDir = props.mountDir;
    const usages = usagesFor(props.role, props.privateKey.algorithm);
    this.usages = usages.map(String);
    if (this.commonName === undefined && this.dnsNames.length === 0 && this.uris.length === 0) {
      throw new ValidationError('INVALID_TLS', this.path, 'a certificate needs a common name, a DNS name or a URI', props.name,
        'give the identity a name');
    }
    if (this.commonName !== undefined && this.commonName.length > 64) {
      throw new ValidationError('INVALID_TLS', this.path, 'commonName must be at most 64 characters', this.commonName,
        'shorten the identity name');
    }
    // The issuing CA as a label, so that all leaves of one CA can be renewed at once during a CA key
    // rotation: `cmctl renew -A -l secure-temporal.io/issued-by=<purpose>`.
    const labels = { ...componentLabels(props.instance, 'tls'), [ISSUED_BY_LABEL]: props.issuedBy };
    this.certificate = new Certificate(this, 'Certificate', {
      metadata: { name: props.certificateName, namespace: props.namespace, labels },
      spec: {
        secretName: props.secretName,
        secretTemplate: { labels },
        issuerRef: { name: props.issuerRef.name, kind: props.issuerRef.kind, group: props.issuerRef.group ?? 'cert-manager.io' },
        ...(this.commonName !== undefined ? { commonName: this.commonName } : {}),
        ...(this.dnsNames.length > 0 ? { dnsNames: [...this.dnsNames] } : {}),
        ...(this.uris.length > 0 ? { uris: [...this.uris] } : {}),
        duration: props.lifetime.duration,
        renewBefore: props.lifetime.renewBefore,
        // Leaves always get a new key on every issuance: a stolen key dies with its certificate.
        privateKey: privateKeySpec(props.privateKey, 'Always'),
        usages,
      },
    });
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
    if (this.serverName === undefined) {
      throw new ValidationError('INVALID_TLS', this.path, `the "${this.name}" certificate is not a server certificate`,
        this.role, 'use a server or internode identity');
    }
    const view: ServerView = {
      path: this.path,
      name: this.name,
      issuedBy: this.issuedBy,
      dnsNames: this.dnsNames,
      usages: this.usages,
      serverName: this.serverName,
      acceptsClientsFrom: this.acceptsClientsFrom,
    };
    return { ...view, mount: this.mount(dir) };
  }
}
