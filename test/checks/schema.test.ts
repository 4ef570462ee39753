import { MODELS, schemaViolations, unknownFields, validateObject } from './schema';
import { defaultOutput, mutated } from './mutate';
import { K8sObject } from '../util';

const C0 = 'spec.template.spec.containers[0]';

describe('schema checks', () => {
  it('does know every built-in kind the library emits', () => {
    for (const key of ['v1/Namespace', 'v1/Service', 'v1/ConfigMap', 'v1/Secret', 'v1/ServiceAccount', 'apps/v1/Deployment',
      'apps/v1/StatefulSet', 'batch/v1/Job', 'policy/v1/PodDisruptionBudget', 'networking.k8s.io/v1/Ingress',
      'networking.k8s.io/v1/NetworkPolicy']) {
      expect([key, MODELS.has(key)]).toEqual([key, true]);
    }
  });

  it('does accept the default output', () => {
    expect(schemaViolations(defaultOutput())).toEqual([]);
  });

  it('does reject a misspelled top-level spec field (spec.replicass)', () => {
    expect(unknownFields(mutated('Deployment', 'temporal-frontend', 'spec.replicass', 2)
      .find((o) => o.kind === 'Deployment' && o.metadata.name === 'temporal-frontend')!))
      .toEqual(['Deployment/temporal-frontend: unknown field spec.replicass']);
  });

  it.each([
    ['Deployment', 'temporal-history', `${C0}.imagePullPolicyy`, 'IfNotPresent'],
    ['Deployment', 'temporal-history', `${C0}.securityContext.readOnlyRootFileSystem`, true],
    ['Deployment', 'temporal-history', `${C0}.env[0].valueFromm`, {}],
    ['Deployment', 'temporal-history', `${C0}.resources.limit`, { memory: '1Gi' }],
    ['Service', 'temporal-frontend', 'spec.ports[0].targetport', 7233],
    ['Service', 'temporal-frontend', 'spec.clusterIp', 'None'],
    ['ConfigMap', 'temporal-config', 'metadata.label', { a: 'b' }],
    ['StatefulSet', 'temporal-postgres', 'spec.volumeClaimTemplates[0].spec.resources.request', { storage: '1Gi' }],
  ] as [string, string, string, unknown][])('does reject an unknown field in %s/%s at %s', (kind, name, path, value) => {
    const objs = mutated(kind, name, path, value);
    const obj = objs.find((o) => o.kind === kind && o.metadata.name === name) as K8sObject;
    expect(unknownFields(obj)).toEqual([`${kind}/${name}: unknown field ${path}`]);
  });

  it('does accept free-form maps (labels, annotations, ConfigMap data, resource names)', () => {
    const objs = mutated('Deployment', 'temporal-history', 'metadata.labels.anything', 'ok');
    const deployment = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'temporal-history')!;
    expect(unknownFields(deployment)).toEqual([]);
  });

  it.each([
    ['a string replicas', 'spec.replicas', 'three'],
    ['a missing container name', `${C0}.name`, undefined],
    ['a bad imagePullPolicy', `${C0}.imagePullPolicy`, 'Sometimes'],
    ['a bad protocol', `${C0}.ports[0].protocol`, 'HTTP'],
    ['an int32 overflow', 'spec.replicas', 2 ** 31],
  ])('does reject %s through the kubernetes-models validator', (_what, path, value) => {
    const objs = mutated('Deployment', 'temporal-history', path, value);
    expect(validateObject(objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'temporal-history')!))
      .toHaveLength(1);
  });

  it('does reject a kind it has no schema for, and skips declared CRD groups', () => {
    const unknown = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(validateObject(unknown)).toEqual(['Widget/w: no kubernetes-models schema for example.com/v1 Widget']);
    expect(validateObject({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c' } })).toEqual([]);
  });
});
