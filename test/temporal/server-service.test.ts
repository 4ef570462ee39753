import * as path from 'node:path';
import { Secret } from 'cdk8s-plus-27';
import type { IContainer } from 'kubernetes-models/v1';
import { DEFAULT_SERVER_RESOURCES } from '../../lib/temporal/cluster';
import { resolveSqlStore } from '../../lib/temporal/persistence';
import { METRICS_PORT, SERVICE_PORTS, TemporalService } from '../../lib/temporal/ports';
import { SERVER_CONFIG_FILE, TemporalServerService } from '../../lib/temporal/server-service';
import { clusterOutput, passwordRef, postgresStore, serverConfigOf } from '../fixtures';
import { K8sObject, PodTemplate, containerOf, envValue, envVar, findObject, podTemplate, synth, testChart } from '../util';
import { resolveServerVersion } from '../../lib/temporal/versions';

const ALL: readonly TemporalService[] = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];
const withInternal = clusterOutput({ internalFrontend: true });

function server(objs: readonly K8sObject[], service: string): { pod: PodTemplate; container: IContainer } {
  const pod = podTemplate(objs, 'Deployment', `temporal-${service}`);
  return { pod, container: containerOf(pod.spec, service) };
}

const config = (objs: readonly K8sObject[]) => serverConfigOf(objs);

/** The ConfigMap key a file path resolves to through the container's mounts and the pod's volumes. */
function mountedConfigMapKey(pod: PodTemplate, container: IContainer, file: string): { configMap?: string; key: string } {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === path.dirname(file));
  const volume = (pod.spec.volumes ?? []).find((v) => v.name === mount?.name);
  return { configMap: volume?.configMap?.name, key: path.basename(file) };
}

