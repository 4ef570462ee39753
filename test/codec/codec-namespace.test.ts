import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { temporal } from '@temporalio/proto';
import fc from 'fast-check';
import { CodecError, decryptPayload, encryptPayload, EncryptionCodec, KeyRing, Payload } from '../../lib/codec';

// The format is written out here from its description (docs/SECURITY.md "Payload encryption"), independently of the
// library: payloads are serialized with @temporalio/proto, encrypted and decrypted with node:crypto.
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();
/** A plain payload, shaped for @temporalio/proto as much as for the library. */
type Plain = { metadata: Record<string, Uint8Array>; data: Uint8Array };
const json = (value: unknown): Plain => ({ metadata: { encoding: text('json/plain') }, data: text(JSON.stringify(value)) });
const NUL = Buffer.from([0]);

/** Format 2's associated data, byte for byte as documented. */
function documentedAad(namespace: string, keyId: string, compression: '' | 'gzip'): Buffer {
  return Buffer.concat([Buffer.from('secure-temporal/payload-encryption'), NUL, Buffer.from('2'), NUL, Buffer.from(namespace), NUL,
    Buffer.from(keyId), NUL, Buffer.from(compression)]);
}

function seal(key: Uint8Array, plain: Uint8Array, aad?: Buffer): Buffer {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  if (aad) {
    cipher.setAAD(aad);
  }
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Uint8Array, data: Uint8Array, aad?: Buffer): Buffer {
  const bytes = Buffer.from(data);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
  if (aad) {
    decipher.setAAD(aad);
  }
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
}

/** A payload in Temporal's samples' format (format 1): no format marker, no namespace, no associated data. */
function samplesPayload(key: Uint8Array, keyId: string, original: Plain): Payload {
  return {
    metadata: { encoding: text('binary/encrypted'), 'encryption-key-id': text(keyId) },
    data: seal(key, temporal.api.common.v1.Payload.encode(original).finish()),
  };
}

