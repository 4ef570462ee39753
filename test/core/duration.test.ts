import { Duration } from 'cdk8s';
import { goDuration } from '../../lib/core/duration';
import { expectValidationError } from '../util';

describe('goDuration', () => {
  it.each([
    [Duration.seconds(90), '90s'], [Duration.minutes(5), '5m'], [Duration.hours(1), '1h'], [Duration.days(3), '72h'],
    [Duration.seconds(3660), '61m'], [Duration.seconds(3601), '3601s'],
  ])('does render %p as %s', (duration, expected) => {
    expect(goDuration('test', 'd', duration)).toBe(expected);
  });

  it('fails when the duration is below the minimum', () => {
    expectValidationError(() => goDuration('test/X', 'retention', Duration.hours(23), 86400), 'INVALID_DURATION',
      { path: 'test/X', value: '82800' });
  });

  it('fails when the duration is zero', () => {
    expectValidationError(() => goDuration('test/X', 'maxConnLifetime', Duration.seconds(0)), 'INVALID_DURATION',
      { path: 'test/X', value: '0' });
  });

  it('fails with INVALID_DURATION when the duration is not a whole number of seconds', () => {
    expectValidationError(() => goDuration('test/X', 'maxConnLifetime', Duration.millis(1500)), 'INVALID_DURATION',
      { path: 'test/X', value: '1.5' });
  });
});
