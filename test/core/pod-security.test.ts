import { k8s } from 'cdk8s-plus-27';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodSecurityContext, toResourceRequirements,
} from '../../lib/core/pod-security';
import { podSecurityViolations } from '../checks/pod-security';
import { expectValidationError, synth, testChart } from '../util';

/** Quantities as they synthesize (plain strings). */
function plain(r: k8s.ResourceRequirements): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(r).map(([group, values]) => [group,
    Object.fromEntries(Object.entries(values as Record<string, k8s.Quantity>).map(([k, q]) => [k, String(q.value)]))]));
}

const OK: ComputeResources = { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' };

describe('restrictedPodSecurityContext', () => {
  it('does render the same contexts as before (change detector)', () => {
    expect({ pod: restrictedPodSecurityContext(1000), container: restrictedContainerSecurityContext() }).toMatchSnapshot();
  });

  it('does satisfy Pod Security Standards "restricted" for a pod that uses them', () => {
    const chart = testChart();
    const container: k8s.Container = { name: 'c', image: 'x:1', securityContext: restrictedContainerSecurityContext(),
      resources: toResourceRequirements('test', OK) };
    new k8s.KubeDeployment(chart, 'D', { spec: { selector: { matchLabels: { a: 'b' } }, template: {
      metadata: { labels: { a: 'b' } },
      spec: { securityContext: restrictedPodSecurityContext(1000), containers: [container], initContainers: [{ ...container, name: 'i' }] },
    } } });
    expect(podSecurityViolations(synth(chart))).toEqual([]);
  });

  it('does run as the given non-root user and group', () => {
    expect(restrictedPodSecurityContext(999)).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, fsGroup: 999 });
  });
});

describe('toResourceRequirements', () => {
  it('does set cpu and memory requests and a memory limit, and a CPU limit only when asked', () => {
    expect(plain(toResourceRequirements('test', OK))).toEqual({
      requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' },
    });
    expect(plain(toResourceRequirements('test', { ...OK, cpuLimit: '1' })).limits).toEqual({ memory: '1Gi', cpu: '1' });
  });

  it.each([
    ['memory equal to the limit', { cpu: '1', memory: '1Gi', memoryLimit: '1Gi' }],
    ['mixed units', { cpu: '0.5', memory: '1000M', memoryLimit: '1Gi' }],
  ])('does accept %s', (_what, resources) => {
    expect(() => toResourceRequirements('test', resources)).not.toThrow();
  });

  it.each([
    ['memoryLimit below memory', { cpu: '1', memory: '1Gi', memoryLimit: '512Mi' }],
    ['memoryLimit below memory across units', { cpu: '1', memory: '1Gi', memoryLimit: '1000M' }],
    ['a bad cpu', { cpu: '1 core', memory: '1Gi', memoryLimit: '1Gi' }],
    ['a negative cpu', { cpu: '-100m', memory: '1Gi', memoryLimit: '1Gi' }],
    ['a bad cpuLimit', { cpu: '1', memory: '1Gi', memoryLimit: '1Gi', cpuLimit: 'max' }],
    ['a bad memory', { cpu: '1', memory: '1GB', memoryLimit: '2Gi' }],
    ['a bad memoryLimit', { cpu: '1', memory: '1Gi', memoryLimit: '2gi' }],
    ['a missing memoryLimit', { cpu: '1', memory: '1Gi' } as ComputeResources],
    ['an empty cpu', { cpu: '', memory: '1Gi', memoryLimit: '1Gi' }],
  ])('fails with %s', (_what, resources) => {
    expectValidationError(() => toResourceRequirements('test/Cluster/History', resources), 'INVALID_RESOURCES',
      { path: 'test/Cluster/History', value: JSON.stringify(resources) });
  });
});