/** A format-2 payload as another implementation would write it. */
function formatTwoPayload(key: Uint8Array, keyId: string, namespace: string, original: Plain, compress = false): Payload {
  const serialized = temporal.api.common.v1.Payload.encode(original).finish();
  return {
    metadata: {
      encoding: text('binary/encrypted'), 'encryption-key-id': text(keyId), 'encryption-format': text('2'),
      'encryption-namespace': text(namespace), ...(compress ? { 'encryption-compression': text('gzip') } : {}),
    },
    data: seal(key, compress ? gzipSync(serialized) : serialized, documentedAad(namespace, keyId, compress ? 'gzip' : '')),
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CodecError ? e.code : `not a CodecError: ${String(e)}`;
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
}

const withMetadata = (payload: Payload, change: Record<string, string | undefined>): Payload => {
  const metadata: Record<string, Uint8Array> = { ...payload.metadata };
  for (const [key, value] of Object.entries(change)) {
    if (value === undefined) {
      delete metadata[key];
    } else {
      metadata[key] = text(value);
    }
  }
  return { ...payload, metadata };
};

describe('format 2: payloads bound to a namespace', () => {
  const key = randomBytes(32);
  const orders = new KeyRing({ k1: key }, 'k1');

  it('does decode the test vector of docs/SECURITY.md', () => {
    const vectorKey = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const aad = '7365637572652d74656d706f72616c2f7061796c6f61642d656e6372797074696f6e0032006f726465727300323032362d313100';
    expect(documentedAad('orders', '2026-11', '').toString('hex')).toBe(aad);
    const vector = {
      metadata: { encoding: text('binary/encrypted'), 'encryption-key-id': text('2026-11'), 'encryption-format': text('2'),
        'encryption-namespace': text('orders') },
      data: Buffer.from('000102030405060708090a0b4d14dc13a08ba174e928f9eca3e3121eecb8a8449c1a36122a60c7ed78056cdd238f5653f7e3005276da96bff7df128c3f',
        'hex'),
    };
    const ring = new KeyRing({ '2026-11': vectorKey }, '2026-11');
    const decoded = decryptPayload(vector, ring, { namespace: 'orders' });
    expect(Buffer.from(temporal.api.common.v1.Payload.encode(decoded as Plain).finish()).toString('hex'))
      .toBe('0a160a08656e636f64696e67120a6a736f6e2f706c61696e12072268656c6c6f22');
    expect([str(decoded.metadata?.encoding), str(decoded.data)]).toEqual(['json/plain', '"hello"']);
  });

  it('does write the documented metadata and associated data (read back by an independent implementation)', () => {
    const original = json({ card: '4111 1111 1111 1111' });
    const encrypted = encryptPayload(original, orders, { namespace: 'orders' });
    expect(Object.fromEntries(Object.entries(encrypted.metadata ?? {}).map(([k, v]) => [k, str(v)]))).toEqual({
      encoding: 'binary/encrypted', 'encryption-key-id': 'k1', 'encryption-format': '2', 'encryption-namespace': 'orders' });
    expect(encrypted.data?.length).toBe(12 + temporal.api.common.v1.Payload.encode(original).finish().length + 16);
    const plain = open(key, encrypted.data ?? new Uint8Array(), documentedAad('orders', 'k1', ''));
    expect(temporal.api.common.v1.Payload.decode(plain).toJSON()).toEqual(temporal.api.common.v1.Payload.fromObject(original).toJSON());
    // Bound: without the associated data, or with another namespace's, the tag does not verify.
    expect(() => open(key, encrypted.data ?? new Uint8Array())).toThrow();
    expect(() => open(key, encrypted.data ?? new Uint8Array(), documentedAad('billing', 'k1', ''))).toThrow();
  });

  it('does authenticate the compression marker (read back by an independent implementation)', () => {
    const encrypted = encryptPayload(json('a'.repeat(10_000)), orders, { namespace: 'orders', compressAtBytes: 1024 });
    expect(str(encrypted.metadata?.['encryption-compression'])).toBe('gzip');
    const plain = gunzipSync(open(key, encrypted.data ?? new Uint8Array(), documentedAad('orders', 'k1', 'gzip')));
    expect(str(temporal.api.common.v1.Payload.decode(plain).data)).toBe(JSON.stringify('a'.repeat(10_000)));
    expect(() => open(key, encrypted.data ?? new Uint8Array(), documentedAad('orders', 'k1', ''))).toThrow();
  });

  it.each([false, true])('does decode what an independent implementation writes (compressed: %s)', (compress) => {
    const payload = formatTwoPayload(key, 'k1', 'orders', json({ n: 'x'.repeat(2000) }), compress);
    expect(JSON.parse(str(decryptPayload(payload, orders, { namespace: 'orders' }).data))).toEqual({ n: 'x'.repeat(2000) });
  });

  it.each([undefined, 64])('does round-trip through EncryptionCodec (compressAtBytes %s)', async (compressAtBytes) => {
    const codec = new EncryptionCodec(orders, { namespace: 'orders', compressAtBytes });
    const original = json({ text: 'y'.repeat(500) });
    const [encrypted] = await codec.encode([original]);
    expect(str(encrypted.metadata?.['encryption-compression'])).toBe(compressAtBytes ? 'gzip' : '');
    const [decoded] = await codec.decode([encrypted]);
    expect(str(decoded.data)).toBe(str(original.data));
    expect(str(decoded.metadata?.encoding)).toBe('json/plain');
  });

  it('does round-trip any payload (property)', async () => {
    const codec = new EncryptionCodec(orders, { namespace: 'orders.prod_1-eu', compressAtBytes: 64 });
    const metadataArb = fc.dictionary(fc.string({ minLength: 1 }), fc.uint8Array());
    await fc.assert(fc.asyncProperty(metadataArb, fc.uint8Array({ minLength: 1, maxLength: 4096 }),
      async (metadata, data) => {
        const [back] = await codec.decode(await codec.encode([{ metadata, data }]));
        expect([...(back.data ?? [])]).toEqual([...data]);
      }));
  });
});

describe('format 2: a namespace cannot read another\'s payloads', () => {
  const shared = randomBytes(32);
  const billingPayload = () => encryptPayload(json('billing secret'), new KeyRing({ k1: shared }, 'k1'), { namespace: 'billing' });

  it('fails with WRONG_NAMESPACE before any key is used: a ring without the key', () => {
    const orders = new KeyRing({ o1: randomBytes(32) }, 'o1');
    expect(codeOf(() => decryptPayload(billingPayload(), orders, { namespace: 'orders' }))).toBe('WRONG_NAMESPACE');
  });

  it('fails with WRONG_NAMESPACE even when the ring holds the very key (a key shared during a migration)', () => {
    const orders = new KeyRing({ k1: shared }, 'k1');
    expect(codeOf(() => decryptPayload(billingPayload(), orders, { namespace: 'orders' }))).toBe('WRONG_NAMESPACE');
    expect(messageOf(() => decryptPayload(billingPayload(), orders, { namespace: 'orders' })))
      .toBe('the payload is bound to namespace "billing", not "orders": decode it with its own namespace\'s key ring and namespace');
  });

  it('fails with DECRYPT_FAILED when the payload\'s namespace is rewritten, even with the very key', () => {
    const orders = new KeyRing({ k1: shared }, 'k1');
    const relabelled = withMetadata(billingPayload(), { 'encryption-namespace': 'orders' });
    expect(codeOf(() => decryptPayload(relabelled, orders, { namespace: 'orders' }))).toBe('DECRYPT_FAILED');
  });

  it('fails with DECRYPT_FAILED for a ring holding the same key id with another key', () => {
    const orders = new KeyRing({ k1: randomBytes(32) }, 'k1');
    const relabelled = withMetadata(billingPayload(), { 'encryption-namespace': 'orders' });
    expect(codeOf(() => decryptPayload(relabelled, orders, { namespace: 'orders' }))).toBe('DECRYPT_FAILED');
  });

  it('fails with DECRYPT_FAILED when the namespace and the format marker are stripped (no downgrade to the samples\' format)', () => {
    const orders = new KeyRing({ k1: shared }, 'k1');
    const stripped = withMetadata(billingPayload(), { 'encryption-namespace': undefined, 'encryption-format': undefined });
    expect(codeOf(() => decryptPayload(stripped, orders, { namespace: 'orders' }))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => decryptPayload(stripped, orders))).toBe('DECRYPT_FAILED');
  });

  it('fails with WRONG_NAMESPACE when the decoder names no namespace', () => {
    const billing = new KeyRing({ k1: shared }, 'k1');
    expect(codeOf(() => decryptPayload(billingPayload(), billing))).toBe('WRONG_NAMESPACE');
    expect(messageOf(() => decryptPayload(billingPayload(), billing)))
      .toMatch(/^the payload is bound to namespace "billing": decode it with the namespace option/);
  });

  it('does decode for its own namespace', () => {
    const billing = new KeyRing({ k1: shared }, 'k1');
    expect(str(decryptPayload(billingPayload(), billing, { namespace: 'billing' }).data)).toBe('"billing secret"');
  });

  it('does keep plaintext and key bytes out of every message', () => {
    const orders = new KeyRing({ k1: shared }, 'k1');
    const messages = [
      messageOf(() => decryptPayload(billingPayload(), orders, { namespace: 'orders' })),
      messageOf(() => decryptPayload(withMetadata(billingPayload(), { 'encryption-namespace': 'orders' }), orders, { namespace: 'orders' })),
    ];
    for (const message of messages) {
      expect(message).not.toContain('billing secret');
      expect(message).not.toContain(shared.toString('base64'));
    }
  });
});

