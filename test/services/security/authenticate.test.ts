import { X509Certificate } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, JWTPayload, JWTVerifyGetKey, KeyLike, SignJWT } from 'jose';
import { apiKeyHash } from '../../../lib/authorizer/api-keys';
import { ApiKeys } from '../../../services/security/api-keys';
import { Authenticator, AuthenticatorOptions } from '../../../services/security/authenticate';
import { CertificateTrust } from '../../../services/security/certificates';
import { Busy, Unauthenticated } from '../../../services/security/errors';
import { ManualClock, presented, reason, securityPki, SecurityPki } from './fixtures';

/** 2030-01-15T00:00:00Z: inside the test certificates' validity (2030-01-01 to 2030-01-31). */
const JAN_15 = 1894665600000;
const NOT_BEFORE = 1893456000000;
const NOT_AFTER = 1896048000000;
const WORKER_URI = 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker';
const CI_KEY = `stk_ci-deploy_${'_'.repeat(42)}8`;
const SHORT_KEY = `stk_short_${'S'.repeat(43)}`;
const NO_CREDENTIALS = 'the call carries neither a client certificate nor a bearer token';

let fixture: SecurityPki;
let signingKey: KeyLike;
let localKeys: JWTVerifyGetKey;

beforeAll(async () => {
  fixture = await securityPki();
  const pair = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  localKeys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp', alg: 'ES256' }] });
});

const trustOf = (): CertificateTrust => ({
  trustDomain: 'cluster.local',
  cas: [
    { certificate: new X509Certificate(fixture.pki.workloadCa.cert), kind: 'workload' },
    { certificate: new X509Certificate(fixture.pki.platformCa.cert), kind: 'platform' },
  ],
});

const apiKeys = new ApiKeys({ keys: [
  { id: 'ci-deploy', owner: 'team-ci', sha256: '1040e3dd437b0a371905ca2645ff3f6f412b9e6a8cbc0bd3e8538f0c5468fa1b',
    expires: '2030-03-01T00:00:00Z' },
  { id: 'short', owner: 'team-ci', sha256: apiKeyHash(SHORT_KEY), expires: '2030-01-20T00:00:00Z' },
] });

/** A token of the identity provider, valid for an hour from 2030-01-15 unless `payload` says otherwise. */
function token(payload: JWTPayload = {}): Promise<string> {
  return new SignJWT({ iss: 'https://idp.example', aud: 'temporal', sub: 'alice', exp: JAN_15 / 1000 + 3600, groups: ['ops'],
    roles: ['admins'], temporal_permissions: ['orders:write'], perms: ['billing:read'], ...payload })
    .setProtectedHeader({ alg: 'ES256', kid: 'idp' }).sign(signingKey);
}

function setup(options: Partial<AuthenticatorOptions> = {}) {
  const time = new ManualClock(JAN_15);
  const verified = { tokens: 0 };
  let trust = trustOf();
  let claims: { groups: string; permissions?: string } = { groups: 'groups', permissions: 'temporal_permissions' };
  const authenticator = new Authenticator({
    clock: time.clock,
    certificates: () => trust,
    jwt: { issuer: 'https://idp.example', audience: 'temporal', clock: time.clock, keys: (header, input) => {
      verified.tokens += 1;
      return localKeys(header, input);
    } },
    claims: () => claims,
    apiKeys: () => apiKeys,
    noCredentials: NO_CREDENTIALS,
    ...options,
  });
  return {
    time, verified, authenticator,
    replaceTrust: () => {
      trust = trustOf();
    },
    readClaims: (next: typeof claims) => {
      claims = next;
    },
  };
}

const bearer = (value: string) => `Bearer ${value}`;
/** The fingerprint of a certificate TLS once saw, with other bytes: answered from the cache, or refused as unparsable. */
const sameFingerprint = (issued: SecurityPki['worker']) => ({ der: Buffer.from('garbage'), fingerprint: presented(issued).fingerprint });

