/**
 * The stack configuration of stacks/: the values file and inline values merged (maps deep, lists replace),
 * validated with the values schema; the certificates mode checked.
 */
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { mergeValues, readStackConfig } from '../../stacks/config';

const root = join(__dirname, '..', '..');

/** The real pulumi.Config of project secure-temporal, over the given stack configuration (objects as JSON, as the CLI passes them). */
function config(values: Record<string, unknown>): pulumi.Config {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values)
    .map(([key, value]) => [`secure-temporal:${key}`, typeof value === 'string' ? value : JSON.stringify(value)])));
  return new pulumi.Config('secure-temporal');
}

describe('readStackConfig', () => {
  test('inline values merge over the values file key by key at every depth; lists replace', () => {
    const { values, certificates } = readStackConfig(config({
      valuesFile: 'examples/values/workers.yaml',
      values: { tls: { leafDuration: '4320h' }, history: { replicas: 5 }, namespaces: [{ name: 'only' }] },
    }), root);
    expect(certificates).toBe('cert-manager');
    // The file's other tls settings stay.
    expect(values.tls).toEqual({ privateKey: { algorithm: 'ECDSA', size: 384 }, leafDuration: '4320h', leafRenewBefore: '720h' });
    expect(values.history).toEqual({ replicas: 5 });
    expect(values.matching).toEqual({ replicas: 2 });
    expect(values.namespaces).toEqual([{ name: 'only' }]);
  });

  test('a bad inline value names the field and the fix', () => {
    expect(() => readStackConfig(config({ values: { history: { replicas: 'many' } } }), root))
      .toThrow(/secure-temporal:values: history\.replicas: "many" is not number\. Allowed: number\. Fix: give number/);
  });

  test('a bad value in the values file names its line and column', () => {
    expect(() => readStackConfig(config({ valuesFile: 'package.json' }), root)).toThrow(/package\.json:3:3: version: unknown field "version"/);
  });

  test('an unknown certificates mode is refused with the allowed values', () => {
    expect(() => readStackConfig(config({ certificates: 'vault' }), root))
      .toThrow('secure-temporal:certificates is "vault". Allowed: cert-manager, pulumi-tls.');
  });

  test('mergeValues: maps merge, anything else replaces', () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2], e: 4 })).toEqual({ a: { b: 1, c: 3 }, d: [2], e: 4 });
    expect(mergeValues({ a: 1 }, [1])).toEqual([1]);
  });
});
