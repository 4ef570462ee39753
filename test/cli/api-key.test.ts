import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExpiry, runApiKey } from '../../cli/api-key';
import { run } from '../../cli/main';

const NOW = Date.parse('2026-12-07T12:00:00Z');

function cli(args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runApiKey(args, (l) => out.push(l), (l) => err.push(l), NOW);
  return { code, out, err };
}

describe('secure-temporal api-key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
  const file = join(dir, 'api-keys.json');

  it('does print a new key once and add only its hash, owner and expiry to the file', () => {
    const made = cli(['create', '--id', 'ci-deploy-1', '--owner', 'ci-deploy', '--expires', '90d', '--file', file]);
    expect(made.code).toBe(0);
    expect(made.out).toHaveLength(1);
    const key = made.out[0];
    expect(key).toMatch(/^stk_ci-deploy-1_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(stored).toEqual({ keys: [{ id: 'ci-deploy-1', owner: 'ci-deploy', expires: '2027-03-07T12:00:00.000Z',
      sha256: createHash('sha256').update(key).digest('hex') }] });
    expect(readFileSync(file, 'utf8')).not.toContain(key.slice(16));
    expect(made.err.join('\n')).toMatch(/added key ci-deploy-1 \(owner ci-deploy, expires 2027-03-07T12:00:00.000Z\)/);
  });

  it('does keep the records sorted, refuse a second key of one id, and list the days left', () => {
    expect(cli(['create', '--id', 'audit-1', '--owner', 'auditor', '--expires', '2027-01-06', '--file', file]).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys.map((k: { id: string }) => k.id)).toEqual(['audit-1', 'ci-deploy-1']);
    const again = cli(['create', '--id', 'audit-1', '--owner', 'auditor', '--expires', '30d', '--file', file]);
    expect(again.code).toBe(1);
    expect(again.err[0]).toMatch(/already holds a key with id audit-1/);
    expect(cli(['list', '--file', file]).out).toEqual([
      'audit-1\towner=auditor\texpires=2027-01-06T00:00:00.000Z\t29d left',
      'ci-deploy-1\towner=ci-deploy\texpires=2027-03-07T12:00:00.000Z\t90d left',
    ]);
  });

  it('does disable and remove a key by id, and say so when there is none', () => {
    expect(cli(['disable', '--id', 'audit-1', '--file', file]).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys[0]).toMatchObject({ id: 'audit-1', disabled: true });
    expect(cli(['list', '--file', file]).out[0]).toMatch(/\tdisabled$/);
    expect(cli(['remove', '--id', 'audit-1', '--file', file]).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys.map((k: { id: string }) => k.id)).toEqual(['ci-deploy-1']);
    const none = cli(['remove', '--id', 'audit-1', '--file', file]);
    expect(none.code).toBe(1);
    expect(none.err[0]).toBe(`${file} holds no key with id audit-1 (it holds ci-deploy-1)`);
  });

  it('does print the record instead of writing a file when no --file is given', () => {
    const made = cli(['create', '--id', 'one-off', '--owner', 'ops', '--expires', '1d']);
    expect(made.code).toBe(0);
    const record = JSON.parse(made.err[0].split('\n')[1]);
    expect(record).toEqual({ id: 'one-off', owner: 'ops', expires: '2026-12-08T12:00:00.000Z',
      sha256: createHash('sha256').update(made.out[0]).digest('hex') });
    expect(existsSync(join(process.cwd(), 'api-keys.json'))).toBe(false);
  });

  it.each([
    [['create', '--owner', 'o', '--expires', '1d'], 2, /needs --id/],
    [['create', '--id', 'Bad_Id', '--owner', 'o', '--expires', '1d'], 1, /api-key\/id: an API key id is 1-63 lowercase letters/],
    [['create', '--id', 'k', '--owner', 'has space', '--expires', '1d'], 1, /api-key\/owner: an owner is/],
    [['create', '--id', 'k', '--owner', 'o', '--expires', 'soon'], 1, /--expires must be a number of days or a date \(got "soon"\)/],
    [['create', '--id', 'k', '--owner', 'o', '--expires', '2026-12-01'], 1, /--expires is not in the future/],
    [['create', '--id', 'k', '--owner', 'o', '--expires', '731d'], 1, /a key may live at most 730 days/],
    [['rotate'], 2, /unknown api-key command "rotate"/],
    [['create', '--bogus'], 2, /Unknown option '--bogus'/],
  ])('fails on %j with exit %d and the reason', (args, code, message) => {
    const result = cli(args as string[]);
    expect(result.code).toBe(code);
    expect(result.err.join('\n')).toMatch(message);
    expect(result.out).toEqual([]);
  });

  it('does refuse to read a file that is not a valid key file, naming the field', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ keys: [{ id: 'k', owner: 'o', sha256: 'abc', expires: '2027-01-01T00:00:00Z' }] }));
    const result = cli(['list', '--file', bad]);
    expect(result.code).toBe(1);
    expect(result.err[0]).toMatch(new RegExp(`${bad}/keys\\[0\\]/sha256: sha256 must be 64 lowercase hex digits`));
  });

  it('does answer as a command of secure-temporal', () => {
    const out: string[] = [];
    expect(run(['api-key', '--help'], (l) => out.push(l), () => undefined)).toBe(0);
    expect(out[0]).toMatch(/^Usage:\n {2}secure-temporal api-key create/);
  });
});

describe('parseExpiry', () => {
  it('does read days from now, a date (midnight UTC) and a time', () => {
    expect(parseExpiry('1d', NOW).toISOString()).toBe('2026-12-08T12:00:00.000Z');
    expect(parseExpiry('730d', NOW).toISOString()).toBe('2028-12-06T12:00:00.000Z');
    expect(parseExpiry('2027-02-01', NOW).toISOString()).toBe('2027-02-01T00:00:00.000Z');
    expect(parseExpiry('2027-02-01T08:30:00Z', NOW).toISOString()).toBe('2027-02-01T08:30:00.000Z');
    expect(() => parseExpiry('0d', NOW)).toThrow(/not in the future/);
  });
});
