import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  CertificateRequestPolicy, CertificateRequestPolicySpecAllowedUsages, CertificateRequestPolicySpecConstraintsPrivateKeyAlgorithm,
} from '../../imports/policy.cert-manager.io';
import { componentLabels } from '../core/labels';
import { requireDnsLabel } from '../core/names';
import { ValidationError } from '../core/errors';
import { globalPrefix, stripNamespace } from './generated-chain';
import type { TemporalPki } from './pki';
import { usagesFor } from './settings';

/** The ServiceAccount cert-manager's controller runs as (the requester of every CertificateRequest it creates). */
export interface ServiceAccountRef {
  readonly name: string;
  readonly namespace: string;
}

export interface WorkloadIssuancePolicyProps {
  readonly pki: TemporalPki;
  /** The Kubernetes namespaces of the declared workload identities. */
  readonly namespaces: readonly string[];
  /** @default { name: 'cert-manager', namespace: pki.clusterResourceNamespace } */
  readonly certManagerServiceAccount?: ServiceAccountRef;
}

/**
 * What confines each client namespace to its own identities at issuance, with cert-manager's approver-policy:
 * for every namespace N, a `CertificateRequestPolicy` (`<prefix>-workload-ns-<N>`) that lets the workload CA sign,
 * for requests of N only, a client certificate (client auth, never a CA) whose identity URI is `spiffe://<domain>/ns/N/temporal-client/*`,
 * no longer than the PKI's leaves and with its key algorithm, and a Role + RoleBinding in N that let cert-manager
 * use that policy there. One more policy admits the workload CA's trust carrier in the Temporal namespace. Requests
 * to the workload CA that no policy admits are denied, so a namespace can no longer mint a sub-CA, another
 * namespace's identity or a platform identity. Requires approver-policy, and cert-manager's own approver limited to
 * namespaced issuers (docs/SECURITY.md "Confining issuance").
 */
export class WorkloadIssuancePolicy extends Construct {
  public readonly policies: readonly CertificateRequestPolicy[];

  constructor(scope: Construct, id: string, props: WorkloadIssuancePolicyProps) {
    super(scope, id);
    const { pki } = props;
    const path = this.node.path;
    const issuer = pki.issuers.workload;
    if (issuer === undefined || pki.mode === 'provided') {
      throw new ValidationError('INVALID_TLS', path, 'issuance policies need a cert-manager workload issuer', pki.mode,
        'leave the workload issuance policy out when certificates are minted outside cert-manager');
    }
    const serviceAccount = props.certManagerServiceAccount ?? { name: 'cert-manager', namespace: pki.clusterResourceNamespace };
    requireDnsLabel(path, 'certManagerServiceAccount.name', serviceAccount.name, { example: 'cert-manager' });
    requireDnsLabel(path, 'certManagerServiceAccount.namespace', serviceAccount.namespace, { example: 'cert-manager' });
    const labels = componentLabels(pki.name, 'tls');
    const prefix = globalPrefix(pki.name, pki.namespace);
    const selector = (namespace: string) => ({
      issuerRef: { name: issuer.name, kind: issuer.kind, group: issuer.group ?? 'cert-manager.io' },
      namespace: { matchNames: [namespace] },
    });
    const algorithm = pki.privateKey.algorithm as unknown as CertificateRequestPolicySpecConstraintsPrivateKeyAlgorithm;
    const constraints = {
      maxDuration: pki.leafLifetime.duration,
      privateKey: { algorithm, ...(pki.privateKey.size !== undefined ? { minSize: pki.privateKey.size } : {}) },
    };
    const usages = (role: 'workload-client' | 'trust-carrier') =>
      usagesFor(role, pki.privateKey.algorithm).map((u) => u as unknown as CertificateRequestPolicySpecAllowedUsages);

    const policies: CertificateRequestPolicy[] = [];
    const namespaces = [...new Set(props.namespaces)].sort();
    namespaces.forEach((namespace) => requireDnsLabel(path, 'namespaces', namespace, { example: 'orders' }));
    for (const namespace of namespaces) {
      // `-ns-` keeps these apart from the trust carrier's policy, whatever the namespace is called.
      const name = `${prefix}-workload-ns-${namespace}`;
      const policy = new CertificateRequestPolicy(this, `Policy-${namespace}`, {
        metadata: { name, labels },
        spec: {
          allowed: {
            commonName: { value: '*' },
            uris: { values: [pki.identityUri(namespace, '*')], required: true },
            usages: usages('workload-client'),
            isCa: false,
          },
          constraints,
          selector: selector(namespace),
        },
      });
      stripNamespace(policy);
      policies.push(policy);
      this.allowUse(namespace, name, serviceAccount, labels);
    }
    // The trust carriers: the certificates the workload CA issues into the Temporal namespace, one per key slot (each
    // from its slot's own ClusterIssuer), to bring the slot's anchor there. Exactly its subject and usages, no SAN.
    const carriers = [pki.workloadTrustCarrier, pki.workloadSecondSlotCarrier].filter((c): c is NonNullable<typeof c> => c !== undefined);
    carriers.forEach((carrier, index) => {
      const carrierIssuer = carrier.issuance.kind === 'cert-manager' ? carrier.issuance.issuerRef : issuer;
      // Slot 1 keeps the policy's name of the days before slots.
      const name = index === 0 ? `${prefix}-workload-ca-anchor` : `${prefix}-workload-ca-${index + 1}-anchor`;
      const policy = new CertificateRequestPolicy(this, index === 0 ? 'Policy-trust-carrier' : `Policy-trust-carrier-${index + 1}`, {
        metadata: { name, labels },
        spec: {
          allowed: { commonName: { value: carrier.commonName ?? '', required: true }, usages: usages('trust-carrier'), isCa: false },
          constraints,
          selector: {
            issuerRef: { name: carrierIssuer.name, kind: carrierIssuer.kind, group: carrierIssuer.group ?? 'cert-manager.io' },
            namespace: { matchNames: [pki.namespace] },
          },
        },
      });
      stripNamespace(policy);
      policies.push(policy);
      this.allowUse(pki.namespace, name, serviceAccount, labels);
    });
    this.policies = policies;
  }

  /** A Role and RoleBinding in `namespace` that let cert-manager use policy `name` for that namespace's requests. */
  private allowUse(namespace: string, name: string, serviceAccount: ServiceAccountRef, labels: Record<string, string>): void {
    const role = new k8s.KubeRole(this, `Role-${name}`, {
      metadata: { name, namespace, labels },
      rules: [{ apiGroups: ['policy.cert-manager.io'], resources: ['certificaterequestpolicies'], verbs: ['use'], resourceNames: [name] }],
    });
    new k8s.KubeRoleBinding(this, `RoleBinding-${name}`, {
      metadata: { name, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: serviceAccount.namespace }],
    });
  }
}
