import { ValidationError } from '../../lib/core/errors';

describe('ValidationError', () => {
  it('does name the path, the problem, the bad value and the fix', () => {
    const err = new ValidationError('INVALID_REPLICAS', 'TemporalCluster/Frontend', 'replicas must be >= 1', 0,
      'set replicas to 1 or more.');
    expect(err.message).toBe('TemporalCluster/Frontend: replicas must be >= 1 (got 0). Fix: set replicas to 1 or more.');
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ValidationError');
    expect([err.code, err.path, err.value]).toEqual(['INVALID_REPLICAS', 'TemporalCluster/Frontend', 0]);
  });

  it.each([
    ['a string', 'x', '(got "x")'],
    ['undefined', undefined, '(got nothing)'],
    ['an object', { a: 1 }, '(got {"a":1})'],
  ])('does render %s as the bad value', (_what, value, expected) => {
    expect(new ValidationError('INVALID_NAME', 'p', 'bad', value, 'fix').message).toContain(expected);
  });

  it('does not throw on a circular value', () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    expect(() => new ValidationError('INVALID_NAME', 'p', 'bad', value, 'fix')).not.toThrow();
  });

  it.each([NaN, Infinity])('does render the number %p as itself', (value) => {
    expect(new ValidationError('INVALID_REPLICAS', 'p', 'bad', value, 'fix').message).toContain(`(got ${String(value)})`);
  });
});
