import { parse } from 'yaml';
import {
  DEFAULT_DYNAMIC_CONFIG, DynamicConfig, mergeDynamicConfig, renderDynamicConfig, RINGPOP_TLS_DYNAMIC_CONFIG,
} from '../../lib/temporal/dynamic-config';
import { clusterOutput } from '../fixtures';
import { expectValidationError, findObject } from '../util';

describe('mergeDynamicConfig', () => {
  it('does render the defaults as before (change detector)', () => {
    expect(renderDynamicConfig(mergeDynamicConfig('test'))).toMatchSnapshot();
  });

  it('does turn on ringpop TLS through the dynamic config the cluster merges under mTLS', () => {
    expect(RINGPOP_TLS_DYNAMIC_CONFIG).toEqual({ 'system.enableRingpopTLS': [{ value: true }] });
    const merged = renderDynamicConfig(mergeDynamicConfig('Test', RINGPOP_TLS_DYNAMIC_CONFIG));
    expect(parse(merged)['system.enableRingpopTLS']).toEqual([{ value: true, constraints: {} }]);
  });

  it('does turn the server version check off by default', () => {
    expect(mergeDynamicConfig('test')).toEqual({ 'frontend.enableServerVersionCheck': [{ value: false }] });
    expect(DEFAULT_DYNAMIC_CONFIG['frontend.enableServerVersionCheck']).toEqual([{ value: false }]);
  });

  it('does replace a default key as a whole and keep the others', () => {
    const merged = mergeDynamicConfig('test', {
      'frontend.enableServerVersionCheck': [{ value: true, constraints: { namespace: 'x' } }],
      'history.persistenceMaxQPS': [{ value: 9000 }],
    });
    expect(merged).toEqual({
      'frontend.enableServerVersionCheck': [{ value: true, constraints: { namespace: 'x' } }],
      'history.persistenceMaxQPS': [{ value: 9000 }],
    });
  });

  it('does sort keys so the output is deterministic', () => {
    const a = renderDynamicConfig(mergeDynamicConfig('test', { 'z.key': [{ value: 1 }], 'a.key': [{ value: 2 }] }));
    const b = renderDynamicConfig(mergeDynamicConfig('test', { 'a.key': [{ value: 2 }], 'z.key': [{ value: 1 }] }));
    expect(a).toBe(b);
    expect(Object.keys(parse(a))).toEqual(['a.key', 'frontend.enableServerVersionCheck', 'z.key']);
  });

  it('does render the file format of the file-based dynamic config client', () => {
    const text = renderDynamicConfig(mergeDynamicConfig('test', {
      'matching.numTaskqueueReadPartitions': [{ value: 8, constraints: { namespace: 'orders', taskQueueName: 'q' } }, { value: 4 }],
    }));
    expect(parse(text)['matching.numTaskqueueReadPartitions']).toEqual([
      { value: 8, constraints: { namespace: 'orders', taskQueueName: 'q' } },
      { value: 4, constraints: {} },
    ]);
  });

  it('does land in the cluster dynamic config ConfigMap', () => {
    const { objs } = clusterOutput({ dynamicConfig: { 'frontend.namespaceRPS': [{ value: 1234 }] } });
    const data = findObject(objs, 'ConfigMap', 'temporal-dynamic-config').data?.['dynamic_config.yaml'] ?? '';
    expect(parse(data)['frontend.namespaceRPS']).toEqual([{ value: 1234, constraints: {} }]);
  });

  describe('validation', () => {
    it.each(['namespaceRPS', 'frontend.', '.rps', 'frontend namespaceRPS', 'frontend.namespace-rps', '1frontend.rps', ''])(
      'fails when a key is %j', (key) => {
        expectValidationError(() => mergeDynamicConfig('test/Cluster/DynamicConfig', { [key]: [{ value: 1 }] }),
          'INVALID_DYNAMIC_CONFIG', { path: 'test/Cluster/DynamicConfig', value: JSON.stringify(key) });
      });

    it.each([
      ['no values', []],
      ['a value without "value"', [{ constraints: {} }]],
      ['a null entry', [null]],
      ['not an array', { value: 1 }],
    ])('fails when a key has %s', (_what, values) => {
      expectValidationError(() => mergeDynamicConfig('test', { 'frontend.rps': values } as unknown as DynamicConfig),
        'INVALID_DYNAMIC_CONFIG', { path: 'test' });
    });

    it('fails with INVALID_DYNAMIC_CONFIG when an entry is not an object', () => {
      expectValidationError(() => mergeDynamicConfig('test', { 'frontend.rps': [5] } as unknown as DynamicConfig),
        'INVALID_DYNAMIC_CONFIG', { path: 'test' });
    });
  });
});
