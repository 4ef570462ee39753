/**
 * The codec's failures and edges, each pinned to its code and exact message: format and namespace checks, key ids,
 * short data, compression and its limits, the associated data of format 2 byte for byte (a known-answer test built
 * by hand from docs/SECURITY.md "The format, byte for byte").
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  decryptPayload, encryptPayload, EncryptionCodec, formatAssociatedData, isEncrypted, KeyRing, Payload, serializePayload,
} from '../../lib/codec';
import { codecFailure } from './failure';

const K1 = randomBytes(32);
const keys = new KeyRing({ k1: K1, k2: randomBytes(32) }, 'k1');
const text = (s: string) => new Uint8Array(Buffer.from(s));
const plain: Payload = { metadata: { encoding: text('json/plain') }, data: text('"hello"') };


/** A payload encrypted by hand with K1: the metadata given, AES-256-GCM over `inner` with `aad` when given. */
function byHand(metadata: Record<string, string>, inner: Uint8Array, aad?: Buffer): Payload {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', K1, nonce);
  if (aad) {
    cipher.setAAD(aad);
  }
  const data = Buffer.concat([nonce, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return { metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, text(v)])), data: new Uint8Array(data) };
}

const V1 = { encoding: 'binary/encrypted', 'encryption-key-id': 'k1' };
const V2 = { ...V1, 'encryption-format': '2', 'encryption-namespace': 'orders' };

describe('format 2 byte for byte', () => {
  test('the associated data: label, version, namespace, key id and compression marker, separated by NUL', () => {
    expect(Buffer.from(formatAssociatedData('orders', 'k1', undefined)).toString('utf8')).toBe('secure-temporal/payload-encryption\u00002\u0000orders\u0000k1\u0000');
    expect(Buffer.from(formatAssociatedData('orders', 'k1', 'gzip')).toString('utf8')).toBe('secure-temporal/payload-encryption\u00002\u0000orders\u0000k1\u0000gzip');
  });

  test('a payload built by hand to the documented format decodes, with and without compression', () => {
    const aad = Buffer.from('secure-temporal/payload-encryption\u00002\u0000orders\u0000k1\u0000');
    const decoded = decryptPayload(byHand(V2, serializePayload(plain), aad), keys, { namespace: 'orders' });
    expect(Buffer.from(decoded.data ?? []).toString()).toBe('"hello"');
    const gzAad = Buffer.from('secure-temporal/payload-encryption\u00002\u0000orders\u0000k1\u0000gzip');
    const gz = byHand({ ...V2, 'encryption-compression': 'gzip' }, gzipSync(serializePayload(plain)), gzAad);
    expect(Buffer.from(decryptPayload(gz, keys, { namespace: 'orders' }).data ?? []).toString()).toBe('"hello"');
  });
});

