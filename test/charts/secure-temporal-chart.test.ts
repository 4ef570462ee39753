import { App, Chart, Duration, Testing } from 'cdk8s';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { Peer } from '../../lib/core/peers';
import { EVALUATION_ONLY_ANNOTATION } from '../../lib/temporal/evaluation-postgres';
import { postgresPersistence, serverConfigOf } from '../fixtures';
import {
  K8sObject, apiObjectsUnder, containerOf, expectValidationError, findAll, findByPrefix, findObject, hasObject, podTemplate,
  synth,
} from '../util';

const CLUSTER_SCOPED = ['Namespace', 'ClusterIssuer', 'CertificateRequestPolicy'];

function chart(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const c = new SecureTemporalChart(Testing.app(), 'temporal', props);
  return { chart: c, objs: synth(c) };
}

/** A chart whose stores are on an external PostgreSQL (built in a fresh App). */
function external(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objs: K8sObject[] } {
  const app = Testing.app();
  const secrets = new Chart(app, 'secrets');
  const c = new SecureTemporalChart(app, 'temporal', {
    persistence: postgresPersistence(secrets), externalDatabase: { peers: [Peer.cidr('10.20.0.0/24')] }, ...props,
  });
  return { chart: c, objs: synth(c) };
}

describe('SecureTemporalChart', () => {
  it('does create the same Namespace as before (change detector)', () => {
    expect(findObject(chart().objs, 'Namespace', 'temporal').metadata).toMatchSnapshot();
  });

  it('does label its Namespace to enforce, audit and warn on Pod Security Standards "restricted"', () => {
    const labels = findObject(chart({ namespace: 'tns' }).objs, 'Namespace', 'tns').metadata.labels;
    expect(labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  it('does create no Namespace when told not to', () => {
    expect(findAll(chart({ createNamespace: false }).objs, 'Namespace')).toEqual([]);
  });

  it('does put every namespaced object in the chart namespace', () => {
    const { objs } = chart({ namespace: 'temporal-x' });
    // The workload CA lives in cert-manager's cluster resource namespace: a CA ClusterIssuer reads its Secret
    // there (see docs/SECURITY.md); its objects carry the chart namespace in their names instead.
    const misplaced = objs.filter((o) => !CLUSTER_SCOPED.includes(o.kind) && o.metadata.namespace !== 'temporal-x' &&
      !(o.metadata.namespace === 'cert-manager' && o.metadata.name.startsWith('temporal-x-temporal-workload-')));
    expect(misplaced.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('does deploy the evaluation PostgreSQL by default and point both stores at it', () => {
    const { chart: c, objs } = chart();
    expect(c.database).toBeDefined();
    const sts = findObject(objs, 'StatefulSet', 'temporal-postgres');
    expect(sts.metadata.annotations?.[EVALUATION_ONLY_ANNOTATION]).toBe('true');
    const stores = serverConfigOf(objs).persistence.datastores;
    expect([stores.default.sql.connectAddr, stores.visibility.sql.connectAddr]).toEqual([
      'temporal-postgres.temporal.svc.cluster.local:5432', 'temporal-postgres.temporal.svc.cluster.local:5432',
    ]);
    expect([stores.default.sql.databaseName, stores.visibility.sql.databaseName]).toEqual(['temporal', 'temporal_visibility']);
  });

  it('does authenticate the evaluation database by certificate over verified TLS, with no password anywhere', () => {
    const { objs } = chart();
    const pg = containerOf(podTemplate(objs, 'StatefulSet', 'temporal-postgres').spec, 'postgres');
    expect(pg.args).toEqual(expect.arrayContaining(['ssl=on', 'hba_file=/etc/postgres/hba/pg_hba.conf',
      'ssl_ca_file=/etc/postgres/trust/database-clients-ca.crt']));
    expect((pg.env ?? []).map((e) => e.name)).not.toContain('POSTGRES_PASSWORD_FILE');
    const hba = findObject(objs, 'ConfigMap', 'temporal-postgres-hba').data?.['pg_hba.conf'] ?? '';
    const rules = hba.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(/\s+/));
    expect(rules).toEqual([['local', 'all', 'all', 'trust'], ['hostssl', 'all', 'all', 'all', 'cert']]);
    // The client certificate's CN is the database user (`cert` authentication maps CN to user).
    const client = findObject(objs, 'Certificate', 'temporal-temporal-database-client');
    expect((client.spec as { commonName?: string }).commonName).toBe('temporal');
    // Server config: TLS with full verification, client certificate, no password.
    const sql = serverConfigOf(objs).persistence.datastores.default.sql;
    expect(sql.password).toBeUndefined();
    expect(sql.tls).toMatchObject({ enabled: true, enableHostVerification: true,
      serverName: 'temporal-postgres.temporal.svc.cluster.local' });
    for (const name of ['temporal-history', 'temporal-frontend']) {
      const env = containerOf(podTemplate(objs, 'Deployment', name).spec, name.replace('temporal-', '')).env ?? [];
      expect(env.map((e) => e.name).filter((n) => /PASSWORD/.test(n))).toEqual([]);
    }
    const schemaEnv = containerOf(findByPrefix(objs, 'Job', 'temporal-schema-default-').spec!.template.spec!, 'update-schema').env ?? [];
    expect(schemaEnv.map((e) => e.name)).toEqual(expect.arrayContaining(['SQL_TLS', 'SQL_TLS_CERT_FILE', 'SQL_TLS_KEY_FILE']));
    expect(schemaEnv.map((e) => e.name)).not.toContain('SQL_PASSWORD');
  });

  it('does deploy no database when persistence is given', () => {
    const { chart: c, objs } = external();
    expect(c.database).toBeUndefined();
    expect(findAll(objs, 'StatefulSet')).toEqual([]);
    expect(hasObject(objs, 'Service', 'temporal-postgres')).toBe(false);
    expect(serverConfigOf(objs).persistence.datastores.default.sql.connectAddr).toBe('pg.db.example.internal:5432');
  });

  it('does register the "default" namespace with 3 days retention by default', () => {
    const job = findByPrefix(chart().objs, 'Job', 'temporal-namespaces-');
    const script = containerOf(job.spec!.template.spec!, 'register').command?.[2] ?? '';
    expect(script.split('\n').filter((l) => l.startsWith('ensure '))).toEqual(["ensure 'default' '72h' ''"]);
  });

  it('does register the declared namespaces instead of the default', () => {
    const job = findByPrefix(chart({ namespaces: [{ name: 'orders', retention: Duration.days(7) }] }).objs, 'Job',
      'temporal-namespaces-');
    const script = containerOf(job.spec!.template.spec!, 'register').command?.[2] ?? '';
    expect(script.split('\n').filter((l) => l.startsWith('ensure '))).toEqual(["ensure 'orders' '168h' ''"]);
  });

  it('does include the Web UI and admin tools by default and leave them out when asked', () => {
    const all = chart();
    expect([hasObject(all.objs, 'Deployment', 'temporal-web'), hasObject(all.objs, 'Deployment', 'temporal-admintools')])
      .toEqual([true, true]);
    const none = chart({ webUi: false, adminTools: false });
    expect([none.chart.webUi, none.chart.adminTools]).toEqual([undefined, undefined]);
    expect(findAll(none.objs, 'Deployment').map((d) => d.metadata.name).sort())
      .toEqual(['temporal-authorizer-proxy', 'temporal-codec', 'temporal-frontend', 'temporal-history', 'temporal-internal-frontend',
        'temporal-matching', 'temporal-worker']);
  });

  it('does pass cluster props through to the cluster', () => {
    const { objs } = chart({
      numHistoryShards: 1024, internalFrontend: true, history: { replicas: 3 }, logLevel: 'warn',
      authorizerProxy: { oidc: { issuer: 'https://login.example.com', audience: 'temporal', jwksUri: 'https://login.example.com/jwks',
        peers: [Peer.cidr('203.0.113.0/24')] } },
      webUi: { ingress: { host: 'temporal.example.com', tlsSecretName: 'temporal-web-tls' }, sso: { clientId: 'temporal-ui',
        clientSecret: { name: 'temporal-ui-oidc' }, callbackUrl: 'https://temporal.example.com/auth/sso/callback' } },
    });
    expect(serverConfigOf(objs).persistence.numHistoryShards).toBe(1024);
    expect(serverConfigOf(objs).log.level).toBe('warn');
    expect(findObject(objs, 'Deployment', 'temporal-history').spec?.replicas).toBe(3);
    expect(hasObject(objs, 'Deployment', 'temporal-internal-frontend')).toBe(true);
    expect(findObject(objs, 'Ingress', 'temporal-web').spec?.rules?.[0].host).toBe('temporal.example.com');
  });

  it('does take every cluster prop, images included, through the one prop surface', () => {
    const { objs } = chart({ serverImage: 'registry.example.com/temporal/server:1.31.2',
      adminToolsImage: 'registry.example.com/temporal/admin-tools:1.31.2' });
    const images = (kind: 'Deployment' | 'Job', name: string) => podTemplate(objs, kind, name).spec.containers.map((c) => c.image);
    expect(images('Deployment', 'temporal-frontend')).toEqual(['registry.example.com/temporal/server:1.31.2']);
    expect(images('Deployment', 'temporal-admintools')).toEqual(['registry.example.com/temporal/admin-tools:1.31.2']);
    const namespacesJob = findByPrefix(objs, 'Job', 'temporal-namespaces-').metadata.name;
    expect(images('Job', namespacesJob)).toEqual(['registry.example.com/temporal/admin-tools:1.31.2']);
  });

  it('does derive who may present a certificate to the frontend: with the authorizer proxy (default), no workload', () => {
    const c = chart({ clientIdentities: [{ name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['default'] }],
      clientNamespaces: [Peer.namespace('orders')] }).chart;
    expect(c.cluster.frontendAccess).toBe('authorizer-proxy');
    expect(c.cluster.tls?.frontend.acceptsClientsFrom).toEqual(['internode', 'platform-clients']);
    expect(c.cluster.authorizerProxy?.serverIdentity.acceptsClientsFrom).toEqual(['workload', 'platform-clients']);
    expect(c.clientIdentities[0].issuedBy).toBe('workload');
  });

  it('does derive who may present a certificate to the frontend: without an authorizer proxy, workloads too', () => {
    const c = chart({ clientIdentities: [{ name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['default'] }],
      clientNamespaces: [Peer.namespace('orders')], authorizerProxy: false }).chart;
    expect(c.cluster.frontendAccess).toBe('direct');
    expect(c.cluster.tls?.frontend.acceptsClientsFrom).toEqual(['internode', 'platform-clients', 'workload']);
    expect(c.clientIdentities[0].issuedBy).toBe('workload');
  });

  it('does share one installation between the PKI, the cluster, the database and the boundary', () => {
    const c = chart({ name: 'tx', namespace: 'tns', clusterDomain: 'corp.internal' }).chart;
    expect([c.pki.installation, c.cluster.installation]).toEqual([c.installation, c.installation]);
    expect(c.installation).toMatchObject({ name: 'tx', namespace: 'tns', clusterDomain: 'corp.internal' });
    expect(c.database?.host).toBe('tx-postgres.tns.svc.corp.internal');
  });

  it('does prefix every object with the name', () => {
    const { objs } = chart({ name: 'tx', createNamespace: false });
    // Objects outside the chart namespace (the workload CA) are prefixed with the chart namespace, too.
    const prefixed = (o: K8sObject) => o.metadata.name.startsWith('tx-') || o.metadata.name.startsWith('temporal-tx-');
    expect(objs.filter((o) => !prefixed(o)).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  describe('validation', () => {
    it.each(['Temporal', 'temporal_ns', '-temporal', 'a'.repeat(64), ''])('fails when namespace is %j', (namespace) => {
      expectValidationError(() => new SecureTemporalChart(Testing.app(), 'temporal', { namespace }), 'INVALID_NAME',
        { path: 'temporal', value: JSON.stringify(namespace) });
    });

    it('fails when name is not a DNS label (evaluation database)', () => {
      expectValidationError(() => chart({ name: 'Temporal' }), 'INVALID_NAME', { path: 'temporal', value: '"Temporal"' });
    });

    it('fails when name is not a DNS label (external database)', () => {
      expectValidationError(() => external({ name: 'Temporal' }), 'INVALID_NAME', { path: 'temporal', value: '"Temporal"' });
    });

    it.each([
      ['frontend replicas', { frontend: { replicas: 0 } }, 'INVALID_REPLICAS', 'temporal/Cluster/Frontend'],
      ['history replicas', { history: { replicas: -1 } }, 'INVALID_REPLICAS', 'temporal/Cluster/History'],
      ['internal-frontend replicas', { internalFrontend: { replicas: 0.5 } }, 'INVALID_REPLICAS', 'temporal/Cluster/InternalFrontend'],
      ['numHistoryShards', { numHistoryShards: 0 }, 'INVALID_SHARDS', 'temporal/Cluster'],
      ['a dynamic config key', { dynamicConfig: { rps: [{ value: 1 }] } }, 'INVALID_DYNAMIC_CONFIG', 'temporal/Cluster/DynamicConfig'],
      ['a duplicate namespace', { namespaces: [{ name: 'a' }, { name: 'a' }] }, 'INVALID_NAMESPACE', 'temporal/Cluster/Namespaces/namespaces[1]'],
      ['a short retention', { namespaces: [{ name: 'a', retention: Duration.hours(12) }] }, 'INVALID_DURATION',
        'temporal/Cluster/Namespaces/namespaces[0]'],
      ['the Web UI image', { webUi: { image: 'temporalio/ui:latest' } }, 'INVALID_IMAGE', 'temporal/WebUi'],
      ['the Web UI ingress host', { webUi: { ingress: { host: 'not a host', tlsSecretName: 'x' } } }, 'INVALID_INGRESS', 'temporal/WebUi/Ingress'],
      ['the Web UI ingress without TLS', { webUi: { ingress: { host: 'temporal.example.com' } } }, 'INVALID_INGRESS', 'temporal/WebUi/Ingress'],
      ['a Web UI ingress without single sign-on', { webUi: { ingress: { host: 'temporal.example.com', tlsSecretName: 'web-tls' } } },
        'INVALID_INGRESS', 'temporal/WebUi/Ingress'],
      ['single sign-on without the proxy accepting the provider', { webUi: { sso: { clientId: 'ui', clientSecret: { name: 'ui-oidc' },
        callbackUrl: 'https://temporal.example.com/auth/sso/callback' } } }, 'INVALID_POLICY', 'temporal/WebUi/sso'],
      ['the codec server without the proxy', { authorizerProxy: false, codecServer: {} }, 'INVALID_POLICY', 'temporal/codecServer'],
      ['a codec key ring Secret name', { codecServer: { keySecrets: { default: 'Bad_Name' } } }, 'INVALID_NAME', 'temporal/CodecServer'],
      ['a codec CORS origin with a path', { codecServer: { corsOrigins: ['https://ui.example.com/'] } }, 'INVALID_INGRESS',
        'temporal/CodecServer'],
      ['the Web UI replicas', { webUi: { replicas: 0 } }, 'INVALID_REPLICAS', 'temporal/WebUi'],
      ['the clusterDomain', { clusterDomain: 'Cluster_Local' }, 'INVALID_NAME', 'temporal'],
    ] as const)('fails when %s is invalid', (_what, props, code, path) => {
      expectValidationError(() => chart(props as SecureTemporalChartProps), code, { path });
    });

    it('fails with a fix that names a valid retention when a retention is shorter than a day', () => {
      const error = expectValidationError(() => chart({ namespaces: [{ name: 'a', retention: Duration.hours(1) }] }),
        'INVALID_DURATION', { path: 'temporal/Cluster/Namespaces/namespaces[0]', value: '3600' });
      expect(error.fix).toContain('Duration.days(1)');
      expect(error.fix).not.toContain('Duration.hours(1)');
    });

    it('fails with CLIENT_NOT_ADMITTED when a client identity\'s namespace is not admitted by clientNamespaces', () => {
      const identity = { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['default'] };
      const none = expectValidationError(() => chart({ clientIdentities: [identity] }), 'CLIENT_NOT_ADMITTED',
        { path: 'temporal/clientIdentities[0]', value: '"orders"' });
      expect(none.fix).toBe('add Peer.namespace("orders") to clientNamespaces');
      expectValidationError(() => chart({ clientIdentities: [identity], clientNamespaces: [Peer.namespace('billing'),
        Peer.cidr('10.0.0.0/8')] }), 'CLIENT_NOT_ADMITTED', { path: 'temporal/clientIdentities[0]' });
      // Admitted by name, or possibly by a label selector the namespace may carry.
      expect(() => chart({ clientIdentities: [identity], clientNamespaces: [Peer.namespace('orders', { app: 'worker' })] })).not.toThrow();
      expect(() => chart({ clientIdentities: [identity], clientNamespaces: [Peer.namespaces({ team: 'orders' })] })).not.toThrow();
    });

    it('fails with DUPLICATE_NAME when a client identity is declared twice', () => {
      const identity = { name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['default'] };
      const error = expectValidationError(() => chart({ clientIdentities: [identity, { ...identity, secretName: 'other-tls' }],
        clientNamespaces: [Peer.namespace('orders')] }), 'DUPLICATE_NAME', { path: 'temporal/clientIdentities[1]', value: '"orders-worker"' });
      expect(error.message).toContain('also clientIdentities[0]');
      // Two identities writing one Secret are refused by the PKI.
      expectValidationError(() => chart({ clientIdentities: [identity, { ...identity, name: 'billing', secretName: 'orders-worker-temporal-tls' }],
        clientNamespaces: [Peer.namespace('orders')] }), 'DUPLICATE_NAME', { path: 'temporal/ClientIdentities/Client1' });
    });

    it('fails with DUPLICATE_NAME when two charts of one App deploy the same installation, and leaves the second out', () => {
      const app = new App();
      new SecureTemporalChart(app, 'one');
      const before = apiObjectsUnder(app).length;
      const error = expectValidationError(() => new SecureTemporalChart(app, 'two'), 'DUPLICATE_NAME', { path: 'two', value: '"temporal"' });
      expect(error.message).toContain('one already deploys installation "temporal" in namespace "temporal"');
      expect(apiObjectsUnder(app)).toHaveLength(before);
      // Another name in the same namespace is a second installation; it must not create the Namespace again.
      expectValidationError(() => new SecureTemporalChart(app, 'three', { name: 'other' }), 'DUPLICATE_NAME',
        { path: 'three', value: '"temporal"' });
      expect(() => new SecureTemporalChart(app, 'four', { name: 'other', createNamespace: false })).not.toThrow();
    });

    it('fails when a store has no password, before synth', () => {
      const app = Testing.app();
      const other = new Chart(app, 'other');
      const persistence = postgresPersistence(other, { password: undefined });
      expectValidationError(() => new SecureTemporalChart(app, 'temporal', { persistence }), 'MISSING_PASSWORD_SOURCE',
        { path: 'temporal/Cluster/DefaultStore', value: 'nothing' });
    });

    it('does leave nothing in the App when the namespace is invalid', () => {
      const app = new App();
      expect(() => new SecureTemporalChart(app, 'temporal', { namespace: 'Bad' })).toThrow('namespace');
      expect(apiObjectsUnder(app)).toEqual([]);
    });

    it('does leave nothing in the App when a cluster prop is invalid', () => {
      const app = new App();
      expect(() => new SecureTemporalChart(app, 'temporal', { numHistoryShards: 0 })).toThrow('numHistoryShards');
      expect(apiObjectsUnder(app).map((o) => `${o.kind}/${o.name}`)).toEqual([]);
    });
  });
});
