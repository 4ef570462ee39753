/**
 * The component seam, from the outside: a component defined here, in the test file only (a small HTTP
 * service with one port, called by the Web UI, calling Temporal through the authorizer proxy with a client certificate), plugs into
 * the default deployment by describing itself. The output gains exactly its NetworkPolicy rows, its DNS
 * egress, its Certificate and its diagram entry; nothing under lib/network or lib/tls knows of it.
 */
import { App } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { SecureTemporalChart, SecureTemporalChartProps, SecureTemporalDeployment } from '../charts/secure-temporal-chart';
import {
  ComponentDescription, Components, Endpoint, HealthEndpoints, healthProbe, IComponent, NamedPort, Peer, TlsIdentity, componentLabels,
  restrictedContainerSecurityContext, restrictedPodBasics, selectorLabels, serviceDnsOf, toResourceRequirements,
} from '../index';
import { expectValidationError, K8sObject, findObject } from './util';

/**
 * A report service: the Web UI fetches reports from it; it reads workflow state through the authorizer proxy over mTLS
 * (`direct`: from the frontend itself, which the one-door rule refuses while the proxy is on).
 */
class ReportService extends Construct implements IComponent {
  public readonly http: Endpoint;
  public readonly client: TlsIdentity;
  public readonly description: ComponentDescription;

  constructor(scope: Construct, id: string, deployment: SecureTemporalDeployment, direct = false,
    extra: (port: NamedPort) => Partial<ComponentDescription> = () => ({})) {
    super(scope, id);
    const instance = deployment.installation.name;
    const name = `${instance}-reports`;
    const labels = componentLabels(instance, 'reports');
    const selector = selectorLabels(instance, 'reports');
    const port: NamedPort = { name: 'http', port: 8443, protocol: 'TCP' };
    const health: HealthEndpoints = { readiness: { port, path: '/ready', scheme: 'https' } };
    this.client = deployment.pki.issuePlatformClientCertificate(this, 'Client', { name: 'reports' });
    const workload = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, labels },
      spec: {
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            ...restrictedPodBasics(name, 1000),
            containers: [{
              name: 'reports',
              image: 'example.com/reports:1.0.0',
              ports: [{ name: port.name, containerPort: port.port, protocol: 'TCP' }],
              readinessProbe: healthProbe(health.readiness, { periodSeconds: 10 }),
              resources: toResourceRequirements(this.node.path, { cpu: '50m', memory: '64Mi', memoryLimit: '128Mi' }),
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [this.client.volumeMount('client-tls')],
            }],
            volumes: [this.client.volume('client-tls')],
          },
        },
      },
    });
    const service = new k8s.KubeService(this, 'Service', {
      metadata: { name, labels },
      spec: { selector, ports: [{ name: port.name, port: port.port, targetPort: k8s.IntOrString.fromString(port.name) }] },
    });
    this.http = { component: this, port, service: serviceDnsOf(service, deployment.installation.clusterDomain) };
    this.description = {
      id: 'reports',
      workload,
      selector,
      ports: [port],
      calls: [{
        to: direct || !deployment.cluster.authorizerProxy ? deployment.cluster.frontend.grpc : deployment.cluster.authorizerProxy.grpc,
        category: 'service', purpose: 'reads workflow state for reports',
      }],
      admits: deployment.webUi
        ? [{ from: deployment.webUi, port, category: 'service', purpose: 'the Web UI fetches reports' }] : [],
      presents: [this.client],
      health,
      ...extra(port),
    };
    Components.register(this);
  }
}

function build(withReports: boolean): { chart: SecureTemporalChart; objs: K8sObject[]; yaml: string } {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new SecureTemporalChart(app, 'temporal', withReports
    ? { addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment) } : {});
  const objs = chart.toJson() as K8sObject[];
  return { chart, objs, yaml: app.synthYaml() };
}

