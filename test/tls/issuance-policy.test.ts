/**
 * WorkloadIssuancePolicy: approver-policy CertificateRequestPolicies and RBAC that confine each client namespace
 * to its own workload identities. Checked on the synthesized objects, and with a small evaluator of
 * approver-policy's rules: every workload certificate the chart asks for is admitted, and a sub-CA, another
 * namespace's identity or a platform identity is admitted by no policy.
 */
import { App, Chart } from 'cdk8s';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { ValidationError } from '../../lib/core/errors';
import { Peer } from '../../lib/core/peers';
import { WorkloadIssuancePolicy } from '../../lib/tls/issuance-policy';
import { TemporalPki } from '../../lib/tls/pki';
import { K8sObject, apiObjectsUnder, findAll, findObject, synth } from '../util';

interface IssuerRef {
  readonly name: string;
  readonly kind?: string;
  readonly group?: string;
}

interface CertificateSpec {
  readonly commonName?: string;
  readonly dnsNames?: string[];
  readonly uris?: string[];
  readonly usages?: string[];
  readonly isCA?: boolean;
  readonly duration?: string;
  readonly secretName?: string;
  readonly issuerRef: IssuerRef;
  readonly privateKey?: { readonly algorithm?: string; readonly size?: number };
}

interface ValueRule {
  readonly value?: string;
  readonly values?: string[];
  readonly required?: boolean;
}

interface PolicySpec {
  readonly allowed: {
    readonly commonName?: ValueRule;
    readonly dnsNames?: ValueRule;
    readonly ipAddresses?: ValueRule;
    readonly emailAddresses?: ValueRule;
    readonly uris?: ValueRule;
    readonly usages?: string[];
    readonly isCA?: boolean;
  };
  readonly constraints?: {
    readonly maxDuration?: string;
    readonly privateKey?: { readonly algorithm?: string; readonly minSize?: number };
  };
  readonly selector: { readonly issuerRef?: IssuerRef; readonly namespace?: { readonly matchNames?: string[] } };
}

interface RoleObject extends K8sObject {
  readonly rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
}

interface RoleBindingObject extends K8sObject {
  readonly roleRef: { apiGroup: string; kind: string; name: string };
  readonly subjects: { kind: string; name: string; namespace?: string }[];
}

/** What one certificate asks the issuer for, in one namespace (a CertificateRequest as approver-policy sees it). */
interface Request {
  readonly namespace: string;
  readonly issuerRef: IssuerRef;
  readonly commonName?: string;
  readonly dnsNames?: readonly string[];
  readonly uris?: readonly string[];
  readonly usages?: readonly string[];
  readonly isCA?: boolean;
  readonly duration?: string;
  readonly privateKey?: { readonly algorithm?: string; readonly size?: number };
}

const CLIENTS: SecureTemporalChartProps = {
  clientIdentities: [
    { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'] },
    { name: 'orders-starter', namespace: 'orders', temporalNamespaces: ['orders'], role: 'read' },
    { name: 'billing-worker', namespace: 'billing', temporalNamespaces: ['billing'] },
  ],
  clientNamespaces: [Peer.namespace('orders'), Peer.namespace('billing')],
};
const CLIENT_NAMESPACES = ['billing', 'orders'];
const USE_RULE = (name: string) => [{
  apiGroups: ['policy.cert-manager.io'], resources: ['certificaterequestpolicies'], verbs: ['use'], resourceNames: [name],
}];

function build(props: SecureTemporalChartProps = CLIENTS): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const chart = new SecureTemporalChart(new App(), 'temporal', props);
  return { chart, objs: synth(chart) };
}

const policies = (objs: readonly K8sObject[]) => findAll(objs, 'CertificateRequestPolicy');
const specOf = (policy: K8sObject) => policy.spec as PolicySpec;
const certificates = (objs: readonly K8sObject[]) => findAll(objs, 'Certificate');
const roles = (objs: readonly K8sObject[]) => findAll(objs, 'Role') as RoleObject[];
const bindings = (objs: readonly K8sObject[]) => findAll(objs, 'RoleBinding') as RoleBindingObject[];

