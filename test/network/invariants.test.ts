import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { Peer } from '../../lib/core/peers';
import { inCidr, LabelSelector, NetworkPolicyObject, PodEndpoint, PolicyPeer, selectingPolicies } from './evaluator';
import { externalDatabaseProps, modelOf, synthChart } from './fixtures';

const CONFIGS: Record<string, () => SecureTemporalChartProps> = {
  'default': () => ({}),
  'external database': () => externalDatabaseProps({ externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] },
    clientNamespaces: [Peer.namespace('orders')] }),
  'internal-frontend': () => ({ internalFrontend: true,
    authorizerProxy: { oidc: { issuer: 'https://login.example.com', audience: 'temporal', jwksUri: 'https://login.example.com/jwks',
      peers: [Peer.cidr('203.0.113.0/24')] } },
    webUi: { ingress: { host: 'temporal.example.com', tlsSecretName: 'temporal-web-tls' }, sso: { clientId: 'temporal-ui',
      clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' } },
    codecServer: { ingress: { host: 'codec.temporal.example.com', tlsSecretName: 'codec-tls' } } }),
  'minimal': () => ({ webUi: false, adminTools: false, namespaces: [], monitoring: false, codecServer: false }),
};

const isEmpty = (s: LabelSelector | undefined): boolean =>
  s !== undefined && Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0;

/** Why a peer list admits every source / destination, or undefined when it does not. */
function tooBroad(peers: readonly PolicyPeer[] | undefined): string | undefined {
  if (peers === undefined || peers.length === 0) {
    return 'no peer list (every peer)';
  }
  for (const peer of peers) {
    if (peer.ipBlock && inCidr('0.0.0.0', peer.ipBlock.cidr) && inCidr('255.255.255.255', peer.ipBlock.cidr)) {
      return `ipBlock ${peer.ipBlock.cidr}`;
    }
    if (isEmpty(peer.namespaceSelector)) {
      return 'empty namespaceSelector (every namespace)';
    }
  }
  return undefined;
}

function policiesOf(manifests: readonly unknown[]): NetworkPolicyObject[] {
  return (manifests as { kind: string }[]).filter((m) => m.kind === 'NetworkPolicy') as unknown as NetworkPolicyObject[];
}

function broadRules(manifests: readonly unknown[]): string[] {
  const found: string[] = [];
  for (const p of policiesOf(manifests)) {
    (p.spec.ingress ?? []).forEach((r, i) => {
      const why = tooBroad(r.from);
      if (why) {
        found.push(`${p.metadata.name} ingress[${i}]: ${why}`);
      }
    });
    (p.spec.egress ?? []).forEach((r, i) => {
      const why = tooBroad(r.to);
      if (why) {
        found.push(`${p.metadata.name} egress[${i}]: ${why}`);
      }
    });
  }
  return found;
}

describe.each(Object.entries(CONFIGS))('NetworkBoundary invariants (%s)', (_name, props) => {
  const { manifests } = synthChart(props());
  const model = modelOf(manifests);
  const temporalPods = model.endpoints.filter((x): x is PodEndpoint => x.kind === 'pod' && x.namespace === 'temporal');

  it('does select every pod template by a policy with Ingress and by one with Egress', () => {
    expect(temporalPods.length).toBeGreaterThan(0);
    const unfenced = temporalPods.filter((pod) =>
      selectingPolicies(model, pod, 'Ingress').length === 0 || selectingPolicies(model, pod, 'Egress').length === 0);
    expect(unfenced.map((x) => x.id)).toEqual([]);
  });

  it('does give every pod its own policy besides the default deny', () => {
    const bare = temporalPods.filter((pod) => selectingPolicies(model, pod, 'Ingress')
      .filter((p) => Object.keys(p.spec.podSelector?.matchLabels ?? {}).length > 0).length !== 1);
    expect(bare.map((x) => x.id)).toEqual([]);
  });

  it('does have no rule that admits all sources or all destinations', () => {
    expect(broadRules(manifests)).toEqual([]);
  });

  it('does name ports in every rule (no rule opens every port)', () => {
    const open = policiesOf(manifests).flatMap((p) => [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]
      .filter((r) => (r.ports ?? []).length === 0).map(() => p.metadata.name));
    expect(open).toEqual([]);
  });

  it('does deny by default every pod of the namespace, ingress and egress', () => {
    const deny = policiesOf(manifests).filter((p) => isEmpty(p.spec.podSelector) && p.metadata.namespace === 'temporal');
    expect(deny).toHaveLength(1);
    expect(deny[0].spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('does synthesize schema-valid networking.k8s.io/v1 NetworkPolicies in the Temporal namespace', () => {
    for (const p of policiesOf(manifests)) {
      expect(p.metadata.namespace).toBe('temporal');
      expect(() => new NetworkPolicy(p as never).validate()).not.toThrow();
    }
  });
});

describe('NetworkBoundary invariants with a declared any-address flow', () => {
  it('does admit 0.0.0.0/0 only in the rule an extra flow declares', () => {
    const { manifests } = synthChart({ extraFlows: [{ from: 'worker', to: Peer.cidr('0.0.0.0/0'), ports: [443],
      purpose: 'system workflows call out to webhooks', allowAnyAddress: true }] });
    const broad = broadRules(manifests);
    expect(broad).toHaveLength(1);
    expect(broad[0]).toMatch(/^temporal-worker egress\[\d+\]: ipBlock 0\.0\.0\.0\/0$/);
  });
});
