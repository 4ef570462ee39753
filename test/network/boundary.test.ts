import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Components, IComponent } from '../../lib/core/component';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { ValidationCode, ValidationError } from '../../lib/core/errors';
import { NetworkBoundary } from '../../lib/network/boundary';
import { Peer } from '../../lib/core/peers';
import { TemporalCluster } from '../../lib/temporal/cluster';
import { TemporalWebUi } from '../../lib/temporal/web-ui';
import { NetworkPolicyObject } from './evaluator';
import { externalDatabaseProps, synthChart } from './fixtures';

function policy(manifests: readonly unknown[], name: string): NetworkPolicyObject {
  const found = (manifests as NetworkPolicyObject[]).filter((m) => m.kind === 'NetworkPolicy' && m.metadata.name === name);
  if (found.length !== 1) {
    const names = (manifests as NetworkPolicyObject[]).filter((m) => m.kind === 'NetworkPolicy').map((m) => m.metadata.name);
    throw new Error(`expected one NetworkPolicy ${name}, found ${found.length} (have ${names.join(', ')})`);
  }
  return found[0];
}

function expectInvalid(props: SecureTemporalChartProps, code: ValidationCode, ...parts: (string | RegExp)[]): void {
  let error: unknown;
  try {
    new SecureTemporalChart(Testing.app(), 'temporal', props);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValidationError);
  const v = error as ValidationError;
  expect(v.code).toBe(code);
  expect(v.message).toContain('temporal/Network');
  expect(v.message).toContain('Fix:');
  for (const part of parts) {
    expect(v.message).toMatch(part);
  }
}

