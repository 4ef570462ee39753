import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';
import { errors, exportJWK, FlattenedJWSInput, generateKeyPair, JSONWebKeySet, JWK, KeyLike } from 'jose';
import { FetchKeySet, fetchKeySet, IdentityProviderKeys, KeySetOptions } from '../../../services/security/jwks';
import { ManualClock, reason } from './fixtures';

const T = 1_900_000_000_000;
const URI = new URL('https://idp.example/.well-known/jwks.json');
const TOKEN = { payload: '', signature: '' } as FlattenedJWSInput;

let k1: JWK;
let k2: JWK;

beforeAll(async () => {
  const publicJwk = async (kid: string) => ({ ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid, alg: 'ES256' });
  k1 = await publicJwk('k1');
  k2 = await publicJwk('k2');
});

/** An identity provider whose answers the test sets; every fetch takes 7 ms of the manual clock. */
class Provider {
  public readonly calls: { url: URL; timeoutMs: number }[] = [];
  public answer: () => Promise<JSONWebKeySet> = () => Promise.resolve({ keys: [k1] });

  public constructor(private readonly time: ManualClock) {}

  public readonly fetch: FetchKeySet = (url, timeoutMs) => {
    this.calls.push({ url, timeoutMs });
    const answer = this.answer();
    return answer.finally(() => {
      this.time.now += 7;
    });
  };
}