function requestOf(certificate: K8sObject): Request {
  const spec = certificate.spec as CertificateSpec;
  return { ...spec, namespace: certificate.metadata.namespace ?? '' };
}

/** approver-policy's wildcard: `*` matches any run of characters. */
function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

/** Hours of a Go duration as cert-manager writes it (`2160h`, `2160h0m0s`, `90m`). */
function hours(duration: string): number {
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)];
  if (parts.length === 0) {
    throw new Error(`cannot read duration ${duration}`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) / (unit === 'h' ? 1 : unit === 'm' ? 60 : 3600), 0);
}

function selects(policy: PolicySpec, request: Request): boolean {
  const issuer = policy.selector.issuerRef;
  const issuerMatches = issuer === undefined || (wildcard(issuer.name, request.issuerRef.name) &&
    (issuer.kind === undefined || wildcard(issuer.kind, request.issuerRef.kind ?? 'Issuer')) &&
    (issuer.group === undefined || wildcard(issuer.group, request.issuerRef.group ?? 'cert-manager.io')));
  const names = policy.selector.namespace?.matchNames;
  return issuerMatches && (names === undefined || names.some((n) => wildcard(n, request.namespace)));
}

/** Why `policy` would deny `request` (empty: it is allowed). */
function denials(policy: PolicySpec, request: Request): string[] {
  const out: string[] = [];
  const { allowed, constraints } = policy;
  const values = (rule: ValueRule | undefined) => rule?.values ?? (rule?.value !== undefined ? [rule.value] : []);
  const field = (name: string, rule: ValueRule | undefined, given: readonly string[]) => {
    if (rule?.required && given.length === 0) {
      out.push(`${name} is required`);
    }
    given.filter((v) => !values(rule).some((p) => wildcard(p, v))).forEach((v) => out.push(`${name} ${v} is not allowed`));
  };
  field('commonName', allowed.commonName, request.commonName !== undefined ? [request.commonName] : []);
  field('dnsNames', allowed.dnsNames, request.dnsNames ?? []);
  field('uris', allowed.uris, request.uris ?? []);
  (request.usages ?? []).filter((u) => !(allowed.usages ?? []).includes(u)).forEach((u) => out.push(`usage ${u} is not allowed`));
  if (request.isCA === true && allowed.isCA !== true) {
    out.push('isCA is not allowed');
  }
  const maxDuration = constraints?.maxDuration;
  if (maxDuration !== undefined && request.duration !== undefined && hours(request.duration) > hours(maxDuration)) {
    out.push(`duration ${request.duration} exceeds ${maxDuration}`);
  }
  const key = constraints?.privateKey;
  if (key?.algorithm !== undefined && request.privateKey?.algorithm !== key.algorithm) {
    out.push(`key algorithm ${request.privateKey?.algorithm} is not ${key.algorithm}`);
  }
  if (key?.minSize !== undefined && (request.privateKey?.size ?? 0) < key.minSize) {
    out.push(`key size ${request.privateKey?.size} is below ${key.minSize}`);
  }
  return out;
}

/** Names of the policies that select `request` and allow it. */
function allowedBy(objs: readonly K8sObject[], request: Request): string[] {
  return policies(objs).filter((p) => selects(specOf(p), request) && denials(specOf(p), request).length === 0)
    .map((p) => p.metadata.name);
}

