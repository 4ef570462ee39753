import {
  configMapSecretViolations, imageProblem, imageViolations, secretLiteralViolations, serviceExposureViolations,
} from './hygiene';
import { defaultOutput, mutated } from './mutate';
import { podTemplate } from '../util';

const C0 = 'spec.template.spec.containers[0]';

describe('imageProblem', () => {
  it.each([
    ['temporalio/server:1.31.2', undefined],
    [`temporalio/server@sha256:${'a'.repeat(64)}`, undefined],
    ['registry:5000/temporalio/server:1.31.2', undefined],
    ['temporalio/server:latest', 'tag latest'],
    ['temporalio/server', 'no tag'],
    ['registry:5000/temporalio/server', 'no tag'],
    ['temporalio/server@sha256:abc', 'malformed digest'],
    ['temporalio/server:1.0 ', 'contains whitespace'],
    ['Temporalio/Server:1.0', 'not a valid image reference'],
    ['temporalio//server:1.0', 'not a valid image reference'],
    ['temporalio/server:-1', 'not a valid image reference'],
    ['', 'no image'],
  ])('does judge %j as %p', (image, problem) => {
    expect(imageProblem(image)).toBe(problem);
  });
});

describe('hygiene checks', () => {
  it('does accept the default output', () => {
    const objs = defaultOutput();
    expect([imageViolations(objs), serviceExposureViolations(objs), secretLiteralViolations(objs),
      configMapSecretViolations(objs)]).toEqual([[], [], [], []]);
  });

  it('does flag a :latest image', () => {
    expect(imageViolations(mutated('Deployment', 'temporal-web', `${C0}.image`, 'temporalio/ui:latest')))
      .toEqual(['Deployment/temporal-web: container web image temporalio/ui:latest: tag latest']);
  });

  it.each(['NodePort', 'LoadBalancer'])('does flag a Service of type %s', (type) => {
    expect(serviceExposureViolations(mutated('Service', 'temporal-frontend', 'spec.type', type)))
      .toEqual([`Service/temporal-frontend: type ${type}`]);
  });

  it('does flag a password as a literal env value', () => {
    const objs = mutated('Deployment', 'temporal-history', `${C0}.env[2]`, { name: 'TEMPORAL_DEFAULT_STORE_PASSWORD', value: 'hunter22' });
    expect(secretLiteralViolations(objs)).toEqual([
      'Deployment/temporal-history: container history env TEMPORAL_DEFAULT_STORE_PASSWORD: secret-like name with a literal value',
    ]);
  });

  it('does flag a known secret value under any env name', () => {
    const objs = mutated('Deployment', 'temporal-history', `${C0}.env[0].value`, 'pw-s3cret-value');
    expect(secretLiteralViolations(objs, ['pw-s3cret-value'])).toHaveLength(1);
  });

  it('does allow paths into a mounted Secret (password files, TLS keys) but not elsewhere', () => {
    expect(secretLiteralViolations(defaultOutput())).toEqual([]);
    const web = podTemplate(defaultOutput(), 'Deployment', 'temporal-web').spec.containers[0].env ?? [];
    const keyEnv = web.findIndex((e) => e.name === 'TEMPORAL_TLS_KEY');
    expect(web[keyEnv].value).toMatch(/^\/etc\/temporal\/tls\/client\//);
    const objs = mutated('Deployment', 'temporal-web', `${C0}.env[${keyEnv}].value`, '/tmp/tls.key');
    expect(secretLiteralViolations(objs)).toEqual([
      'Deployment/temporal-web: container web env TEMPORAL_TLS_KEY: secret-like name with a literal value',
    ]);
  });

  it('does allow a mounted Secret folder itself and boolean switches, and still flags a token literal', () => {
    const codec = podTemplate(defaultOutput(), 'Deployment', 'temporal-codec').spec.containers[0].env ?? [];
    const keysEnv = codec.findIndex((e) => e.name === 'CODEC_KEYS_DIR');
    expect(codec[keysEnv].value).toBe('/etc/codec-server/keys');
    const moved = mutated('Deployment', 'temporal-codec', `${C0}.env[${keysEnv}].value`, '/etc/codec-server');
    expect(secretLiteralViolations(moved)).toEqual([
      'Deployment/temporal-codec: container codec-server env CODEC_KEYS_DIR: secret-like name with a literal value',
    ]);
    const flag = mutated('Deployment', 'temporal-codec', `${C0}.env[${keysEnv}]`, { name: 'PASS_ACCESS_TOKEN', value: 'true' });
    expect(secretLiteralViolations(flag)).toEqual([]);
    const token = mutated('Deployment', 'temporal-codec', `${C0}.env[${keysEnv}]`, { name: 'ACCESS_TOKEN', value: 'eyJhbGciOi' });
    expect(secretLiteralViolations(token)).toEqual([
      'Deployment/temporal-codec: container codec-server env ACCESS_TOKEN: secret-like name with a literal value',
    ]);
  });

  it('does flag a ConfigMap holding a known secret or the value of a Secret in the output', () => {
    const objs = mutated('ConfigMap', 'temporal-dynamic-config', 'data.leak', 'password: pw-s3cret-value');
    expect(configMapSecretViolations(objs, ['pw-s3cret-value'])).toEqual([
      'ConfigMap/temporal-dynamic-config: key leak contains a secret value',
    ]);
    objs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'pw-s3cret-value' } });
    expect(configMapSecretViolations(objs)).toHaveLength(1);
  });
});
