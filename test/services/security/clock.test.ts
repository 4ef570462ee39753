import { systemClock } from '../../../services/security/clock';

describe('systemClock', () => {
  it('does read the machine\'s clock in milliseconds since the epoch', () => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_893_456_000_000);
    try {
      expect(systemClock()).toBe(1_893_456_000_000);
      expect(now).toHaveBeenCalledTimes(1);
    } finally {
      now.mockRestore();
    }
  });
});
