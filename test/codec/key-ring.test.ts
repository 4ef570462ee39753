import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodecError, keyFolderDigest, KeyRing, NamespaceKeyRings, watchedKeyRing } from '../../lib/codec';

const key = () => randomBytes(32).toString('base64');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyring-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (files: Record<string, string>, at = dir) => {
  mkdirSync(at, { recursive: true });
  Object.entries(files).forEach(([name, value]) => writeFileSync(join(at, name), value));
};

/**
 * A Secret as the kubelet mounts it: the files in a timestamped folder, `..data` linking to it, and each key a link
 * through `..data`. Writing again swaps `..data` to a new folder, as an update does.
 */
let generation = 0;
function mountSecret(at: string, files: Record<string, string>): void {
  mkdirSync(at, { recursive: true });
  const folder = `..2026_11_29_10_00_${String(generation++).padStart(2, '0')}.000000001`;
  write(files, join(at, folder));
  symlinkSync(folder, join(at, '..data_tmp'));
  renameSync(join(at, '..data_tmp'), join(at, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(at, name));
    } catch {
      // already linked through ..data
    }
  }
}

function codeAndMessage(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    return [e instanceof CodecError ? e.code : 'not a CodecError', (e as Error).message];
  }
  return ['accepted', ''];
}

describe('KeyRing', () => {
  it('does read <id>.key files and the active id, and ignores the kubelet\'s own entries', () => {
    write({ '2026-10.key': `${key()}\n`, '2026-11.key': key(), active: '2026-11\n' });
    mkdirSync(join(dir, '..2026_11_29'));
    const keys = KeyRing.fromDirectory(dir);
    expect(keys.ids).toEqual(['2026-10', '2026-11']);
    expect(keys.activeId).toBe('2026-11');
  });

  it.each([
    [{ active: 'a' }, /holds no key: add one/],
    [{ 'a.key': key() }, /active is missing: add a key "active"/],
    [{ 'a.key': key(), active: 'b' }, /the active key "b" is not in .* \(it holds a\)/],
    [{ 'a.key': randomBytes(16).toString('base64'), active: 'a' }, /holds 16 bytes; AES-256 needs 32: make one with `openssl rand -base64 32`/],
    [{ 'a.key': 'not base64!', active: 'a' }, /is not base64/],
    [{ '-a.key': key(), active: '-a' }, /key id "-a" .* is not valid/],
  ])('fails with a clear error on bad key ring %#', (files, message) => {
    write(files as Record<string, string>);
    expect(() => KeyRing.fromDirectory(dir)).toThrow(message);
  });

  it('fails on a missing folder, saying to mount the Secret', () => {
    expect(() => KeyRing.fromDirectory(join(dir, 'absent'))).toThrow(/cannot be read: mount the key Secret there/);
  });

  it('does follow an update (watchedKeyRing), and keeps the last good ring when an update is broken', () => {
    write({ 'a.key': key(), active: 'a' });
    const errors: Error[] = [];
    const current = watchedKeyRing(dir, { intervalMs: 0, onError: (e) => errors.push(e) });
    expect(current().activeId).toBe('a');
    write({ 'b.key': key(), active: 'b' });
    expect(current().activeId).toBe('b');
    write({ active: 'zzz' });
    expect(current().activeId).toBe('b');
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/the active key "zzz" is not in/)]);
  });
});

