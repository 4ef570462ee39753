import { ApiObject, Chart, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { Certificate } from '../../imports/cert-manager.io';
import { ValidationError } from '../errors';
import { componentLabels } from '../temporal/labels';
import { DEFAULT_CLUSTER_DOMAIN, requireChartNamespace, requireTemporalNamespaceName } from '../temporal/names';
import { isDnsName, requireLabel, requireServiceDns, ServiceDns, serviceDnsNames, serviceFqdn } from './dns';
import { createGeneratedChain } from './generated-chain';
import { buildGlobalTls, ExpirationChecksProps, GlobalTlsConfig } from './global-tls';
import { TlsIdentity } from './identity';
import { DeclaredIssuer, isClusterScoped, IssuerReference, issuerProblems, ManifestObject } from './issuer-check';
import { IDENTITY_DIRS, TRUST_DIR, TRUST_FILE_MODE, trustAnchorFile, trustAnchorFileName } from './layout';
import { KeyRotationPolicy, lifetime, Lifetime, PrivateKeyProps, resolvePrivateKey, ResolvedPrivateKey } from './settings';
import {
  assertSeparableCas, externalByPurpose, ExternalPkiProps, requireCaBundle, requireTrustSource, TrustSource,
} from './sources';
import { CA_PURPOSES, CaPurpose, FrontendAccess, frontendClientCas, INTERNODE_CLIENT_CAS } from './trust';

export interface TemporalPkiProps {
  /** Name prefix of every object, a DNS label of at most 30 characters. @default 'temporal' */
  readonly name?: string;
  /** Kubernetes cluster DNS domain. @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * Who may present a certificate to the frontend (see `FrontendAccess`). The authorizer proxy, once
   * deployed, sets `'authorizer-proxy'`: workload certificates are then refused by the frontend.
   * @default 'direct'
   */
  readonly frontendAccess?: FrontendAccess;
  /** Key algorithm and size of every key. @default { algorithm: 'ECDSA', size: 256 } */
  readonly privateKey?: PrivateKeyProps;
  /** Lifetime of the root CA (and of the workload CA, itself a root). @default Duration.days(3650) (10 years) */
  readonly rootCaDuration?: Duration;
  /** Lifetime of the purpose CAs under the root. @default Duration.days(1825) (5 years) */
  readonly caDuration?: Duration;
  /** How long before expiry cert-manager renews a CA. @default Duration.days(365) */
  readonly caRenewBefore?: Duration;
  /**
   * Key rotation when cert-manager renews a CA. `Never` (default): the renewed CA certificate keeps its
   * key, so every leaf it signed stays valid and no peer notices. `Always` replaces the key: cert-manager
   * then does NOT re-issue that CA's leaves, and every peer anchoring on the CA rejects them until they
   * are re-issued, an outage unless you follow the overlap procedure in docs/SECURITY.md. Leaves always
   * rotate their key (`Always`), whatever this says.
   * @default 'Never'
   */
  readonly caPrivateKeyRotationPolicy?: KeyRotationPolicy;
  /** Lifetime of leaf certificates. @default Duration.days(90) */
  readonly leafDuration?: Duration;
  /** How long before expiry cert-manager renews a leaf. @default Duration.days(30) */
  readonly leafRenewBefore?: Duration;
  /**
   * cert-manager's `--cluster-resource-namespace`: where a ClusterIssuer reads its CA Secret. The
   * workload CA (a ClusterIssuer, so that it can issue into the namespaces where workers run) is
   * created there.
   * @default 'cert-manager'
   */
  readonly clusterResourceNamespace?: string;
  /** Issuers you already run, in place of the generated chain. @default - the generated chain */
  readonly external?: ExternalPkiProps;
  /**
   * Replace a purpose's trust anchor with this PEM bundle, e.g. old + new CA during a key rotation (see
   * the overlap procedure in docs/SECURITY.md). Public certificates only.
   * @default - none
   */
  readonly trustOverrides?: Partial<Record<CaPurpose, string>>;
}

/** A client identity of a user workload (a worker app, a CI job). */
export interface ClientIdentityProps {
  /** Identity name, a DNS label (e.g. `orders-worker`); with the namespace it makes the identity. */
  readonly name: string;
  /** Kubernetes namespace of the workload: the Certificate and its Secret are created there. */
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

/**
 * The PKI of a Temporal installation: a generated chain (self-signed bootstrap Issuer -> root CA ->
 * internode, frontend and platform-clients CAs; the workload CA as a separate root behind a
 * ClusterIssuer) or existing issuers; the trust anchors each listener mounts; and facades issuing the
 * leaf certificates (`issue*`). See docs/SECURITY.md for the trust graph and rotation.
 */
export class TemporalPki extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly clusterDomain: string;
  public readonly clusterResourceNamespace: string;
  public readonly mode: 'generated' | 'external';
  public readonly frontendAccess: FrontendAccess;
  /** The CAs the frontend accepts client certificates from: the one FrontendAccess decision, resolved. */
  public readonly frontendClientCas: readonly CaPurpose[];
  public readonly privateKey: ResolvedPrivateKey;
  public readonly leafLifetime: Lifetime;
  public readonly leafRenewBefore: Duration;
  public readonly caPrivateKeyRotationPolicy: KeyRotationPolicy;
  /** The issuer of each purpose (absent: workload in external mode without one). */
  public readonly issuers: Readonly<Partial<Record<CaPurpose, IssuerReference>>>;
  /** Where each purpose's trust anchor comes from. */
  public readonly trustSources: Readonly<Partial<Record<CaPurpose, TrustSource>>>;
  /** Generated CA certificates (`root` and the purposes). Empty in external mode. */
  public readonly caCertificates: Readonly<Partial<Record<CaPurpose | 'root', Certificate>>>;
  /** ConfigMap of PEM trust anchors (overrides, external `{ pem }` anchors), when there are any. */
  public readonly trustConfigMap?: k8s.KubeConfigMap;
  /** The certificate that carries the workload CA into the Temporal namespace (generated mode). */
  public readonly workloadTrustCarrier?: TlsIdentity;
  /**
   * The generated root CA's certificate (one key of its Secret), for OpenSSL-based verifiers such as
   * PostgreSQL that only accept chains ending at a self-signed root. Undefined with external issuers.
   */
  public readonly rootTrustSource?: { readonly secretName: string; readonly key: string };
  /** Logical name every internode certificate carries and every internode client verifies. */
  public readonly internodeServerName: string;
  private readonly labels: Record<string, string>;

  constructor(scope: Construct, id: string, props: TemporalPkiProps = {}) {
    super(scope, id);
    try {
      const path = this.node.path;
      this.name = requireLabel(path, 'name', props.name ?? 'temporal', 30);
      this.namespace = requireChartNamespace(this);
      this.clusterDomain = props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
      if (!isDnsName(this.clusterDomain)) {
        throw new ValidationError('INVALID_TLS', path, 'clusterDomain must be a DNS name', this.clusterDomain,
          'use the cluster\'s DNS domain, usually "cluster.local"');
      }
      this.clusterResourceNamespace = requireLabel(path, 'clusterResourceNamespace', props.clusterResourceNamespace ?? 'cert-manager');
      this.frontendAccess = props.frontendAccess ?? 'direct';
      this.frontendClientCas = frontendClientCas(this.frontendAccess);
      this.privateKey = resolvePrivateKey(path, props.privateKey);
      this.leafRenewBefore = props.leafRenewBefore ?? Duration.days(30);
      this.leafLifetime = lifetime(path, 'leaf', props.leafDuration ?? Duration.days(90), this.leafRenewBefore);
      const caDuration = props.caDuration ?? Duration.days(1825);
      const rootDuration = props.rootCaDuration ?? Duration.days(3650);
      const caRenewBefore = props.caRenewBefore ?? Duration.days(365);
      const caLifetime = lifetime(path, 'CA', caDuration, caRenewBefore);
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
      const sources: Partial<Record<CaPurpose, TrustSource>> = {};
      const issuers: Partial<Record<CaPurpose, IssuerReference>> = {};
      const cas: Partial<Record<CaPurpose | 'root', Certificate>> = {};
      if (props.external) {
        this.mode = 'external';
        const byPurpose = externalByPurpose(props.external);
        for (const [purpose, ca] of Object.entries(byPurpose) as [CaPurpose, NonNullable<typeof byPurpose.internode>][]) {
          requireLabel(`${path}/external/${purpose}`, 'issuer name', ca?.issuer?.name, 253);
          const certManagerGroup = (ca.issuer.group ?? 'cert-manager.io') === 'cert-manager.io';
          if (certManagerGroup ? !['Issuer', 'ClusterIssuer'].includes(ca.issuer.kind) : !/^[A-Z][A-Za-z0-9]*$/.test(ca.issuer.kind ?? '')) {
            throw new ValidationError('INVALID_TLS', `${path}/external/${purpose}`,
              'issuer.kind must be Issuer or ClusterIssuer (or the kind of an external issuer of another group)',
              ca.issuer.kind, 'use "ClusterIssuer" for an issuer shared across namespaces');
          }
          issuers[purpose] = ca.issuer;
          sources[purpose] = requireTrustSource(`${path}/external/${purpose}`, 'trustAnchor', ca.trustAnchor);
        }
        assertSeparableCas(`${path}/external`, byPurpose, this.frontendAccess);
      } else {
        this.mode = 'generated';
        const chain = createGeneratedChain(this, {
          name: this.name,
          namespace: this.namespace,
          clusterResourceNamespace: this.clusterResourceNamespace,
          privateKey: this.privateKey,
          rotation: this.caPrivateKeyRotationPolicy,
          rootLifetime,
          caLifetime,
          labels: this.labels,
        });
        Object.assign(issuers, chain.issuers);
        Object.assign(sources, chain.sources);
        this.rootTrustSource = chain.root;
        Object.assign(cas, chain.certificates);
      }
      this.issuers = issuers;
      this.caCertificates = cas;

      Object.assign(sources, overrides);
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
      if (this.mode === 'generated' && sources.workload === undefined) {
        // cert-manager writes the issuing CA into `ca.crt` of every Secret it issues; for the self-signed
        // workload CA that is exactly the workload CA. This carrier brings it into the Temporal namespace.
        this.workloadTrustCarrier = this.leaf('WorkloadTrustCarrier', {
          role: 'trust-carrier', name: 'workload-ca-anchor', purpose: 'workload', namespace: this.namespace,
          commonName: `${this.name} workload CA anchor`, mountDir: TRUST_DIR,
        });
        sources.workload = { secretName: this.workloadTrustCarrier.secretName, key: 'ca.crt' };
      }
      this.trustSources = sources;
      this.node.addValidation({ validate: () => this.issuerProblems() });
    } catch (error) {
      rollback(this, error);
    }
  }

  /**
   * The internode certificate, shared by every server service: SANs are the logical internode name plus
   * every DNS name of the Services it is served behind (headless Services; the internal-frontend Service,
   * which admin tools reach by name).
   */
  public issueInternodeCertificate(props: { readonly servedBy?: readonly ServiceDns[] } = {}): TlsIdentity {
    const names = (props.servedBy ?? []).flatMap((s) => serviceDnsNames(requireServiceDns(`${this.node.path}/Internode`, s)));
    return this.leaf('Internode', {
      role: 'internode', name: 'internode', purpose: 'internode', namespace: this.namespace,
      commonName: this.internodeServerName.length <= 64 ? this.internodeServerName : undefined,
      dnsNames: [this.internodeServerName, ...names], serverName: this.internodeServerName,
      acceptsClientsFrom: INTERNODE_CLIENT_CAS, mountDir: IDENTITY_DIRS.internode,
    });
  }

  /** The frontend's server certificate: every DNS name of its Service plus `extraHosts`; accepts `frontendClientCas`. */
  public issueFrontendCertificate(props: ServerCertificateProps): TlsIdentity {
    return this.serverLeaf('Frontend', props, this.frontendClientCas, IDENTITY_DIRS.frontend);
  }

  /** A server certificate from the frontend CA for another client-facing Service (authorizer proxy, codec server). */
  public issueServerCertificate(id: string, props: ServerCertificateProps & {
    /** CAs whose client certificates this listener accepts. @default - none (server authentication only) */
    readonly acceptsClientsFrom?: readonly CaPurpose[];
  }): TlsIdentity {
    return this.serverLeaf(id, props, props.acceptsClientsFrom ?? [], `${IDENTITY_DIRS.frontend}-${props.service?.name}`);
  }

  /** A client certificate of a platform component (`web`, `admintools`, `jobs`), from the platform-clients CA. */
  public issuePlatformClientCertificate(id: string, props: { readonly name: string }): TlsIdentity {
    const name = requireLabel(`${this.node.path}/${id}`, 'name', props.name);
    return this.leaf(id, {
      role: 'platform-client', name, purpose: 'platform-clients', namespace: this.namespace,
      secretName: `${this.name}-${name}-client-tls`, commonName: name,
      uris: [this.identityUri(this.namespace, name)], mountDir: IDENTITY_DIRS.client,
    });
  }

  /**
   * A workload's client certificate, issued by the workload ClusterIssuer into the workload's own
   * namespace. The workload mounts its Secret there (see docs/SECURITY.md for TypeScript and Go).
   */
  public issueClientCertificate(id: string, props: ClientIdentityProps): TlsIdentity {
    const at = `${this.node.path}/${id}`;
    const name = requireLabel(at, 'name', props.name);
    const namespace = requireLabel(at, 'namespace', props.namespace);
    const temporalNamespaces = props.temporalNamespaces ?? [];
    if (temporalNamespaces.length === 0) {
      throw new ValidationError('INVALID_TLS', at, 'a client identity needs at least one Temporal namespace', temporalNamespaces,
        'list the Temporal namespaces the workload uses, e.g. ["orders"]');
    }
    temporalNamespaces.forEach((ns) => requireTemporalNamespaceName(at, ns));
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
    return this.leaf(id, {
      role: 'workload-client', name, purpose: 'workload', namespace, secretName: props.secretName ?? `${name}-temporal-tls`,
      commonName: name, uris: [this.identityUri(namespace, name)], temporalNamespaces, mountDir: IDENTITY_DIRS.client,
    });
  }

  /** Path of a purpose's trust anchor inside the trust volume. */
  public trustAnchorFile(purpose: CaPurpose, dir: string = TRUST_DIR): string {
    return trustAnchorFile(purpose, dir);
  }

  /**
   * A projected volume with one file per purpose, `<purpose>-ca.crt`: the CA certificate only (the
   * `tls.crt` key of a CA Secret, never its `tls.key`), or the PEM from the trust ConfigMap.
   */
  public trustVolume(volumeName: string, purposes: readonly CaPurpose[]): k8s.Volume {
    const sources: k8s.VolumeProjection[] = [...new Set(purposes)].map((purpose) => {
      const source = this.trustSources[purpose];
      if (source === undefined) {
        throw new ValidationError('INVALID_TLS', this.node.path, `no trust anchor for the ${purpose} CA`, purpose,
          `configure external.${purpose === 'platform-clients' ? 'platformClients' : purpose}`);
      }
      const items = (key: string) => [{ key, path: trustAnchorFileName(purpose) }];
      if ('pem' in source) {
        return { configMap: { name: this.trustConfigMap?.name, items: items(trustAnchorFileName(purpose)) } };
      }
      return 'secretName' in source
        ? { secret: { name: source.secretName, items: items(source.key) } }
        : { configMap: { name: source.configMapName, items: items(source.key) } };
    });
    return { name: volumeName, projected: { defaultMode: TRUST_FILE_MODE, sources } };
  }

  /** `global.tls` for the cluster's config, with this PKI's trust decision and lifetimes. */
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
      path: `${this.node.path}/GlobalTls`,
    });
  }

  /** External issuers, for `issuerProblems` (they exist in the cluster, not in the output). */
  public get declaredIssuers(): DeclaredIssuer[] {
    if (this.mode === 'generated') {
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

  private identityUri(namespace: string, name: string): string {
    return `spiffe://${this.clusterDomain}/ns/${namespace}/temporal-client/${name}`;
  }

  private serverLeaf(id: string, props: ServerCertificateProps, accepts: readonly CaPurpose[], mountDir: string): TlsIdentity {
    const at = `${this.node.path}/${id}`;
    const service = requireServiceDns(at, props.service);
    const extra = props.extraHosts ?? [];
    for (const host of extra) {
      if (!isDnsName(host, true)) {
        throw new ValidationError('INVALID_TLS', at, 'extraHosts must be lower-case DNS names', host, 'e.g. "temporal.example.com"');
      }
    }
    const serverName = serviceFqdn(service);
    return this.leaf(id, {
      role: 'server', name: service.name, purpose: 'frontend', namespace: this.namespace,
      secretName: `${service.name}-tls`, commonName: serverName.length <= 64 ? serverName : undefined,
      dnsNames: [...serviceDnsNames(service), ...extra], serverName, acceptsClientsFrom: accepts, mountDir,
    });
  }

  private leaf(id: string, p: {
    role: TlsIdentity['role']; name: string; purpose: CaPurpose; namespace: string; secretName?: string;
    commonName?: string; dnsNames?: readonly string[]; uris?: readonly string[]; serverName?: string;
    acceptsClientsFrom?: readonly CaPurpose[]; temporalNamespaces?: readonly string[]; mountDir: string;
  }): TlsIdentity {
    const issuerRef = this.issuers[p.purpose];
    if (issuerRef === undefined) {
      throw new ValidationError('TLS_UNRESOLVED_ISSUER', `${this.node.path}/${id}`, `no issuer for the ${p.purpose} CA`, p.purpose,
        'configure that purpose under external');
    }
    const secretName = p.secretName ?? `${this.name}-${p.name}-tls`;
    return new TlsIdentity(this, id, {
      instance: this.name, role: p.role, name: p.name, namespace: p.namespace, issuedBy: p.purpose, issuerRef,
      certificateName: secretName.replace(/-tls$/, ''), secretName, privateKey: this.privateKey, lifetime: this.leafLifetime,
      commonName: p.commonName, dnsNames: p.dnsNames, uris: p.uris, serverName: p.serverName,
      acceptsClientsFrom: p.acceptsClientsFrom, temporalNamespaces: p.temporalNamespaces, mountDir: p.mountDir,
    });
  }
}