const key = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('a component defined outside the library', () => {
  const before = build(false);
  const after = build(true);
  const beforeByKey = new Map(before.objs.map((o) => [key(o), o]));
  const afterByKey = new Map(after.objs.map((o) => [key(o), o]));

  it('does add exactly its Deployment, Service, Certificate and NetworkPolicy', () => {
    const added = [...afterByKey.keys()].filter((k) => !beforeByKey.has(k)).sort();
    expect(added).toEqual([
      'Certificate/temporal/temporal-reports-client',
      'Deployment/temporal/temporal-reports',
      'NetworkPolicy/temporal/temporal-reports',
      'Service/temporal/temporal-reports',
    ]);
    expect([...beforeByKey.keys()].filter((k) => !afterByKey.has(k))).toEqual([]);
  });

  it('does change only the policies of the components it talks to', () => {
    const changed = [...beforeByKey.keys()].filter((k) => JSON.stringify(beforeByKey.get(k)) !== JSON.stringify(afterByKey.get(k)));
    expect(changed.sort()).toEqual(['NetworkPolicy/temporal/temporal-authorizer-proxy', 'NetworkPolicy/temporal/temporal-web']);
  });

  it('does get a policy that admits the Web UI, and lets it reach the authorizer proxy and cluster DNS only', () => {
    const policy = findObject(after.objs, 'NetworkPolicy', 'temporal-reports');
    const pods = (component: string) => ({ podSelector: { matchLabels: {
      'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal', 'app.kubernetes.io/component': component } } });
    expect(policy.spec).toEqual({
      podSelector: pods('reports').podSelector,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [pods('web')], ports: [{ port: 8443, protocol: 'TCP' }] }],
      egress: [
        { to: [pods('authorizer-proxy')], ports: [{ port: 7233, protocol: 'TCP' }] },
        { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
      ],
    });
  });

  it('does open the Web UI\'s egress and the authorizer proxy\'s ingress to it, and nothing else', () => {
    const reports = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal',
      'app.kubernetes.io/component': 'reports' } } };
    const egress = (objs: K8sObject[]) => findObject(objs, 'NetworkPolicy', 'temporal-web').spec?.egress ?? [];
    expect(egress(after.objs)).toEqual([...egress(before.objs).slice(0, 1),
      { to: [reports], ports: [{ port: 8443, protocol: 'TCP' }] }, ...egress(before.objs).slice(1)]);
    const frontendRule = (objs: K8sObject[]) => (findObject(objs, 'NetworkPolicy', 'temporal-authorizer-proxy').spec?.ingress ?? [])
      .find((r) => r.ports?.[0]?.port === 7233);
    expect(frontendRule(after.objs)?.from).toEqual([...(frontendRule(before.objs)?.from ?? []), reports]);
  });

  it('does issue its client certificate into its own scope, from the platform-clients CA', () => {
    const certificate = findObject(after.objs, 'Certificate', 'temporal-reports-client');
    expect(certificate.spec).toMatchObject({
      secretName: 'temporal-reports-client-tls', commonName: 'reports',
      issuerRef: { kind: 'Issuer', name: 'temporal-platform-clients-ca' }, usages: ['digital signature', 'client auth'],
    });
    const reports = after.chart.node.findChild('Reports') as ReportService;
    expect(reports.client.node.path).toBe('temporal/Reports/Client');
    expect(after.chart.pki.specifications().map((s) => s.secretName)).toContain('temporal-reports-client-tls');
  });

  it('does appear in the diagram and in the docs table, with its rows', () => {
    const lines = (diagram: string) => diagram.split('\n');
    expect(lines(after.chart.network.diagram).filter((l) => !lines(before.chart.network.diagram).includes(l))).toEqual([
      '    c_reports["reports"]',
      '  c_reports -->|"7233/TCP<br/>reads workflow state for reports"| c_authorizer_proxy',
      '  c_web -->|"8443/TCP<br/>the Web UI fetches reports"| c_reports',
    ]);
    expect(lines(before.chart.network.diagram).filter((l) => !lines(after.chart.network.diagram).includes(l))).toEqual([]);
    expect(after.chart.network.document).toContain('| reports | ');
    expect(after.chart.network.document).toContain('| web | reports | 8443/TCP | service | the Web UI fetches reports |');
    expect(after.chart.network.document).toContain('| reports | cluster DNS (ns kube-system, pods k8s-app=kube-dns) | 53/UDP, 53/TCP | dns |');
  });
});

