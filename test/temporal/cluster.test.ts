import { createHash } from 'node:crypto';
import { Chart, Testing } from 'cdk8s';
import { TemporalCluster, TemporalClusterProps } from '../../lib/temporal/cluster';
import { TemporalPki } from '../../lib/tls/pki';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../lib/core/labels';
import { SERVICE_PORTS } from '../../lib/temporal/ports';
import { SERVER_CONFIG_FILE } from '../../lib/temporal/server-service';
import { clusterOutput, postgresPersistence, serverConfigOf } from '../fixtures';
import {
  K8sObject, expectAtomicFailure, expectValidationError, findAll, findObject, hasObject, testChart,
} from '../util';

const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;

function checksums(objs: readonly K8sObject[]): Record<string, string | undefined> {
  return Object.fromEntries(findAll(objs, 'Deployment')
    .filter((d) => d.metadata.labels?.['app.kubernetes.io/component'] !== 'web')
    .map((d) => [d.metadata.name, d.spec?.template.metadata?.annotations?.[CONFIG_CHECKSUM_ANNOTATION]])
    .filter(([, sum]) => sum !== undefined));
}

const serverConfig = (objs: readonly K8sObject[]) => serverConfigOf(objs);

function newCluster(chart: Chart, overrides: Partial<TemporalClusterProps> = {}): TemporalCluster {
  return new TemporalCluster(chart, 'Cluster', { persistence: postgresPersistence(chart), ...overrides });
}

