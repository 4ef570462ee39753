import { createLocalJWKSet, exportJWK, generateKeyPair, JWTPayload, KeyLike, SignJWT } from 'jose';
import { Unauthenticated } from '../../../services/security/errors';
import { bearerToken, jwtIdentity, JwtTrust } from '../../../services/security/tokens';
import { ManualClock, reason } from './fixtures';

/** 2030-03-17T17:46:40Z, in seconds. */
const NOW = 1_900_000_000;
const CLAIMS = { groups: 'groups', permissions: 'temporal_permissions' };

let es: KeyLike;
let rs: KeyLike;
let impostor: KeyLike;
let trust: JwtTrust;
let time: ManualClock;

beforeAll(async () => {
  const esPair = await generateKeyPair('ES256');
  const rsPair = await generateKeyPair('RS256');
  es = esPair.privateKey;
  rs = rsPair.privateKey;
  impostor = (await generateKeyPair('ES256')).privateKey;
  const keys = createLocalJWKSet({ keys: [
    { ...(await exportJWK(esPair.publicKey)), kid: 'es', alg: 'ES256' },
    { ...(await exportJWK(rsPair.publicKey)), kid: 'rs', alg: 'RS256' },
  ] });
  time = new ManualClock(NOW * 1000);
  trust = { issuer: 'https://idp.example', audience: 'temporal', keys, clock: () => time.now };
});