describe('health checks: every long-running component describes what the kubelet checks, and its probes come from it', () => {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new SecureTemporalChart(app, 'temporal', { addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment) });
  chart.toJson();
  const components = Components.findAll(chart).map((c) => c.description);
  type Probe = { httpGet?: { path: string; port: string; scheme?: string }; tcpSocket?: { port: string }; exec?: { command: string[] } };
  type Container = { name: string; ports?: { name: string }[]; readinessProbe?: Probe; livenessProbe?: Probe; startupProbe?: Probe };
  const containersOf = (d: ComponentDescription): Container[] =>
    ((d.workload.toJson() as { spec?: { template?: { spec?: { containers?: Container[] } } } }).spec?.template?.spec?.containers ?? []);
  const action = (p: Probe | undefined) => p === undefined ? undefined : (p.httpGet ?? p.tcpSocket ?? p.exec);
  const derived = (check: HealthEndpoints['readiness'] | undefined) =>
    check === undefined ? undefined : action(k8s.toJson_Probe(healthProbe(check)) as Probe);

  it('does describe health for every Deployment and StatefulSet that serves, and none for Jobs or the idle admin tools pod', () => {
    const without = components.filter((d) => d.health === undefined);
    expect(without.filter((d) => d.workload.kind !== 'Job').map((d) => d.id)).toEqual(['admintools']);
    expect(components.filter((d) => d.health !== undefined).map((d) => `${d.workload.kind}/${d.id}`).sort()).toEqual([
      'Deployment/authorizer-proxy', 'Deployment/codec', 'Deployment/frontend', 'Deployment/history', 'Deployment/internal-frontend',
      'Deployment/matching', 'Deployment/reports', 'Deployment/web', 'Deployment/worker', 'StatefulSet/postgres']);
    // The admin tools pod only waits for `kubectl exec`: it has no probe, so nothing to describe.
    expect(containersOf(without.find((d) => d.id === 'admintools') as ComponentDescription)[0].readinessProbe).toBeUndefined();
  });

  it('does derive each container probe from the description (the same check, on a port the component lists)', () => {
    for (const d of components.filter((c) => c.health !== undefined)) {
      const container = containersOf(d)[0];
      const health = d.health as HealthEndpoints;
      expect({ id: d.id, readiness: action(container.readinessProbe) }).toEqual({ id: d.id, readiness: derived(health.readiness) });
      expect({ id: d.id, liveness: action(container.livenessProbe) })
        .toEqual({ id: d.id, liveness: container.livenessProbe === undefined ? undefined : derived(health.liveness ?? health.readiness) });
      expect({ id: d.id, startup: action(container.startupProbe) }).toEqual({ id: d.id, startup: derived(health.startup) });
      for (const check of [health.readiness, health.liveness, health.startup]) {
        if (check !== undefined && 'port' in check) {
          expect(d.ports.map((p) => p.name)).toContain(check.port.name);
        }
      }
    }
  });

  it('does check what each program serves: the proxy\'s /readyz and /healthz, the servers\' gRPC port, the database\'s pg_isready', () => {
    const byId = new Map(components.map((d) => [d.id, d.health]));
    expect(byId.get('authorizer-proxy')).toEqual({ readiness: expect.objectContaining({ path: '/readyz' }),
      liveness: expect.objectContaining({ path: '/healthz' }) });
    expect((byId.get('history')?.readiness as { port: NamedPort }).port.name).toBe('grpc-rpc');
    expect((byId.get('postgres')?.readiness as { command: string[] }).command[0]).toBe('pg_isready');
    expect(byId.get('reports')?.readiness).toEqual(expect.objectContaining({ path: '/ready', scheme: 'https' }));
    const reports = containersOf(components.find((d) => d.id === 'reports') as ComponentDescription)[0];
    expect(reports.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'http', scheme: 'HTTPS' });
  });
});

