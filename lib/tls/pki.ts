import { ApiObject, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Certificate, Issuer } from '../../imports/cert-manager.io';
import { ServiceDns, serviceDnsNames, serviceFqdn, requireServiceDns } from '../core/dns';
import { ValidationError } from '../core/errors';
import { Installation, InstallationScopedProps } from '../core/installation';
import { componentLabels } from '../core/labels';
import { requireDnsLabel, requireDnsName, requireTemporalNamespaceName } from '../core/names';
import { rollback } from '../core/rollback';
import { caSpecification, caSpecifications, createGeneratedChain, secondSlotSpecifications } from './generated-chain';
import { buildGlobalTls, ExpirationChecksProps, GlobalTlsConfig } from './global-tls';
import { ISSUED_BY_LABEL, Issuance, TlsIdentity } from './identity';
import { DeclaredIssuer, isClusterScoped, IssuerReference, issuerProblems, ManifestObject } from './issuer-check';
import {
  CaSlot, IDENTITY_DIRS, ROOT_ANCHOR_FILE, TRUST_DIR, TRUST_FILE_MODE, trustAnchorFile, trustAnchorFileName,
} from './layout';
import { CertificateRole, KeyRotationPolicy, lifetime, Lifetime, PrivateKeyProps, resolvePrivateKey, ResolvedPrivateKey, usagesFor } from './settings';
import { SigningKey } from './signing-key';
import { CaName, certManagerSpec, CertificateSpecification, specificationProblems } from './specification';
import {
  assertSeparableCas, externalByPurpose, ExternalPkiProps, requireCaBundle, requireTrustSource, TrustSource,
} from './sources';
import { CA_PURPOSES, CaPurpose, FrontendAccess, frontendClientCas, INTERNODE_CLIENT_CAS } from './trust';

/**
 * Who issues the certificates:
 * - `cert-manager`: the PKI synthesizes cert-manager Issuers and Certificates (the generated chain, or
 *   Certificates against your `external` issuers);
 * - `provided`: nothing of cert-manager is synthesized; every Secret is minted outside (e.g. by `@pulumi/tls`
 *   on the Pulumi path) from `pki.specifications()`, with the same names and shape.
 */
export type CertificateIssuance = 'cert-manager' | 'provided';

/** Props of the PKI; its installation (name prefix, namespace, cluster domain) is shared with the cluster. */
export interface TemporalPkiProps extends InstallationScopedProps {
  /** Who issues the certificates. @default 'cert-manager' */
  readonly issuance?: CertificateIssuance;
  /** Key algorithm and size of every key. @default { algorithm: 'ECDSA', size: 256 } */
  readonly privateKey?: PrivateKeyProps;
  /** Lifetime of the root CA (and of the workload CA, itself a root). @default Duration.days(3650) (10 years) */
  readonly rootCaDuration?: Duration;
  /** Lifetime of the purpose CAs under the root. @default Duration.days(1825) (5 years) */
  readonly caDuration?: Duration;
  /** How long before expiry a CA is renewed. @default Duration.days(365) */
  readonly caRenewBefore?: Duration;
  /**
   * Key rotation when a CA is renewed. `Never` (default): the renewed CA certificate keeps its key, so
   * every leaf it signed stays valid and no peer notices. `Always` replaces the key: cert-manager then does
   * NOT re-issue that CA's leaves, and every peer anchoring on the CA rejects them until they are
   * re-issued, an outage unless you follow the overlap procedure in docs/SECURITY.md. Leaves always rotate
   * their key (`Always`), whatever this says.
   * @default 'Never'
   */
  readonly caPrivateKeyRotationPolicy?: KeyRotationPolicy;
  /** Lifetime of leaf certificates. @default Duration.days(90) */
  readonly leafDuration?: Duration;
  /** How long before expiry a leaf is renewed. @default Duration.days(30) */
  readonly leafRenewBefore?: Duration;
  /**
   * cert-manager's `--cluster-resource-namespace`: where a ClusterIssuer reads its CA Secret. The workload
   * CA (a ClusterIssuer, so that it can issue into the namespaces where workers run) is created there.
   * @default 'cert-manager'
   */
  readonly clusterResourceNamespace?: string;
  /** cert-manager issuers you already run, in place of the generated chain. @default - the generated chain */
  readonly external?: ExternalPkiProps;
  /**
   * Replace a purpose's trust anchor with this PEM bundle, e.g. old + new CA during a key rotation (see
   * the overlap procedure in docs/SECURITY.md). Public certificates only.
   * @default - none
   */
  readonly trustOverrides?: Partial<Record<CaPurpose, string>>;
  /**
   * Which key slot of each purpose CA signs new leaves (generated chain only). Every purpose CA has two
   * slots, two CA certificates with their own keys, and every peer trusts both at all times; the other slot
   * signs nothing. A rollover moves signing to the other slot, re-issues the leaves, then re-keys the
   * retired slot: no peer ever meets a leaf it does not trust (docs/SECURITY.md "CA rollover").
   * @default - slot 1 for every purpose
   */
  readonly caSigningSlots?: Partial<Record<CaPurpose, CaSlot>>;
}

