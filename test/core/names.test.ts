import {
  isDnsLabel, requireClusterDomain, requireDns1035Label, requireDnsLabel, requireDnsName, requireTemporalNamespaceName,
} from '../../lib/core/names';
import { expectValidationError } from '../util';

describe('requireDnsLabel', () => {
  it.each(['temporal', 'a', 't-1', '1temporal', 'a'.repeat(63)])('does accept %j', (value) => {
    expect(requireDnsLabel('test', 'name', value)).toBe(value);
    expect(isDnsLabel(value)).toBe(true);
  });

  it.each(['', 'Temporal', '-a', 'a-', 'a_b', 'a.b', 'a'.repeat(64)])('fails when the value is %j', (value) => {
    expectValidationError(() => requireDnsLabel('test/X', 'name', value), 'INVALID_NAME',
      { path: 'test/X', value: JSON.stringify(value) });
  });

  it('fails when the value is longer than the given maximum', () => {
    expectValidationError(() => requireDnsLabel('test/X', 'name', 'a'.repeat(31), { maxLength: 30 }), 'INVALID_NAME',
      { path: 'test/X', value: JSON.stringify('a'.repeat(31)) });
  });

  it('does suggest a name of the right kind in the fix', () => {
    const error = expectValidationError(() => requireDnsLabel('test/X', 'identity name', 'Orders_Worker', { example: 'orders-worker' }),
      'INVALID_NAME', { path: 'test/X' });
    expect(error.fix).toBe('rename it, e.g. "orders-worker"');
  });
});

describe('requireDns1035Label', () => {
  it.each(['temporal', 'a1', 't-prod'])('does accept %j', (value) => {
    expect(requireDns1035Label('test', 'name', value)).toBe(value);
  });

  it.each(['1temporal', 'Temporal', 'a-', ''])('fails with INVALID_NAME when the value is %j', (value) => {
    expectValidationError(() => requireDns1035Label('test/X', 'name', value), 'INVALID_NAME', { path: 'test/X' });
  });
});

describe('requireDnsName and requireClusterDomain', () => {
  it('does accept DNS names, and wildcards only when asked', () => {
    expect(requireDnsName('test', 'host', 'temporal.example.com', { example: 'x.example.com' })).toBe('temporal.example.com');
    expect(requireDnsName('test', 'host', '*.example.com', { example: 'x', allowWildcard: true })).toBe('*.example.com');
    expectValidationError(() => requireDnsName('test/X', 'host', '*.example.com', { example: 'temporal.example.com' }),
      'INVALID_NAME', { path: 'test/X' });
  });

  it.each(['Cluster.Local', 'cluster local', '', 'a..b'])('fails with INVALID_NAME when the cluster domain is %j', (value) => {
    const error = expectValidationError(() => requireClusterDomain('test/X', value), 'INVALID_NAME', { path: 'test/X' });
    expect(error.fix).toContain('cluster.local');
  });
});

describe('requireTemporalNamespaceName', () => {
  it.each(['default', 'orders-prod', 'Orders.v2', 'a_b'])('does accept %j', (value) => {
    expect(requireTemporalNamespaceName('test', value)).toBe(value);
  });

  it.each(['', '.hidden', 'temporal-system', 'has space', "it's", 'a'.repeat(256)])('fails when the name is %j', (value) => {
    expectValidationError(() => requireTemporalNamespaceName('test/X', value), 'INVALID_NAMESPACE', { path: 'test/X' });
  });
});
