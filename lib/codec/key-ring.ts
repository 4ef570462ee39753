/**
 * The key ring of the payload codec: AES-256 keys by id, one of them active (it encrypts), all of them used to
 * decrypt. Read from a folder (a mounted Kubernetes Secret): `<id>.key` files hold a key in base64 (32 bytes), the
 * `active` file holds the id of the key that encrypts. One ring per Temporal namespace (`NamespaceKeyRings`): a folder
 * of such folders, named after the namespaces. Pure apart from reading those folders.
 */
import { createHash, createSecretKey, Hash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CodecError } from './errors';
import { requireNamespace } from './namespace';
import { storeKeys } from './secret-keys';

/** Key ids travel in payload metadata (`encryption-key-id`) and name Secret keys: letters, digits, `.`, `_`, `-`. */
export const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** File of the active key's id. */
export const ACTIVE_FILE = 'active';
/** Suffix of key files. */
export const KEY_SUFFIX = '.key';
export const KEY_BYTES = 32;

export class KeyRing {
  /** Reads a key ring folder; CodecError `INVALID_KEY_RING` naming the file and the fix. */
  public static fromDirectory(dir: string): KeyRing {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      throw new CodecError('INVALID_KEY_RING', `the key ring folder ${dir} cannot be read: mount the key Secret there`);
    }
    // A mounted Secret also holds the kubelet's `..data` link and timestamped folder: only plain names count.
    const keys: Record<string, Uint8Array> = {};
    for (const name of names.filter((n) => n.endsWith(KEY_SUFFIX) && !n.startsWith('..'))) {
      const id = name.slice(0, -KEY_SUFFIX.length);
      keys[id] = decodeKey(readFileSync(join(dir, name), 'utf8'), `${dir}/${name}`);
    }
    let active: string;
    try {
      active = readFileSync(join(dir, ACTIVE_FILE), 'utf8').trim();
    } catch {
      throw new CodecError('INVALID_KEY_RING', `${dir}/${ACTIVE_FILE} is missing: add a key "active" to the Secret with the id of the key ` +
        'that encrypts (e.g. "2026-11" for the file 2026-11.key)');
    }
    try {
      return new KeyRing(keys, active, dir);
    } finally {
      // The decoded bytes may sit in Node's shared Buffer pool: wipe them once the ring holds its own copies.
      Object.values(keys).forEach((key) => key.fill(0));
    }
  }

  private readonly keyIds: readonly string[];

  /** @param keys raw 32-byte keys by id (copied; the caller may wipe its own); @param activeId the id of the key that encrypts */
  constructor(keys: Readonly<Record<string, Uint8Array>>, public readonly activeId: string, where = 'the key ring') {
    const entries = Object.entries(keys);
    if (entries.length === 0) {
      throw new CodecError('INVALID_KEY_RING', `${where} holds no key: add one, e.g. kubectl create secret generic ... ` +
        '--from-literal=2026-11.key="$(openssl rand -base64 32)" --from-literal=active=2026-11');
    }
    for (const [id, key] of entries) {
      if (!KEY_ID.test(id)) {
        throw new CodecError('INVALID_KEY_RING', `key id "${id}" of ${where} is not valid: use letters, digits, ".", "_" and "-" ` +
          '(at most 63, starting with a letter or digit)');
      }
      if (key.length !== KEY_BYTES) {
        throw new CodecError('INVALID_KEY_RING', `key "${id}" of ${where} is ${key.length} bytes; AES-256 needs ${KEY_BYTES}: ` +
          'make one with `openssl rand -base64 32`');
      }
    }
    if (!Object.hasOwn(keys, activeId)) {
      throw new CodecError('INVALID_KEY_RING', `the active key "${activeId}" is not in ${where} (it holds ${entries.map(([id]) => id).join(', ')}): ` +
        'add its key file, or name one of those as active');
    }
    // Secret-key objects: the bytes live outside the JavaScript heap and the Buffer pool, and never leave as bytes.
    storeKeys(this, new Map(entries.map(([id, key]) => [id, createSecretKey(key)])));
    this.keyIds = entries.map(([id]) => id).sort();
  }

  /** The ids of every key (all decrypt). */
  public get ids(): string[] {
    return [...this.keyIds];
  }

  /** True when the ring holds key `id`. */
  public has(id: string): boolean {
    return this.keyIds.includes(id);
  }
}

/**
 * One key ring per Temporal namespace, read from a folder of key ring folders: `<dir>/<namespace>/` holds what
 * `KeyRing.fromDirectory` reads (`<id>.key` files and `active`), one mounted Secret per namespace. The codec server
 * picks the ring of the namespace a request names; a namespace without a folder has no ring.
 */