/** A client identity of a user workload (a worker app, a CI job). */
export interface ClientIdentityProps {
  /** Identity name, a DNS label (e.g. `orders-worker`); with the namespace it makes the identity. */
  readonly name: string;
  /** Kubernetes namespace of the workload: its certificate's Secret is created there. */
  readonly namespace: string;
  /** Temporal namespaces this workload is meant to use (enforced once authorization is on). */
  readonly temporalNamespaces: readonly string[];
  /** @default '<name>-temporal-tls' */
  readonly secretName?: string;
}

export interface ServerCertificateProps {
  /** The Service that serves the certificate: SANs are all its DNS names. */
  readonly service: ServiceDns;
  /** Extra DNS names clients use (an ingress host, an external load balancer name). @default - none */
  readonly extraHosts?: readonly string[];
}

interface LeafRequest {
  readonly role: Exclude<CertificateRole, 'ca'>;
  readonly name: string;
  readonly purpose: CaPurpose | 'database-clients';
  /** The issuer of a `database-clients` leaf, or of a trust carrier (its slot's issuer). @default - the purpose's issuer */
  readonly issuerRef?: IssuerReference;
  readonly namespace: string;
  readonly secretName?: string;
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly uris?: readonly string[];
  readonly serverName?: string;
  readonly acceptsClientsFrom?: readonly CaPurpose[];
  readonly temporalNamespaces?: readonly string[];
  readonly mountDir: string;
}

/**
 * The PKI of a Temporal installation: a generated chain (self-signed root -> internode, frontend and
 * platform-clients CAs; the workload CA as a separate root), issued by cert-manager or minted outside, or
 * your existing cert-manager issuers; the trust anchors each listener mounts; and facades that issue a
 * leaf certificate into the scope of the construct that uses it (`issue*(scope, id, ...)`). See
 * docs/SECURITY.md for the trust graph and rotation.
 */
export class TemporalPki extends Construct {
  public readonly installation: Installation;
  public readonly name: string;
  public readonly namespace: string;
  public readonly clusterDomain: string;
  public readonly clusterResourceNamespace: string;
  /** `generated` (our chain, cert-manager), `external` (your cert-manager issuers) or `provided` (minted outside). */
  public readonly mode: 'generated' | 'external' | 'provided';
  public readonly privateKey: ResolvedPrivateKey;
  public readonly leafLifetime: Lifetime;
  public readonly leafRenewBefore: Duration;
  public readonly caPrivateKeyRotationPolicy: KeyRotationPolicy;
  /** The cert-manager issuer of each purpose (none with `provided` issuance; workload only if configured). */
  public readonly issuers: Readonly<Partial<Record<CaPurpose, IssuerReference>>>;
  /** Where each purpose's trust anchor comes from (slot 1 of the generated chain, an override or an external anchor). */
  public readonly trustSources: Readonly<Partial<Record<CaPurpose, TrustSource>>>;
  /** Where the second slot's anchor of each generated purpose CA comes from (none when overridden or not generated). */
  public readonly secondSlotTrustSources: Readonly<Partial<Record<CaPurpose, TrustSource>>>;
  /** Which slot of each purpose CA signs new leaves (generated chain; slot 1 otherwise). */
  public readonly caSigningSlots: Readonly<Record<CaPurpose, CaSlot>>;
  /** The CA certificates of the generated chain (`root` and the purposes), empty unless `generated`. */
  public readonly caCertificates: Readonly<Partial<Record<CaName, Certificate>>>;
  /** Specifications of the CAs this PKI defines (generated and provided modes). */
  public readonly caSpecifications: Readonly<Partial<Record<CaName, CertificateSpecification>>>;
  /** Specifications of the second key slot of each purpose CA (generated chain only). */
  public readonly secondSlotCaSpecifications: Readonly<Partial<Record<CaPurpose, CertificateSpecification>>>;
  /** ConfigMap of PEM trust anchors (overrides, external `{ pem }` anchors), when there are any. */
  public readonly trustConfigMap?: k8s.KubeConfigMap;
  /** The certificate that carries the workload CA into the Temporal namespace (generated mode): slot 1's. */
  public readonly workloadTrustCarrier?: TlsIdentity;
  /** The trust carrier of the workload CA's second slot (generated mode). */
  public readonly workloadSecondSlotCarrier?: TlsIdentity;
  /**
   * The generated root CA's certificate (one key of its Secret), for OpenSSL-based verifiers such as
   * PostgreSQL that only accept chains ending at a self-signed root. Undefined with external issuers.
   */
  public readonly rootTrustSource?: { readonly secretName: string; readonly key: string };
  /** Logical name every internode certificate carries and every internode client verifies. */
  public readonly internodeServerName: string;
  private readonly labels: Record<string, string>;
  /** Every leaf and signing key issued from this PKI, by `<namespace>/<secretName>`. */
  private readonly issued = new Map<string, TlsIdentity | SigningKey>();
  /** The self-signed issuer of signing keys (cert-manager issuance), made on first use. */
  private signingIssuer?: IssuerReference;
  /** Lifetime of the purpose CAs. */
  private readonly caLifetime: Lifetime;
  /** The database-clients CA, made on first use: its specification and (cert-manager issuance) its Issuer. */
  private databaseClientsCa?: { readonly specification: CertificateSpecification; readonly issuerRef?: IssuerReference };

