import {
  clusterFromManifests, ClusterModel, Endpoint, inCidr, IpEndpoint, isAllowed, NetworkPolicyObject, PodEndpoint,
  reachability, selectorMatches,
} from './evaluator';

// The cases of the Kubernetes NetworkPolicy documentation (concepts/services-networking/network-policies),
// plus named ports and policyTypes defaulting. Fixture pods are written by hand here.

const pod = (namespace: string, name: string, labels: Record<string, string>,
  ports: PodEndpoint['ports'] = [{ name: 'http', containerPort: 80 }]): PodEndpoint =>
  ({ kind: 'pod', id: `${namespace}/${name}`, namespace, labels, ports });
const ip = (name: string, address: string, port: number): IpEndpoint =>
  ({ kind: 'ip', id: `ip/${name}`, ip: address, ports: [{ port, protocol: 'TCP' }] });
const policy = (name: string, spec: NetworkPolicyObject['spec'], namespace = 'default'): NetworkPolicyObject =>
  ({ kind: 'NetworkPolicy', metadata: { name, namespace }, spec });

const a = pod('default', 'a', { app: 'a' });
const b = pod('default', 'b', { app: 'b' });
const c = pod('other', 'c', { app: 'c' });

function model(policies: NetworkPolicyObject[], pods: PodEndpoint[] = [a, b, c], ips: IpEndpoint[] = [],
  namespaces: Record<string, Record<string, string>> = {}): ClusterModel {
  return clusterFromManifests([], { pods, ips, policies, namespaces });
}

