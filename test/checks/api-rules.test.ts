import { apiRuleViolations, isIngressHost, isPortName } from './api-rules';
import { defaultOutput, mutated } from './mutate';

const POD = 'spec.template.spec';
const C0 = `${POD}.containers[0]`;

describe('apiRuleViolations', () => {
  it('does accept the default output', () => {
    expect(apiRuleViolations(defaultOutput())).toEqual([]);
  });

  it.each([
    ['grpc-rpc', true], ['metrics', true], ['grpc-membership', true], ['grpc-membership1', false], ['Http', false],
    ['7233', false], ['a--b', false], ['-a', false],
  ])('does judge port name %j as valid: %p', (name, valid) => {
    expect(isPortName(name)).toBe(valid);
  });

  it.each([
    ['a Service name starting with a digit', 'Service', 'temporal-frontend', 'metadata.name', '1temporal-frontend',
      'name is not a DNS-1035 label'],
    ['an upper-case object name', 'ConfigMap', 'temporal-config', 'metadata.name', 'Temporal-Config', 'not a DNS-1123 subdomain'],
    ['a label value over 63 characters', 'ConfigMap', 'temporal-config', 'metadata.labels.x', 'v'.repeat(64), 'label x value'],
    ['a port name over 15 characters', 'Deployment', 'temporal-web', `${C0}.ports[0].name`, 'http-web-ui-port', 'not an IANA service name'],
    ['a mount of a missing volume', 'Deployment', 'temporal-web', `${C0}.volumeMounts[0].name`, 'nope', 'mounts missing volume nope'],
    ['a probe on a port that is not declared', 'Deployment', 'temporal-web', `${C0}.readinessProbe.httpGet.port`, 'web',
      'probe port web is not a container port name'],
    ['a missing ServiceAccount', 'Deployment', 'temporal-web', `${POD}.serviceAccountName`, 'ghost', 'serviceAccountName ghost does not exist'],
    ['a missing ConfigMap', 'Deployment', 'temporal-history', `${POD}.volumes[0].configMap.name`, 'ghost',
      'references missing ConfigMap ghost'],
    ['a selector that misses its template', 'Deployment', 'temporal-web', 'spec.selector.matchLabels.extra', 'x',
      'selector does not match the pod template labels'],
    ['a Service targetPort no pod declares', 'Service', 'temporal-frontend', 'spec.ports[0].targetPort', 'grpc', 'targetPort grpc'],
    ['a Service selecting nothing', 'Service', 'temporal-web', 'spec.selector', { app: 'ghost' }, 'selector matches no pod template'],
    ['a PDB selecting nothing', 'PodDisruptionBudget', 'temporal-web', 'spec.selector.matchLabels', { app: 'ghost' },
      'selector matches no pod template'],
    ['a duplicated env var', 'Deployment', 'temporal-web', `${C0}.env[1].name`, 'TEMPORAL_ADDRESS', 'env TEMPORAL_ADDRESS is set twice'],
    ['a StatefulSet without its headless Service', 'StatefulSet', 'temporal-postgres', 'spec.serviceName', 'ghost',
      'serviceName ghost is not a headless Service'],
  ] as [string, string, string, string, unknown, string][])('does flag %s', (_what, kind, name, path, value, message) => {
    const violations = apiRuleViolations(mutated(kind, name, path, value));
    expect(violations.join('\n')).toContain(message);
  });

  it('does flag a Job that restarts always', () => {
    const job = defaultOutput().find((o) => o.kind === 'Job')!;
    expect(apiRuleViolations(mutated('Job', job.metadata.name, `${POD}.restartPolicy`, 'Always')))
      .toEqual([`Job/${job.metadata.name}: restartPolicy Always is not allowed for a Job`]);
  });

  it.each([
    ['temporal.example.com', true], ['*.example.com', true], ['localhost', true], [`${'a'.repeat(64)}.example.com`, false],
    ['UI.example.com', false], ['a..b', false],
  ])('does judge Ingress host %j as valid: %p', (host, valid) => {
    expect(isIngressHost(host)).toBe(valid);
  });

  it('does flag an Ingress whose backend Service does not exist', () => {
    const objs = defaultOutput();
    objs.push({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'x', namespace: 'temporal' },
      spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix',
        backend: { service: { name: 'ghost', port: { name: 'http' } } } }] } }] } });
    expect(apiRuleViolations(objs)).toEqual(['Ingress/x: backend Service ghost does not exist']);
  });

  it('does flag a cluster-scoped object that carries a namespace', () => {
    const objs = defaultOutput();
    const issuer = objs.find((o) => o.kind === 'ClusterIssuer')!;
    objs.splice(objs.indexOf(issuer), 1, { ...issuer, metadata: { ...issuer.metadata, namespace: 'temporal' } });
    expect(apiRuleViolations(objs)).toEqual([`ClusterIssuer/${issuer.metadata.name}: cluster-scoped, yet carries namespace temporal`]);
  });

  it('does flag two objects with the same kind, namespace and name', () => {
    const objs = defaultOutput();
    objs.push(objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'temporal-config')!);
    expect(apiRuleViolations(objs)).toEqual(['duplicate object v1/ConfigMap/temporal/temporal-config']);
  });
});
