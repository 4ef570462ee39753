import { Chart } from 'cdk8s';
import { TemporalAdminTools, TemporalAdminToolsProps } from '../../lib/temporal/admin-tools';
import { TemporalCluster } from '../../lib/temporal/cluster';
import { postgresPersistence } from '../fixtures';
import {
  K8sObject, containerOf, envValue, expectAtomicFailure, expectValidationError, findObject, podTemplate, synth, testChart,
} from '../util';

function cluster(chart: Chart, internalFrontend = false, adminToolsImage?: string): TemporalCluster {
  return new TemporalCluster(chart, 'Cluster', {
    persistence: postgresPersistence(chart), numHistoryShards: 4, internalFrontend, adminToolsImage,
  });
}

function adminTools(
  props: Omit<TemporalAdminToolsProps, 'cluster'> = {}, internalFrontend = false, image?: string,
): { tools: TemporalAdminTools; objs: K8sObject[] } {
  const chart = testChart();
  const tools = new TemporalAdminTools(chart, 'AdminTools', { cluster: cluster(chart, internalFrontend, image), ...props });
  return { tools, objs: synth(chart) };
}

const container = (objs: readonly K8sObject[]) =>
  containerOf(podTemplate(objs, 'Deployment', 'temporal-admintools').spec, 'admintools');

describe('TemporalAdminTools', () => {
  it('does render the same container as before (change detector)', () => {
    const c = container(adminTools().objs);
    expect({ image: c.image, command: c.command, env: c.env, resources: c.resources }).toMatchSnapshot();
  });

  it('does point the CLI at the frontend when there is no internal-frontend', () => {
    const { tools, objs } = adminTools();
    expect(envValue(container(objs), 'TEMPORAL_ADDRESS')).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    expect(tools.address).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
  });

  it('does point the CLI at the internal-frontend when the cluster runs one', () => {
    const { tools, objs } = adminTools({}, true);
    expect(envValue(container(objs), 'TEMPORAL_ADDRESS')).toBe('temporal-internal-frontend.temporal.svc.cluster.local:7236');
    expect(tools.address).toBe('temporal-internal-frontend.temporal.svc.cluster.local:7236');
  });

  it('does use the cluster admin tools image (the one matching the server version)', () => {
    expect(container(adminTools().objs).image).toBe('temporalio/admin-tools:1.31.2');
    expect(container(adminTools({}, false, 'mirror.example/admin-tools:1.31.2').objs).image)
      .toBe('mirror.example/admin-tools:1.31.2');
  });

  it('does run one replica under its own ServiceAccount with no API token and a writable HOME in /tmp', () => {
    const { objs } = adminTools();
    expect(findObject(objs, 'Deployment', 'temporal-admintools').spec?.replicas).toBe(1);
    const pod = podTemplate(objs, 'Deployment', 'temporal-admintools');
    expect(pod.spec.serviceAccountName).toBe('temporal-admintools');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(findObject(objs, 'ServiceAccount', 'temporal-admintools').automountServiceAccountToken).toBe(false);
    expect(envValue(container(objs), 'HOME')).toBe('/tmp');
    expect(container(objs).volumeMounts?.map((m) => m.mountPath)).toContain('/tmp');
  });

  it('does apply resources from props', () => {
    const c = container(adminTools({ resources: { cpu: '20m', memory: '32Mi', memoryLimit: '64Mi' } }).objs);
    expect(c.resources).toEqual({ requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '64Mi' } });
  });

  describe('validation', () => {
    it.each([
      ['memoryLimit below memory', { cpu: '10m', memory: '64Mi', memoryLimit: '32Mi' }],
      ['a bad memory quantity', { cpu: '10m', memory: '64 MB', memoryLimit: '128Mi' }],
      ['a bad cpu quantity', { cpu: '-1', memory: '64Mi', memoryLimit: '128Mi' }],
    ])('fails when resources have %s', (_what, resources) => {
      expectValidationError(() => adminTools({ resources }), 'INVALID_RESOURCES',
        { path: 'test/AdminTools', value: JSON.stringify(resources) });
    });

    it('does leave no objects behind when resources are invalid', () => {
      expectAtomicFailure((chart) => cluster(chart), (chart, c) => new TemporalAdminTools(chart, 'AdminTools', {
        cluster: c, resources: { cpu: '10m', memory: '64Mi', memoryLimit: '32Mi' },
      }), 'INVALID_RESOURCES');
    });
  });
});
