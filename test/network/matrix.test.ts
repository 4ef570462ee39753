import { Peer } from '../../lib/core/peers';
import { edgeText, Protocol, reachability } from './evaluator';
import { externalDatabaseProps, modelOf, synthChart } from './fixtures';

/*
 * The intended matrix, written by hand from the design (docs/NETWORK.md, reference section 3 "Ports and
 * traffic"), NOT computed by the library: who may talk to whom, on which port. The evaluator computes
 * what the synthesized NetworkPolicies actually allow; the two must be equal, edge for edge.
 */

// Ports as the reference table gives them (hand-copied on purpose, not imported).
const GRPC: Record<string, number> = { 'frontend': 7233, 'internal-frontend': 7236, 'history': 7234, 'matching': 7235, 'worker': 7239 };
const MEMBERSHIP: Record<string, number> = {
  'frontend': 6933, 'internal-frontend': 6936, 'history': 6934, 'matching': 6935, 'worker': 6939,
};
const METRICS = 9090;
const PROXY = 7233;
const JWKS = 8443;
const POSTGRES = 5432;
const WEB = 8080;
const CODEC = 8443;
const IDP = 443;

const t = (component: string): string => `temporal/${component}`;
const e = (from: string, to: string, port: number, protocol: Protocol = 'TCP'): string => edgeText(from, to, port, protocol);

interface Design {
  readonly servers: readonly string[];
  /** Whether the authorizer proxy is the clients' door (the chart's default). */
  readonly proxy: boolean;
  /** Where the system SDK clients go (and, without the proxy, admin tools and the namespace Job). */
  readonly adminTarget: 'frontend' | 'internal-frontend';
  /** `temporal/postgres` or `ip/database`. */
  readonly database: string;
  readonly webIngress: boolean;
  readonly clients: readonly string[];
  /** The codec server behind an Ingress. */
  readonly codecIngress?: boolean;
  /** Single sign-on: the identity provider at ip/internet:443 (Web UI, proxy and codec server reach it). */
  readonly idp?: boolean;
}

function intended(d: Design): string[] {
  const edges: string[] = [];
  // Every server to every server (itself included: its other replicas) on the destination's membership port.
  for (const from of d.servers) {
    for (const to of d.servers) {
      edges.push(e(t(from), t(to), MEMBERSHIP[to]));
    }
  }
  const rpc: [string, string][] = [
    ['frontend', 'history'], ['frontend', 'matching'],
    ['history', 'history'], ['history', 'matching'],
    ['matching', 'history'], ['matching', 'matching'],
    ['worker', 'history'], ['worker', 'matching'],
  ];
  if (d.servers.includes('internal-frontend')) {
    rpc.push(['internal-frontend', 'history'], ['internal-frontend', 'matching']);
  }
  // System SDK clients (frontend, internal-frontend, history, worker) call the admin target.
  for (const client of ['frontend', 'internal-frontend', 'history', 'worker'].filter((s) => d.servers.includes(s))) {
    rpc.push([client, d.adminTarget]);
  }
  for (const [from, to] of rpc) {
    edges.push(e(t(from), t(to), GRPC[to]));
  }
  if (d.proxy) {
    // Every client goes through the proxy; only the proxy calls the frontend, which fetches the proxy's JWKS.
    for (const from of ['web', 'admintools', 'namespaces']) {
      edges.push(e(t(from), t('authorizer-proxy'), PROXY));
    }
    edges.push(e(t('authorizer-proxy'), t('frontend'), GRPC.frontend));
    edges.push(e(t('frontend'), t('authorizer-proxy'), JWKS));
    edges.push(e('monitoring/prometheus', t('authorizer-proxy'), METRICS));
    // The codec server (on with the proxy): the client namespaces' CLI, browsers through the ingress, Prometheus.
    edges.push(e('monitoring/prometheus', t('codec'), METRICS));
    for (const client of d.clients) {
      edges.push(e(client, t('codec'), CODEC));
    }
    if (d.codecIngress) {
      edges.push(e('ingress-nginx/controller', t('codec'), CODEC));
    }
    if (d.idp) {
      for (const from of ['web', 'authorizer-proxy', 'codec']) {
        edges.push(e(t(from), 'ip/internet', IDP));
      }
    }
  } else {
    edges.push(e(t('web'), t('frontend'), GRPC.frontend));
    edges.push(e(t('admintools'), t(d.adminTarget), GRPC[d.adminTarget]));
    edges.push(e(t('namespaces'), t(d.adminTarget), GRPC[d.adminTarget]));
  }
  for (const from of [...d.servers, 'schema-default', 'schema-visibility']) {
    edges.push(e(t(from), d.database, POSTGRES));
  }
  const pods = [...d.servers, 'web', 'admintools', 'namespaces', 'schema-default', 'schema-visibility',
    ...(d.database === 'temporal/postgres' ? ['postgres'] : []), ...(d.proxy ? ['authorizer-proxy', 'codec'] : [])];
  for (const from of pods) {
    edges.push(e(t(from), 'kube-system/kube-dns', 53, 'UDP'), e(t(from), 'kube-system/kube-dns', 53, 'TCP'));
  }
  for (const to of d.servers) {
    edges.push(e('monitoring/prometheus', t(to), METRICS));
  }
  if (d.webIngress) {
    edges.push(e('ingress-nginx/controller', t('web'), WEB));
  }
  for (const client of d.clients) {
    edges.push(d.proxy ? e(client, t('authorizer-proxy'), PROXY) : e(client, t('frontend'), GRPC.frontend));
  }
  return [...new Set(edges)].sort();
}