describe('failures, each with its code and message', () => {
  test('format and namespace', () => {
    expect(codecFailure(() => decryptPayload(byHand({ ...V2, 'encryption-format': '3' }, serializePayload(plain)), keys, { namespace: 'orders' })))
      .toBe('MALFORMED: unknown encryption-format "3": this codec reads formats 1 and 2');
    expect(codecFailure(() => decryptPayload(byHand({ ...V2, 'encryption-format': 'x'.repeat(40) }, serializePayload(plain)), keys)))
      .toBe(`MALFORMED: unknown encryption-format "${'x'.repeat(32)}": this codec reads formats 1 and 2`);
    const noNamespace: Record<string, string> = { ...V2 };
    delete noNamespace['encryption-namespace'];
    expect(codecFailure(() => decryptPayload(byHand(noNamespace, serializePayload(plain)), keys, { namespace: 'orders' })))
      .toBe('MALFORMED: the payload is of format 2 and names no namespace (metadata encryption-namespace is missing)');
    const long = 'n'.repeat(300);
    expect(codecFailure(() => decryptPayload(byHand({ ...V2, 'encryption-namespace': long }, serializePayload(plain)), keys)))
      .toBe(`WRONG_NAMESPACE: the payload is bound to namespace "${'n'.repeat(255)}": decode it with the namespace option of the ` +
        'namespace it was read from (e.g. new EncryptionCodec(keys, { namespace: "orders" }))');
    const elsewhere = byHand({ ...V2, 'encryption-namespace': long }, serializePayload(plain));
    expect(codecFailure(() => decryptPayload(elsewhere, keys, { namespace: 'billing' })))
      .toBe(`WRONG_NAMESPACE: the payload is bound to namespace "${'n'.repeat(255)}", not "billing": decode it with its own namespace's ` +
        'key ring and namespace');
  });

  test('the namespace option', () => {
    expect(codecFailure(() => new EncryptionCodec(keys, { encodeFormat: 2 })))
      .toBe('INVALID_NAMESPACE: format 2 binds payloads to a namespace: give the namespace option, e.g. { namespace: "orders" }');
    expect(codecFailure(() => new EncryptionCodec(keys, { namespace: 'bad name' }))).toMatch(/^INVALID_NAMESPACE: the namespace option "bad name" is not a Temporal namespace name/);
    expect(codecFailure(() => decryptPayload(encryptPayload(plain, keys, { namespace: 'orders' }), keys, { namespace: 'bad name' })))
      .toMatch(/^INVALID_NAMESPACE: the namespace option "bad name" is not a Temporal namespace name/);
  });

  test('key ids and short data', () => {
    const noKey: Record<string, string> = { ...V1 };
    delete noKey['encryption-key-id'];
    expect(codecFailure(() => decryptPayload(byHand(noKey, serializePayload(plain)), keys)))
      .toBe('UNKNOWN_KEY: the payload names no key (metadata encryption-key-id is missing)');
    expect(codecFailure(() => decryptPayload(byHand({ ...V1, 'encryption-key-id': '' }, serializePayload(plain)), keys)))
      .toBe('UNKNOWN_KEY: the payload names no key (metadata encryption-key-id is missing)');
    expect(codecFailure(() => decryptPayload(byHand({ ...V1, 'encryption-key-id': 'z'.repeat(100) }, serializePayload(plain)), keys)))
      .toBe(`UNKNOWN_KEY: the payload's key "${'z'.repeat(64)}" is not in the key ring`);
    expect(codecFailure(() => decryptPayload({ ...byHand(V1, serializePayload(plain)), data: new Uint8Array(27) }, keys)))
      .toBe('MALFORMED: the encrypted data is 27 bytes, shorter than a nonce and a tag');
    expect(codecFailure(() => decryptPayload({ ...byHand(V1, serializePayload(plain)), data: undefined }, keys)))
      .toBe('MALFORMED: the encrypted data is 0 bytes, shorter than a nonce and a tag');
    const underK1 = byHand(V1, serializePayload(plain));
    expect(codecFailure(() => decryptPayload({ ...underK1, metadata: { ...underK1.metadata, 'encryption-key-id': text('k2') } }, keys))).toBe('DECRYPT_FAILED: the payload does not authenticate with key "k2": it was altered, or ' +
      'encrypted with another key');
  });

  test('an empty payload is 28 bytes of nonce and tag, and decodes', () => {
    const encrypted = encryptPayload({}, keys, { namespace: 'orders' });
    expect(encrypted.data).toHaveLength(28);
    expect(decryptPayload(encrypted, keys, { namespace: 'orders' })).toStrictEqual({ metadata: {}, data: new Uint8Array() });
  });

  test('compression: an unknown marker, a body that is no gzip, and the limits', () => {
    expect(codecFailure(() => decryptPayload(byHand({ ...V1, 'encryption-compression': 'x'.repeat(40) }, serializePayload(plain)), keys)))
      .toBe(`MALFORMED: unknown encryption-compression "${'x'.repeat(32)}"`);
    // Format 1 carries no associated data, so a marker added to it reaches the decompression.
    expect(codecFailure(() => decryptPayload(byHand({ ...V1, 'encryption-compression': 'gzip' }, serializePayload(plain)), keys)))
      .toBe('MALFORMED: the compressed payload does not decompress');
    const size = serializePayload(plain).length;
    const gz = byHand({ ...V1, 'encryption-compression': 'gzip' }, gzipSync(serializePayload(plain)));
    expect(Buffer.from(decryptPayload(gz, keys, { maxDecompressedBytes: size }).data ?? []).toString()).toBe('"hello"');
    expect(codecFailure(() => decryptPayload(gz, keys, { maxDecompressedBytes: size - 1 })))
      .toBe(`TOO_LARGE: the payload decompresses to more than ${size - 1} bytes`);
    // A limit past the largest buffer Node makes is that largest buffer (zlib would refuse the option itself).
    expect(Buffer.from(decryptPayload(gz, keys, { maxDecompressedBytes: 2 ** 40 }).data ?? []).toString()).toBe('"hello"');
    expect(Buffer.from(decryptPayload(gz, keys, { budget: { remaining: 2 ** 40 } }).data ?? []).toString()).toBe('"hello"');
  });

  test('compression: a request\'s budget, spent by what every payload decompresses to', () => {
    const size = serializePayload(plain).length;
    const gz = byHand({ ...V1, 'encryption-compression': 'gzip' }, gzipSync(serializePayload(plain)));
    const budget = { remaining: 2 * size + 1 };
    decryptPayload(gz, keys, { budget });
    expect(budget.remaining).toBe(size + 1);
    decryptPayload(gz, keys, { budget });
    expect(budget.remaining).toBe(1);
    expect(codecFailure(() => decryptPayload(gz, keys, { budget }))).toBe('TOO_LARGE: the payload decompresses to more than 1 bytes');
    expect(codecFailure(() => decryptPayload(gz, keys, { budget: { remaining: 0 } }))).toBe('TOO_LARGE: the request decompresses to more than its budget');
    // Uncompressed payloads are counted too, and are never refused by it.
    const flat = { remaining: 0 };
    decryptPayload(byHand(V1, serializePayload(plain)), keys, { budget: flat });
    expect(flat.remaining).toBe(-size);
  });

  test('compression from compressAtBytes on, at its edge', () => {
    const size = serializePayload(plain).length;
    const marker = (p: Payload) => (p.metadata?.['encryption-compression'] ? Buffer.from(p.metadata['encryption-compression']).toString() : undefined);
    expect(marker(encryptPayload(plain, keys, { compressAtBytes: size }))).toBe('gzip');
    expect(marker(encryptPayload(plain, keys, { compressAtBytes: size + 1 }))).toBeUndefined();
    expect(marker(encryptPayload(plain, keys))).toBeUndefined();
  });
});

describe('payloads that are not ours', () => {
  test('no metadata, or no encoding, is not encrypted and passes as it is', () => {
    for (const p of [{ data: text('x') }, { metadata: null, data: text('x') }, { metadata: {}, data: text('x') }] as Payload[]) {
      expect(isEncrypted(p)).toBe(false);
      expect(decryptPayload(p, keys)).toBe(p);
    }
  });
});

describe('EncryptionCodec', () => {
  test('takes a function giving the current key ring, read at every call', async () => {
    let current = keys;
    const codec = new EncryptionCodec(() => current, { namespace: 'orders' });
    const [first] = await codec.encode([plain]);
    expect(Buffer.from(first.metadata?.['encryption-key-id'] ?? []).toString()).toBe('k1');
    current = new KeyRing({ k1: K1, k3: randomBytes(32) }, 'k3');
    const [second] = await codec.encode([plain]);
    expect(Buffer.from(second.metadata?.['encryption-key-id'] ?? []).toString()).toBe('k3');
    const decoded = await codec.decode([first, second]);
    expect(decoded.map((p) => Buffer.from(p.data ?? []).toString())).toEqual(['"hello"', '"hello"']);
  });
});