describe('WorkloadIssuancePolicy', () => {
  describe('in the default chart, with clients in orders and billing', () => {
    const { chart, objs } = build();
    const issuer = findObject(objs, 'ClusterIssuer', 'temporal-workload-ca');
    const clientCertificates = certificates(objs).filter((c) => CLIENT_NAMESPACES.includes(c.metadata.namespace ?? ''));
    const carrier = certificates(objs).find((c) => c.metadata.name === 'temporal-workload-ca-anchor');
    // The workload CA's ClusterIssuers: the one that signs workload certificates, and one per key slot for its carrier.
    const slotIssuers = ['temporal-workload-ca-slot-1', 'temporal-workload-ca-slot-2'];
    const workloadIssuers = [issuer.metadata.name, ...slotIssuers];
    const workloadRequests = certificates(objs).map(requestOf)
      .filter((r) => workloadIssuers.includes(r.issuerRef.name) && r.issuerRef.kind === 'ClusterIssuer');

    it('makes one cluster-scoped policy per client namespace, and one per trust carrier (a key slot each)', () => {
      expect(policies(objs).map((p) => p.metadata.name).sort()).toEqual(['temporal-workload-ca-2-anchor', 'temporal-workload-ca-anchor',
        'temporal-workload-ns-billing', 'temporal-workload-ns-orders']);
      expect(policies(objs).filter((p) => p.metadata.namespace !== undefined).map((p) => p.metadata.name)).toEqual([]);
      expect(chart.issuancePolicy?.policies).toHaveLength(4);
      expect(slotIssuers.map((name) => findObject(objs, 'ClusterIssuer', name).kind)).toEqual(['ClusterIssuer', 'ClusterIssuer']);
    });

    it.each(CLIENT_NAMESPACES)('lets %s ask for client certificates of its own identity URIs only', (namespace) => {
      const spec = specOf(findObject(objs, 'CertificateRequestPolicy', `temporal-workload-ns-${namespace}`));
      expect(spec.allowed.uris).toEqual({ values: [`spiffe://cluster.local/ns/${namespace}/temporal-client/*`], required: true });
      expect(spec.allowed.usages).toEqual(['digital signature', 'client auth']);
      expect(spec.allowed.isCA).toBe(false);
      expect([spec.allowed.dnsNames, spec.allowed.ipAddresses, spec.allowed.emailAddresses]).toEqual([undefined, undefined, undefined]);
    });

    it.each(CLIENT_NAMESPACES)('constrains %s to the leaves\' lifetime and key algorithm', (namespace) => {
      const spec = specOf(findObject(objs, 'CertificateRequestPolicy', `temporal-workload-ns-${namespace}`));
      const durations = [...new Set(clientCertificates.map((c) => (c.spec as CertificateSpec).duration))];
      expect(durations).toEqual(['2160h']);
      expect(spec.constraints?.maxDuration).toBe(durations[0]);
      expect(spec.constraints?.privateKey?.algorithm).toBe('ECDSA');
      expect(spec.constraints?.privateKey?.algorithm).toBe((clientCertificates[0].spec as CertificateSpec).privateKey?.algorithm);
    });

    it.each(CLIENT_NAMESPACES)('selects requests of %s to the workload ClusterIssuer only', (namespace) => {
      const spec = specOf(findObject(objs, 'CertificateRequestPolicy', `temporal-workload-ns-${namespace}`));
      expect(spec.selector.issuerRef).toMatchObject({ name: issuer.metadata.name, kind: issuer.kind });
      expect(spec.selector.namespace).toEqual({ matchNames: [namespace] });
      const refs = clientCertificates.filter((c) => c.metadata.namespace === namespace).map((c) => (c.spec as CertificateSpec).issuerRef);
      expect(refs.length).toBeGreaterThan(0);
      refs.forEach((ref) => expect(spec.selector.issuerRef).toMatchObject(ref));
    });

    it.each(CLIENT_NAMESPACES)('lets cert-manager use exactly the %s policy in that namespace (Role and RoleBinding)', (namespace) => {
      const name = `temporal-workload-ns-${namespace}`;
      expect(roles(objs).filter((r) => r.metadata.namespace === namespace).map((r) => [r.metadata.name, r.rules]))
        .toEqual([[name, USE_RULE(name)]]);
      const bound = bindings(objs).filter((b) => b.metadata.namespace === namespace);
      expect(bound.map((b) => [b.metadata.name, b.roleRef, b.subjects])).toEqual([[name,
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        [{ kind: 'ServiceAccount', name: 'cert-manager', namespace: 'cert-manager' }]]]);
    });

    it.each([
      [1, 'temporal-workload-ca-anchor', 'temporal-workload-ca-slot-1'],
      [2, 'temporal-workload-ca-2-anchor', 'temporal-workload-ca-slot-2'],
    ])('admits the trust carrier of slot %d in the Temporal namespace by its exact common name, from its slot\'s issuer only', (_slot, name, slotIssuer) => {
      const slotCarrier = certificates(objs).find((c) => c.metadata.name === name);
      expect(slotCarrier).toBeDefined();
      expect((slotCarrier?.spec as CertificateSpec).issuerRef).toMatchObject({ name: slotIssuer, kind: 'ClusterIssuer' });
      // Each slot issuer signs with its own slot's Secret, whichever slot signs workload certificates.
      expect((findObject(objs, 'ClusterIssuer', slotIssuer).spec as { ca: { secretName: string } }).ca.secretName)
        .toBe(_slot === 1 ? 'temporal-workload-ca' : 'temporal-workload-ca-2');
      const spec = specOf(findObject(objs, 'CertificateRequestPolicy', name));
      const commonName = (slotCarrier?.spec as CertificateSpec).commonName;
      expect(commonName).toBeDefined();
      expect(spec.allowed.commonName).toEqual({ value: commonName, required: true });
      expect([spec.allowed.uris, spec.allowed.dnsNames]).toEqual([undefined, undefined]);
      expect(spec.allowed.isCA).toBe(false);
      expect(spec.selector.namespace).toEqual({ matchNames: ['temporal'] });
      expect(spec.selector.issuerRef).toMatchObject({ name: slotIssuer, kind: 'ClusterIssuer' });
      expect(roles(objs).filter((r) => r.metadata.namespace === 'temporal' && r.metadata.name === name).map((r) => r.rules))
        .toEqual([USE_RULE(name)]);
      expect(bindings(objs).filter((b) => b.metadata.namespace === 'temporal').map((b) => b.roleRef.name).sort())
        .toEqual(['temporal-workload-ca-2-anchor', 'temporal-workload-ca-anchor']);
    });

    it('makes one policy per namespace however many identities it holds', () => {
      expect(clientCertificates.filter((c) => c.metadata.namespace === 'orders')).toHaveLength(2);
      expect(policies(objs).filter((p) => (specOf(p).selector.namespace?.matchNames ?? []).includes('orders'))).toHaveLength(1);
    });

    describe('evaluated as approver-policy would', () => {
      const valid: Request = {
        namespace: 'orders', issuerRef: { name: 'temporal-workload-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        commonName: 'evil', uris: ['spiffe://cluster.local/ns/orders/temporal-client/another'],
        usages: ['digital signature', 'client auth'], duration: '2160h', privateKey: { algorithm: 'ECDSA', size: 256 },
      };

      it('admits every certificate the chart asks of the workload CA, each by a policy selecting its namespace', () => {
        // The client certificates and the two trust carriers.
        expect(workloadRequests.map((r) => r.namespace).sort()).toEqual(['billing', 'orders', 'orders', 'temporal', 'temporal']);
        const refused = workloadRequests.filter((r) => allowedBy(objs, r).length === 0);
        expect(refused).toEqual([]);
        for (const request of workloadRequests) {
          const names = allowedBy(objs, request);
          names.forEach((name) => expect(specOf(findObject(objs, 'CertificateRequestPolicy', name)).selector.namespace?.matchNames)
            .toContain(request.namespace));
        }
      });

      it('admits a new identity of a declared namespace (the evaluator is not refusing everything)', () => {
        expect(allowedBy(objs, valid)).toEqual(['temporal-workload-ns-orders']);
      });

      it('admits no workload identity from a slot issuer (they carry their slot\'s anchor, nothing else)', () => {
        for (const slotIssuer of slotIssuers) {
          const fromSlot = { ...valid, issuerRef: { ...valid.issuerRef, name: slotIssuer } };
          expect(allowedBy(objs, fromSlot)).toEqual([]);
        }
        // Nor one slot's carrier from the other slot's issuer: each carrier carries its own slot's anchor.
        const carrierRequest = requestOf(carrier as K8sObject);
        expect(allowedBy(objs, carrierRequest)).toEqual(['temporal-workload-ca-anchor']);
        expect(allowedBy(objs, { ...carrierRequest, issuerRef: { ...carrierRequest.issuerRef, name: slotIssuers[1] } })).toEqual([]);
      });

      it('selects no certificate of another issuer (the policies concern the workload CA only)', () => {
        const others = certificates(objs).map(requestOf).filter((r) => !workloadIssuers.includes(r.issuerRef.name));
        expect(others.length).toBeGreaterThan(0);
        expect(others.filter((r) => policies(objs).some((p) => selects(specOf(p), r)))).toEqual([]);
      });

      const uri = (namespace: string, kind = 'temporal-client', name = 'w') => `spiffe://cluster.local/ns/${namespace}/${kind}/${name}`;
      it.each([
        ['a sub-CA', (ns: string) => ({ isCA: true, uris: [uri(ns)] })],
        ['an identity of another namespace', (_ns: string, other: string) => ({ uris: [uri(other)] })],
        ['a platform identity of its own namespace', (ns: string) => ({ uris: [uri(ns, 'temporal-platform', 'web')] })],
        ['the admin tools\' platform identity', () => ({ uris: [uri('temporal', 'temporal-platform', 'admintools')] })],
        ['a second URI of another namespace', (ns: string, other: string) => ({ uris: [uri(ns), uri(other)] })],
        ['an identity URI nested under another namespace\'s', (ns: string, other: string) => ({
          uris: [`spiffe://cluster.local/ns/${other}/temporal-client/${ns}/temporal-client/w`] })],
        ['no identity URI', () => ({ uris: [] })],
        ['a DNS name', (ns: string) => ({ uris: [uri(ns)], dnsNames: ['temporal-frontend.temporal.svc.cluster.local'] })],
        ['server auth', (ns: string) => ({ uris: [uri(ns)], usages: ['digital signature', 'server auth'] })],
        ['a longer lifetime', (ns: string) => ({ uris: [uri(ns)], duration: '8760h' })],
        ['an RSA key', (ns: string) => ({ uris: [uri(ns)], privateKey: { algorithm: 'RSA', size: 4096 } })],
      ] as const)('admits no request of a client namespace for %s', (_what, change: (ns: string, other: string) => Partial<Request>) => {
        for (const [namespace, other] of [['orders', 'billing'], ['billing', 'orders']]) {
          expect(allowedBy(objs, { ...valid, namespace, ...change(namespace, other) })).toEqual([]);
          // The same request with its own URI only is admitted: what is refused is the change.
          expect(allowedBy(objs, { ...valid, namespace, uris: [uri(namespace)] })).toEqual([`temporal-workload-ns-${namespace}`]);
        }
      });

      it('admits nothing in a namespace that declares no identity', () => {
        expect(allowedBy(objs, { ...valid, namespace: 'other', uris: ['spiffe://cluster.local/ns/other/temporal-client/w'] })).toEqual([]);
      });

      it('admits no identity URI in the Temporal namespace, not even with the carrier\'s common name', () => {
        const commonName = (carrier?.spec as CertificateSpec).commonName;
        const asCarrier = { ...valid, namespace: 'temporal', commonName };
        expect(allowedBy(objs, { ...asCarrier, uris: ['spiffe://cluster.local/ns/temporal/temporal-platform/admintools'] })).toEqual([]);
        expect(allowedBy(objs, { ...asCarrier, uris: ['spiffe://cluster.local/ns/temporal/temporal-client/x'] })).toEqual([]);
        expect(allowedBy(objs, { ...asCarrier, uris: [], commonName: 'admintools' })).toEqual([]);
        expect(allowedBy(objs, { ...asCarrier, uris: [], isCA: true, usages: [] })).toEqual([]);
      });
    });
  });

  describe('options', () => {
    it('makes nothing with workloadIssuancePolicy: false', () => {
      const { chart, objs } = build({ ...CLIENTS, workloadIssuancePolicy: false });
      expect(chart.issuancePolicy).toBeUndefined();
      expect([policies(objs), roles(objs), bindings(objs)]).toEqual([[], [], []]);
      // The identities are still issued.
      expect(certificates(objs).filter((c) => CLIENT_NAMESPACES.includes(c.metadata.namespace ?? ''))).toHaveLength(3);
    });

    it('makes nothing when certificates are minted outside cert-manager', () => {
      const { chart, objs } = build({ ...CLIENTS, tls: { issuance: 'provided' } });
      expect(chart.issuancePolicy).toBeUndefined();
      expect([policies(objs), roles(objs), bindings(objs)]).toEqual([[], [], []]);
    });

    it('binds the cert-manager ServiceAccount given, in every namespace', () => {
      const { objs } = build({ ...CLIENTS, workloadIssuancePolicy: { certManagerServiceAccount: { name: 'cm-controller', namespace: 'cm-system' } } });
      const subjects = bindings(objs).map((b) => [b.metadata.namespace, b.subjects]);
      const expected = [{ kind: 'ServiceAccount', name: 'cm-controller', namespace: 'cm-system' }];
      expect(subjects.sort()).toEqual([['billing', expected], ['orders', expected], ['temporal', expected], ['temporal', expected]]);
    });

    it('defaults the ServiceAccount\'s namespace to the cluster resource namespace', () => {
      const { objs } = build({ ...CLIENTS, tls: { clusterResourceNamespace: 'cm-resources' } });
      expect([...new Set(bindings(objs).flatMap((b) => b.subjects.map((s) => `${s.namespace}/${s.name}`)))])
        .toEqual(['cm-resources/cert-manager']);
    });

    it('prefixes the cluster-scoped names with the namespace when the installation has another name', () => {
      const { objs } = build({ ...CLIENTS, name: 'tx', namespace: 'tns' });
      expect(policies(objs).map((p) => p.metadata.name).sort())
        .toEqual(['tns-tx-workload-ca-2-anchor', 'tns-tx-workload-ca-anchor', 'tns-tx-workload-ns-billing', 'tns-tx-workload-ns-orders']);
      expect(specOf(findObject(objs, 'CertificateRequestPolicy', 'tns-tx-workload-ns-orders')).selector.issuerRef?.name)
        .toBe(findAll(objs, 'ClusterIssuer')[0].metadata.name);
    });

    it('makes only the carriers\' policies without client identities', () => {
      const { objs } = build({});
      expect(policies(objs).map((p) => p.metadata.name)).toEqual(['temporal-workload-ca-anchor', 'temporal-workload-ca-2-anchor']);
    });

    it('refuses a ServiceAccount name that is not a DNS label (INVALID_NAME), leaving nothing behind', () => {
      const app = new App();
      let thrown: unknown;
      try {
        new SecureTemporalChart(app, 'temporal', { ...CLIENTS, workloadIssuancePolicy: { certManagerServiceAccount: {
          name: 'Cert_Manager', namespace: 'cert-manager' } } });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).code).toBe('INVALID_NAME');
      expect((thrown as ValidationError).message).toContain('certManagerServiceAccount.name');
      expect(apiObjectsUnder(app)).toEqual([]);
    });

    it('refuses a PKI whose certificates are minted outside cert-manager (INVALID_TLS)', () => {
      const chart = new Chart(new App(), 'test', { namespace: 'temporal' });
      const pki = new TemporalPki(chart, 'Pki', { issuance: 'provided' });
      expect(() => new WorkloadIssuancePolicy(chart, 'Policy', { pki, namespaces: ['orders'] }))
        .toThrow(expect.objectContaining({ code: 'INVALID_TLS' }));
    });

    // A client namespace named like the trust carrier's policy suffix must not collide with it.
    it('gives a client namespace named "ca-anchor" its own policy, or refuses it with a ValidationError', () => {
      const props: SecureTemporalChartProps = {
        clientIdentities: [{ name: 'worker', namespace: 'ca-anchor', temporalNamespaces: ['orders'] }],
        clientNamespaces: [Peer.namespace('ca-anchor')],
      };
      let objs: K8sObject[] | undefined;
      try {
        objs = build(props).objs;
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return;
      }
      const names = policies(objs).map((p) => p.metadata.name);
      expect(new Set(names).size).toBe(names.length);
      expect(names).toHaveLength(3);
      expect(names).toContain('temporal-workload-ns-ca-anchor');
    });
  });
});