  constructor(scope: Construct, id: string, props: TemporalPkiProps = {}) {
    super(scope, id);
    try {
      const path = this.node.path;
      this.installation = Installation.resolve(this, props);
      this.name = this.installation.name;
      this.namespace = this.installation.namespace;
      this.clusterDomain = this.installation.clusterDomain;
      this.clusterResourceNamespace = requireDnsLabel(path, 'clusterResourceNamespace',
        props.clusterResourceNamespace ?? 'cert-manager', { example: 'cert-manager' });
      const issuance = props.issuance ?? 'cert-manager';
      if (issuance !== 'cert-manager' && issuance !== 'provided') {
        throw new ValidationError('INVALID_TLS', path, 'issuance must be "cert-manager" or "provided"', issuance,
          'use "cert-manager", or "provided" when the Secrets are minted outside the cluster');
      }
      if (issuance === 'provided' && props.external !== undefined) {
        throw new ValidationError('INVALID_TLS', path, 'external issuers are cert-manager issuers: they need cert-manager issuance',
          'external', 'drop external, or use issuance "cert-manager"');
      }
      this.privateKey = resolvePrivateKey(path, props.privateKey);
      this.leafRenewBefore = props.leafRenewBefore ?? Duration.days(30);
      this.leafLifetime = lifetime(path, 'leaf', props.leafDuration ?? Duration.days(90), this.leafRenewBefore);
      const caDuration = props.caDuration ?? Duration.days(1825);
      const rootDuration = props.rootCaDuration ?? Duration.days(3650);
      const caRenewBefore = props.caRenewBefore ?? Duration.days(365);
      const caLifetime = lifetime(path, 'CA', caDuration, caRenewBefore);
      this.caLifetime = caLifetime;
      const rootLifetime = lifetime(path, 'root CA', rootDuration, caRenewBefore);
      const leafSeconds = (props.leafDuration ?? Duration.days(90)).toSeconds();
      if (caDuration.toSeconds() > rootDuration.toSeconds() || leafSeconds > caDuration.toSeconds()) {
        throw new ValidationError('INVALID_TLS', path, 'lifetimes must nest: leaf <= CA <= root CA',
          { leaf: this.leafLifetime.duration, ca: caLifetime.duration, root: rootLifetime.duration },
          'shorten the inner lifetime or lengthen the outer one');
      }
      this.caPrivateKeyRotationPolicy = props.caPrivateKeyRotationPolicy ?? 'Never';
      if (!['Never', 'Always'].includes(this.caPrivateKeyRotationPolicy)) {
        throw new ValidationError('INVALID_TLS', path, 'caPrivateKeyRotationPolicy must be "Never" or "Always"',
          this.caPrivateKeyRotationPolicy, 'keep the default "Never" unless you follow the overlap procedure');
      }
      this.internodeServerName = `${this.name}-internode.${this.namespace}.svc.${this.clusterDomain}`;
      this.labels = componentLabels(this.name, 'tls');

      // Every prop is validated before the first child object exists: a bad prop leaves nothing behind.
      const overrides: Partial<Record<CaPurpose, TrustSource>> = {};
      for (const [purpose, pem] of Object.entries(props.trustOverrides ?? {}) as [CaPurpose, string][]) {
        if (!CA_PURPOSES.includes(purpose)) {
          throw new ValidationError('INVALID_TLS', `${path}/trustOverrides`, 'unknown purpose', purpose, `use one of ${CA_PURPOSES.join(', ')}`);
        }
        overrides[purpose] = { pem: requireCaBundle(`${path}/trustOverrides`, purpose, pem) };
      }
      const signingSlots: Record<CaPurpose, CaSlot> = { internode: 1, frontend: 1, 'platform-clients': 1, workload: 1 };
      if (props.caSigningSlots !== undefined) {
        if (props.external !== undefined || issuance === 'provided') {
          throw new ValidationError('INVALID_TLS', `${path}/caSigningSlots`, 'signing slots belong to the generated chain',
            props.caSigningSlots, 'drop caSigningSlots: your own issuers (or the certificates minted outside) decide who signs');
        }
        for (const [purpose, slot] of Object.entries(props.caSigningSlots) as [string, unknown][]) {
          if (!CA_PURPOSES.includes(purpose as CaPurpose)) {
            throw new ValidationError('INVALID_TLS', `${path}/caSigningSlots`, 'unknown purpose', purpose, `use one of ${CA_PURPOSES.join(', ')}`);
          }
          if (slot !== 1 && slot !== 2) {
            throw new ValidationError('INVALID_TLS', `${path}/caSigningSlots/${purpose}`, 'a signing slot is 1 or 2', slot,
              'set 2 to move signing to the second slot (the rollover in docs/SECURITY.md), or 1 (the default)');
          }
          signingSlots[purpose as CaPurpose] = slot;
          // An override replaces both slots' anchors: leaves of slot 2 would meet peers that trust the override alone.
          if (slot === 2 && overrides[purpose as CaPurpose] !== undefined) {
            throw new ValidationError('INVALID_TLS', `${path}/caSigningSlots/${purpose}`,
              `trustOverrides.${purpose} replaces both key slots' anchors, so peers would not trust the leaves slot 2 signs`, slot,
              `drop trustOverrides.${purpose} before moving signing to slot 2 (docs/SECURITY.md "CA rollover")`);
          }
        }
      }
      this.caSigningSlots = signingSlots;
      const sources: Partial<Record<CaPurpose, TrustSource>> = {};
      const secondSources: Partial<Record<CaPurpose, TrustSource>> = {};
      const issuers: Partial<Record<CaPurpose, IssuerReference>> = {};
      let cas: Partial<Record<CaName, Certificate>> = {};
      let specs: Partial<Record<CaName, CertificateSpecification>> = {};
      let secondSpecs: Partial<Record<CaPurpose, CertificateSpecification>> = {};
      let workloadSlotIssuers: Record<CaSlot, IssuerReference> | undefined;
      if (props.external) {
        this.mode = 'external';
        const byPurpose = externalByPurpose(props.external);
        for (const [purpose, ca] of Object.entries(byPurpose) as [CaPurpose, NonNullable<typeof byPurpose.internode>][]) {
          const at = `${path}/external/${purpose}`;
          requireDnsName(at, 'issuer name', ca?.issuer?.name, { example: 'vault-temporal' });
          const certManagerGroup = (ca.issuer.group ?? 'cert-manager.io') === 'cert-manager.io';
          if (certManagerGroup ? !['Issuer', 'ClusterIssuer'].includes(ca.issuer.kind) : !/^[A-Z][A-Za-z0-9]*$/.test(ca.issuer.kind ?? '')) {
            throw new ValidationError('INVALID_TLS', at,
              'issuer.kind must be Issuer or ClusterIssuer (or the kind of an external issuer of another group)',
              ca.issuer.kind, 'use "ClusterIssuer" for an issuer shared across namespaces');
          }
          issuers[purpose] = ca.issuer;
          sources[purpose] = requireTrustSource(at, 'trustAnchor', ca.trustAnchor);
        }
        assertSeparableCas(`${path}/external`, byPurpose);
      } else {
        this.mode = issuance === 'provided' ? 'provided' : 'generated';
        const settings = {
          name: this.name,
          namespace: this.namespace,
          // Minted outside, the workload CA needs no ClusterIssuer: its Secret sits in the Temporal namespace.
          workloadNamespace: this.mode === 'generated' ? this.clusterResourceNamespace : this.namespace,
          privateKey: this.privateKey,
          rotation: this.caPrivateKeyRotationPolicy,
          rootLifetime,
          caLifetime,
          labels: this.labels,
          signingSlots,
        };
        specs = caSpecifications(settings);
        for (const purpose of CA_PURPOSES) {
          sources[purpose] = { secretName: specs[purpose]?.secretName as string, key: 'tls.crt' };
        }
        this.rootTrustSource = { secretName: specs.root?.secretName as string, key: 'tls.crt' };
        if (this.mode === 'generated') {
          const first = specs as Record<CaName, CertificateSpecification>;
          secondSpecs = secondSlotSpecifications(settings, first);
          const chain = createGeneratedChain(this, settings, first, secondSpecs as Record<CaPurpose, CertificateSpecification>);
          Object.assign(issuers, chain.issuers);
          cas = chain.certificates;
          Object.assign(secondSources, chain.secondSlotSources);
          workloadSlotIssuers = chain.workloadSlotIssuers;
          // The workload CA's Secret lives in the cluster resource namespace: its anchor comes by carrier.
          delete sources.workload;
        }
      }
      this.issuers = issuers;
      this.caCertificates = cas;
      this.caSpecifications = specs;
      this.secondSlotCaSpecifications = secondSpecs;

      Object.assign(sources, overrides);
      // An override replaces the purpose's anchors, both slots.
      for (const purpose of Object.keys(overrides) as CaPurpose[]) {
        delete secondSources[purpose];
      }
      const pems: Record<string, string> = {};
      for (const [purpose, source] of Object.entries(sources) as [CaPurpose, TrustSource][]) {
        if ('pem' in source) {
          pems[trustAnchorFileName(purpose)] = source.pem;
        }
      }
      if (Object.keys(pems).length > 0) {
        this.trustConfigMap = new k8s.KubeConfigMap(this, 'TrustAnchors', {
          metadata: { name: `${this.name}-tls-trust-anchors`, labels: this.labels },
          data: Object.fromEntries(Object.entries(pems).sort(([a], [b]) => a.localeCompare(b))),
        });
      }
      if (this.mode === 'generated' && sources.workload === undefined && workloadSlotIssuers !== undefined) {
        // cert-manager writes the issuing CA into `ca.crt` of every Secret it issues; for the self-signed
        // workload CA that is exactly the workload CA. These carriers bring it into the Temporal namespace, one
        // per slot, each issued by its slot's own ClusterIssuer (whatever slot signs workload certificates).
        this.workloadTrustCarrier = this.leaf(this, 'WorkloadTrustCarrier', {
          role: 'trust-carrier', name: 'workload-ca-anchor', purpose: 'workload', namespace: this.namespace,
          commonName: `${this.name} workload CA anchor`, mountDir: TRUST_DIR, issuerRef: workloadSlotIssuers[1],
        });
        sources.workload = { secretName: this.workloadTrustCarrier.secretName, key: 'ca.crt' };
        this.workloadSecondSlotCarrier = this.leaf(this, 'WorkloadSecondSlotCarrier', {
          role: 'trust-carrier', name: 'workload-ca-2-anchor', purpose: 'workload', namespace: this.namespace,
          commonName: `${this.name} workload CA 2 anchor`, mountDir: TRUST_DIR, issuerRef: workloadSlotIssuers[2],
        });
        secondSources.workload = { secretName: this.workloadSecondSlotCarrier.secretName, key: 'ca.crt' };
      }
      this.trustSources = sources;
      this.secondSlotTrustSources = secondSources;
      this.node.addValidation({ validate: () => this.issuanceProblems() });
    } catch (error) {
      rollback(this, error);
    }
  }