describe('TemporalServerService', () => {
  it('does render the frontend container as before (change detector)', () => {
    const { container } = server(withInternal.objs, 'frontend');
    expect({
      command: container.command,
      env: container.env?.map((e) => e.name),
      ports: container.ports?.map((p) => `${p.name}:${p.containerPort}`),
      probes: [container.startupProbe, container.readinessProbe, container.livenessProbe],
      mounts: container.volumeMounts?.map((m) => m.mountPath),
    }).toMatchSnapshot();
  });

  it.each(ALL)('does start %s with its own --service flag', (service) => {
    const { container } = server(withInternal.objs, service);
    expect(container.command).toEqual(['temporal-server', 'start', '--service', service]);
    expect(container.image).toBe('temporalio/server:1.31.2');
  });

  it.each(ALL)('does point TEMPORAL_SERVER_CONFIG_FILE_PATH of %s at the mounted ConfigMap key', (service) => {
    const { pod, container } = server(withInternal.objs, service);
    const file = envValue(container, 'TEMPORAL_SERVER_CONFIG_FILE_PATH');
    const { configMap, key } = mountedConfigMapKey(pod, container, file);
    expect(configMap).toBe('temporal-config');
    expect(Object.keys(findObject(withInternal.objs, 'ConfigMap', 'temporal-config').data ?? {})).toEqual([key]);
  });

  it('does mount the dynamic config file where the static config says it is', () => {
    const { pod, container } = server(withInternal.objs, 'history');
    const file = config(withInternal.objs).dynamicConfigClient.filepath;
    const { configMap, key } = mountedConfigMapKey(pod, container, file);
    expect(configMap).toBe('temporal-dynamic-config');
    expect(findObject(withInternal.objs, 'ConfigMap', 'temporal-dynamic-config').data).toHaveProperty([key]);
  });

  it.each(ALL)('does set POD_IP of %s from the pod status and every env the config template reads', (service) => {
    const { container } = server(withInternal.objs, service);
    expect(envVar(container, 'POD_IP').valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    const text = findObject(withInternal.objs, 'ConfigMap', 'temporal-config').data?.[SERVER_CONFIG_FILE] ?? '';
    const referenced = [...text.matchAll(/\{\{ env "([A-Z0-9_]+)"/g)].map((m) => m[1]);
    expect(referenced.length).toBeGreaterThan(0);
    for (const name of referenced) {
      expect(envVar(container, name)).toBeDefined();
    }
  });

  it.each(ALL)('does pass store passwords to %s only through secretKeyRef', (service) => {
    const { container } = server(withInternal.objs, service);
    for (const name of ['TEMPORAL_DEFAULT_STORE_PASSWORD', 'TEMPORAL_VISIBILITY_STORE_PASSWORD']) {
      const env = envVar(container, name);
      expect(env.value).toBeUndefined();
      expect(env.valueFrom).toEqual({ secretKeyRef: { name: 'db-password', key: 'password' } });
    }
    expect((container.env ?? []).filter((e) => /PASSWORD/.test(e.name) && e.value !== undefined)).toEqual([]);
  });

  it.each(ALL)('does use the ports table for the container, headless Service and config of %s', (service) => {
    const { objs } = withInternal;
    const ports = SERVICE_PORTS[service];
    const expected = Object.fromEntries([
      ['grpc-rpc', ports.grpc], ['grpc-membership', ports.membership],
      ...(ports.http !== undefined ? [['http', ports.http]] : []), ['metrics', METRICS_PORT],
    ]);
    const { pod, container } = server(objs, service);
    expect(Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]))).toEqual(expected);
    const headless = findObject(objs, 'Service', `temporal-${service}-headless`);
    expect(Object.fromEntries((headless.spec?.ports ?? []).map((p) => [p.name, p.port]))).toEqual(expected);
    expect((headless.spec?.ports ?? []).every((p) => p.targetPort === p.name)).toBe(true);
    const rpc = config(objs).services[service].rpc;
    expect(rpc.grpcPort).toBe(ports.grpc);
    expect(rpc.membershipPort).toBe(ports.membership);
    expect(rpc.httpPort).toBe(ports.http);
    expect(pod.metadata.annotations?.['prometheus.io/port']).toBe(String(METRICS_PORT));
  });

  it('does make the metrics listen address match the metrics port', () => {
    expect(config(withInternal.objs)).toHaveProperty(['global', 'metrics', 'prometheus', 'listenAddress'],
      `0.0.0.0:${METRICS_PORT}`);
  });

  it.each(ALL)('does publish not-ready %s pods on a headless membership Service', (service) => {
    const headless = findObject(withInternal.objs, 'Service', `temporal-${service}-headless`);
    expect(headless.spec?.clusterIP).toBe('None');
    expect(headless.spec?.publishNotReadyAddresses).toBe(true);
    expect(headless.spec?.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(headless.spec?.selector)
      .toEqual(findObject(withInternal.objs, 'Deployment', `temporal-${service}`).spec?.selector.matchLabels);
  });

  it.each(ALL)('does give %s a PodDisruptionBudget allowing one pod down', (service) => {
    const pdb = findObject(withInternal.objs, 'PodDisruptionBudget', `temporal-${service}`);
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels)
      .toEqual(findObject(withInternal.objs, 'Deployment', `temporal-${service}`).spec?.selector.matchLabels);
  });

  it.each(ALL)('does spread %s pods over zones and nodes without blocking scheduling', (service) => {
    const { pod } = server(withInternal.objs, service);
    const selector = findObject(withInternal.objs, 'Deployment', `temporal-${service}`).spec?.selector.matchLabels;
    expect(pod.spec.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
    ]);
  });

  it.each(ALL)('does probe %s on its named gRPC port', (service) => {
    const { container } = server(withInternal.objs, service);
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect(probe?.tcpSocket?.port).toBe('grpc-rpc');
    }
    expect((container.startupProbe?.failureThreshold ?? 0) * (container.startupProbe?.periodSeconds ?? 0))
      .toBeGreaterThanOrEqual(120);
  });

  it.each(ALL)('does run %s under its own ServiceAccount with no API token', (service) => {
    const { pod } = server(withInternal.objs, service);
    expect(pod.spec.serviceAccountName).toBe(`temporal-${service}`);
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.enableServiceLinks).toBe(false);
    expect(findObject(withInternal.objs, 'ServiceAccount', `temporal-${service}`).automountServiceAccountToken).toBe(false);
  });

  it.each(ALL)('does apply the default resources of %s', (service) => {
    const { container } = server(withInternal.objs, service);
    const r = DEFAULT_SERVER_RESOURCES[service];
    expect(container.resources).toEqual({ requests: { cpu: r.cpu, memory: r.memory }, limits: { memory: r.memoryLimit } });
  });

  it('does set replicas and resources from the service props', () => {
    const { objs } = clusterOutput({ matching: { replicas: 4, resources: { cpu: '1', memory: '1Gi', memoryLimit: '2Gi', cpuLimit: '2' } } });
    expect(findObject(objs, 'Deployment', 'temporal-matching').spec?.replicas).toBe(4);
    expect(server(objs, 'matching').container.resources?.limits).toEqual({ cpu: '2', memory: '2Gi' });
  });

  it('does mount the database CA and client certificate where the config expects them', () => {
    const chart = testChart();
    const ca = { secret: Secret.fromSecretName(chart, 'Ca', 'db-ca'), key: 'root.pem' };
    const clientCertificate = Secret.fromSecretName(chart, 'Client', 'db-client');
    const tls = { ca, clientCertificate };
    const { objs } = clusterOutput({ persistence: {
      default: postgresStore(chart, 'temporal', { tls }),
      visibility: postgresStore(chart, 'temporal_visibility', { tls: { ca, enableHostVerification: false, serverName: 'pg.tls' } }),
    } }, chart);
    const sql = (role: string) => config(objs).persistence.datastores[role].sql.tls ?? {};
    expect(sql('default')).toEqual({
      enabled: true, caFile: '/etc/temporal/tls/db-default/ca/ca.crt', certFile: '/etc/temporal/tls/db-default/client/tls.crt',
      keyFile: '/etc/temporal/tls/db-default/client/tls.key', enableHostVerification: true, serverName: 'pg.db.example.internal',
    });
    expect(sql('visibility')).toMatchObject({ enableHostVerification: false, serverName: 'pg.tls' });
    expect(sql('visibility')).not.toHaveProperty('certFile');
    const { pod, container } = server(objs, 'history');
    for (const file of [sql('default').caFile, sql('default').certFile, sql('default').keyFile, sql('visibility').caFile] as string[]) {
      const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === path.dirname(file));
      expect(mount?.readOnly).toBe(true);
      const volume = (pod.spec.volumes ?? []).find((v) => v.name === mount?.name);
      expect(volume?.secret?.items?.map((i) => i.path)).toContain(path.basename(file));
    }
    const caVolume = (pod.spec.volumes ?? []).find((v) => v.name === 'db-default-ca');
    expect(caVolume?.secret).toEqual({ secretName: 'db-ca', items: [{ key: 'root.pem', path: 'ca.crt' }] });
  });

  it('does take its ports from props rather than the global table', () => {
    const chart = testChart();
    const store = resolveSqlStore('test', 'default', postgresStore(chart, 'temporal', { password: passwordRef(chart) }));
    new TemporalServerService(chart, 'History', {
      instance: 'custom', service: 'history', ports: { grpc: 17234, membership: 16934, metrics: 19090 }, replicas: 1,
      resources: {}, image: 'temporalio/server:1.31.2', version: resolveServerVersion('test', {}), configMapName: 'c', dynamicConfigMapName: 'd', configChecksum: 'x',
      stores: [store], connections: () => ({ calls: [], admits: [] }),
    });
    const objs = synth(chart);
    const container = containerOf(podTemplate(objs, 'Deployment', 'custom-history').spec, 'history');
    expect(container.ports?.map((p) => p.containerPort)).toEqual([17234, 16934, 19090]);
    expect(findObject(objs, 'Service', 'custom-history-headless').spec?.ports?.map((p) => p.port)).toEqual([17234, 16934, 19090]);
  });
});