const allowed = (m: ClusterModel, from: Endpoint, to: Endpoint, port: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
  isAllowed(m, from, to, port, protocol);

describe('evaluator (Kubernetes documentation cases)', () => {
  it('does allow everything when no policy selects a pod (non-isolated)', () => {
    const m = model([]);
    expect(allowed(m, a, b, 80)).toBe(true);
    expect(allowed(m, c, a, 12345, 'UDP')).toBe(true);
  });

  it('does deny all ingress with default-deny-ingress, and leaves egress alone', () => {
    const m = model([policy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })]);
    expect(allowed(m, c, a, 80)).toBe(false);
    expect(allowed(m, a, b, 80)).toBe(false);
    expect(allowed(m, a, c, 80)).toBe(true);
  });

  it('does allow all ingress with allow-all-ingress, even next to a deny', () => {
    const m = model([
      policy('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
      policy('allow-all-ingress', { podSelector: {}, ingress: [{}], policyTypes: ['Ingress'] }),
    ]);
    expect(allowed(m, c, a, 80)).toBe(true);
    expect(allowed(m, c, a, 9999, 'UDP')).toBe(true);
  });

  it('does deny all egress with default-deny-egress, and allow it again with allow-all-egress', () => {
    const deny = policy('default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
    expect(allowed(model([deny]), a, c, 80)).toBe(false);
    expect(allowed(model([deny]), c, a, 80)).toBe(true);
    const allow = policy('allow-all-egress', { podSelector: {}, egress: [{}], policyTypes: ['Egress'] });
    expect(allowed(model([deny, allow]), a, c, 80)).toBe(true);
  });

  it('does deny both directions with default-deny-all', () => {
    const m = model([policy('default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    expect(allowed(m, a, c, 80)).toBe(false);
    expect(allowed(m, c, a, 80)).toBe(false);
    expect(allowed(m, c, c, 80)).toBe(true);
  });

  describe('test-network-policy (ipBlock with except, namespaceSelector, podSelector)', () => {
    const db = pod('default', 'db', { role: 'db' }, [{ containerPort: 6379 }]);
    const frontend = pod('default', 'frontend', { role: 'frontend' });
    const frontendElsewhere = pod('elsewhere', 'frontend', { role: 'frontend' });
    const inProject = pod('myproject', 'any', { app: 'x' });
    const inRange = ip('in-range', '172.17.0.5', 6379);
    const excepted = ip('excepted', '172.17.1.5', 6379);
    const egressTarget = ip('egress-target', '10.0.0.7', 5978);
    const egressOutside = ip('egress-outside', '10.0.1.7', 5978);
    const m = model([policy('test-network-policy', {
      podSelector: { matchLabels: { role: 'db' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{
        from: [
          { ipBlock: { cidr: '172.17.0.0/16', except: ['172.17.1.0/24'] } },
          { namespaceSelector: { matchLabels: { project: 'myproject' } } },
          { podSelector: { matchLabels: { role: 'frontend' } } },
        ],
        ports: [{ protocol: 'TCP', port: 6379 }],
      }],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 5978 }] }],
    })], [db, frontend, frontendElsewhere, inProject], [inRange, excepted, egressTarget, egressOutside],
    { myproject: { project: 'myproject' } });

    it('does admit each of the three peers (OR) on TCP 6379 only', () => {
      expect(allowed(m, frontend, db, 6379)).toBe(true);
      expect(allowed(m, inProject, db, 6379)).toBe(true);
      expect(allowed(m, inRange, db, 6379)).toBe(true);
      expect(allowed(m, frontend, db, 6380)).toBe(false);
      expect(allowed(m, frontend, db, 6379, 'UDP')).toBe(false);
    });

    it('does not admit the except range, nor a role=frontend pod of another namespace', () => {
      expect(allowed(m, excepted, db, 6379)).toBe(false);
      expect(allowed(m, frontendElsewhere, db, 6379)).toBe(false);
    });

    it('does allow egress to 10.0.0.0/24 on TCP 5978 and nothing else', () => {
      expect(allowed(m, db, egressTarget, 5978)).toBe(true);
      expect(allowed(m, db, egressTarget, 5979)).toBe(false);
      expect(allowed(m, db, egressOutside, 5978)).toBe(false);
      expect(allowed(m, db, frontend, 80)).toBe(false);
    });
  });

  describe('namespaceSelector and podSelector: AND (one element) vs OR (two elements)', () => {
    const target = pod('default', 'target', { app: 'target' });
    const aliceClient = pod('alice', 'client', { role: 'client' });
    const aliceOther = pod('alice', 'other', { role: 'other' });
    const localClient = pod('default', 'client', { role: 'client' });
    const pods = [target, aliceClient, aliceOther, localClient];
    const namespaces = { alice: { user: 'alice' } };
    const and = model([policy('and', { podSelector: { matchLabels: { app: 'target' } }, ingress: [{ from: [
      { namespaceSelector: { matchLabels: { user: 'alice' } }, podSelector: { matchLabels: { role: 'client' } } },
    ] }] })], pods, [], namespaces);
    const or = model([policy('or', { podSelector: { matchLabels: { app: 'target' } }, ingress: [{ from: [
      { namespaceSelector: { matchLabels: { user: 'alice' } } },
      { podSelector: { matchLabels: { role: 'client' } } },
    ] }] })], pods, [], namespaces);

    it('does admit only role=client pods of alice namespaces with AND', () => {
      expect(allowed(and, aliceClient, target, 80)).toBe(true);
      expect(allowed(and, aliceOther, target, 80)).toBe(false);
      expect(allowed(and, localClient, target, 80)).toBe(false);
    });

    it('does admit every alice pod and local role=client pods with OR', () => {
      expect(allowed(or, aliceClient, target, 80)).toBe(true);
      expect(allowed(or, aliceOther, target, 80)).toBe(true);
      expect(allowed(or, localClient, target, 80)).toBe(true);
    });
  });

  it('does select a namespace by its kubernetes.io/metadata.name label', () => {
    const m = model([policy('by-name', { podSelector: {}, ingress: [{ from: [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } },
    ] }] })]);
    expect(allowed(m, c, a, 80)).toBe(true);
    expect(allowed(m, b, a, 80)).toBe(false);
  });

  it('does treat endPort as an inclusive range (multi-port-egress)', () => {
    const db = pod('default', 'db', { role: 'db' });
    const range = [31999, 32000, 32768, 32769].map((p) => ip(`p${p}`, '10.0.0.9', p));
    const m = model([policy('multi-port-egress', { podSelector: { matchLabels: { role: 'db' } }, policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ protocol: 'TCP', port: 32000, endPort: 32768 }] }] })],
    [db], range);
    expect(range.map((r) => allowed(m, db, r, r.ports[0].port))).toEqual([false, true, true, false]);
    expect(allowed(m, db, range[1], 32000, 'UDP')).toBe(false);
  });

  it('does resolve named ports against the destination pod, per pod', () => {
    const web1 = pod('default', 'web1', { app: 'web' }, [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }]);
    const web2 = pod('default', 'web2', { app: 'web' }, [{ name: 'http', containerPort: 8081 }]);
    const outside = ip('outside', '192.0.2.1', 8080);
    const m = model([
      policy('ingress-named', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 'http' }] }] }),
      policy('egress-named', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Egress'],
        egress: [{ ports: [{ port: 'http' }] }] }),
    ], [web1, web2, b], [outside]);
    expect(allowed(m, c, web1, 8080)).toBe(true);
    expect(allowed(m, c, web1, 9090)).toBe(false);
    expect(allowed(m, c, web1, 8081)).toBe(false);
    expect(allowed(m, c, web2, 8081)).toBe(true);
    expect(allowed(m, b, web1, 8080)).toBe(true);
    expect(allowed(m, b, outside, 8080)).toBe(false);
  });

  it('does default a port\'s protocol to TCP', () => {
    const m = model([policy('dns-only', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53 }] }] })]);
    expect(allowed(m, a, c, 53)).toBe(true);
    expect(allowed(m, a, c, 53, 'UDP')).toBe(false);
  });

  it('does default policyTypes to Ingress, plus Egress only when egress rules exist', () => {
    const ingressOnly = model([policy('p', { podSelector: { matchLabels: { app: 'a' } }, ingress: [] })]);
    expect(allowed(ingressOnly, c, a, 80)).toBe(false);
    expect(allowed(ingressOnly, a, c, 80)).toBe(true);
    const withEgress = model([policy('p', { podSelector: { matchLabels: { app: 'a' } },
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }] }] })]);
    expect(allowed(withEgress, a, c, 80)).toBe(false);
    expect(allowed(withEgress, a, b, 80)).toBe(true);
  });

  it('does need egress at the source AND ingress at the destination; allows add up across policies', () => {
    const m = model([
      policy('deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      policy('a-out', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }),
    ]);
    expect(allowed(m, a, b, 80)).toBe(false);
    const both = model([...m.policies, policy('b-in', { podSelector: { matchLabels: { app: 'b' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'a' } } }] }] })]);
    expect(allowed(both, a, b, 80)).toBe(true);
    expect(allowed(both, b, a, 80)).toBe(false);
  });

  it('does apply a policy only to pods of its own namespace', () => {
    const m = model([policy('deny', { podSelector: {}, policyTypes: ['Ingress'] }, 'other')]);
    expect(allowed(m, a, c, 80)).toBe(false);
    expect(allowed(m, c, a, 80)).toBe(true);
  });

  it('does evaluate matchExpressions (In, NotIn, Exists, DoesNotExist)', () => {
    const labels = { tier: 'db', env: 'prod' };
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selectorMatches({}, labels)).toBe(true);
  });

  it('does match CIDRs, including /0 and /32', () => {
    expect(inCidr('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(inCidr('11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(inCidr('203.0.113.9', '0.0.0.0/0')).toBe(true);
    expect(inCidr('10.20.0.5', '10.20.0.5/32')).toBe(true);
    expect(inCidr('10.20.0.6', '10.20.0.5/32')).toBe(false);
  });

  it('does read pods, namespaces and policies from manifests', () => {
    const manifests = [
      { kind: 'Namespace', metadata: { name: 'team', labels: { tier: 'gold' } } },
      { kind: 'Deployment', metadata: { name: 'api', namespace: 'team' },
        spec: { template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ ports: [{ containerPort: 8080 }] }] } } } },
      { kind: 'Job', metadata: { name: 'migrate', namespace: 'team' },
        spec: { template: { metadata: { labels: { app: 'migrate' } }, spec: { containers: [{}] } } } },
      { kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'team' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    ];
    const m = clusterFromManifests(manifests);
    expect(m.namespaces.get('team')).toEqual({ 'tier': 'gold', 'kubernetes.io/metadata.name': 'team' });
    expect(m.endpoints.map((e) => e.id)).toEqual(['team/api', 'team/migrate']);
    expect(reachability(m)).toEqual([]);
    const open = clusterFromManifests(manifests.slice(0, 3));
    expect(reachability(open, [])).toEqual(['team/api -> team/api 8080/TCP', 'team/migrate -> team/api 8080/TCP']);
  });
});