describe('NetworkBoundary', () => {
  it('does keep the history policy stable (change detector)', () => {
    expect(policy(synthChart().manifests, 'temporal-history')).toMatchSnapshot();
  });

  it('does create the default deny and one policy per component', () => {
    const { manifests } = synthChart();
    const names = (manifests as NetworkPolicyObject[]).filter((m) => m.kind === 'NetworkPolicy').map((m) => m.metadata.name);
    expect(names.sort()).toEqual(['temporal-admintools', 'temporal-authorizer-proxy', 'temporal-codec', 'temporal-default-deny', 'temporal-frontend',
      'temporal-history', 'temporal-internal-frontend', 'temporal-matching', 'temporal-namespaces', 'temporal-postgres', 'temporal-schema-default', 'temporal-schema-visibility',
      'temporal-web', 'temporal-worker']);
  });

  it('does admit the declared client namespaces to the authorizer proxy\'s gRPC port in one rule, and not to the frontend', () => {
    const { manifests } = synthChart({ clientNamespaces: [Peer.namespace('orders'), Peer.namespaces({ team: 'billing' })] });
    const fromOrders = (name: string) => (policy(manifests, name).spec.ingress ?? [])
      .filter((r) => (r.from ?? []).some((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'orders'));
    expect(fromOrders('temporal-frontend')).toEqual([]);
    const rules = fromOrders('temporal-authorizer-proxy');
    expect(rules).toHaveLength(1);
    expect(rules[0].from).toEqual(expect.arrayContaining([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'orders' } } },
      { namespaceSelector: { matchLabels: { team: 'billing' } } },
    ]));
    expect(rules[0].ports).toEqual([{ port: 7233, protocol: 'TCP' }]);
  });

  it('does admit the declared client namespaces to the frontend gRPC port in one rule without the proxy', () => {
    const { manifests } = synthChart({ authorizerProxy: false, clientNamespaces: [Peer.namespace('orders'), Peer.namespaces({ team: 'billing' })] });
    const rules = (policy(manifests, 'temporal-frontend').spec.ingress ?? [])
      .filter((r) => (r.from ?? []).some((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'orders'));
    expect(rules).toHaveLength(1);
    // Flows with equal ports share a rule: the clients sit next to the in-namespace callers of 7233.
    expect(rules[0].from).toEqual(expect.arrayContaining([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'orders' } } },
      { namespaceSelector: { matchLabels: { team: 'billing' } } },
    ]));
    expect((rules[0].from ?? []).filter((p) => p.namespaceSelector !== undefined)).toHaveLength(2);
    expect(rules[0].ports).toEqual([{ port: 7233, protocol: 'TCP' }]);
  });

  it('does send DNS to the configured resolver only (node-local DNS by CIDR)', () => {
    const { chart, manifests } = synthChart({ clusterDns: { peer: Peer.cidr('169.254.20.10/32'), port: 53 } });
    const egress = policy(manifests, 'temporal-web').spec.egress ?? [];
    expect(egress).toContainEqual({ to: [{ ipBlock: { cidr: '169.254.20.10/32' } }],
      ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] });
    expect(JSON.stringify(manifests)).not.toContain('kube-dns');
    expect(chart.network.flows.filter((f) => f.category === 'dns')).toHaveLength(chart.network.components.length);
  });

  it('does drop metrics ingress with monitoring: false, and use a custom monitoring peer otherwise', () => {
    const off = synthChart({ monitoring: false });
    expect(off.chart.network.flows.some((f) => f.category === 'metrics')).toBe(false);
    const custom = synthChart({ monitoring: Peer.namespace('observability', { 'app.kubernetes.io/name': 'prometheus' }) });
    expect(policy(custom.manifests, 'temporal-matching').spec.ingress).toContainEqual({
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    });
  });

  it('does reach an external database by CIDR on the stores\' port, or on declared ports', () => {
    const { manifests } = synthChart(externalDatabaseProps({ externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } }));
    expect(policy(manifests, 'temporal-schema-default').spec.egress).toContainEqual(
      { to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ port: 5432, protocol: 'TCP' }] });
    expect(manifests.some((m) => (m as { kind: string; metadata: { name: string } }).metadata.name === 'temporal-postgres'))
      .toBe(false);
    const ported = synthChart(externalDatabaseProps({ externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')], ports: [6432] } }));
    expect(policy(ported.manifests, 'temporal-history').spec.egress).toContainEqual(
      { to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ port: 6432, protocol: 'TCP' }] });
  });

  it('does fence the components it finds in its Chart, a standalone cluster without Web UI included', () => {
    const chart = new Chart(Testing.app(), 'standalone', { namespace: 'temporal' });
    new TemporalCluster(chart, 'Cluster', { persistence: externalDatabaseProps().persistence! });
    const boundary = new NetworkBoundary(chart, 'Network', {
      externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] },
      extraFlows: [{ from: 'worker', to: 'frontend', ports: [7243], purpose: 'worker calls the HTTP API' }],
    });
    expect(boundary.components.map((c) => c.id)).toEqual(['frontend', 'history', 'matching', 'worker', 'schema-default',
      'schema-visibility']);
    expect(boundary.flows.filter((f) => f.category === 'dns')).toHaveLength(6);
    const names = Testing.synth(chart).filter((m) => m.kind === 'NetworkPolicy').map((m) => m.metadata.name);
    expect(names).toEqual(['temporal-default-deny', 'temporal-frontend', 'temporal-history', 'temporal-matching', 'temporal-worker',
      'temporal-schema-default', 'temporal-schema-visibility']);
  });

  it('does name its policies after its installation: the cluster\'s, when given', () => {
    const chart = new Chart(Testing.app(), 'standalone', { namespace: 'temporal' });
    const cluster = new TemporalCluster(chart, 'Cluster', { name: 'tprod', persistence: externalDatabaseProps().persistence! });
    new NetworkBoundary(chart, 'Network', { installation: cluster.installation, externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } });
    const names = Testing.synth(chart).filter((m) => m.kind === 'NetworkPolicy').map((m) => m.metadata.name);
    expect(names).toContain('tprod-frontend');
    expect(names.filter((n) => n.startsWith('temporal-'))).toEqual([]);
  });

  it('does write the same diagram and policies on every synth (deterministic)', () => {
    const one = synthChart({ internalFrontend: true });
    const two = synthChart({ internalFrontend: true });
    expect(one.chart.network.diagram).toBe(two.chart.network.diagram);
    expect(JSON.stringify(one.manifests)).toBe(JSON.stringify(two.manifests));
  });

  describe('fails', () => {
    it('fails when a component calls a component that is not part of the deployment', () => {
      const app = Testing.app();
      const servers = new Chart(app, 'servers', { namespace: 'temporal' });
      const cluster = new TemporalCluster(servers, 'Cluster', { persistence: externalDatabaseProps().persistence! });
      const ui = new Chart(app, 'ui', { namespace: 'temporal' });
      new TemporalWebUi(ui, 'WebUi', { cluster });
      // The boundary of the UI's chart sees the Web UI, not the frontend it calls (another chart's component).
      const build = () => new NetworkBoundary(ui, 'Network');
      expect(build).toThrow(ValidationError);
      expect(build).toThrow(/ui\/Network\/web: calls a component that is not part of this deployment \(got "servers\/Cluster\/Frontend"\)/);
    });

    it('fails with DUPLICATE_NAME when a second boundary would write the same NetworkPolicies', () => {
      const chart = new Chart(Testing.app(), 'standalone', { namespace: 'temporal' });
      new TemporalCluster(chart, 'Cluster', { persistence: externalDatabaseProps().persistence! });
      const database = { externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } };
      new NetworkBoundary(chart, 'Network', database);
      const build = () => new NetworkBoundary(chart, 'Again', database);
      expect(build).toThrow(ValidationError);
      expect(build).toThrow(/a NetworkPolicy named "temporal-default-deny" in namespace "temporal" already exists/);
    });

    it('fails at synth when a workload of its Chart is described by no component', () => {
      const app = Testing.app();
      const chart = new Chart(app, 'standalone', { namespace: 'temporal' });
      new TemporalCluster(chart, 'Cluster', { persistence: externalDatabaseProps().persistence! });
      new NetworkBoundary(chart, 'Network', { externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } });
      expect(() => app.synth()).not.toThrow();
      // Added after the boundary, or never registered as a component: its pods would get no row at all.
      new k8s.KubeDeployment(chart, 'Stray', { metadata: { name: 'stray' }, spec: { selector: { matchLabels: { app: 'stray' } },
        template: { metadata: { labels: { app: 'stray' } }, spec: { containers: [{ name: 'c', image: 'example.com/c:1' }] } } } });
      expect(() => app.synth())
        .toThrow(/standalone\/Stray: Deployment "stray" is in the Chart of standalone\/Network but no component describes it/);
    });

    it('fails with INVALID_PEER, not a crash, when a component calls the external database and none is declared', () => {
      const chart = new Chart(Testing.app(), 'standalone', { namespace: 'temporal' });
      const selector = { app: 'etl' };
      const workload = new k8s.KubeDeployment(chart, 'Etl', { metadata: { name: 'etl' }, spec: { selector: { matchLabels: selector },
        template: { metadata: { labels: selector }, spec: { containers: [{ name: 'etl', image: 'example.com/etl:1' }] } } } });
      const etl = new Construct(chart, 'EtlComponent') as Construct & IComponent;
      Object.defineProperty(etl, 'description', { value: { id: 'etl', workload, selector, ports: [],
        calls: [{ outside: { role: 'database' }, ports: [{ port: 5432 }], category: 'database', purpose: 'exports' }] } });
      Components.register(etl);
      const build = () => new NetworkBoundary(chart, 'Network');
      expect(build).toThrow(ValidationError);
      expect(build).toThrow(/store\(s\) the database of etl are outside the namespace and no database peer is declared/);
    });

    it('fails when an extra flow targets a port no one listens on', () => {
      expectInvalid({ extraFlows: [{ from: 'web', to: 'frontend', ports: [9999], purpose: 'x' }] }, 'INVALID_FLOW',
        'no one listens on this port of frontend', '"9999/TCP"', '7233/TCP');
    });

    it('fails when an extra flow names a component that does not exist', () => {
      expectInvalid({ authorizerProxy: false, extraFlows: [{ from: 'internal-frontend', to: 'history', ports: [7234], purpose: 'x' }] },
        'INVALID_FLOW', 'names no component', '"internal-frontend"');
      expectInvalid({ webUi: false, extraFlows: [{ from: 'frontend', to: 'web', ports: [8080], purpose: 'x' }] },
        'INVALID_FLOW', '"web"');
    });

    it('fails when an extra flow lies between two outside peers, or lacks ports or purpose', () => {
      expectInvalid({ extraFlows: [{ from: Peer.namespace('a'), to: Peer.cidr('10.0.0.0/8'), ports: [1], purpose: 'x' }] },
        'INVALID_FLOW', 'must start or end at a component');
      expectInvalid({ extraFlows: [{ from: 'frontend', to: Peer.cidr('10.0.0.0/8'), ports: [], purpose: 'x' }] },
        'INVALID_FLOW', 'at least one port');
      expectInvalid({ extraFlows: [{ from: 'frontend', to: Peer.cidr('10.0.0.0/8'), ports: [443], purpose: ' ' }] },
        'INVALID_FLOW', 'purpose is required');
      expectInvalid({ extraFlows: [{ from: 'frontend', to: Peer.cidr('10.0.0.0/8'), ports: [70000], purpose: 'x' }] },
        'INVALID_FLOW', '1-65535');
    });

    it('fails when a peer admits every address without allowAnyAddress', () => {
      expectInvalid({ extraFlows: [{ from: 'frontend', to: Peer.cidr('0.0.0.0/0'), ports: [443], purpose: 'x' }] },
        'INVALID_PEER', 'admits every address', 'allowAnyAddress');
      expectInvalid(externalDatabaseProps({ externalDatabase: { peers: [Peer.cidr('0.0.0.0/0')] } }), 'INVALID_PEER',
        'externalDatabase.peers[0].cidr');
    });

    it('fails on malformed peers: empty namespace labels, host bits, except outside the range', () => {
      expectInvalid({ clientNamespaces: [Peer.namespaces({})] }, 'INVALID_PEER', 'clientNamespaces[0]', 'every namespace');
      expectInvalid({ monitoring: Peer.cidr('10.20.0.5/24') }, 'INVALID_PEER', 'without host bits');
      expectInvalid({ ingressController: Peer.cidr('10.0.0.0/16', ['10.1.0.0/24']) }, 'INVALID_PEER', 'strictly inside');
      expectInvalid({ clusterDns: { peer: Peer.namespaces({ 'bad key!': 'x' }) } }, 'INVALID_PEER', 'invalid label');
    });

    it('fails when the database peer is missing, or declared for nothing', () => {
      expectInvalid(externalDatabaseProps(), 'INVALID_PEER', 'db.example.internal:5432', 'no database peer is declared');
      expectInvalid({ externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } }, 'INVALID_PEER',
        'every store uses the evaluation PostgreSQL');
      expectInvalid(externalDatabaseProps({ externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')], ports: [0] } }),
        'INVALID_PORT', 'externalDatabase.ports');
    });

    it('fails on a DNS port out of range', () => {
      expectInvalid({ clusterDns: { port: 0 } }, 'INVALID_PORT', 'clusterDns.port');
    });
  });
});