beforeEach(() => {
  time.now = NOW * 1000;
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token of the provider: `payload` over the defaults (a key left undefined is left out). */
async function token(payload: JWTPayload = {}, header: { alg: string; kid?: string } = { alg: 'ES256', kid: 'es' },
  key: KeyLike | Uint8Array = es): Promise<string> {
  const claims = Object.fromEntries(Object.entries({ iss: 'https://idp.example', aud: 'temporal', sub: 'alice', exp: NOW + 300,
    groups: ['ops', 'dev'], temporal_permissions: ['orders:write'], ...payload }).filter(([, v]) => v !== undefined));
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

describe('jwtIdentity', () => {
  it('does read the identity and expiry of an ES256 token', async () => {
    expect(await jwtIdentity(await token(), trust, CLAIMS)).toStrictEqual({
      identity: { kind: 'jwt', issuer: 'https://idp.example', subject: 'alice', groups: ['ops', 'dev'], permissions: ['orders:write'] },
      expiresAt: 1_900_000_300_000,
    });
  });

  it('does accept an RS256 token', async () => {
    const { identity } = await jwtIdentity(await token({}, { alg: 'RS256', kid: 'rs' }, rs), trust, CLAIMS);
    expect(identity.subject).toBe('alice');
  });

  it('does accept an audience list that holds the audience', async () => {
    expect((await jwtIdentity(await token({ aud: ['other', 'temporal'] }), trust, CLAIMS)).identity.subject).toBe('alice');
  });

  it('does read the claims the policy names, a single string as a list of one, other values as none', async () => {
    const claims = { roles: 'admins', perms: ['a:read', 7, null, 'b:write'], count: 3 };
    const read = async (names: { groups: string; permissions?: string }) => (await jwtIdentity(await token(claims), trust, names)).identity;
    expect(await read({ groups: 'roles', permissions: 'perms' })).toMatchObject({ groups: ['admins'], permissions: ['a:read', 'b:write'] });
    expect(await read({ groups: 'count', permissions: 'missing' })).toMatchObject({ groups: [], permissions: [] });
    expect(await read({ groups: 'groups' })).toMatchObject({ groups: ['ops', 'dev'], permissions: [] });
  });

  it('does read no permissions when the policy names no permissions claim, whatever claims the token carries', async () => {
    // A claim literally named "undefined" is what a lookup by an unset claim name would find.
    const claims = { undefined: ['temporal-system:admin'], permissions: ['temporal-system:admin'] };
    expect((await jwtIdentity(await token(claims), trust, { groups: 'groups' })).identity.permissions).toEqual([]);
  });

  it('does verify at the injected clock, not the machine\'s', async () => {
    time.now = 1_000_000_000_000;
    const old = await token({ exp: 1_000_000_060 });
    expect((await jwtIdentity(old, trust, CLAIMS)).expiresAt).toBe(1_000_000_060_000);
    time.now = NOW * 1000;
    expect(await reason(() => jwtIdentity(old, trust, CLAIMS))).toBe('the token is expired');
  });

  it('does accept a token up to 5 s after its exp, and refuse it from then on', async () => {
    const expiring = await token({ exp: NOW - 4 });
    expect((await jwtIdentity(expiring, trust, CLAIMS)).expiresAt).toBe((NOW - 4) * 1000);
    expect(await reason(async () => jwtIdentity(await token({ exp: NOW - 5 }), trust, CLAIMS))).toBe('the token is expired');
  });

  it('does accept a token whose nbf is at most 5 s ahead, and refuse one further ahead', async () => {
    expect((await jwtIdentity(await token({ nbf: NOW + 5 }), trust, CLAIMS)).identity.subject).toBe('alice');
    expect(await reason(async () => jwtIdentity(await token({ nbf: NOW + 6 }), trust, CLAIMS)))
      .toBe('the token\'s nbf claim is not acceptable');
  });

  it.each([
    ['without exp', { exp: undefined }, 'the token\'s exp claim is not acceptable'],
    ['without sub', { sub: undefined }, 'the token\'s sub claim is not acceptable'],
    ['of another issuer', { iss: 'https://evil.example' }, 'the token\'s iss claim is not acceptable'],
    ['without an issuer', { iss: undefined }, 'the token\'s iss claim is not acceptable'],
    ['for another audience', { aud: 'billing' }, 'the token\'s aud claim is not acceptable'],
    ['without an audience', { aud: undefined }, 'the token\'s aud claim is not acceptable'],
  ])('fails on a token %s', async (_what, payload, expected) => {
    expect(await reason(async () => jwtIdentity(await token(payload), trust, CLAIMS))).toBe(expected);
  });

  it('fails on an HS256 token under a known key id', async () => {
    const hs = await token({}, { alg: 'HS256', kid: 'es' }, new TextEncoder().encode('0123456789abcdef0123456789abcdef'));
    expect(await reason(() => jwtIdentity(hs, trust, CLAIMS))).toBe('the token\'s algorithm is not accepted');
  });

  it('fails on an unsigned token (alg none)', async () => {
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: 'https://idp.example', aud: 'temporal', sub: 'alice', exp: NOW + 300 })}.`;
    expect(await reason(() => jwtIdentity(unsigned, trust, CLAIMS))).toBe('the token\'s algorithm is not accepted');
  });

  it('fails on an algorithm the trust leaves out', async () => {
    expect(await reason(async () => jwtIdentity(await token(), { ...trust, algorithms: ['RS256'] }, CLAIMS)))
      .toBe('the token\'s algorithm is not accepted');
    const rsOnly = await jwtIdentity(await token({}, { alg: 'RS256', kid: 'rs' }, rs), { ...trust, algorithms: ['RS256'] }, CLAIMS);
    expect(rsOnly.identity.subject).toBe('alice');
  });

  it('fails on a key id the provider does not have', async () => {
    expect(await reason(async () => jwtIdentity(await token({}, { alg: 'ES256', kid: 'gone' }), trust, CLAIMS)))
      .toBe('no key of the identity provider matches the token');
  });

  it('fails on a token signed by another key under a known key id', async () => {
    expect(await reason(async () => jwtIdentity(await token({}, { alg: 'ES256', kid: 'es' }, impostor), trust, CLAIMS)))
      .toBe('the token\'s signature does not verify');
  });

  it('fails on what is not a JWT', async () => {
    expect(await reason(() => jwtIdentity('not.a.jwt', trust, CLAIMS))).toBe('the token is not valid');
    expect(await reason(() => jwtIdentity('', trust, CLAIMS))).toBe('the token is not valid');
  });

  it('does pass on the key resolver\'s own refusal', async () => {
    const down: JwtTrust = { ...trust, keys: async () => {
      throw new Unauthenticated('the identity provider\'s keys cannot be fetched');
    } };
    expect(await reason(async () => jwtIdentity(await token(), down, CLAIMS))).toBe('the identity provider\'s keys cannot be fetched');
  });
});

describe('bearerToken', () => {
  it('does read the token of a bearer header, whatever the case of the scheme and the spaces around it', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer stk_x')).toBe('stk_x');
    expect(bearerToken('BEARER t')).toBe('t');
    expect(bearerToken('  Bearer \t  token  ')).toBe('token');
  });

  it('does answer undefined without a header', () => {
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a scheme without a token', 'Bearer'],
    ['a scheme and spaces only', 'Bearer   '],
    ['a token without a scheme', 'abc.def.ghi'],
    ['two tokens', 'Bearer a b'],
    ['a scheme glued to the token', 'Bearerabc'],
    ['a longer scheme', 'XBearer abc'],
    ['an empty header', ''],
    ['a repeated header (a list)', ['Bearer a', 'Bearer b']],
    ['null', null],
    ['a number', 42],
  ])('fails on %s', async (_what, header) => {
    expect(await reason(() => bearerToken(header))).toBe('the authorization header is not a bearer token');
  });
});