describe('Authenticator', () => {
  it('does authenticate a client certificate', async () => {
    const { authenticator } = setup();
    expect(await authenticator.authenticate({ certificate: presented(fixture.worker) })).toStrictEqual({
      identity: { kind: 'certificate', uris: [WORKER_URI], dnsNames: ['orders-worker.orders.svc'], commonName: 'orders-worker',
        organizations: ['Acme', 'Orders'], organizationalUnits: ['payments'] },
      id: WORKER_URI, auth: 'mtls', expiresAt: NOT_AFTER,
    });
  });

  it('does authenticate a bearer JWT', async () => {
    const { authenticator } = setup();
    expect(await authenticator.authenticate({ authorization: bearer(await token()) })).toStrictEqual({
      identity: { kind: 'jwt', issuer: 'https://idp.example', subject: 'alice', groups: ['ops'], permissions: ['orders:write'] },
      id: 'jwt:https://idp.example#alice', auth: 'jwt', expiresAt: 1894669200000,
    });
  });

  it('does authenticate a bearer API key', async () => {
    const { authenticator } = setup();
    expect(await authenticator.authenticate({ authorization: bearer(CI_KEY) })).toStrictEqual({
      identity: { kind: 'apiKey', id: 'ci-deploy', owner: 'team-ci' }, id: 'apikey:ci-deploy', auth: 'apikey', expiresAt: 1898553600000,
    });
  });

  it('does take the JWT as the identity next to a certificate, until the earlier of both ends', async () => {
    const { authenticator } = setup();
    const soon = await authenticator.authenticate({ certificate: presented(fixture.worker), authorization: bearer(await token()) });
    expect(soon).toMatchObject({ id: 'jwt:https://idp.example#alice', auth: 'jwt+mtls', expiresAt: 1894669200000 });
    expect(soon.identity.kind).toBe('jwt');
    const late = await authenticator.authenticate({ certificate: presented(fixture.worker),
      authorization: bearer(await token({ exp: NOT_AFTER / 1000 + 86_400 })) });
    expect(late).toMatchObject({ auth: 'jwt+mtls', expiresAt: NOT_AFTER });
  });

  it('does take the API key as the identity next to a certificate, until the earlier of both ends', async () => {
    const { authenticator } = setup();
    expect(await authenticator.authenticate({ certificate: presented(fixture.worker), authorization: bearer(CI_KEY) }))
      .toMatchObject({ id: 'apikey:ci-deploy', auth: 'apikey+mtls', expiresAt: NOT_AFTER, identity: { kind: 'apiKey' } });
    expect(await authenticator.authenticate({ certificate: presented(fixture.worker), authorization: bearer(SHORT_KEY) }))
      .toMatchObject({ id: 'apikey:short', auth: 'apikey+mtls', expiresAt: Date.parse('2030-01-20T00:00:00Z') });
  });

  it('fails on a bad certificate even when the bearer token is good', async () => {
    const { authenticator } = setup();
    expect(await reason(async () => authenticator.authenticate({ certificate: presented(fixture.bad.serverAuthOnly),
      authorization: bearer(await token()) }))).toBe('the client certificate is not for client authentication');
    expect(await reason(() => authenticator.authenticate({ certificate: presented(fixture.bad.forged), authorization: bearer(CI_KEY) })))
      .toBe('the client certificate is not issued directly by a trusted CA');
  });

  it('fails on a certificate where none are accepted, even next to a good token', async () => {
    const { authenticator } = setup({ certificates: undefined });
    expect(await reason(async () => authenticator.authenticate({ certificate: presented(fixture.worker),
      authorization: bearer(await token()) }))).toBe('client certificates are not accepted here');
    expect((await authenticator.authenticate({ authorization: bearer(await token()) })).auth).toBe('jwt');
  });

  it('fails on a JWT where none are accepted, API keys still working', async () => {
    const { authenticator } = setup({ jwt: undefined });
    expect(await reason(async () => authenticator.authenticate({ authorization: bearer(await token()) })))
      .toBe('bearer tokens are not accepted here');
    expect((await authenticator.authenticate({ authorization: bearer(CI_KEY) })).auth).toBe('apikey');
  });

  it('fails on an API key where none are accepted, JWTs still working', async () => {
    const { authenticator } = setup({ apiKeys: undefined });
    expect(await reason(() => authenticator.authenticate({ authorization: bearer(CI_KEY) }))).toBe('API keys are not accepted here');
    expect((await authenticator.authenticate({ authorization: bearer(await token()) })).auth).toBe('jwt');
  });

  it('fails without any credential, with the reason it was given', async () => {
    const { authenticator } = setup();
    expect(await reason(() => authenticator.authenticate({}))).toBe('the call carries neither a client certificate nor a bearer token');
  });

  it('fails on an authorization header of another scheme, even next to a good certificate', async () => {
    const { authenticator } = setup();
    expect(await reason(() => authenticator.authenticate({ certificate: presented(fixture.worker), authorization: 'Basic YTpi' })))
      .toBe('the authorization header is not a bearer token');
  });

  it('fails on a refused token or key with its reason', async () => {
    const { authenticator, time } = setup();
    expect(await reason(async () => authenticator.authenticate({ authorization: bearer(await token({ iss: 'https://evil.example' })) })))
      .toBe('the token\'s iss claim is not acceptable');
    time.now = Date.parse('2030-01-20T00:00:00Z');
    expect(await reason(() => authenticator.authenticate({ authorization: bearer(SHORT_KEY) })))
      .toBe('the API key short expired at 2030-01-20T00:00:00Z');
  });

  it('does verify a certificate once, answering its fingerprint from the cache up to and including its notAfter', async () => {
    const { authenticator, time } = setup();
    time.now = NOT_AFTER - 1_000;
    await authenticator.authenticate({ certificate: presented(fixture.worker) });
    time.now = NOT_AFTER;
    expect((await authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })).id).toBe(WORKER_URI);
    time.now = NOT_AFTER + 1;
    expect(await reason(() => authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })))
      .toBe('the client certificate does not parse');
  });

  it('does check a cached certificate\'s notBefore again when the clock goes back', async () => {
    const { authenticator, time } = setup();
    time.now = NOT_BEFORE;
    await authenticator.authenticate({ certificate: presented(fixture.worker) });
    time.now = NOT_BEFORE - 1;
    expect(await reason(() => authenticator.authenticate({ certificate: presented(fixture.worker) })))
      .toBe('the client certificate is expired or not yet valid');
  });

  it('does verify certificates again once the trust changed', async () => {
    const { authenticator, replaceTrust } = setup();
    await authenticator.authenticate({ certificate: presented(fixture.worker) });
    expect((await authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })).id).toBe(WORKER_URI);
    replaceTrust();
    expect(await reason(() => authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })))
      .toBe('the client certificate does not parse');
  });

  it('does keep a refusal of a certificate for 60 s', async () => {
    const { authenticator, time } = setup();
    const refused = presented(fixture.bad.serverAuthOnly);
    expect(await reason(() => authenticator.authenticate({ certificate: refused })))
      .toBe('the client certificate is not for client authentication');
    const good = { der: presented(fixture.worker).der, fingerprint: refused.fingerprint };
    time.now = JAN_15 + 59_999;
    expect(await reason(() => authenticator.authenticate({ certificate: good })))
      .toBe('the client certificate is not for client authentication');
    time.now = JAN_15 + 60_000;
    expect((await authenticator.authenticate({ certificate: good })).id).toBe(WORKER_URI);
  });

  it('does not keep a refusal for a time that is not yet or no longer valid', async () => {
    const { authenticator, time } = setup();
    time.now = NOT_BEFORE - 1;
    expect(await reason(() => authenticator.authenticate({ certificate: presented(fixture.worker) })))
      .toBe('the client certificate is expired or not yet valid');
    time.now = NOT_BEFORE;
    expect((await authenticator.authenticate({ certificate: presented(fixture.worker) })).id).toBe(WORKER_URI);
  });

  it('does pass on an error that is not a refusal, and keep nothing of it', async () => {
    const broken: CertificateTrust = { trustDomain: 'cluster.local', cas: [{ certificate: {} as X509Certificate, kind: 'workload' }] };
    const { authenticator } = setup({ certificates: () => broken });
    const first = await authenticator.authenticate({ certificate: presented(fixture.worker) }).catch((e: Error) => e);
    expect(first).not.toBeInstanceOf(Unauthenticated);
    expect((first as Error).name).toBe('TypeError');
    await expect(authenticator.authenticate({ certificate: presented(fixture.worker) })).rejects.toThrow((first as Error).message);
  });

  it('does evict the least recently used certificate beyond maxCachedIdentities', async () => {
    const small = setup({ maxCachedIdentities: 1 });
    await small.authenticator.authenticate({ certificate: presented(fixture.worker) });
    await small.authenticator.authenticate({ certificate: presented(fixture.web) });
    expect(await reason(() => small.authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })))
      .toBe('the client certificate does not parse');
    const usual = setup();
    await usual.authenticator.authenticate({ certificate: presented(fixture.worker) });
    await usual.authenticator.authenticate({ certificate: presented(fixture.web) });
    expect((await usual.authenticator.authenticate({ certificate: sameFingerprint(fixture.worker) })).id).toBe(WORKER_URI);
  });

  it('does verify a token once, and again after 60 s', async () => {
    const { authenticator, time, verified } = setup();
    const jwt = bearer(await token());
    await authenticator.authenticate({ authorization: jwt });
    time.now = JAN_15 + 59_999;
    await authenticator.authenticate({ authorization: jwt });
    expect(verified.tokens).toBe(1);
    time.now = JAN_15 + 60_000;
    await authenticator.authenticate({ authorization: jwt });
    expect(verified.tokens).toBe(2);
  });

  it('does verify a cached token again from its exp', async () => {
    const { authenticator, time, verified } = setup();
    const jwt = bearer(await token({ exp: JAN_15 / 1000 + 30 }));
    await authenticator.authenticate({ authorization: jwt });
    time.now = JAN_15 + 29_999;
    await authenticator.authenticate({ authorization: jwt });
    expect(verified.tokens).toBe(1);
    time.now = JAN_15 + 30_000;
    await authenticator.authenticate({ authorization: jwt });
    expect(verified.tokens).toBe(2);
  });

  it('does tell tokens apart in the cache', async () => {
    const { authenticator } = setup();
    const alice = bearer(await token());
    const bob = bearer(await token({ sub: 'bob' }));
    expect((await authenticator.authenticate({ authorization: alice })).id).toBe('jwt:https://idp.example#alice');
    expect((await authenticator.authenticate({ authorization: bob })).id).toBe('jwt:https://idp.example#bob');
  });

  it('does read a cached token again when the policy reads other claims', async () => {
    const { authenticator, readClaims } = setup();
    const jwt = bearer(await token());
    expect((await authenticator.authenticate({ authorization: jwt })).identity).toMatchObject({ groups: ['ops'], permissions: ['orders:write'] });
    readClaims({ groups: 'roles', permissions: 'temporal_permissions' });
    expect((await authenticator.authenticate({ authorization: jwt })).identity).toMatchObject({ groups: ['admins'], permissions: ['orders:write'] });
    readClaims({ groups: 'roles', permissions: 'perms' });
    expect((await authenticator.authenticate({ authorization: jwt })).identity).toMatchObject({ groups: ['admins'], permissions: ['billing:read'] });
    readClaims({ groups: 'roles' });
    expect((await authenticator.authenticate({ authorization: jwt })).identity).toMatchObject({ groups: ['admins'], permissions: [] });
  });

  it('does verify every token again after forgetTokens', async () => {
    const { authenticator, verified } = setup();
    const jwt = bearer(await token());
    await authenticator.authenticate({ authorization: jwt });
    authenticator.forgetTokens();
    await authenticator.authenticate({ authorization: jwt });
    expect(verified.tokens).toBe(2);
  });

  it('does evict the least recently used token beyond maxCachedIdentities', async () => {
    const alice = bearer(await token());
    const bob = bearer(await token({ sub: 'bob' }));
    const small = setup({ maxCachedIdentities: 1 });
    for (const jwt of [alice, bob, alice]) {
      await small.authenticator.authenticate({ authorization: jwt });
    }
    expect(small.verified.tokens).toBe(3);
    const usual = setup();
    for (const jwt of [alice, bob, alice]) {
      await usual.authenticator.authenticate({ authorization: jwt });
    }
    expect(usual.verified.tokens).toBe(2);
  });

  describe('tokens being verified at once', () => {
    /** An authenticator whose key lookups wait until the test releases them. */
    function held(maxPendingVerifications?: number) {
      const waiting: (() => void)[] = [];
      const t = setup({ ...(maxPendingVerifications === undefined ? {} : { maxPendingVerifications }),
        jwt: { issuer: 'https://idp.example', audience: 'temporal', clock: () => JAN_15, keys: async (header, input) => {
          await new Promise<void>((resolve) => waiting.push(resolve));
          return localKeys(header, input);
        } } });
      const releaseAll = async () => {
        while (waiting.length > 0) {
          waiting.shift()?.();
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      return { ...t, waiting, releaseAll };
    }

    it('does refuse a token as Busy once maxPendingVerifications are being verified, and count them down as they end', async () => {
      const { authenticator, releaseAll } = held(2);
      const first = authenticator.authenticate({ authorization: bearer(await token({ sub: 'a' })) });
      const second = authenticator.authenticate({ authorization: bearer(await token({ sub: 'b' })) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(authenticator.pendingVerifications).toBe(2);
      const third = authenticator.authenticate({ authorization: bearer(await token({ sub: 'c' })) });
      await expect(third).rejects.toThrow(Busy);
      await expect(third).rejects.toThrow('too many tokens are being verified at once: retry shortly');
      // Certificates and API keys verify without waiting: never Busy.
      expect((await authenticator.authenticate({ certificate: presented(fixture.worker) })).id).toBe(WORKER_URI);
      expect((await authenticator.authenticate({ authorization: bearer(CI_KEY) })).id).toBe('apikey:ci-deploy');
      await releaseAll();
      expect((await Promise.all([first, second])).map((a) => a.id)).toEqual(['jwt:https://idp.example#a', 'jwt:https://idp.example#b']);
      expect(authenticator.pendingVerifications).toBe(0);
    });

    it('does count a verification that failed as ended', async () => {
      const { authenticator, releaseAll } = held(1);
      const bad = authenticator.authenticate({ authorization: bearer(await token({ aud: 'other' })) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(authenticator.pendingVerifications).toBe(1);
      await releaseAll();
      await expect(bad).rejects.toThrow(Unauthenticated);
      expect(authenticator.pendingVerifications).toBe(0);
      const good = authenticator.authenticate({ authorization: bearer(await token()) });
      await releaseAll();
      expect((await good).id).toBe('jwt:https://idp.example#alice');
    });

    it('does allow 64 at once by default, and answer a cached token while they wait', async () => {
      const { authenticator, releaseAll } = held();
      const cachedJwt = bearer(await token({ sub: 'cached' }));
      const warm = authenticator.authenticate({ authorization: cachedJwt });
      await releaseAll();
      await warm;
      const pending = await Promise.all(Array.from({ length: 64 }, async (_, i) => bearer(await token({ sub: `u${i}` }))))
        .then((jwts) => jwts.map((jwt) => authenticator.authenticate({ authorization: jwt })));
      await new Promise((resolve) => setImmediate(resolve));
      expect(authenticator.pendingVerifications).toBe(64);
      expect((await authenticator.authenticate({ authorization: cachedJwt })).id).toBe('jwt:https://idp.example#cached');
      await expect(authenticator.authenticate({ authorization: bearer(await token({ sub: 'one-more' })) })).rejects.toThrow(Busy);
      await releaseAll();
      expect(await Promise.all(pending)).toHaveLength(64);
    });
  });
});