describe('format 2: altered metadata fails', () => {
  const key = randomBytes(32);
  // Two ids of the same key: only the associated data tells them apart.
  const ring = new KeyRing({ k1: key, k2: key }, 'k1');
  const options = { namespace: 'orders' };
  const plain = () => encryptPayload(json('secret'), ring, options);
  const compressed = () => encryptPayload(json('s'.repeat(5000)), ring, { ...options, compressAtBytes: 1024 });

  it.each([
    ['the key id changed to another id of the same key', 'DECRYPT_FAILED', () => withMetadata(plain(), { 'encryption-key-id': 'k2' })],
    ['the key id removed', 'UNKNOWN_KEY', () => withMetadata(plain(), { 'encryption-key-id': undefined })],
    ['the format marker removed', 'DECRYPT_FAILED', () => withMetadata(plain(), { 'encryption-format': undefined })],
    ['the format marker changed', 'MALFORMED', () => withMetadata(plain(), { 'encryption-format': '3' })],
    ['the namespace removed', 'MALFORMED', () => withMetadata(plain(), { 'encryption-namespace': undefined })],
    ['the namespace changed', 'WRONG_NAMESPACE', () => withMetadata(plain(), { 'encryption-namespace': 'billing' })],
    ['a compression marker added', 'DECRYPT_FAILED', () => withMetadata(plain(), { 'encryption-compression': 'gzip' })],
    ['the compression marker removed', 'DECRYPT_FAILED', () => withMetadata(compressed(), { 'encryption-compression': undefined })],
    ['the compression marker changed', 'MALFORMED', () => withMetadata(compressed(), { 'encryption-compression': 'zstd' })],
  ] as const)('fails when %s: %s', (_what, code, tampered) => {
    expect(codeOf(() => decryptPayload(tampered(), ring, options))).toBe(code);
  });

  it('does decode the unaltered payloads (the cases above fail for the alteration only)', () => {
    expect(str(decryptPayload(plain(), ring, options).data)).toBe('"secret"');
    expect(str(decryptPayload(compressed(), ring, options).data)).toBe(JSON.stringify('s'.repeat(5000)));
  });

  it('fails with DECRYPT_FAILED for a flipped bit of nonce, ciphertext or tag', () => {
    const encrypted = plain();
    for (const i of [0, 20, (encrypted.data?.length ?? 0) - 1]) {
      const data = Buffer.from(encrypted.data ?? []);
      data[i] ^= 1;
      expect(codeOf(() => decryptPayload({ ...encrypted, data }, ring, options))).toBe('DECRYPT_FAILED');
    }
  });
});