export class NamespaceKeyRings {
  /**
   * Reads every `<dir>/<namespace>/` folder (entries starting with `..`, the kubelet's own, are skipped). All or
   * nothing: a folder that is not a Temporal namespace name, a file where a folder belongs, a ring that does not read,
   * or no folder at all fails the whole load with CodecError `INVALID_KEY_RING` naming the folder and the fix.
   */
  public static fromDirectory(dir: string): NamespaceKeyRings {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => !n.startsWith('..')).sort();
    } catch {
      throw new CodecError('INVALID_KEY_RING', `the key rings folder ${dir} cannot be read: mount each namespace's key Secret at ` +
        `${dir}/<namespace>`);
    }
    const rings = new Map<string, KeyRing>();
    for (const name of names) {
      const sub = join(dir, name);
      let folder: boolean;
      try {
        folder = statSync(sub).isDirectory();
      } catch {
        folder = false;
      }
      if (!folder) {
        throw new CodecError('INVALID_KEY_RING', `${sub} is not a folder: ${dir} holds one key ring folder per Temporal namespace ` +
          `(${dir}/<namespace>/<id>.key and active), not the keys themselves; mount each namespace's key Secret at ${dir}/<namespace>`);
      }
      try {
        requireNamespace(name, 'the folder name');
      } catch {
        throw new CodecError('INVALID_KEY_RING', `${sub} is not named after a Temporal namespace: name each key ring folder after the ` +
          'namespace whose payloads it decrypts (letters, digits, ".", "_" and "-", starting with a letter or digit)');
      }
      try {
        rings.set(name, KeyRing.fromDirectory(sub));
      } catch (e) {
        throw new CodecError('INVALID_KEY_RING', `the key ring of namespace "${name}" (${sub}) does not read: ${(e as Error).message}`);
      }
    }
    if (rings.size === 0) {
      throw new CodecError('INVALID_KEY_RING', `${dir} holds no key ring folder: mount each namespace's key Secret at ${dir}/<namespace>`);
    }
    return new NamespaceKeyRings(rings);
  }

  /** The namespaces that have a ring, sorted. */
  public readonly namespaces: readonly string[];
  private readonly rings: ReadonlyMap<string, KeyRing>;

  /** @param rings the ring of each namespace (names checked: CodecError `INVALID_NAMESPACE`) */
  constructor(rings: ReadonlyMap<string, KeyRing> | Readonly<Record<string, KeyRing>>) {
    const entries = rings instanceof Map ? [...rings.entries()] : Object.entries(rings);
    for (const [namespace] of entries) {
      requireNamespace(namespace, 'the key ring\'s namespace');
    }
    this.rings = new Map(entries);
    this.namespaces = Object.freeze(entries.map(([namespace]) => namespace).sort());
  }

  /** The key ring of `namespace`, or undefined when it has none. */
  public ring(namespace: string): KeyRing | undefined {
    return this.rings.get(namespace);
  }
}

/**
 * A digest (SHA-256, hex) of what a key folder tree holds: the relative path and kind of every entry, and the contents
 * of every file, with entries starting with `..` (the kubelet's timestamped folders and links) left out and symbolic
 * links followed, so the same keys give the same digest whenever and however they were written. Modification times do
 * not count. Compare two digests to tell whether a reload is needed; a digest reveals nothing of the keys (a one-way
 * hash of random 256-bit keys). An empty string when the tree cannot be read (a Secret being swapped): the next look
 * tells.
 */
export function keyFolderDigest(dir: string): string {
  const hash = createHash('sha256');
  try {
    digestFolder(hash, dir, '');
  } catch {
    return '';
  }
  return hash.digest('hex');
}

function digestFolder(hash: Hash, dir: string, at: string): void {
  for (const name of readdirSync(dir).filter((n) => !n.startsWith('..')).sort()) {
    const path = join(dir, name);
    const relative = join(at, name);
    if (statSync(path).isDirectory()) {
      hash.update(`d\0${relative}\0`);
      digestFolder(hash, path, relative);
    } else {
      const content = readFileSync(path);
      hash.update(`f\0${relative}\0${content.length}\0`);
      hash.update(content);
      content.fill(0);
    }
  }
}

function decodeKey(text: string, file: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new CodecError('INVALID_KEY_RING', `${file} is not base64: write the key as \`openssl rand -base64 32\` prints it`);
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    key.fill(0);
    throw new CodecError('INVALID_KEY_RING', `${file} holds ${key.length} bytes; AES-256 needs ${KEY_BYTES}: make one with \`openssl rand -base64 32\``);
  }
  return key;
}

export interface WatchOptions {
  /** @default 10000 */
  readonly intervalMs?: number;
  readonly onError?: (e: Error) => void;
  readonly onReload?: (ring: KeyRing) => void;
}

/**
 * A key ring that follows its folder: looked at at most every `intervalMs`, re-read when what the folder holds
 * changed (`keyFolderDigest`: contents, not modification times; the kubelet updates a mounted Secret in place). A
 * change that does not read keeps the previous ring and is reported to `onError`, so a bad update never takes the
 * codec down.
 */
export function watchedKeyRing(dir: string, options: WatchOptions = {}): () => KeyRing {
  const interval = options.intervalMs ?? 10_000;
  let ring = KeyRing.fromDirectory(dir);
  let digest = keyFolderDigest(dir);
  let checked = Date.now();
  return () => {
    const now = Date.now();
    if (now - checked >= interval) {
      checked = now;
      const current = keyFolderDigest(dir);
      if (current !== digest) {
        digest = current;
        try {
          ring = KeyRing.fromDirectory(dir);
          options.onReload?.(ring);
        } catch (e) {
          options.onError?.(e as Error);
        }
      }
    }
    return ring;
  };
}
