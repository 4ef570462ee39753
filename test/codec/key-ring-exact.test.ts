/**
 * Key ring folders and their failures, each pinned to its code and exact message; the folder digest the codec server
 * reloads on; a watched ring at the edges of its interval; the namespace validator's message; the codec server's
 * in-flight budget.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodecError, KeyRing, NamespaceKeyRings, requireNamespace, keyFolderDigest, watchedKeyRing } from '../../lib/codec';
import { secretKey } from '../../lib/codec/secret-keys';
import { codecInFlightBudget } from '../../lib/codec/server-env';
import { codecFailure } from './failure';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'key-ring-exact-'));
});
afterEach(() => {
  jest.useRealTimers();
  rmSync(root, { recursive: true, force: true });
});

const key = () => randomBytes(32).toString('base64');
function folder(files: Record<string, string>, name = 'ring'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

describe('KeyRing.fromDirectory', () => {
  test('each broken folder with its message', () => {
    const missing = join(root, 'nowhere');
    expect(codecFailure(() => KeyRing.fromDirectory(missing)))
      .toBe(`INVALID_KEY_RING: the key ring folder ${missing} cannot be read: mount the key Secret there`);
    const noActive = folder({ 'a.key': key() }, 'no-active');
    expect(codecFailure(() => KeyRing.fromDirectory(noActive))).toBe(`INVALID_KEY_RING: ${noActive}/active is missing: add a key "active" to ` +
      'the Secret with the id of the key that encrypts (e.g. "2026-11" for the file 2026-11.key)');
    const empty = folder({ active: 'a', 'a.key.bak': key(), '..a.key': key() }, 'empty');
    expect(codecFailure(() => KeyRing.fromDirectory(empty))).toBe(`INVALID_KEY_RING: ${empty} holds no key: add one, e.g. kubectl create secret ` +
      'generic ... --from-literal=2026-11.key="$(openssl rand -base64 32)" --from-literal=active=2026-11');
    const badId = folder({ active: 'a', 'a.key': key(), '-b.key': key() }, 'bad-id');
    expect(codecFailure(() => KeyRing.fromDirectory(badId))).toBe(`INVALID_KEY_RING: key id "-b" of ${badId} is not valid: use letters, digits, ` +
      '".", "_" and "-" (at most 63, starting with a letter or digit)');
    const notActive = folder({ active: 'c', 'b.key': key(), 'a.key': key() }, 'not-active');
    expect(codecFailure(() => KeyRing.fromDirectory(notActive)))
      .toBe(`INVALID_KEY_RING: the active key "c" is not in ${notActive} (it holds a, b): add its key file, or name one of those as active`);
    const notBase64 = folder({ active: 'a', 'a.key': `*${key()}` }, 'not-base64');
    expect(codecFailure(() => KeyRing.fromDirectory(notBase64)))
      .toBe(`INVALID_KEY_RING: ${notBase64}/a.key is not base64: write the key as \`openssl rand -base64 32\` prints it`);
    const short = folder({ active: 'a', 'a.key': randomBytes(16).toString('base64') }, 'short');
    expect(codecFailure(() => KeyRing.fromDirectory(short)))
      .toBe(`INVALID_KEY_RING: ${short}/a.key holds 16 bytes; AES-256 needs 32: make one with \`openssl rand -base64 32\``);
  });

  test('a good folder: keys by id (sorted), the active one, files of the kubelet and others ignored, whitespace trimmed', () => {
    const ring = KeyRing.fromDirectory(folder({ active: ' b\n', 'b.key': `${key()}\n`, 'a.key': key(), '..2026_x.key': 'junk', 'notes.txt': 'x' }));
    expect(ring.ids).toEqual(['a', 'b']);
    expect(ring.activeId).toBe('b');
    expect(ring.has('a')).toBe(true);
    expect(ring.has('notes')).toBe(false);
  });
});

describe('KeyRing', () => {
  test('a key that is not 32 bytes, named with where it came from', () => {
    expect(codecFailure(() => new KeyRing({ a: new Uint8Array(16) }, 'a')))
      .toBe('INVALID_KEY_RING: key "a" of the key ring is 16 bytes; AES-256 needs 32: make one with `openssl rand -base64 32`');
    expect(codecFailure(() => new KeyRing({}, 'a', 'the ring of orders'))).toMatch(/^INVALID_KEY_RING: the ring of orders holds no key/);
    expect(new KeyRing({ z: randomBytes(32), y: randomBytes(32) }, 'z').ids).toEqual(['y', 'z']);
  });

  test('an object that is no key ring has no keys', () => {
    expect(secretKey({}, 'a')).toBeUndefined();
  });
});

describe('NamespaceKeyRings', () => {
  test('namespaces sorted, and a namespace name that is not one refused with the field', () => {
    const ring = new KeyRing({ a: randomBytes(32) }, 'a');
    expect(new NamespaceKeyRings({ orders: ring, billing: ring, audit: ring }).namespaces).toEqual(['audit', 'billing', 'orders']);
    expect(codecFailure(() => new NamespaceKeyRings({ 'bad name': ring })))
      .toMatch(/^INVALID_NAMESPACE: the key ring's namespace "bad name" is not a Temporal namespace name/);
  });

  test('a link that leads nowhere where a folder belongs is not a folder', () => {
    const dir = join(root, 'dangling');
    mkdirSync(dir);
    symlinkSync(join(root, 'nowhere-at-all'), join(dir, 'orders'));
    expect(codecFailure(() => NamespaceKeyRings.fromDirectory(dir))).toBe(`INVALID_KEY_RING: ${dir}/orders is not a folder: ${dir} holds one key ` +
      `ring folder per Temporal namespace (${dir}/<namespace>/<id>.key and active), not the keys themselves; mount each namespace's key ` +
      `Secret at ${dir}/<namespace>`);
  });
});

describe('keyFolderDigest', () => {
  test('changes with any content, name, size or folder, and ignores the kubelet\'s own entries', () => {
    const dir = join(root, 'keys');
    folder({ active: 'a', 'a.key': 'AAAA' }, 'keys/orders');
    const base = keyFolderDigest(dir);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(keyFolderDigest(dir)).toBe(base);
    writeFileSync(join(dir, 'orders', 'a.key'), 'BBBB');
    const content = keyFolderDigest(dir);
    expect(content).not.toBe(base);
    rmSync(join(dir, 'orders', 'a.key'));
    writeFileSync(join(dir, 'orders', 'b.key'), 'BBBB');
    const renamed = keyFolderDigest(dir);
    expect(renamed).not.toBe(content);
    mkdirSync(join(dir, 'billing'));
    const emptyFolder = keyFolderDigest(dir);
    expect(emptyFolder).not.toBe(renamed);
    rmSync(join(dir, 'orders', 'b.key'));
    writeFileSync(join(dir, 'billing', 'b.key'), 'BBBB');
    expect(keyFolderDigest(dir)).not.toBe(emptyFolder);
    const moved = keyFolderDigest(dir);
    mkdirSync(join(dir, '..2026_12_07'));
    writeFileSync(join(dir, '..data'), 'x');
    expect(keyFolderDigest(dir)).toBe(moved);
    expect(keyFolderDigest(join(root, 'nowhere'))).toBe('');
  });

  test('tells a renamed file, and contents split differently between the same names', () => {
    const dir = folder({ 'a.key': 'AAAA' }, 'renamed');
    const before = keyFolderDigest(dir);
    renameSync(join(dir, 'a.key'), join(dir, 'b.key'));
    expect(keyFolderDigest(dir)).not.toBe(before);
    const split = folder({ x: 'ab', y: 'c' }, 'split');
    const first = keyFolderDigest(split);
    writeFileSync(join(split, 'x'), 'a');
    writeFileSync(join(split, 'y'), 'bc');
    expect(keyFolderDigest(split)).not.toBe(first);
  });

  test('tells a file at the top from the same file in a folder', () => {
    const flat = join(root, 'flat');
    folder({ 'a.key': 'AAAA' }, 'flat');
    mkdirSync(join(flat, 'x'));
    const nested = join(root, 'nested');
    folder({ 'a.key': 'AAAA' }, 'nested/x');
    expect(keyFolderDigest(flat)).not.toBe(keyFolderDigest(nested));
  });
});

describe('watchedKeyRing', () => {
  test('reads the folder again 10 s after the last check by default, only when it changed', () => {
    jest.useFakeTimers({ now: 1_900_000_000_000 });
    const dir = folder({ active: 'a', 'a.key': key() });
    const reloads: string[] = [];
    const ring = watchedKeyRing(dir, { onReload: (r) => reloads.push(r.activeId) });
    jest.setSystemTime(1_900_000_009_999);
    writeFileSync(join(dir, 'b.key'), key());
    writeFileSync(join(dir, 'active'), 'b');
    expect(ring().activeId).toBe('a');
    jest.setSystemTime(1_900_000_010_000);
    expect(ring().activeId).toBe('b');
    expect(reloads).toEqual(['b']);
    jest.setSystemTime(1_900_000_030_000);
    expect(ring().activeId).toBe('b');
    expect(reloads).toEqual(['b']);
  });

  test('keeps the last ring when the folder breaks, with or without onError', () => {
    jest.useFakeTimers({ now: 1_900_000_000_000 });
    const dir = folder({ active: 'a', 'a.key': key() });
    const errors: string[] = [];
    const reported = watchedKeyRing(dir, { intervalMs: 1, onError: (e) => errors.push(e.message) });
    const silent = watchedKeyRing(dir, { intervalMs: 1 });
    writeFileSync(join(dir, 'active'), 'zz');
    jest.setSystemTime(1_900_000_000_005);
    expect(reported().activeId).toBe('a');
    expect(silent().activeId).toBe('a');
    expect(errors).toEqual([expect.stringMatching(/the active key "zz" is not in/)]);
  });
});

describe('requireNamespace', () => {
  test('names the field and shows the value (64 characters at most) or its type', () => {
    const tail = 'use 1-255 letters, digits, ".", "_" or "-", starting with a letter or digit (and not "temporal-system"), e.g. "orders"';
    expect(codecFailure(() => requireNamespace('bad name', 'the header'))).toBe(`INVALID_NAMESPACE: the header "bad name" is not a Temporal namespace name: ${tail}`);
    expect(codecFailure(() => requireNamespace(`-${'x'.repeat(100)}`, 'it'))).toBe(`INVALID_NAMESPACE: it "-${'x'.repeat(63)}" is not a Temporal ` +
      `namespace name: ${tail}`);
    expect(codecFailure(() => requireNamespace(5, 'the option'))).toBe(`INVALID_NAMESPACE: the option number is not a Temporal namespace name: ${tail}`);
    expect(requireNamespace('orders', 'x')).toBe('orders');
  });

  test('a CodecError says so in its name', () => {
    expect(String(new CodecError('MALFORMED', 'x'))).toBe('CodecError: x');
  });
});

describe('codecInFlightBudget', () => {
  test('what the memory limit leaves over the baseline, divided by the cost per body byte, never less than one body', () => {
    const MiB = 1024 * 1024;
    expect(codecInFlightBudget(512 * MiB, 4 * MiB)).toBe(32 * MiB);
    expect(codecInFlightBudget(512 * MiB + 11, 4 * MiB)).toBe(32 * MiB);
    expect(codecInFlightBudget(512 * MiB + 12, 4 * MiB)).toBe(32 * MiB + 1);
    expect(codecInFlightBudget(136 * MiB, 4 * MiB)).toBe(4 * MiB);
  });
});
