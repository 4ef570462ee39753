import { isDnsLabel, requireDnsLabel, requireTemporalNamespaceName } from '../../lib/temporal/names';
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
    expectValidationError(() => requireDnsLabel('test/X', 'name', 'a'.repeat(31), 30), 'INVALID_NAME',
      { path: 'test/X', value: JSON.stringify('a'.repeat(31)) });
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
