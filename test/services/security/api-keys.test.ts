import * as format from '../../../lib/authorizer/api-keys';
import { ValidationError } from '../../../lib/core/errors';
import { ApiKeys } from '../../../services/security/api-keys';
import { reason } from './fixtures';

/** A key and its SHA-256 (worked out with sha256sum). */
const CI_KEY = `stk_ci-deploy_${'_'.repeat(42)}8`;
const CI_SHA256 = '1040e3dd437b0a371905ca2645ff3f6f412b9e6a8cbc0bd3e8538f0c5468fa1b';
const OLD_KEY = `stk_old-bot_${'A'.repeat(43)}`;
const LAPSED_KEY = `stk_lapsed_${'B'.repeat(43)}`;
const MARCH_2030 = Date.parse('2030-03-01T00:00:00Z');

const keys = new ApiKeys({ keys: [
  { id: 'ci-deploy', owner: 'team-ci', sha256: CI_SHA256, expires: '2030-03-01T00:00:00Z' },
  { id: 'old-bot', owner: 'ops', sha256: format.apiKeyHash(OLD_KEY), expires: '2030-03-01T00:00:00Z', disabled: true },
  { id: 'lapsed', owner: 'ops', sha256: format.apiKeyHash(LAPSED_KEY), expires: '2020-01-01T00:00:00Z', disabled: true },
  { id: 'enabled', owner: 'ops', sha256: format.apiKeyHash(`stk_enabled_${'C'.repeat(43)}`), expires: '2030-03-01T00:00:00Z',
    disabled: false },
] });
const at = (ms: number) => () => ms;
const JAN_2030 = at(Date.parse('2030-01-01T00:00:00Z'));

const snapshot = (text: string) => ({ digest: 'd', files: [{ name: 'api-keys.json', content: Buffer.from(text) }] });

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ApiKeys', () => {
  it('does verify a key against its record, answering its identity and expiry', () => {
    expect(keys.verify(CI_KEY, JAN_2030)).toStrictEqual({ identity: { kind: 'apiKey', id: 'ci-deploy', owner: 'team-ci' },
      expiresAt: 1898553600000 });
    expect(keys.verify(`stk_enabled_${'C'.repeat(43)}`, JAN_2030).identity.id).toBe('enabled');
  });

  it('does accept a key until the millisecond before it expires', async () => {
    expect(keys.verify(CI_KEY, at(MARCH_2030 - 1)).expiresAt).toBe(MARCH_2030);
    expect(await reason(() => keys.verify(CI_KEY, at(MARCH_2030)))).toBe('the API key ci-deploy expired at 2030-03-01T00:00:00Z');
    expect(await reason(() => keys.verify(CI_KEY, at(MARCH_2030 + 1)))).toBe('the API key ci-deploy expired at 2030-03-01T00:00:00Z');
  });

  it.each([
    ['a wrong secret for a known id', `stk_ci-deploy_${'_'.repeat(42)}9`],
    ['an unknown id', `stk_nobody_${'_'.repeat(42)}8`],
    ['a known key under another id', `stk_old-bot_${'_'.repeat(42)}8`],
    ['a key cut short', CI_KEY.slice(0, -1)],
    ['a key with a character added', `${CI_KEY}8`],
    ['a JWT', 'eyJhbGciOiJFUzI1NiJ9.e30.sig'],
    ['nothing', ''],
  ])('fails on %s with the one answer that tells nothing', async (_what, key) => {
    expect(await reason(() => keys.verify(key, JAN_2030))).toBe('the API key is not valid');
  });

  it('does the same comparison for an unknown id as for a known one', async () => {
    const matches = jest.spyOn(format, 'apiKeyMatches');
    await reason(() => keys.verify(`stk_nobody_${'_'.repeat(42)}8`, JAN_2030));
    await reason(() => keys.verify('not a key', JAN_2030));
    expect(matches.mock.calls).toEqual([
      [`stk_nobody_${'_'.repeat(42)}8`, { sha256: '0'.repeat(64) }],
      ['not a key', { sha256: '0'.repeat(64) }],
    ]);
    matches.mockClear();
    await reason(() => keys.verify(`stk_ci-deploy_${'_'.repeat(42)}9`, JAN_2030));
    expect(matches.mock.calls).toEqual([[`stk_ci-deploy_${'_'.repeat(42)}9`, expect.objectContaining({ sha256: CI_SHA256 })]]);
  });

  it('does tell that a key is disabled only to its holder', async () => {
    expect(await reason(() => keys.verify(OLD_KEY, JAN_2030))).toBe('the API key old-bot is disabled');
    expect(await reason(() => keys.verify(`stk_old-bot_${'A'.repeat(42)}B`, JAN_2030))).toBe('the API key is not valid');
  });

  it('does tell that a key expired only to its holder, and a disabled key\'s holder that it is disabled first', async () => {
    expect(await reason(() => keys.verify(`stk_ci-deploy_${'_'.repeat(42)}9`, at(MARCH_2030)))).toBe('the API key is not valid');
    expect(await reason(() => keys.verify(LAPSED_KEY, JAN_2030))).toBe('the API key lapsed is disabled');
  });

  it('does refuse a key whose record expires more than 730 days ahead, to the day', async () => {
    // 2030-03-01 is 730 days after 2028-03-01 (2028 is a leap year): exactly 730 days is fine, a millisecond more is not.
    expect(keys.verify(CI_KEY, at(Date.parse('2028-03-01T00:00:00Z'))).identity.id).toBe('ci-deploy');
    expect(await reason(() => keys.verify(CI_KEY, at(Date.parse('2028-03-01T00:00:00Z') - 1))))
      .toBe('the API key ci-deploy expires more than 730 days ahead: make a shorter-lived key');
  });

  it('does list its records', () => {
    expect(keys.records.map((r) => r.id)).toEqual(['ci-deploy', 'old-bot', 'lapsed', 'enabled']);
  });

  it('does parse the key file of a snapshot', () => {
    const parsed = ApiKeys.parse(snapshot(JSON.stringify({ keys: [{ id: 'ci-deploy', owner: 'team-ci', sha256: CI_SHA256,
      expires: '2030-03-01T00:00:00Z' }] })));
    expect(parsed.records).toEqual([{ id: 'ci-deploy', owner: 'team-ci', sha256: CI_SHA256, expires: '2030-03-01T00:00:00Z' }]);
    expect(parsed.verify(CI_KEY, JAN_2030).identity.owner).toBe('team-ci');
  });

  it('fails when the key file is not JSON, naming the file', () => {
    expect(() => ApiKeys.parse(snapshot('{ keys: '))).toThrow(new Error('api-keys.json is not JSON'));
  });

  it('fails when the key file is not valid, naming the field', () => {
    const parse = () => ApiKeys.parse(snapshot(JSON.stringify({ keys: [{ id: 'ci-deploy', owner: 'team-ci', sha256: CI_KEY,
      expires: '2030-03-01T00:00:00Z' }] })));
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow(/^api-keys\.json\/keys\[0\]\/sha256: /);
  });
});
