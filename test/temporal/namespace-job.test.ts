import { Chart, Duration } from 'cdk8s';
import type { IJob } from 'kubernetes-models/batch/v1';
import { Endpoint, IComponent } from '../../lib/core/component';
import {
  NamespaceRegistration, TemporalNamespaceProps, namespaceScript, resolveNamespaces,
} from '../../lib/temporal/namespace-job';
import { clusterOutput } from '../fixtures';
import {
  K8sObject, containerOf, envValue, expectAtomicFailure, expectValidationError, findByPrefix, synth, testChart,
} from '../util';

const ADDRESS = 'temporal-frontend.temporal.svc.cluster.local:7233';
const IMAGE = 'temporalio/admin-tools:1.31.2';
/** The frontend's gRPC endpoint, as the cluster would hand it over (only its id is read here). */
const FRONTEND: Endpoint = {
  component: { description: { id: 'frontend' } } as unknown as IComponent,
  port: { name: 'grpc-rpc', port: 7233 },
  service: { name: 'temporal-frontend', namespace: 'temporal', clusterDomain: 'cluster.local' },
};

function register(chart: Chart, namespaces: readonly TemporalNamespaceProps[], image = IMAGE): NamespaceRegistration {
  return new NamespaceRegistration(chart, 'Namespaces', {
    instance: 'temporal', image, target: FRONTEND, namespaces, serviceAccountName: 'temporal-jobs',
  });
}

function job(namespaces: readonly TemporalNamespaceProps[], image = IMAGE): IJob & K8sObject {
  const chart = testChart();
  register(chart, namespaces, image);
  return findByPrefix(synth(chart), 'Job', 'temporal-namespaces-');
}

function script(j: IJob): string {
  const command = containerOf(j.spec!.template.spec!, 'register').command ?? [];
  expect(command.slice(0, 2)).toEqual(['sh', '-c']);
  return command[2];
}

const TWO = [
  { name: 'default', retention: Duration.days(3) },
  { name: 'orders-prod', retention: Duration.days(30), description: 'Order workflows' },
];