describe('format 1: Temporal\'s samples\' payloads', () => {
  const key = randomBytes(32);
  const ring = new KeyRing({ 'samples-1': key }, 'samples-1');

  it.each([undefined, 'orders', 'billing'])('does decode under any namespace (%s)', (namespace) => {
    const payload = samplesPayload(key, 'samples-1', json({ from: 'a samples worker' }));
    expect(JSON.parse(str(decryptPayload(payload, ring, { namespace }).data))).toEqual({ from: 'a samples worker' });
  });

  it('does write format 1 when no namespace is given, readable without associated data', () => {
    const encrypted = encryptPayload(json('v1'), ring);
    expect(Object.keys(encrypted.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(str(temporal.api.common.v1.Payload.decode(open(key, encrypted.data ?? new Uint8Array())).data)).toBe('"v1"');
  });
});

describe('namespace names', () => {
  const ring = new KeyRing({ k1: randomBytes(32) }, 'k1');

  it.each(['', 'a\u0000b', '-orders', 'temporal-system', 'a b', 'x'.repeat(256), 'ordérs'])('fails with INVALID_NAMESPACE for %j', (namespace) => {
    expect(codeOf(() => encryptPayload(json(1), ring, { namespace }))).toBe('INVALID_NAMESPACE');
    expect(codeOf(() => decryptPayload(encryptPayload(json(1), ring, { namespace: 'orders' }), ring, { namespace }))).toBe('INVALID_NAMESPACE');
    expect(codeOf(() => new EncryptionCodec(ring, { namespace }))).toBe('INVALID_NAMESPACE');
  });

  it('does accept Temporal\'s namespace characters', () => {
    for (const namespace of ['orders', 'Orders.Prod', 'a_b-c.d', '0', 'x'.repeat(255)]) {
      const encrypted = encryptPayload(json(namespace), ring, { namespace });
      expect(str(decryptPayload(encrypted, ring, { namespace }).data)).toBe(JSON.stringify(namespace));
    }
  });
});

describe('encodeFormat: a rollout that reads format 2 before it writes it', () => {
  const key = randomBytes(32);
  const ring = new KeyRing({ k1: key }, 'k1');

  it('does write format 1 with a namespace and encodeFormat 1, and still refuses another namespace\'s format 2', async () => {
    const codec = new EncryptionCodec(ring, { namespace: 'orders', encodeFormat: 1 });
    const [encrypted] = await codec.encode([json('rolling')]);
    expect(Object.keys(encrypted.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(str(temporal.api.common.v1.Payload.decode(open(key, encrypted.data ?? new Uint8Array())).data)).toBe('"rolling"');
    const billing = encryptPayload(json('billing'), ring, { namespace: 'billing' });
    await expect(codec.decode([billing])).rejects.toThrow(/bound to namespace "billing", not "orders"/);
    const [own] = await codec.decode([encryptPayload(json('own'), ring, { namespace: 'orders' })]);
    expect(str(own.data)).toBe('"own"');
  });

  it('fails with INVALID_NAMESPACE for format 2 without a namespace', () => {
    expect(codeOf(() => encryptPayload(json(1), ring, { encodeFormat: 2 }))).toBe('INVALID_NAMESPACE');
    expect(codeOf(() => new EncryptionCodec(ring, { encodeFormat: 2 }))).toBe('INVALID_NAMESPACE');
    expect(str(encryptPayload(json(1), ring, { namespace: 'orders', encodeFormat: 2 }).metadata?.['encryption-format'])).toBe('2');
  });
});