function setup(options: Partial<KeySetOptions> = {}) {
  const time = new ManualClock(T);
  const provider = new Provider(time);
  const failures: Error[] = [];
  const keys = new IdentityProviderKeys({ uri: URI, clock: time.clock, fetch: provider.fetch, onError: (e) => failures.push(e),
    ...options });
  const kidOf = async (kid?: string) => {
    const key = await keys.getKey({ alg: 'ES256', ...(kid === undefined ? {} : { kid }) }, TOKEN);
    const { x } = await exportJWK(key as KeyLike);
    return [k1, k2].find((k) => k.x === x)?.kid;
  };
  return { time, provider, failures, keys, kidOf };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (e: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('IdentityProviderKeys', () => {
  it('does fetch the key set at the first token, from its URI within 5 s, and keep when it arrived', async () => {
    const { keys, provider, kidOf } = setup();
    expect(keys.fetchedAt).toBeUndefined();
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toEqual([{ url: new URL('https://idp.example/.well-known/jwks.json'), timeoutMs: 5_000 }]);
    expect(keys.fetchedAt).toBe(T + 7);
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(1);
  });

  it('does pass its timeout to the fetch', async () => {
    const { provider, kidOf } = setup({ timeoutMs: 1_234 });
    await kidOf('k1');
    expect(provider.calls[0].timeoutMs).toBe(1_234);
  });

  it('does fetch once for tokens that arrive while the first fetch is under way', async () => {
    const { provider, kidOf } = setup();
    const answer = deferred<JSONWebKeySet>();
    provider.answer = () => answer.promise;
    const first = kidOf('k1');
    const second = kidOf('k1');
    answer.resolve({ keys: [k1] });
    expect(await Promise.all([first, second])).toEqual(['k1', 'k1']);
    expect(provider.calls).toHaveLength(1);
  });

  it('fails while no fetch succeeded, telling onError, and fetches again at the next token after the cooldown', async () => {
    const { keys, provider, failures, kidOf, time } = setup();
    provider.answer = () => Promise.reject(new Error('connect ECONNREFUSED'));
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
    expect(failures.map((e) => e.message)).toEqual(['connect ECONNREFUSED']);
    expect(keys.fetchedAt).toBeUndefined();
    // Within the cooldown no new fetch is tried (a provider that is down is not asked once per token).
    provider.answer = () => Promise.resolve({ keys: [k1] });
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
    expect(provider.calls).toHaveLength(1);
    time.now += 30_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(2);
  });

  it('does report a rejection that is not an Error as an Error', async () => {
    const { provider, failures, kidOf } = setup();
    provider.answer = () => Promise.reject('nope');
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
    expect(failures[0]).toBeInstanceOf(Error);
    expect(failures[0].message).toBe('nope');
  });

  it('does refuse tokens without onError when the fetch fails', async () => {
    const { provider, kidOf } = setup({ onError: undefined });
    provider.answer = () => Promise.reject(new Error('down'));
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
  });

  it('does refetch in the background once the keys are refreshMs old, answering with the keys it holds', async () => {
    const { time, keys, provider, kidOf } = setup({ refreshMs: 1_000 });
    await kidOf('k1');
    time.now = T + 7 + 999;
    await kidOf('k1');
    expect(provider.calls).toHaveLength(1);
    const answer = deferred<JSONWebKeySet>();
    provider.answer = () => answer.promise;
    time.now = T + 7 + 1_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(2);
    answer.resolve({ keys: [k1, k2] });
    await settle();
    expect(keys.fetchedAt).toBe(T + 7 + 1_000 + 7);
  });

  it('does refetch in the background after 60 s by default', async () => {
    const { time, provider, kidOf } = setup();
    await kidOf('k1');
    time.now = T + 7 + 59_999;
    await kidOf('k1');
    expect(provider.calls).toHaveLength(1);
    time.now = T + 7 + 60_000;
    await kidOf('k1');
    expect(provider.calls).toHaveLength(2);
  });

  it('does refetch at once for an unknown kid, at most once per cooldown counted from the last attempt', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 3_600_000, cooldownMs: 5_000 });
    await kidOf('k1');
    provider.answer = () => Promise.resolve({ keys: [k1, k2] });
    // The last attempt started at T (the fetch ended at T + 7).
    time.now = T + 4_999;
    await expect(kidOf('k2')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(provider.calls).toHaveLength(1);
    time.now = T + 5_000;
    expect(await kidOf('k2')).toBe('k2');
    expect(provider.calls).toHaveLength(2);
  });

  it('does wait 30 s by default between refetches for unknown kids', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 3_600_000 });
    await kidOf('k1');
    time.now = T + 29_999;
    await expect(kidOf('k2')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(provider.calls).toHaveLength(1);
    time.now = T + 30_000;
    await expect(kidOf('k2')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(provider.calls).toHaveLength(2);
    time.now = T + 30_001;
    await expect(kidOf('k2')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(provider.calls).toHaveLength(2);
  });

  it('does not refetch for a known kid or a token without one', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 3_600_000, cooldownMs: 5_000 });
    await kidOf('k1');
    time.now = T + 10_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(await kidOf()).toBe('k1');
    expect(provider.calls).toHaveLength(1);
  });

  it('does stop accepting a key the provider withdrew', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 1_000 });
    await kidOf('k1');
    provider.answer = () => Promise.resolve({ keys: [k2] });
    time.now = T + 2_000;
    await kidOf('k1');
    await settle();
    await expect(kidOf('k1')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(await kidOf('k2')).toBe('k2');
  });

  it('does keep verifying with the last keys for maxStaleMs after the last fetch that succeeded, and no longer', async () => {
    const { time, provider, failures, kidOf } = setup({ refreshMs: 1_000, maxStaleMs: 10_000 });
    await kidOf('k1');
    provider.answer = () => Promise.reject(new Error('HTTP 503'));
    time.now = T + 7 + 10_000 - 7;
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    expect(failures.map((e) => e.message)).toEqual(['HTTP 503']);
    expect(time.now).toBe(T + 7 + 10_000);
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    time.now = T + 7 + 10_001;
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys could not be refreshed for too long');
    await settle();
    // Once the provider answers again, the keys it sends verify: within the cooldown of the last failed fetch nothing is
    // fetched (a failing provider is not asked once per token), after it the first token fetches.
    provider.answer = () => Promise.resolve({ keys: [k1] });
    const calls = provider.calls.length;
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys could not be refreshed for too long');
    expect(provider.calls).toHaveLength(calls);
    time.now += 30_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(calls + 1);
  });

  it('does keep the last keys for 1 h by default', async () => {
    const { time, provider, kidOf } = setup();
    await kidOf('k1');
    // The provider times out (as fetchKeySet does after its timeout).
    provider.answer = () => Promise.reject(new Error('the identity provider\'s key set did not answer within 5000 ms'));
    time.now = T + 7 + 3_600_000;
    expect(await kidOf('k1')).toBe('k1');
    time.now = T + 7 + 3_600_001;
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys could not be refreshed for too long');
  });

  it('does fetch at once past the staleness bound, and verify again as soon as the provider answers after the cooldown', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 60_000, maxStaleMs: 600_000 });
    await kidOf('k1');
    provider.answer = () => Promise.reject(new Error('HTTP 503'));
    time.now = T + 700_000;
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys could not be refreshed for too long');
    provider.answer = () => Promise.resolve({ keys: [k1] });
    time.now = T + 700_000 + 30_000;
    expect(await kidOf('k1')).toBe('k1');
  });

  it('does survive a key set that does not parse: a failed fetch, the last keys kept, no crash', async () => {
    const { time, provider, failures, kidOf } = setup({ refreshMs: 1_000 });
    await kidOf('k1');
    provider.answer = () => Promise.resolve({ keys: [null] } as never);
    time.now = T + 5_000;
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    expect(failures.map((e) => e.message)).toEqual([expect.stringMatching(/malformed/i)]);
    expect(await kidOf('k1')).toBe('k1');
  });

  it('does wait for a refresh under way when a token names a key the cache lacks', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 60_000, cooldownMs: 30_000 });
    await kidOf('k1');
    provider.answer = () => Promise.resolve({ keys: [k1, k2] });
    // The keys (fetched at T + 7) are due for a background refresh, and the token names k2, which only that refresh
    // brings; the refresh has just started, so no refetch of its own would be tried within the cooldown.
    time.now = T + 7 + 60_000;
    expect(await kidOf('k2')).toBe('k2');
    expect(provider.calls).toHaveLength(2);
  });

  it('does fetch again exactly one cooldown after the start of a failed first fetch', async () => {
    const { time, provider, kidOf } = setup({ cooldownMs: 30_000 });
    provider.answer = () => Promise.reject(new Error('HTTP 503'));
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
    provider.answer = () => Promise.resolve({ keys: [k1] });
    time.now = T + 29_999;
    expect(await reason(() => kidOf('k1'))).toBe('the identity provider\'s keys cannot be fetched');
    time.now = T + 30_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(2);
  });

  it('does not ask a provider whose background refresh failed again within the cooldown, and asks it after', async () => {
    const { time, provider, failures, kidOf } = setup({ refreshMs: 1_000, maxStaleMs: 3_600_000, cooldownMs: 30_000 });
    await kidOf('k1');
    provider.answer = () => Promise.reject(new Error('HTTP 503'));
    // Due at T + 1_007: the refresh starts then and fails.
    time.now = T + 7 + 1_000;
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    expect(failures).toHaveLength(1);
    expect(provider.calls).toHaveLength(2);
    // Tokens within the cooldown of that attempt are verified with the keys held, and nothing is fetched.
    for (const at of [T + 1_007 + 7, T + 1_007 + 15_000, T + 1_007 + 29_999]) {
      time.now = at;
      expect(await kidOf('k1')).toBe('k1');
      await settle();
    }
    expect(provider.calls).toHaveLength(2);
    // One cooldown after the failed attempt began, the next token refreshes again (and a success ends the backing off).
    provider.answer = () => Promise.resolve({ keys: [k1] });
    time.now = T + 1_007 + 30_000;
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    expect(provider.calls).toHaveLength(3);
    time.now += 1_000;
    expect(await kidOf('k1')).toBe('k1');
    await settle();
    expect(provider.calls).toHaveLength(4);
  });

  it('does make a token past the staleness bound wait for a fetch under way', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 60_000, maxStaleMs: 600_000, cooldownMs: 30_000 });
    await kidOf('k1');
    const answer = deferred<JSONWebKeySet>();
    provider.answer = () => answer.promise;
    time.now = T + 7 + 600_001;
    const first = kidOf('k1');
    const second = kidOf('k1');
    answer.resolve({ keys: [k1] });
    expect(await Promise.all([first, second])).toEqual(['k1', 'k1']);
    expect(provider.calls).toHaveLength(2);
  });

  it('does fetch past the staleness bound at the first token, even with no fetch tried since the keys arrived', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 60_000, maxStaleMs: 600_000 });
    await kidOf('k1');
    time.now = T + 2 * 3_600_000;
    expect(await kidOf('k1')).toBe('k1');
    expect(provider.calls).toHaveLength(2);
  });

  it('does judge staleness by the clock after an unknown kid\'s refetch', async () => {
    const { time, provider, kidOf } = setup({ refreshMs: 3_600_000, maxStaleMs: 10_000, cooldownMs: 1_000 });
    await kidOf('k1');
    provider.answer = () => Promise.reject(new Error('HTTP 503'));
    // The refetch fails and takes 7 ms: when it ends, the keys are 10_004 ms old.
    time.now = T + 7 + 9_997;
    expect(await reason(() => kidOf('k2'))).toBe('the identity provider\'s keys could not be refreshed for too long');
  });
});