describe('NamespaceKeyRings', () => {
  it('does read one ring per namespace folder (kubelet-mounted Secrets), sorted by namespace', () => {
    mountSecret(join(dir, 'orders'), { 'o-2026-11.key': key(), active: 'o-2026-11' });
    mountSecret(join(dir, 'billing.eu'), { 'shared.key': key(), 'b-2026-11.key': key(), active: 'b-2026-11' });
    const rings = NamespaceKeyRings.fromDirectory(dir);
    expect(rings.namespaces).toEqual(['billing.eu', 'orders']);
    expect(rings.ring('orders')?.ids).toEqual(['o-2026-11']);
    expect(rings.ring('billing.eu')?.ids).toEqual(['b-2026-11', 'shared']);
    expect(rings.ring('billing.eu')?.activeId).toBe('b-2026-11');
    expect(rings.ring('payments')).toBeUndefined();
    expect(rings.ring('constructor')).toBeUndefined();
    expect(rings.ring('__proto__')).toBeUndefined();
  });

  it('does skip the kubelet\'s `..` entries beside the namespace folders', () => {
    mountSecret(join(dir, 'orders'), { 'k.key': key(), active: 'k' });
    mkdirSync(join(dir, '..2026_11_29_10_00_00.1'));
    symlinkSync('..2026_11_29_10_00_00.1', join(dir, '..data'));
    expect(NamespaceKeyRings.fromDirectory(dir).namespaces).toEqual(['orders']);
  });

  it.each([
    ['a ring without its active key', () => {
      mountSecret(join(dir, 'orders'), { 'k.key': key(), active: 'k' });
      mountSecret(join(dir, 'billing'), { 'k.key': key() });
    }, /^the key ring of namespace "billing" \(.*\/billing\) does not read: .*\/billing\/active is missing: add a key "active"/],
    ['a key of the wrong size', () => {
      mountSecret(join(dir, 'orders'), { 'k.key': randomBytes(16).toString('base64'), active: 'k' });
    }, /^the key ring of namespace "orders" .* holds 16 bytes; AES-256 needs 32/],
    ['a folder not named after a namespace', () => {
      mountSecret(join(dir, 'orders'), { 'k.key': key(), active: 'k' });
      mountSecret(join(dir, '-bad name'), { 'k.key': key(), active: 'k' });
    }, /\/-bad name is not named after a Temporal namespace: name each key ring folder after the namespace/],
    ['the single shared ring mounted where the namespace folders belong', () => {
      mountSecret(dir, { 'k.key': key(), active: 'k' });
    }, /\/active is not a folder: .* holds one key ring folder per Temporal namespace .* key Secret at .*\/<namespace>/],
    ['no namespace folder', () => undefined, /holds no key ring folder: mount each namespace's key Secret at .*\/<namespace>/],
  ])('fails as a whole with INVALID_KEY_RING on %s, naming the folder and the fix', (_what, setup, message) => {
    setup();
    const [code, text] = codeAndMessage(() => NamespaceKeyRings.fromDirectory(dir));
    expect(code).toBe('INVALID_KEY_RING');
    expect(text).toMatch(message);
  });

  it('fails on a missing folder, saying where to mount the Secrets', () => {
    expect(codeAndMessage(() => NamespaceKeyRings.fromDirectory(join(dir, 'absent'))))
      .toEqual(['INVALID_KEY_RING', `the key rings folder ${join(dir, 'absent')} cannot be read: mount each namespace's key Secret at ` +
        `${join(dir, 'absent')}/<namespace>`]);
  });

  it('fails with INVALID_NAMESPACE for a ring given under a name Temporal would not accept', () => {
    const ring = new KeyRing({ k: randomBytes(32) }, 'k');
    expect(codeAndMessage(() => new NamespaceKeyRings({ 'temporal-system': ring }))[0]).toBe('INVALID_NAMESPACE');
    expect(new NamespaceKeyRings(new Map([['orders', ring]])).ring('orders')).toBe(ring);
  });
});

describe('keyFolderDigest', () => {
  const orders = { 'o1.key': key(), active: 'o1' };
  const billing = { 'b1.key': key(), active: 'b1' };

  beforeEach(() => {
    mountSecret(join(dir, 'orders'), orders);
    mountSecret(join(dir, 'billing'), billing);
  });

  it('does stay the same while nothing changes: times, and a kubelet update with the same content', () => {
    const before = keyFolderDigest(dir);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    utimesSync(join(dir, 'orders', '..data', 'o1.key'), new Date(2030, 0, 1), new Date(2030, 0, 1));
    mountSecret(join(dir, 'orders'), orders);
    expect(keyFolderDigest(dir)).toBe(before);
  });

  it.each([
    ['a key changes', () => mountSecret(join(dir, 'orders'), { ...orders, 'o1.key': key() })],
    ['a key is added', () => mountSecret(join(dir, 'billing'), { ...billing, 'b2.key': key() })],
    ['the active key changes', () => mountSecret(join(dir, 'billing'), { ...billing, 'b2.key': key(), active: 'b2' })],
    ['a namespace is added', () => mountSecret(join(dir, 'payments'), orders)],
    ['a namespace is removed', () => rmSync(join(dir, 'billing'), { recursive: true })],
    ['the same key moves to another namespace', () => {
      rmSync(join(dir, 'billing'), { recursive: true });
      mountSecret(join(dir, 'billings'), billing);
    }],
  ])('does change when %s', (_what, change) => {
    const before = keyFolderDigest(dir);
    change();
    expect(keyFolderDigest(dir)).not.toBe(before);
  });

  it('does never hold key bytes, and is empty for a folder that cannot be read', () => {
    const digest = keyFolderDigest(dir);
    expect(digest).not.toContain(orders['o1.key']);
    expect(digest).not.toContain(Buffer.from(orders['o1.key'], 'base64').toString('hex'));
    expect(keyFolderDigest(join(dir, 'absent'))).toBe('');
  });
});