describe('TemporalCluster', () => {
  it('does synthesize the expected set of objects (change detector)', () => {
    const { objs } = clusterOutput();
    expect(objs.map((o) => `${o.kind}/${o.metadata.name.replace(/-[0-9a-f]{8}$/, '-<hash>')}`)).toMatchSnapshot();
  });

  it('does create a Deployment, headless Service, PodDisruptionBudget and ServiceAccount per server service', () => {
    const { objs } = clusterOutput();
    for (const service of SERVICES) {
      const name = `temporal-${service}`;
      expect(findObject(objs, 'Deployment', name).spec?.template.spec?.serviceAccountName).toBe(name);
      expect(findObject(objs, 'Service', `${name}-headless`).spec?.clusterIP).toBe('None');
      expect(findObject(objs, 'PodDisruptionBudget', name).spec?.selector?.matchLabels)
        .toEqual(findObject(objs, 'Deployment', name).spec?.selector.matchLabels);
      expect(findObject(objs, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
    }
    expect(findAll(objs, 'Deployment').map((d) => d.metadata.name).sort())
      .toEqual(SERVICES.map((s) => `temporal-${s}`).sort());
  });

  it('does run no internal-frontend unless enabled', () => {
    const { objs, cluster } = clusterOutput();
    expect(cluster.services).not.toContain('internal-frontend');
    expect(hasObject(objs, 'Deployment', 'temporal-internal-frontend')).toBe(false);
    expect(hasObject(objs, 'Service', 'temporal-internal-frontend')).toBe(false);
    expect(Object.keys(serverConfig(objs).services ?? {}).sort()).toEqual([...SERVICES].sort());
    expect(cluster.adminAddress).toBe(cluster.frontendAddress);
  });

  it('does run an internal-frontend with its own Services when enabled and points admin traffic at it', () => {
    const { objs, cluster } = clusterOutput({ internalFrontend: { replicas: 2 } });
    expect(findObject(objs, 'Deployment', 'temporal-internal-frontend').spec?.replicas).toBe(2);
    expect(findObject(objs, 'Service', 'temporal-internal-frontend-headless').spec?.clusterIP).toBe('None');
    const svc = findObject(objs, 'Service', 'temporal-internal-frontend');
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports?.find((p) => p.name === 'grpc-rpc')?.port).toBe(SERVICE_PORTS['internal-frontend'].grpc);
    expect(serverConfig(objs).services).toHaveProperty(['internal-frontend', 'rpc', 'grpcPort'], 7236);
    expect(cluster.adminAddress).toBe('temporal-internal-frontend.temporal.svc.cluster.local:7236');
    expect(cluster.frontendAddress).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
  });

  it('does expose the frontend on a ClusterIP Service with the gRPC and HTTP ports of the ports table', () => {
    const { objs } = clusterOutput();
    const svc = findObject(objs, 'Service', 'temporal-frontend');
    expect(svc.spec?.type).toBe('ClusterIP');
    expect(svc.spec?.clusterIP).toBeUndefined();
    expect(svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['grpc-rpc', SERVICE_PORTS.frontend.grpc, 'grpc-rpc'],
      ['http', SERVICE_PORTS.frontend.http, 'http'],
    ]);
    expect(svc.spec?.selector).toEqual(findObject(objs, 'Deployment', 'temporal-frontend').spec?.selector.matchLabels);
  });

  it('does render numHistoryShards, both stores and the cluster address into the static config', () => {
    const { objs } = clusterOutput({ numHistoryShards: 16 });
    const config = serverConfig(objs);
    expect(config).toHaveProperty(['persistence', 'numHistoryShards'], 16);
    expect(config).toHaveProperty(['persistence', 'datastores', 'default', 'sql', 'connectAddr'], 'pg.db.example.internal:5432');
    expect(config).toHaveProperty(['persistence', 'datastores', 'visibility', 'sql', 'databaseName'], 'temporal_visibility');
    expect(config).toHaveProperty(['clusterMetadata', 'clusterInformation', 'active', 'rpcAddress'],
      'temporal-frontend.temporal.svc.cluster.local:7233');
  });

  it('does default numHistoryShards to 512', () => {
    const chart = testChart();
    expect(newCluster(chart).numHistoryShards).toBe(512);
  });

  it('does annotate every server pod with the sha256 of the static config', () => {
    const { objs } = clusterOutput();
    const text = findObject(objs, 'ConfigMap', 'temporal-config').data?.[SERVER_CONFIG_FILE] ?? '';
    const expected = createHash('sha256').update(text).digest('hex');
    expect(Object.values(checksums(objs))).toEqual(SERVICES.map(() => expected));
  });

  it('does change the config checksum when a config-affecting prop changes', () => {
    const base = checksums(clusterOutput({ numHistoryShards: 4 }).objs);
    expect(checksums(clusterOutput({ numHistoryShards: 8 }).objs)['temporal-history']).not.toBe(base['temporal-history']);
    expect(checksums(clusterOutput({ numHistoryShards: 4, logLevel: 'debug' }).objs)['temporal-frontend'])
      .not.toBe(base['temporal-frontend']);
  });

  it('does keep the config checksum when only replicas, resources or dynamic config change', () => {
    const base = checksums(clusterOutput().objs);
    const other = checksums(clusterOutput({
      history: { replicas: 3, resources: { cpu: '2', memory: '4Gi', memoryLimit: '8Gi' } },
      dynamicConfig: { 'history.persistenceMaxQPS': [{ value: 9000 }] },
    }).objs);
    expect(other).toEqual(base);
  });

  it('does run the schema Jobs under a jobs ServiceAccount without an API token', () => {
    const { objs } = clusterOutput();
    expect(findObject(objs, 'ServiceAccount', 'temporal-jobs').automountServiceAccountToken).toBe(false);
    for (const job of findAll(objs, 'Job')) {
      expect(job.spec?.template.spec?.serviceAccountName).toBe('temporal-jobs');
    }
    expect(findAll(objs, 'Job')).toHaveLength(2);
  });

  it('does register Temporal namespaces only when some are declared', () => {
    expect(clusterOutput().cluster.namespaceRegistration).toBeUndefined();
    expect(clusterOutput({ namespaces: [] }).cluster.namespaceRegistration).toBeUndefined();
    const { objs } = clusterOutput({ namespaces: [{ name: 'orders' }] });
    expect(findAll(objs, 'Job').filter((j) => j.metadata.name.startsWith('temporal-namespaces-'))).toHaveLength(1);
  });

  it('does use the cluster domain in every address', () => {
    const { cluster } = clusterOutput({ clusterDomain: 'k8s.example' });
    expect(cluster.frontendHost).toBe('temporal-frontend.temporal.svc.k8s.example');
  });

  describe('validation', () => {
    it.each(['Temporal', '-temporal', 'temporal-', 'tem_poral', '', 'a'.repeat(31)])(
      'fails when name is %j', (name) => {
        expectValidationError(() => newCluster(testChart(), { name }), 'INVALID_NAME',
          { path: 'test/Cluster', value: JSON.stringify(name) });
      });

    it.each(['1temporal', '7'])('fails when name %j starts with a digit', (name) => {
      expectValidationError(() => newCluster(testChart(), { name }), 'INVALID_NAME', { path: 'test/Cluster', value: JSON.stringify(name) });
    });

    it('fails when the Chart has no namespace', () => {
      const err = expectValidationError(() => newCluster(testChart(null)), 'INVALID_NAMESPACE', { path: 'test/Cluster' });
      expect(err.message).toContain('got nothing');
    });

    it('fails when the Chart namespace is not a DNS label', () => {
      expectValidationError(() => newCluster(testChart('Temporal_NS')), 'INVALID_NAME',
        { path: 'test/Cluster', value: '"Temporal_NS"' });
    });

    it.each(['cluster_local', 'Cluster.Local', '.local'])('fails when clusterDomain is %j', (clusterDomain) => {
      expectValidationError(() => newCluster(testChart(), { clusterDomain }), 'INVALID_NAME',
        { path: 'test/Cluster', value: JSON.stringify(clusterDomain) });
    });

    it.each([0, -1, 1.5, 65537])('fails when numHistoryShards is %p', (numHistoryShards) => {
      expectValidationError(() => newCluster(testChart(), { numHistoryShards }), 'INVALID_SHARDS',
        { path: 'test/Cluster', value: String(numHistoryShards) });
    });

    const perService = [
      ['frontend', 'Frontend'], ['history', 'History'], ['matching', 'Matching'], ['worker', 'Worker'],
      ['internalFrontend', 'InternalFrontend'],
    ] as const;
    const replicaCases = perService.flatMap(([prop, id]) => [0, -1, 2.5].map((r) => [prop, id, r] as const));
    it.each(replicaCases)('fails when %s replicas is %p', (prop, id, replicas) => {
      expectValidationError(() => newCluster(testChart(), { [prop]: { replicas } }), 'INVALID_REPLICAS',
        { path: `test/Cluster/${id}`, value: String(replicas) });
    });

    it('fails when replicas exceeds int32', () => {
      expectValidationError(() => newCluster(testChart(), { frontend: { replicas: 2 ** 31 } }), 'INVALID_REPLICAS',
        { path: 'test/Cluster/Frontend', value: String(2 ** 31) });
    });

    it.each(perService)('fails when %s resources have memoryLimit below the memory request', (prop, id) => {
      const resources = { cpu: '100m', memory: '1Gi', memoryLimit: '512Mi' };
      expectValidationError(() => newCluster(testChart(), { [prop]: { resources } }), 'INVALID_RESOURCES',
        { path: `test/Cluster/${id}`, value: JSON.stringify(resources) });
    });

    it.each([
      ['serverImage', 'temporalio/server:latest'], ['serverImage', 'temporalio/server'],
      ['adminToolsImage', 'temporalio/admin-tools:latest'], ['adminToolsImage', 'registry:5000/admin-tools'],
    ] as const)('fails when %s is %j', (prop, image) => {
      const err = expectValidationError(() => newCluster(testChart(), { [prop]: image }), 'INVALID_IMAGE',
        { path: 'test/Cluster', value: JSON.stringify(image) });
      expect(err.message).toContain(prop);
    });

    it('fails when a dynamic config key is malformed', () => {
      expectValidationError(() => newCluster(testChart(), { dynamicConfig: { 'no dots here': [{ value: 1 }] } }),
        'INVALID_DYNAMIC_CONFIG', { path: 'test/Cluster/DynamicConfig', value: '"no dots here"' });
    });

    it('fails when a store is missing', () => {
      const chart = testChart();
      const persistence = { default: postgresPersistence(chart).default } as never;
      expectValidationError(() => new TemporalCluster(chart, 'Cluster', { persistence }), 'INVALID_STORE',
        { path: 'test/Cluster/VisibilityStore', value: 'nothing' });
    });

    it('fails at construction time, before any synth', () => {
      const app = Testing.app();
      const chart = new Chart(app, 'test', { namespace: 'temporal' });
      expect(() => newCluster(chart, { numHistoryShards: 0 })).toThrow('numHistoryShards');
    });
  });

  describe('atomic construction (nothing half-synthesized)', () => {
    it('does take its certificates with it when it fails after issuing them', () => {
      let pki: TemporalPki | undefined;
      expectAtomicFailure((chart) => {
        pki = new TemporalPki(chart, 'Pki');
        return pki;
      }, (chart, p) => newCluster(chart, { pki: p, dynamicConfig: { 'no dots here': [{ value: 1 }] } }), 'INVALID_DYNAMIC_CONFIG');
      expect(pki?.specifications().filter((s) => s.role !== 'ca').map((s) => s.secretName))
        .toEqual(['temporal-workload-ca-anchor-tls', 'temporal-workload-ca-2-anchor-tls']);
    });

    it.each([
      ['name', { name: 'Bad' }, 'INVALID_NAME'],
      ['numHistoryShards', { numHistoryShards: 0 }, 'INVALID_SHARDS'],
      ['serverImage', { serverImage: 'temporalio/server:latest' }, 'INVALID_IMAGE'],
      ['dynamicConfig', { dynamicConfig: { bad: [{ value: 1 }] } }, 'INVALID_DYNAMIC_CONFIG'],
    ] as const)('does leave no objects behind when %s is invalid', (_prop, overrides, code) => {
      expectAtomicFailure(() => undefined, (chart) => newCluster(chart, overrides), code);
    });

    it.each([
      ['matching replicas', { matching: { replicas: 0 } }, 'INVALID_REPLICAS'],
      ['worker resources', { worker: { resources: { cpu: '1', memory: '2Gi', memoryLimit: '1Gi' } } }, 'INVALID_RESOURCES'],
    ] as const)('does leave no objects behind when %s is invalid', (_prop, overrides, code) => {
      expectAtomicFailure(() => undefined, (chart) => newCluster(chart, overrides), code);
    });

    it('does leave no objects behind when a Temporal namespace is invalid', () => {
      expectAtomicFailure(() => undefined,
        (chart) => newCluster(chart, { namespaces: [{ name: 'a' }, { name: 'a' }] }), 'INVALID_NAMESPACE');
    });
  });
});