describe('the one door: with the authorizer proxy on, only it reaches the frontend\'s client ports', () => {
  const synth = (props: SecureTemporalChartProps) => new SecureTemporalChart(new App({ outdir: '/nonexistent' }), 'temporal', props);

  it('refuses a component of your own that calls the frontend directly, naming the flow and the fix, and leaves nothing behind', () => {
    const error = expectValidationError(() => synth({ addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment, true) }),
      'INVALID_FLOW', { path: 'temporal/Network/frontend', value: '{"from":"reports","purpose":"reads workflow state for reports"}' });
    expect(error.message).toContain('reports may not reach frontend grpc-rpc 7233/TCP: clients reach the frontend through the authorizer proxy only');
    expect(error.message).toContain('Fix: call the authorizer proxy\'s endpoint (cluster.authorizerProxy.grpc');
  });

  it.each([7233, 7243])('refuses an extra flow from a namespace to the frontend\'s client port %i', (port) => {
    const error = expectValidationError(() => synth({ extraFlows: [{ from: Peer.namespace('apps'), to: 'frontend', ports: [port],
      purpose: 'apps call Temporal' }] }), 'INVALID_FLOW', { path: 'temporal/Network/frontend' });
    expect(error.message).toContain(`may not reach frontend ${port === 7233 ? 'grpc-rpc' : 'http'} ${port}/TCP`);
  });

  it('lets a component call the frontend directly when the proxy is off (the frontend authorizes with its own rules then)', () => {
    const chart = synth({ authorizerProxy: false, codecServer: false,
      addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment, true) });
    expect(chart.network.flows.some((f) => f.from.kind === 'component' && f.from.id === 'reports' && f.to.kind === 'component'
      && f.to.id === 'frontend')).toBe(true);
  });
});

describe('roles of the deployment\'s own, and a second monitoring system', () => {
  const synth = (props: SecureTemporalChartProps) => new SecureTemporalChart(new App({ outdir: '/nonexistent' }), 'temporal', props);
  const policy = (chart: SecureTemporalChart, name: string) => findObject(chart.toJson() as K8sObject[], 'NetworkPolicy', name);
  const nsPeer = (ns: string) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } });

  it('admits every monitoring peer listed on the metrics ports, and only there', () => {
    const chart = synth({ monitoring: [Peer.namespace('monitoring'), Peer.namespace('otel')] });
    const rule = (policy(chart, 'temporal-history').spec?.ingress ?? []).find((r) => r.ports?.[0]?.port === 9090);
    expect(rule?.from).toEqual([nsPeer('monitoring'), nsPeer('otel')]);
    const otel = (policy(chart, 'temporal-history').spec?.ingress ?? []).filter((r) => JSON.stringify(r.from).includes('"otel"'));
    expect(otel.map((r) => r.ports)).toEqual([[{ port: 9090, protocol: 'TCP' }]]);
  });

  it('resolves a role a component names from outsideRoles, into its own group of the flows table', () => {
    const chart = synth({ outsideRoles: { 'otel-collector': { label: 'OpenTelemetry collector', peers: [Peer.namespace('otel')] } },
      addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment, false,
        (port) => ({ metrics: { port, path: '/stats', scrapedBy: ['otel-collector'] } })) });
    const row = chart.network.flows.find((f) => f.to.kind === 'component' && f.to.id === 'reports' && f.from.kind === 'peers'
      && f.from.id === 'otel-collector');
    expect(row).toMatchObject({ category: 'metrics', purpose: 'otel-collector scrapes /stats', from: { label: 'OpenTelemetry collector' } });
    expect(chart.network.document).toContain('| OpenTelemetry collector (ns otel) | reports | 8443/TCP | metrics | otel-collector scrapes /stats |');
  });

  it('refuses a role nobody declared, a built-in role redefined, and a role without peers', () => {
    const orphan = (port: NamedPort): Partial<ComponentDescription> => ({ admits: [{ from: { outside: { role: 'auditors' } }, port,
      category: 'service', purpose: 'auditors read reports' }] });
    expectValidationError(() => synth({ addComponents: (scope, deployment) => new ReportService(scope, 'Reports', deployment, false, orphan) }),
      'INVALID_PEER',
      { path: 'temporal/Network/outsideRoles', value: '"auditors"' });
    expectValidationError(() => synth({ outsideRoles: { monitoring: { peers: [Peer.namespace('x')] } } }), 'INVALID_PEER',
      { path: 'temporal/Network/outsideRoles', value: '"monitoring"' });
    expectValidationError(() => synth({ outsideRoles: { auditors: { peers: [] } } }), 'INVALID_PEER',
      { path: 'temporal/Network/outsideRoles/auditors' });
    expectValidationError(() => synth({ monitoring: [] }), 'INVALID_PEER', { path: 'temporal/Network' });
  });
});