  /**
   * An internode certificate: SANs are the logical internode name (which every internode client verifies)
   * plus every DNS name of the Services it is served behind (a service's headless Service; the
   * internal-frontend Service). Give each server service its own (`name`: `history-internode` ...), so that
   * a stolen key is one service's.
   */
  public issueInternodeCertificate(scope: Construct, id: string, props: {
    readonly servedBy?: readonly ServiceDns[];
    /** @default 'internode' */
    readonly name?: string;
  } = {}): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    const names = (props.servedBy ?? []).flatMap((s) => serviceDnsNames(requireServiceDns(at, s)));
    const name = requireDnsLabel(at, 'name', props.name ?? 'internode', { example: 'history-internode' });
    return this.leaf(scope, id, {
      role: 'internode', name, purpose: 'internode', namespace: this.namespace,
      commonName: this.internodeServerName.length <= 64 ? this.internodeServerName : undefined,
      dnsNames: [this.internodeServerName, ...names], serverName: this.internodeServerName,
      acceptsClientsFrom: INTERNODE_CLIENT_CAS, mountDir: IDENTITY_DIRS.internode,
    });
  }

  /**
   * The frontend's server certificate: every DNS name of its Service plus `extraHosts`. The CAs it accepts
   * client certificates from follow from `access`, the deployment's one decision of who may connect.
   */
  public issueFrontendCertificate(scope: Construct, id: string, props: ServerCertificateProps & {
    readonly access: FrontendAccess;
  }): TlsIdentity {
    return this.serverLeaf(scope, id, props, frontendClientCas(props.access), IDENTITY_DIRS.frontend);
  }

  /** A server certificate from the frontend CA for another client-facing Service (authorizer proxy, codec server). */
  public issueServerCertificate(scope: Construct, id: string, props: ServerCertificateProps & {
    /** CAs whose client certificates this listener accepts. @default - none (server authentication only) */
    readonly acceptsClientsFrom?: readonly CaPurpose[];
  }): TlsIdentity {
    return this.serverLeaf(scope, id, props, props.acceptsClientsFrom ?? [], `${IDENTITY_DIRS.frontend}-${props.service?.name}`);
  }

  /** A client certificate of a platform component (`web`, `admintools`, `jobs`), from the platform-clients CA. */
  public issuePlatformClientCertificate(scope: Construct, id: string, props: { readonly name: string }): TlsIdentity {
    const name = requireDnsLabel(`${scope.node.path}/${id}`, 'name', props.name, { example: 'web' });
    return this.leaf(scope, id, {
      role: 'platform-client', name, purpose: 'platform-clients', namespace: this.namespace,
      secretName: `${this.name}-${name}-client-tls`, commonName: name,
      uris: [this.identityUri(this.namespace, name, 'platform')], mountDir: IDENTITY_DIRS.client,
    });
  }

  /**
   * A workload's client certificate, issued by the workload CA into the workload's own namespace. The
   * workload mounts its Secret there (see docs/SECURITY.md for TypeScript and Go).
   */
  public issueClientCertificate(scope: Construct, id: string, props: ClientIdentityProps): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    const name = requireDnsLabel(at, 'name', props.name, { example: 'orders-worker' });
    const namespace = requireDnsLabel(at, 'namespace', props.namespace, { example: 'orders' });
    const temporalNamespaces = props.temporalNamespaces ?? [];
    if (!Array.isArray(temporalNamespaces) || temporalNamespaces.length === 0) {
      throw new ValidationError('INVALID_NAMESPACE', at, 'a client identity needs at least one Temporal namespace',
        temporalNamespaces, 'list the Temporal namespaces the workload uses, e.g. temporalNamespaces: ["orders"]');
    }
    temporalNamespaces.forEach((ns) => requireTemporalNamespaceName(at, ns));
    const secretName = props.secretName === undefined ? `${name}-temporal-tls`
      : requireDnsName(at, 'secretName', props.secretName, { example: `${name}-temporal-tls` });
    if (this.mode !== 'provided') {
      const issuer = this.issuers.workload;
      if (issuer === undefined) {
        throw new ValidationError('TLS_UNRESOLVED_ISSUER', at, 'no workload issuer is configured', undefined,
          'set external.workload to a ClusterIssuer, or use the generated chain');
      }
      if (!isClusterScoped(issuer.kind) && namespace !== this.namespace) {
        throw new ValidationError('TLS_UNRESOLVED_ISSUER', at,
          `the workload issuer "${issuer.name}" is a namespaced Issuer of "${this.namespace}" and cannot issue into another namespace`,
          namespace, 'use a ClusterIssuer as external.workload.issuer');
      }
    }
    return this.leaf(scope, id, {
      role: 'workload-client', name, purpose: 'workload', namespace, secretName, commonName: name,
      uris: [this.identityUri(namespace, name)], temporalNamespaces, mountDir: IDENTITY_DIRS.client,
    });
  }

  /**
   * A client certificate for a database user (CN = `user`: PostgreSQL's `cert` authentication maps the CN to the
   * user), from the **database-clients CA**: a self-signed CA of its own in the Temporal namespace, made on first
   * use (`<n>-database-clients-ca`), that issues these certificates and nothing else. The database trusts it
   * alone (`databaseClientsTrustSource`), so no other certificate of the PKI can log in, whatever its CN; and
   * nothing else trusts it.
   */
  public issueDatabaseClientCertificate(scope: Construct, id: string, props: { readonly user: string }): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    const user = requireDnsLabel(at, 'user', props.user, { example: 'temporal' });
    const ca = this.ensureDatabaseClientsCa(at);
    return this.leaf(scope, id, {
      role: 'platform-client', name: `${user}-database`, purpose: 'database-clients', namespace: this.namespace,
      secretName: `${this.name}-${user}-database-client-tls`, commonName: user, mountDir: IDENTITY_DIRS.client,
      issuerRef: ca.issuerRef,
    });
  }

  /**
   * The evaluation database's server certificate (every DNS name of its Service), from the database-clients CA: the
   * database and its clients are a trust domain of their own, so that no rollover of a purpose CA touches the
   * database, and no purpose CA's leaf can pass for the database. Its clients verify it with
   * `databaseClientsTrustSource`; its `server auth`-only usage keeps it from logging in (PostgreSQL verifies
   * client certificates for `client auth`).
   */
  public issueDatabaseServerCertificate(scope: Construct, id: string, props: { readonly service: ServiceDns }): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    const service = requireServiceDns(at, props.service);
    const ca = this.ensureDatabaseClientsCa(at);
    const serverName = serviceFqdn(service);
    return this.leaf(scope, id, {
      role: 'server', name: service.name, purpose: 'database-clients', namespace: this.namespace,
      secretName: `${service.name}-tls`, commonName: serverName.length <= 64 ? serverName : undefined,
      dnsNames: serviceDnsNames(service), serverName, acceptsClientsFrom: [], mountDir: `${IDENTITY_DIRS.frontend}-${service.name}`,
      issuerRef: ca.issuerRef,
    });
  }

  /** Where the database-clients CA's certificate is (the anchor a database verifies its clients with). */
  public get databaseClientsTrustSource(): { readonly secretName: string; readonly key: string } | undefined {
    return this.databaseClientsCa ? { secretName: this.databaseClientsCa.specification.secretName, key: 'tls.crt' } : undefined;
  }

  private ensureDatabaseClientsCa(at: string): { readonly specification: CertificateSpecification; readonly issuerRef?: IssuerReference } {
    if (this.databaseClientsCa !== undefined) {
      return this.databaseClientsCa;
    }
    const secretName = `${this.name}-database-clients-ca`;
    this.requireUnissued(at, `${this.namespace}/${secretName}`, 'database-clients');
    const specification = caSpecification({ name: this.name, namespace: this.namespace, privateKey: this.privateKey,
      rotation: this.caPrivateKeyRotationPolicy, labels: this.labels },
    { which: 'database-clients', secretName, issuer: 'self', lifetime: this.caLifetime });
    let issuerRef: IssuerReference | undefined;
    if (this.mode !== 'provided') {
      const bootstrap = new Issuer(this, 'DatabaseClientsBootstrap', {
        metadata: { name: `${this.name}-database-clients-bootstrap`, labels: this.labels },
        spec: { selfSigned: {} },
      });
      new Certificate(this, 'DatabaseClientsCa', {
        metadata: { name: secretName, labels: { ...this.labels } },
        spec: certManagerSpec(specification, { kind: 'Issuer', name: bootstrap.name }),
      });
      const issuer = new Issuer(this, 'DatabaseClientsIssuer', {
        metadata: { name: secretName, labels: this.labels },
        spec: { ca: { secretName } },
      });
      issuerRef = { kind: 'Issuer', name: issuer.name };
    }
    this.databaseClientsCa = { specification, issuerRef };
    return this.databaseClientsCa;
  }

  /**
   * A key pair for signing tokens (EC P-256, for ES256), in Secret `<name>-signing-key` of the Temporal
   * namespace, issued into `scope`: with cert-manager, a self-signed certificate that only carries the key,
   * re-keyed at every renewal (the leaves' lifetime); minted outside otherwise.
   */
  public issueSigningKey(scope: Construct, id: string, props: { readonly name: string }): SigningKey {
    const at = `${scope.node.path}/${id}`;
    const name = requireDnsLabel(at, 'name', props.name, { example: 'temporal-authorizer-proxy' });
    const secretName = `${name}-signing-key`;
    this.requireUnissued(at, `${this.namespace}/${secretName}`, name);
    if (this.mode !== 'provided' && this.signingIssuer === undefined) {
      const issuer = new Issuer(this, 'SigningKeyIssuer', {
        metadata: { name: `${this.name}-token-signing`, labels: this.labels },
        spec: { selfSigned: {} },
      });
      this.signingIssuer = { kind: 'Issuer', name: issuer.name };
    }
    const key = new SigningKey(scope, id, {
      name,
      issuerRef: this.signingIssuer,
      specification: {
        certificateName: secretName,
        secretName,
        namespace: this.namespace,
        role: 'token-signer',
        issuer: 'self',
        commonName: `${name} token signing key`,
        dnsNames: [],
        uris: [],
        usages: usagesFor('token-signer', 'ECDSA').map(String),
        // ES256 needs P-256, whatever the PKI's own key settings.
        privateKey: { algorithm: 'ECDSA', size: 256 },
        keyRotation: 'Always',
        lifetime: this.leafLifetime,
        labels: this.labels,
      },
    });
    this.issued.set(`${this.namespace}/${secretName}`, key);
    return key;
  }

  /**
   * The identity URI of a client certificate: `spiffe://<cluster domain>/ns/<namespace>/temporal-client/<name>` for a
   * workload, `.../temporal-platform/<name>` for a platform component. The authorizer proxy accepts each kind only
   * from its own CA (workload, platform-clients), so a workload certificate can never pass for a platform one.
   */
  public identityUri(namespace: string, name: string, kind: 'workload' | 'platform' = 'workload'): string {
    return `spiffe://${this.clusterDomain}/ns/${namespace}/${kind === 'platform' ? 'temporal-platform' : 'temporal-client'}/${name}`;
  }

  /**
   * Every certificate of this PKI, whoever issues it: the CAs it defines (none with external issuers), then
   * every leaf and signing key issued from it that is still part of the App, in the order they were issued.
   * The Pulumi path mints exactly these.
   */
  public specifications(): CertificateSpecification[] {
    const cas = [...Object.values(this.caSpecifications), ...Object.values(this.secondSlotCaSpecifications)]
      .filter((s): s is CertificateSpecification => s !== undefined);
    const databaseClients = this.databaseClientsCa ? [this.databaseClientsCa.specification] : [];
    return [...cas, ...databaseClients, ...this.leaves().map((identity) => identity.specification)];
  }

  /** Path of a purpose's trust anchor inside the trust volume (slot 1's; see `trustAnchorFiles` for all). */
  public trustAnchorFile(purpose: CaPurpose, dir: string = TRUST_DIR): string {
    return trustAnchorFile(purpose, dir);
  }

  /**
   * Every anchor file of a purpose inside a trust volume: `<purpose>-ca.crt`, and `<purpose>-ca-2.crt` when the
   * purpose CA has a second slot (the generated chain). A verifier must trust all of them.
   */
  public trustAnchorFiles(purpose: CaPurpose, dir: string = TRUST_DIR): string[] {
    return this.secondSlotTrustSources[purpose] === undefined ? [trustAnchorFile(purpose, dir)]
      : [trustAnchorFile(purpose, dir), trustAnchorFile(purpose, dir, 2)];
  }


  /**
   * A projected volume with one file per purpose, `<purpose>-ca.crt`: the CA certificate only (the
   * `tls.crt` key of a CA Secret, never its `tls.key`), or the PEM from the trust ConfigMap. With
   * `withRoot`, also `root-ca.crt`, the generated root (for verifiers that need a chain's self-signed top;
   * nothing with external issuers, whose anchors are what the user configured).
   */
  public trustVolume(volumeName: string, purposes: readonly CaPurpose[], options: { readonly withRoot?: boolean } = {}): k8s.Volume {
    const projection = (purpose: CaPurpose, source: TrustSource, slot: CaSlot): k8s.VolumeProjection => {
      const items = (key: string) => [{ key, path: trustAnchorFileName(purpose, slot) }];
      if ('pem' in source) {
        return { configMap: { name: this.trustConfigMap?.name, items: items(trustAnchorFileName(purpose)) } };
      }
      return 'secretName' in source
        ? { secret: { name: source.secretName, items: items(source.key) } }
        : { configMap: { name: source.configMapName, items: items(source.key) } };
    };
    const sources: k8s.VolumeProjection[] = [...new Set(purposes)].flatMap((purpose) => {
      const source = this.trustSources[purpose];
      if (source === undefined) {
        throw new ValidationError('INVALID_TLS', this.node.path, `no trust anchor for the ${purpose} CA`, purpose,
          `configure external.${purpose === 'platform-clients' ? 'platformClients' : purpose}`);
      }
      const second = this.secondSlotTrustSources[purpose];
      return second === undefined ? [projection(purpose, source, 1)] : [projection(purpose, source, 1), projection(purpose, second, 2)];
    });
    if (options.withRoot && this.rootTrustSource) {
      const { secretName, key } = this.rootTrustSource;
      sources.push({ secret: { name: secretName, items: [{ key, path: ROOT_ANCHOR_FILE }] } });
    }
    return { name: volumeName, projected: { defaultMode: TRUST_FILE_MODE, sources } };
  }

  /** `global.tls` for the cluster's config, with this PKI's lifetimes. */
  public globalTls(props: {
    readonly internode: TlsIdentity;
    readonly frontend: TlsIdentity;
    /** @default Duration.minutes(1) */
    readonly refreshInterval?: Duration;
    /** @default - warning at 70% of the leaves' renewBefore (21 days), error at a third of that, checked hourly */
    readonly expirationChecks?: ExpirationChecksProps;
  }): GlobalTlsConfig {
    return buildGlobalTls({
      internode: props.internode.asServer(),
      frontend: props.frontend.asServer(),
      refreshInterval: props.refreshInterval,
      expirationChecks: props.expirationChecks,
      leafRenewBefore: this.leafRenewBefore,
      anchorFiles: (purpose, dir) => this.trustAnchorFiles(purpose, dir),
      path: `${this.node.path}/GlobalTls`,
    });
  }

  /** External issuers, for `issuerProblems` (they exist in the cluster, not in the output). */
  public get declaredIssuers(): DeclaredIssuer[] {
    if (this.mode !== 'external') {
      return [];
    }
    return Object.values(this.issuers).map((i) => ({ ...i, namespace: this.namespace }));
  }

  /** Unresolvable issuer references among the chart's objects (run by cdk8s validation at synth). */
  public issuerProblems(): string[] {
    const objects = Chart.of(this).node.findAll()
      .filter((c): c is ApiObject => c instanceof ApiObject)
      .map((o) => o.toJson() as ManifestObject);
    return issuerProblems(objects, { clusterResourceNamespace: this.clusterResourceNamespace, declared: this.declaredIssuers });
  }

  /**
   * Whatever would leave a certificate unissued (run by cdk8s validation at synth): with cert-manager, an
   * issuer reference that does not resolve; minted outside, a specification whose CA is not among them.
   */
  public issuanceProblems(): string[] {
    return this.mode === 'provided' ? specificationProblems(this.specifications()) : this.issuerProblems();
  }

  private serverLeaf(scope: Construct, id: string, props: ServerCertificateProps, accepts: readonly CaPurpose[],
    mountDir: string): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    const service = requireServiceDns(at, props.service);
    const extra = (props.extraHosts ?? []).map((host) =>
      requireDnsName(at, 'extraHosts', host, { example: 'temporal.example.com', allowWildcard: true }));
    const serverName = serviceFqdn(service);
    return this.leaf(scope, id, {
      role: 'server', name: service.name, purpose: 'frontend', namespace: this.namespace,
      secretName: `${service.name}-tls`, commonName: serverName.length <= 64 ? serverName : undefined,
      dnsNames: [...serviceDnsNames(service), ...extra], serverName, acceptsClientsFrom: accepts, mountDir,
    });
  }

  /** Leaves and signing keys issued from this PKI that are still in the App (a rolled-back construct takes its own with it). */
  private leaves(): (TlsIdentity | SigningKey)[] {
    return [...this.issued.values()].filter(attached);
  }

  /** Throws `DUPLICATE_NAME` when the Secret `key` (`<namespace>/<name>`) is already issued, or is a CA's. */
  private requireUnissued(at: string, key: string, name: string): void {
    const previous = this.issued.get(key);
    const ca = [...Object.values(this.caSpecifications), ...Object.values(this.secondSlotCaSpecifications),
      this.databaseClientsCa?.specification]
      .find((c) => c !== undefined && `${c.namespace}/${c.secretName}` === key);
    if ((previous !== undefined && attached(previous)) || ca !== undefined) {
      throw new ValidationError('DUPLICATE_NAME', at,
        `the certificate Secret "${key}" is already issued to ${ca ? `the ${ca.ca} CA` : previous?.node.path}`, name,
        'give each identity its own name (or secretName): two certificates writing one Secret overwrite each other');
    }
  }

  private leaf(scope: Construct, id: string, p: LeafRequest): TlsIdentity {
    const at = `${scope.node.path}/${id}`;
    let issuance: Issuance = { kind: 'provided' };
    if (this.mode !== 'provided') {
      const issuerRef = p.issuerRef ?? (p.purpose === 'database-clients' ? undefined : this.issuers[p.purpose]);
      if (issuerRef === undefined) {
        throw new ValidationError('TLS_UNRESOLVED_ISSUER', at, `no issuer for the ${p.purpose} CA`, p.purpose,
          'configure that purpose under external');
      }
      issuance = { kind: 'cert-manager', issuerRef };
    }
    const secretName = p.secretName ?? `${this.name}-${p.name}-tls`;
    const key = `${p.namespace}/${secretName}`;
    this.requireUnissued(at, key, p.name);
    const identity = new TlsIdentity(scope, id, {
      name: p.name,
      issuedBy: p.purpose,
      issuance,
      specification: {
        certificateName: secretName.replace(/-tls$/, ''),
        secretName,
        namespace: p.namespace,
        role: p.role,
        issuer: p.purpose,
        commonName: p.commonName,
        dnsNames: p.dnsNames ?? [],
        uris: p.uris ?? [],
        usages: usagesFor(p.role, this.privateKey.algorithm).map(String),
        privateKey: this.privateKey,
        // Leaves always get a new key on every issuance: a stolen key dies with its certificate.
        keyRotation: 'Always',
        lifetime: this.leafLifetime,
        // The issuing CA as a label, so that all leaves of one CA can be renewed at once during a CA key
        // rotation: `cmctl renew -A -l secure-temporal.io/issued-by=<purpose>`.
        labels: { ...this.labels, [ISSUED_BY_LABEL]: p.purpose },
      },
      serverName: p.serverName,
      acceptsClientsFrom: p.acceptsClientsFrom,
      temporalNamespaces: p.temporalNamespaces,
      mountDir: p.mountDir,
    });
    this.issued.set(key, identity);
    return identity;
  }
}

/** True while `construct` is still in its App's tree (a rollback removes it from its parent). */
function attached(construct: Construct): boolean {
  for (let c: Construct = construct; c.node.scope !== undefined; c = c.node.scope as Construct) {
    if (c.node.scope.node.tryFindChild(c.node.id) !== c) {
      return false;
    }
  }
  return true;
}