describe('NamespaceRegistration', () => {
  it('does render the same registration script as before (change detector)', () => {
    expect(script(job(TWO))).toMatchSnapshot();
  });

  it('does ensure every declared namespace with its retention and description', () => {
    const text = script(job(TWO));
    expect(text).toContain("ensure 'default' '72h' ''\n");
    expect(text).toContain("ensure 'orders-prod' '720h' 'Order workflows'\n");
    expect(text.startsWith('set -eu\n')).toBe(true);
  });

  it('does default retention to 3 days (72h)', () => {
    expect(resolveNamespaces('test', [{ name: 'default' }])).toEqual([{ name: 'default', retention: '72h', description: '' }]);
  });

  it('does create or update, waiting a bounded time for the frontend', () => {
    const text = namespaceScript(resolveNamespaces('test', [{ name: 'a' }]));
    expect(text).toContain('temporal operator namespace create --namespace "$1" --retention "$2"');
    expect(text).toContain('temporal operator namespace update --namespace "$1" --retention "$2"');
    expect(text).toMatch(/-ge 60 \]; then .* exit 1; fi/);
  });

  it('does talk to the address it is given through TEMPORAL_ADDRESS', () => {
    const container = containerOf(job(TWO).spec!.template.spec!, 'register');
    expect(envValue(container, 'TEMPORAL_ADDRESS')).toBe(ADDRESS);
    expect(container.image).toBe(IMAGE);
  });

  it('does target the frontend in a cluster without internal-frontend', () => {
    const { objs } = clusterOutput({ namespaces: [{ name: 'default' }] });
    const container = containerOf(findByPrefix(objs, 'Job', 'temporal-namespaces-').spec!.template.spec!, 'register');
    expect(envValue(container, 'TEMPORAL_ADDRESS')).toBe(ADDRESS);
  });

  it('does target the internal-frontend when the cluster runs one', () => {
    const { objs } = clusterOutput({ namespaces: [{ name: 'default' }], internalFrontend: true });
    const container = containerOf(findByPrefix(objs, 'Job', 'temporal-namespaces-').spec!.template.spec!, 'register');
    expect(envValue(container, 'TEMPORAL_ADDRESS')).toBe('temporal-internal-frontend.temporal.svc.cluster.local:7236');
  });

  it('does keep the Job name stable for the same namespaces and rename it when they change', () => {
    const base = job(TWO).metadata.name;
    expect(job(TWO).metadata.name).toBe(base);
    expect(job([TWO[0]]).metadata.name).not.toBe(base);
    expect(job([{ ...TWO[0], retention: Duration.days(4) }, TWO[1]]).metadata.name).not.toBe(base);
    expect(job(TWO, 'temporalio/admin-tools:1.31.3').metadata.name).not.toBe(base);
  });

  it('does run once to completion under the jobs ServiceAccount without an API token', () => {
    const spec = job(TWO).spec?.template.spec;
    expect(spec?.restartPolicy).toBe('OnFailure');
    expect(spec?.serviceAccountName).toBe('temporal-jobs');
    expect(spec?.automountServiceAccountToken).toBe(false);
  });

  describe('validation', () => {
    it('fails when a namespace is declared twice', () => {
      expectValidationError(() => register(testChart(), [{ name: 'a' }, { name: 'b' }, { name: 'a' }]), 'INVALID_NAMESPACE',
        { path: 'test/Namespaces/namespaces[2]', value: '"a"' });
    });

    it.each([
      ['empty', ''], ['"-orders"', '-orders'], ['"has space"', 'has space'], ['"it\'s"', "it's"],
      ['"temporal-system"', 'temporal-system'], ['256 characters long', 'a'.repeat(256)], ['"ns/1"', 'ns/1'],
    ])('fails when a namespace is named %s', (_label, name) => {
      expectValidationError(() => register(testChart(), [{ name: 'ok' }, { name }]), 'INVALID_NAMESPACE',
        { path: 'test/Namespaces/namespaces[1]', value: JSON.stringify(name) });
    });

    it.each([
      ['23 hours', Duration.hours(23), '82800'],
      ['0 seconds', Duration.seconds(0), '0'],
    ])('fails when retention is %s', (_what, retention, got) => {
      expectValidationError(() => register(testChart(), [{ name: 'orders', retention }]), 'INVALID_DURATION',
        { path: 'test/Namespaces/namespaces[0]', value: got });
    });

    // Regression: cdk8s Duration.toSeconds() used to throw a plain Error here (fixed in goDuration).
    it('fails with INVALID_DURATION when retention is not a whole number of seconds', () => {
      expectValidationError(() => register(testChart(), [{ name: 'orders', retention: Duration.millis(86_401_500) }]),
        'INVALID_DURATION', { path: 'test/Namespaces/namespaces[0]', value: '86401.5' });
    });

    it.each([
      ['has a quote', "it's"], ['has a newline', 'two\nlines'], ['has a backslash', 'back\\slash'],
      ['is 1001 characters long', 'x'.repeat(1001)],
    ])('fails when a description %s', (_label, description) => {
      expectValidationError(() => register(testChart(), [{ name: 'orders', description }]), 'INVALID_NAMESPACE',
        { path: 'test/Namespaces/namespaces[0]' });
    });

    it('fails in a cluster with the path of its namespaces', () => {
      expectValidationError(() => clusterOutput({ namespaces: [{ name: 'x' }, { name: 'x' }] }), 'INVALID_NAMESPACE',
        { path: 'test/Cluster/Namespaces/namespaces[1]', value: '"x"' });
    });

    it('does leave no objects behind when a namespace is invalid', () => {
      expectAtomicFailure(() => undefined, (chart) => register(chart, [{ name: 'temporal-system' }]), 'INVALID_NAMESPACE');
    });
  });
});
