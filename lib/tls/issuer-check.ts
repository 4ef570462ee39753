import { ValidationError } from '../core/errors';

/** A reference to a cert-manager issuer (`spec.issuerRef` of a Certificate). */
export interface IssuerReference {
  /**
   * `Issuer` (namespaced: only Certificates of its own namespace can use it) or `ClusterIssuer`; for an
   * external issuer of another API group, its kind (e.g. `AWSPCAClusterIssuer`). Kinds ending in
   * `ClusterIssuer` are cluster-scoped, any other kind is namespaced.
   */
  readonly kind: string;
  /** The issuer's name. */
  readonly name: string;
  /**
   * API group, for external issuers (e.g. `awspca.cert-manager.io`).
   * @default 'cert-manager.io'
   */
  readonly group?: string;
}

/** An issuer that exists in the cluster but not in the synthesized output (Vault, a corporate CA ...). */
export interface DeclaredIssuer extends IssuerReference {
  /** Namespace of a namespaced issuer (required for those, ignored for cluster-scoped kinds). */
  readonly namespace?: string;
}

/** True for cluster-scoped issuer kinds (`ClusterIssuer`, `AWSPCAClusterIssuer` ...). */
export function isClusterScoped(kind: string): boolean {
  return kind.endsWith('ClusterIssuer');
}

/** A Kubernetes object as synthesized (plain JSON). */
export interface ManifestObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: Record<string, unknown>;
}

export interface IssuerResolutionOptions {
  /** Where cert-manager reads the Secrets of ClusterIssuers (`--cluster-resource-namespace`). @default 'cert-manager' */
  readonly clusterResourceNamespace?: string;
  /** Issuers that exist outside the output. @default - none */
  readonly declared?: readonly DeclaredIssuer[];
}

const CERT_MANAGER_GROUP = 'cert-manager.io';

function ref(obj: ManifestObject): string {
  return `${obj.kind} ${obj.metadata?.namespace ?? ''}${obj.metadata?.namespace ? '/' : ''}${obj.metadata?.name}`;
}

/**
 * Every way a cert-manager object of the output can fail to resolve, as messages (empty = all good):
 * a Certificate whose issuerRef names no Issuer of its own namespace, no ClusterIssuer and no declared
 * issuer; a CA issuer whose Secret no Certificate of the output writes into the namespace cert-manager
 * reads it from (the Issuer's own namespace, or the cluster resource namespace for a ClusterIssuer);
 * a ClusterIssuer carrying a namespace. Pure.
 */
export function issuerProblems(objects: readonly ManifestObject[], options: IssuerResolutionOptions = {}): string[] {
  const resourceNamespace = options.clusterResourceNamespace ?? 'cert-manager';
  const declared = options.declared ?? [];
  const cm = objects.filter((o) => typeof o.apiVersion === 'string' && o.apiVersion.startsWith(`${CERT_MANAGER_GROUP}/`));
  const issuers = cm.filter((o) => o.kind === 'Issuer');
  const clusterIssuers = cm.filter((o) => o.kind === 'ClusterIssuer');
  const certificates = cm.filter((o) => o.kind === 'Certificate');
  const problems: string[] = [];

  const secretWritten = (namespace: string | undefined, secretName: string): boolean =>
    certificates.some((c) => c.metadata?.namespace === namespace && c.spec?.secretName === secretName);

  for (const ci of clusterIssuers) {
    if (ci.metadata?.namespace !== undefined) {
      problems.push(`${ref(ci)}: a ClusterIssuer is cluster-scoped but carries metadata.namespace ` +
        `"${ci.metadata.namespace}" (remove it: define it in a chart without namespace or patch it out)`);
    }
  }
  for (const issuer of [...issuers, ...clusterIssuers]) {
    const ca = issuer.spec?.ca as { secretName?: string } | undefined;
    if (!ca?.secretName) {
      continue;
    }
    const where = issuer.kind === 'ClusterIssuer' ? resourceNamespace : issuer.metadata?.namespace;
    if (!secretWritten(where, ca.secretName)) {
      problems.push(`${ref(issuer)}: its CA Secret "${ca.secretName}" is not written by any Certificate in namespace ` +
        `"${where}"` + (issuer.kind === 'ClusterIssuer' ? ' (a ClusterIssuer reads its Secret from the cluster resource namespace)' : ''));
    }
  }
  for (const cert of certificates) {
    const issuerRef = (cert.spec?.issuerRef ?? {}) as { name?: string; kind?: string; group?: string };
    const kind = issuerRef.kind ?? 'Issuer';
    const group = issuerRef.group ?? CERT_MANAGER_GROUP;
    const namespace = cert.metadata?.namespace;
    const isDeclared = declared.some((d) => d.name === issuerRef.name && d.kind === kind &&
      (d.group ?? CERT_MANAGER_GROUP) === group && (isClusterScoped(kind) || d.namespace === namespace));
    if (isDeclared) {
      continue;
    }
    const found = group === CERT_MANAGER_GROUP && (kind === 'ClusterIssuer'
      ? clusterIssuers.some((i) => i.metadata?.name === issuerRef.name)
      : kind === 'Issuer' && issuers.some((i) => i.metadata?.name === issuerRef.name && i.metadata?.namespace === namespace));
    if (!found) {
      const hint = kind === 'Issuer' && issuers.some((i) => i.metadata?.name === issuerRef.name)
        ? ' (an Issuer of that name exists in another namespace: a namespaced Issuer only serves its own namespace)'
        : '';
      problems.push(`${ref(cert)}: issuerRef ${group}/${kind} "${issuerRef.name}" does not resolve${hint}`);
    }
  }
  return problems;
}

/** Throws `TLS_UNRESOLVED_ISSUER` listing every problem `issuerProblems` finds. */
export function assertIssuerRefsResolve(path: string, objects: readonly ManifestObject[], options: IssuerResolutionOptions = {}): void {
  const problems = issuerProblems(objects, options);
  if (problems.length > 0) {
    throw new ValidationError('TLS_UNRESOLVED_ISSUER', path, `issuer references do not resolve: ${problems.join('; ')}`,
      problems.length, 'reference issuers created by TemporalPki, or declare issuers that exist outside the output');
  }
}
