import { EnvReader } from '../../../services/security/env';

/** What the reader gives back, and the error `check()` throws ('accepted' when none). */
function read<T>(env: Record<string, string | undefined>, use: (r: EnvReader) => T): { value: T; error: string } {
  const reader = new EnvReader(env);
  const value = use(reader);
  try {
    reader.check();
  } catch (e) {
    return { value, error: (e as Error).message };
  }
  return { value, error: 'accepted' };
}

describe('EnvReader', () => {
  test('text: set is its value; unset or empty is a problem naming the variable', () => {
    expect(read({ A: 'x' }, (r) => r.text('A'))).toStrictEqual({ value: 'x', error: 'accepted' });
    expect(read({ A: '' }, (r) => r.text('A')).error).toBe('invalid configuration: A is not set');
    expect(read({}, (r) => r.text('A')).error).toBe('invalid configuration: A is not set');
  });

  test('optional: unset and empty are both absent', () => {
    expect(read({ A: 'x', B: '' }, (r) => [r.optional('A'), r.optional('B'), r.optional('C')])).toStrictEqual({
      value: ['x', undefined, undefined], error: 'accepted' });
  });

  test('integer: the fallback when unset or empty; the range is inclusive; anything else is named with its range', () => {
    expect(read({ B: '', C: '1', D: '10' }, (r) => [r.integer('A', 5, 1, 10), r.integer('B', 5, 1, 10), r.integer('C', 5, 1, 10),
      r.integer('D', 5, 1, 10)])).toStrictEqual({ value: [5, 5, 1, 10], error: 'accepted' });
    for (const bad of ['0', '11', '1.5', 'ten', ' ']) {
      expect(read({ A: bad }, (r) => r.integer('A', 5, 1, 10)).error)
        .toBe(`invalid configuration: A must be an integer from 1 to 10 (got ${JSON.stringify(bad)})`);
    }
  });

  test('address: host:port, a bracketed IPv6 address, every address by default', () => {
    const address = (raw: string | undefined) => read({ A: raw }, (r) => r.address('A', 8443));
    expect(address(undefined)).toStrictEqual({ value: { host: '0.0.0.0', port: 8443 }, error: 'accepted' });
    expect(address('')).toStrictEqual({ value: { host: '0.0.0.0', port: 8443 }, error: 'accepted' });
    expect(address('codec.ns.svc:9443').value).toStrictEqual({ host: 'codec.ns.svc', port: 9443 });
    expect(address('10.0.0.1:0').value).toStrictEqual({ host: '10.0.0.1', port: 0 });
    expect(address('[fd00::1]:65535').value).toStrictEqual({ host: 'fd00::1', port: 65535 });
    expect(address('[::]:1').value).toStrictEqual({ host: '::', port: 1 });
  });

  test('address: anything that is not exactly host:port is refused with an example', () => {
    for (const bad of ['codec', 'codec:', ':80', 'codec:65536', 'codec:123456', 'codec:80x', ' codec:80', 'codec:80 ', 'a:b:80',
      'fd00::1:80', '[fd00::1]', '[fd00::1:80', 'fd00::1]:80', 'a[b:80', '[zz]:80', 'x[::1]:80']) {
      expect([bad, address(bad).error]).toStrictEqual([bad, `invalid configuration: A must be host:port, e.g. 0.0.0.0:8443 (got ${JSON.stringify(bad)})`]);
    }
    function address(raw: string) {
      return read({ A: raw }, (r) => r.address('A', 8443));
    }
  });

  test('list: comma-separated, blanks dropped; a required list that names nothing is a problem', () => {
    expect(read({ A: ' /a.crt , ,/b.crt,' }, (r) => r.list('A'))).toStrictEqual({ value: ['/a.crt', '/b.crt'], error: 'accepted' });
    expect(read({}, (r) => r.list('A'))).toStrictEqual({ value: [], error: 'accepted' });
    expect(read({ A: ' , ' }, (r) => r.list('A', { required: true })).error).toBe('invalid configuration: A is not set');
    expect(read({}, (r) => r.list('A', { required: true })).error).toBe('invalid configuration: A is not set');
    expect(read({ A: '/a.crt' }, (r) => r.list('A', { required: true })).error).toBe('accepted');
  });

  test('origins: scheme://host[:port] over http or https, nothing more; each bad one named', () => {
    expect(read({ A: 'https://ui.example.com, http://localhost:8080' }, (r) => r.origins('A'))).toStrictEqual({
      value: ['https://ui.example.com', 'http://localhost:8080'], error: 'accepted' });
    expect(read({ A: 'ftp://ui.example.com,https://ui.example.com/,not a url,https://ui.example.com:443' }, (r) => r.origins('A')).error)
      .toBe('invalid configuration: ' + ['ftp://ui.example.com', 'https://ui.example.com/', 'not a url', 'https://ui.example.com:443']
        .map((o) => `A: "${o}" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com`).join('; '));
  });

  test('url: a URL passes; anything else is named', () => {
    expect(read({}, (r) => r.url('A', 'https://idp.example/jwks')).error).toBe('accepted');
    expect(read({}, (r) => r.url('A', 'jwks')).error).toBe('invalid configuration: A must be a URL');
  });

  test('check: every problem at once, in the order found; none is no error', () => {
    expect(read({ B: 'x' }, (r) => {
      r.text('A');
      r.integer('B', 1, 0, 9);
      r.problem('a rule over two variables');
    }).error).toBe('invalid configuration: A is not set; B must be an integer from 0 to 9 (got "x"); a rule over two variables');
    expect(read({}, () => undefined).error).toBe('accepted');
  });
});