describe('fetchKeySet', () => {
  let server: Server;
  let handler: (request: IncomingMessage, response: ServerResponse) => void;
  let url: URL;

  beforeAll(async () => {
    server = createHttpServer((request, response) => handler(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const answering = (status: number, body: string | Buffer) => {
    handler = (_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    };
  };

  it('does GET the key set as JSON', async () => {
    let seen: IncomingMessage | undefined;
    handler = (request, response) => {
      seen = request;
      response.end(JSON.stringify({ keys: [{ kid: 'k1', kty: 'EC' }] }));
    };
    expect(await fetchKeySet(url, 30_000)).toEqual({ keys: [{ kid: 'k1', kty: 'EC' }] });
    expect(seen?.method).toBe('GET');
    expect(seen?.url).toBe('/jwks.json');
    expect(seen?.headers.accept).toBe('application/json');
  });

  it('does read a key set of exactly 1 MiB', async () => {
    const head = '{"keys":[],"padding":"';
    const body = `${head}${'x'.repeat(1_048_576 - head.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(1_048_576);
    answering(200, body);
    expect((await fetchKeySet(url, 30_000)).keys).toEqual([]);
  });

  it('fails when the key set is larger than 1 MiB', async () => {
    const head = '{"keys":[],"padding":"';
    answering(200, `${head}${'x'.repeat(1_048_577 - head.length - 2)}"}`);
    await expect(fetchKeySet(url, 30_000)).rejects.toThrow('the identity provider\'s key set is larger than 1 MiB');
  });

  it.each([404, 500, 302])('fails when the provider answers HTTP %p', async (status) => {
    answering(status, JSON.stringify({ keys: [] }));
    await expect(fetchKeySet(url, 30_000)).rejects.toThrow(`the identity provider's key set answered HTTP ${status}`);
  });

  it('fails when the answer is not JSON', async () => {
    answering(200, '<html>');
    await expect(fetchKeySet(url, 30_000)).rejects.toThrow(/^the identity provider's key set is not a JWKS: .*JSON/);
  });

  it.each(['{}', 'null', '{"keys":{}}', '[]'])('fails when the answer %s has no keys array', async (body) => {
    answering(200, body);
    await expect(fetchKeySet(url, 30_000)).rejects.toThrow(new Error('the identity provider\'s key set is not a JWKS: no keys array'));
  });

  it('fails when the provider does not answer within the timeout', async () => {
    handler = () => undefined;
    await expect(fetchKeySet(url, 200)).rejects.toThrow('the identity provider\'s key set did not answer within 200 ms');
  });

  it('fails when the answer is cut off', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('{"keys":[', () => response.socket?.destroy());
    };
    await expect(fetchKeySet(url, 30_000)).rejects.toThrow();
  });

  it('does serve as the default fetch of IdentityProviderKeys', async () => {
    const jwk = { kty: 'EC', crv: 'P-256', kid: 'k1', x: k1.x, y: k1.y };
    handler = (_request, response) => response.end(JSON.stringify({ keys: [jwk] }));
    const keys = new IdentityProviderKeys({ uri: url, clock: () => T });
    await keys.getKey({ alg: 'ES256', kid: 'k1' }, TOKEN);
    expect(keys.fetchedAt).toBe(T);
  });

  it('fails when nothing listens', async () => {
    const closed = createHttpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(fetchKeySet(new URL(`http://127.0.0.1:${port}/`), 30_000)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('does speak TLS to an https URL', async () => {
    const received: number[] = [];
    const tcp = createNetServer((socket) => socket.once('data', (chunk: Buffer) => {
      received.push(chunk[0]);
      socket.destroy();
    }));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    try {
      const answer = fetchKeySet(new URL(`https://127.0.0.1:${(tcp.address() as AddressInfo).port}/jwks.json`), 30_000);
      expect(await answer.then(() => 'resolved', () => 'rejected')).toBe('rejected');
      // A TLS handshake record starts with 0x16; an HTTP request would start with "G".
      expect(received).toEqual([0x16]);
    } finally {
      await new Promise((resolve) => tcp.close(resolve));
    }
  });
});
