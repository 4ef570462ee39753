import { Unauthenticated } from '../../../services/security/errors';

describe('Unauthenticated', () => {
  it('does carry the reason as its message, under its own name', () => {
    const error = new Unauthenticated('the API key is not valid');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('the API key is not valid');
    expect(error.name).toBe('Unauthenticated');
    expect(String(error)).toBe('Unauthenticated: the API key is not valid');
  });
});