/** Edges that touch the Temporal namespace (the rest of the fixture cluster has no policies of ours). */
function actual(manifests: readonly unknown[]): string[] {
  return reachability(modelOf(manifests)).filter((edge) => {
    const [from, , to] = edge.split(' ');
    return from.startsWith('temporal/') || to.startsWith('temporal/');
  });
}

function compare(expected: string[], got: string[]): { missing: string[]; extra: string[] } {
  return { missing: expected.filter((x) => !got.includes(x)), extra: got.filter((x) => !expected.includes(x)) };
}

describe('NetworkBoundary reachability matrix', () => {
  const SERVERS = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];

  it('does allow exactly the intended flows in the default deployment', () => {
    const { manifests } = synthChart();
    const expected = intended({ servers: SERVERS, proxy: true, adminTarget: 'internal-frontend',
      database: 'temporal/postgres', webIngress: false, clients: [] });
    expect(compare(expected, actual(manifests))).toEqual({ missing: [], extra: [] });
    expect(expected.length).toBeGreaterThan(50);
  });

  it('does allow exactly the intended flows with an external database (CIDR) and a client namespace', () => {
    const { manifests } = synthChart(externalDatabaseProps({
      externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] },
      clientNamespaces: [Peer.namespace('orders')],
    }));
    const expected = intended({ servers: SERVERS, proxy: true, adminTarget: 'internal-frontend',
      database: 'ip/database', webIngress: false, clients: ['orders/worker'] });
    expect(compare(expected, actual(manifests))).toEqual({ missing: [], extra: [] });
  });

  it('does allow exactly the intended flows without the authorizer proxy (clients straight to the frontend)', () => {
    const { manifests } = synthChart(externalDatabaseProps({ authorizerProxy: false,
      externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] }, clientNamespaces: [Peer.namespace('orders')] }));
    const expected = intended({ servers: ['frontend', 'history', 'matching', 'worker'], proxy: false, adminTarget: 'frontend',
      database: 'ip/database', webIngress: false, clients: ['orders/worker'] });
    expect(compare(expected, actual(manifests))).toEqual({ missing: [], extra: [] });
  });

  it('does allow exactly the intended flows with single sign-on, and the Web UI and the codec server behind Ingresses', () => {
    const { manifests } = synthChart({
      authorizerProxy: { oidc: { issuer: 'https://login.example.com', audience: 'temporal', jwksUri: 'https://login.example.com/jwks',
        peers: [Peer.cidr('93.184.216.34/32')] } },
      webUi: { ingress: { host: 'temporal.example.com', tlsSecretName: 'temporal-web-tls' }, sso: { clientId: 'temporal-ui',
        clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' } },
      codecServer: { ingress: { host: 'codec.temporal.example.com', tlsSecretName: 'temporal-codec-ingress-tls' } },
    });
    const expected = intended({ servers: SERVERS, proxy: true, adminTarget: 'internal-frontend', database: 'temporal/postgres',
      webIngress: true, codecIngress: true, idp: true, clients: [] });
    expect(compare(expected, actual(manifests))).toEqual({ missing: [], extra: [] });
  });

  it('does let nothing reach the Kubernetes API, the Internet or an undeclared database', () => {
    for (const { manifests } of [synthChart(), synthChart(externalDatabaseProps({
      externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] } }))]) {
      const edges = actual(manifests);
      for (const target of ['ip/kube-apiserver', 'ip/kubernetes-service', 'ip/internet', 'ip/other-database']) {
        expect(edges.filter((x) => x.includes(` -> ${target} `))).toEqual([]);
      }
      expect(edges.filter((x) => x.startsWith('other/intruder'))).toEqual([]);
    }
  });

  it('does open an extra flow exactly where it is declared', () => {
    const { manifests } = synthChart({ extraFlows: [{ from: 'frontend', to: Peer.cidr('93.184.216.34/32'), ports: [443],
      purpose: 'frontend fetches the IdP JWKS' }] });
    const expected = [...intended({ servers: SERVERS, proxy: true, adminTarget: 'internal-frontend',
      database: 'temporal/postgres', webIngress: false, clients: [] }), e(t('frontend'), 'ip/internet', 443)].sort();
    expect(compare(expected, actual(manifests))).toEqual({ missing: [], extra: [] });
  });
});
