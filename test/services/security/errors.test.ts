import { Busy, Unauthenticated } from '../../../services/security/errors';

describe('Unauthenticated', () => {
  it('does carry the reason as its message, under its own name', () => {
    const error = new Unauthenticated('the API key is not valid');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('the API key is not valid');
    expect(error.name).toBe('Unauthenticated');
    expect(String(error)).toBe('Unauthenticated: the API key is not valid');
  });
});

describe('Busy', () => {
  it('does carry the reason as its message, under its own name', () => {
    const error = new Busy('too many tokens are being verified at once: retry shortly');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe('too many tokens are being verified at once: retry shortly');
    expect(String(error)).toBe('Busy: too many tokens are being verified at once: retry shortly');
  });
});
