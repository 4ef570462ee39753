import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import fc from 'fast-check';
import {
  CodecError, decryptPayload, encryptPayload, EncryptionCodec, isEncrypted, KeyRing, parsePayload, Payload, payloadFromJson, payloadToJson,
  serializePayload,
} from '../../lib/codec';

const text = (s: string) => new TextEncoder().encode(s);
const json = (value: unknown): Payload => ({ metadata: { encoding: text('json/plain') }, data: text(JSON.stringify(value)) });
const ring = (active = 'k1') => new KeyRing({ k1: randomBytes(32), k2: randomBytes(32) }, active);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CodecError ? e.code : `not a CodecError: ${String(e)}`;
  }
  return undefined;
}

describe('the payload wire form', () => {
  test('serializes like @temporalio/proto and parses what it serializes', () => {
    const payload = { metadata: { encoding: text('json/plain'), 'x-a': text('b') }, data: text('{"name":"Ada"}') };
    const ours = serializePayload(payload);
    const theirs = temporal.api.common.v1.Payload.encode(payload).finish();
    expect(temporal.api.common.v1.Payload.decode(ours).toJSON()).toEqual(temporal.api.common.v1.Payload.decode(theirs).toJSON());
    const parsed = parsePayload(theirs);
    expect(parsed.metadata).toEqual(payload.metadata);
    expect(Buffer.from(parsed.data ?? []).toString()).toBe('{"name":"Ada"}');
  });

  test('keeps external payload sizes (field 3)', () => {
    const payload = { metadata: {}, data: text('x'), externalPayloads: [{ sizeBytes: 123456789 }] };
    const decoded = temporal.api.common.v1.Payload.decode(serializePayload(payload));
    expect(Number(decoded.externalPayloads[0].sizeBytes)).toBe(123456789);
    const theirs = temporal.api.common.v1.Payload.encode(payload as never).finish();
    expect(parsePayload(theirs).externalPayloads).toEqual([{ sizeBytes: 123456789 }]);
  });

  test('any payload survives serialize and parse (property)', () => {
    const metadataArb = fc.dictionary(fc.string({ minLength: 1 }), fc.uint8Array());
    fc.assert(fc.property(metadataArb, fc.uint8Array({ minLength: 1 }), (metadata, data) => {
      const parsed = parsePayload(serializePayload({ metadata, data }));
      expect(Object.fromEntries(Object.entries(parsed.metadata ?? {}).map(([k, v]) => [k, [...v]])))
        .toEqual(Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, [...v]])));
      expect([...(parsed.data ?? [])]).toEqual([...data]);
    }));
  });

  test('a metadata key named __proto__ stays an ordinary key (binary and JSON forms)', () => {
    const json = JSON.parse('{"metadata":{"__proto__":"AQI=","encoding":"anNvbg=="},"data":"eA=="}');
    const payload = payloadFromJson(json, 'payloads[0]');
    expect(Object.keys(payload.metadata ?? {}).sort()).toEqual(['__proto__', 'encoding']);
    expect(Object.getPrototypeOf(payload.metadata)).toBe(Object.prototype);
    const parsed = parsePayload(serializePayload(payload));
    expect(Object.keys(parsed.metadata ?? {}).sort()).toEqual(['__proto__', 'encoding']);
    expect(payloadToJson(parsed).metadata).toEqual(json.metadata);
  });

  test('base64 with characters outside the alphabet, or a wrong length, is refused', () => {
    for (const bad of ['ab$d', 'abcde', 'ab=d', 'abc==', 'YQ=', 'YWJjZ', 'YW=']) {
      expect(() => payloadFromJson({ data: bad }, 'p')).toThrow('p.data must be a base64 string');
    }
    expect(Buffer.from(payloadFromJson({ data: 'aGk' }, 'p').data ?? []).toString()).toBe('hi'); // unpadded
    expect(Buffer.from(payloadFromJson({ data: '-_8' }, 'p').data ?? []).toString('hex')).toBe('fbff'); // URL-safe
  });

  test('bytes that are not a payload are MALFORMED', () => {
    expect(codeOf(() => parsePayload(Buffer.from([0x0a, 0xff, 0xff, 0x01])))).toBe('MALFORMED');
  });

  test('the binary form byte for byte: sorted metadata, empty fields left out, external sizes as int64', () => {
    const bytes = (p: Parameters<typeof serializePayload>[0]) => [...serializePayload(p)];
    const a = [...Buffer.from('a')];
    const b = [...Buffer.from('b')];
    expect(bytes({ metadata: { b: Uint8Array.of(2), a: Uint8Array.of(1) } }))
      .toEqual([10, 6, 10, 1, ...a, 18, 1, 1, 10, 6, 10, 1, ...b, 18, 1, 2]);
    expect(bytes({ data: Uint8Array.of(7) })).toEqual([18, 1, 7]);
    expect(bytes({ metadata: null, data: new Uint8Array() })).toEqual([]);
    expect(bytes({ externalPayloads: [{ sizeBytes: 0 }, { sizeBytes: 5 }, { sizeBytes: null }, { sizeBytes: { toString: () => '300' } }] }))
      .toEqual([26, 0, 26, 2, 8, 5, 26, 0, 26, 3, 8, 0xac, 0x02]);
    expect(bytes({ externalPayloads: [{}] })).toEqual([26, 0]);
  });

  test('the binary form read field by field: missing fields, unknown fields skipped, a cut-off message refused', () => {
    const read = (bytes: number[]) => {
      const p = parsePayload(Uint8Array.from(bytes));
      return { metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, [...v]])), data: [...(p.data ?? [])],
        ...(p.externalPayloads === undefined ? {} : { externalPayloads: p.externalPayloads }) };
    };
    const a = [...Buffer.from('a')];
    expect(read([])).toStrictEqual({ metadata: {}, data: [] });
    expect(read([18, 1, 7])).toStrictEqual({ metadata: {}, data: [7] });
    // An entry without a key is the empty key; without a value, empty bytes; an unknown field in it is skipped.
    expect(read([10, 3, 18, 1, 9])).toStrictEqual({ metadata: { '': [9] }, data: [] });
    expect(read([10, 3, 10, 1, ...a])).toStrictEqual({ metadata: { a: [] }, data: [] });
    expect(read([10, 8, 10, 1, ...a, 0x18, 0x01, 18, 1, 9])).toStrictEqual({ metadata: { a: [9] }, data: [] });
    // An unknown field after the value is skipped whole, though its bytes look like another value.
    expect(read([10, 11, 10, 1, ...a, 18, 1, 9, 0x1a, 3, 0x12, 0x01, 0x07])).toStrictEqual({ metadata: { a: [9] }, data: [] });
    // Unknown top-level fields (varint, fixed, length-delimited) are skipped.
    expect(read([0x20, 0x05, 0x2d, 1, 2, 3, 4, 0x32, 2, 0, 0, 18, 1, 7])).toStrictEqual({ metadata: {}, data: [7] });
    // External payload details: the size, an absent size as 0, an unknown field skipped.
    expect(read([26, 2, 8, 5, 26, 0, 26, 4, 0x10, 0x01, 8, 6])).toStrictEqual({ metadata: {}, data: [],
      externalPayloads: [{ sizeBytes: 5 }, { sizeBytes: 0 }, { sizeBytes: 6 }] });
    // Unknown fields after the size, a varint and one whose bytes look like another size, are skipped whole.
    expect(read([26, 4, 8, 6, 0x10, 0x01, 26, 6, 8, 6, 0x12, 0x02, 0x08, 0x07])).toStrictEqual({ metadata: {}, data: [],
      externalPayloads: [{ sizeBytes: 6 }, { sizeBytes: 6 }] });
    for (const cut of [[18, 5, 1], [10, 10, 10, 1, ...a], [0x32, 9, 0], [26, 3, 8]]) {
      expect(() => parsePayload(Uint8Array.from(cut)))
        .toThrow(new CodecError('MALFORMED', 'the decrypted bytes are not a serialized Payload'));
      expect(codeOf(() => parsePayload(Uint8Array.from(cut)))).toBe('MALFORMED');
    }
  });

  test('metadata keys are own, enumerable, writable properties, whatever their name (binary and JSON forms)', () => {
    const fromBinary = parsePayload(serializePayload({ metadata: { __proto__x: Uint8Array.of(1) } })).metadata ?? {};
    const fromJson = payloadFromJson(JSON.parse('{"metadata":{"__proto__":"AQ=="}}'), 'p').metadata ?? {};
    for (const [metadata, key] of [[fromBinary, '__proto__x'], [fromJson, '__proto__']] as const) {
      expect(Object.getOwnPropertyDescriptor(metadata, key))
        .toEqual({ value: Uint8Array.of(1), enumerable: true, writable: true, configurable: true });
    }
  });

  test('proto3 JSON out: empty data and zero sizes left out, sizes as decimal strings', () => {
    expect(payloadToJson({ metadata: { e: Uint8Array.of(1) }, data: new Uint8Array() })).toStrictEqual({ metadata: { e: 'AQ==' } });
    expect(payloadToJson({ data: Uint8Array.of(1), externalPayloads: [{ sizeBytes: 0 }, { sizeBytes: 5 }] }))
      .toStrictEqual({ metadata: {}, data: 'AQ==', externalPayloads: [{}, { sizeBytes: '5' }] });
    expect(payloadToJson({ externalPayloads: [] })).toStrictEqual({ metadata: {} });
  });

  test('proto3 JSON in: absent and null fields are empty, external sizes as numbers or decimal strings', () => {
    const read = (value: unknown) => {
      const p = payloadFromJson(value, 'p');
      return { metadata: Object.keys(p.metadata ?? {}), data: [...(p.data ?? [])],
        ...(p.externalPayloads ? { externalPayloads: p.externalPayloads } : {}) };
    };
    expect(read({})).toStrictEqual({ metadata: [], data: [] });
    expect(read({ metadata: null, data: null, externalPayloads: null })).toStrictEqual({ metadata: [], data: [] });
    expect(read({ externalPayloads: [] })).toStrictEqual({ metadata: [], data: [] });
    expect(read({ data: 'AQ==', externalPayloads: [{ sizeBytes: '12' }, { sizeBytes: 3 }, {}, null] })).toStrictEqual({ metadata: [], data: [1],
      externalPayloads: [{ sizeBytes: 12 }, { sizeBytes: 3 }, { sizeBytes: 0 }, { sizeBytes: 0 }] });
  });

  test('proto3 JSON: round trip, and each bad field named', () => {
    const payload = { metadata: { encoding: text('json/plain') }, data: text('"hi"') };
    const back = payloadFromJson(JSON.parse(JSON.stringify(payloadToJson(payload))), 'payloads[0]');
    expect(back.metadata).toEqual(payload.metadata);
    expect(Buffer.from(back.data ?? []).toString()).toBe('"hi"');
    const bad = (value: unknown) => {
      try {
        payloadFromJson(value, 'payloads[3]');
      } catch (e) {
        expect((e as CodecError).code).toBe('BAD_REQUEST');
        return (e as Error).message;
      }
      return 'accepted';
    };
    for (const notAnObject of ['x', null, [], 3]) {
      expect(bad(notAnObject)).toBe('payloads[3] must be an object { metadata, data }');
    }
    expect(bad({ metadata: 'x' })).toBe('payloads[3].metadata must be an object of base64 strings');
    expect(bad({ externalPayloads: 'x' })).toBe('payloads[3].externalPayloads must be an array');
    expect(bad({ externalPayloads: {} })).toBe('payloads[3].externalPayloads must be an array');
    for (const size of [1.5, '9007199254740993', true, 'x', -1, '-2']) {
      expect(bad({ externalPayloads: [{}, { sizeBytes: size }] })).toBe('payloads[3].externalPayloads[1].sizeBytes must be a non-negative integer');
    }
    expect(bad({ data: 5 })).toBe('payloads[3].data must be a base64 string');
    expect(bad({ metadata: { encoding: 12 } })).toBe('payloads[3].metadata."encoding" must be a base64 string');
    expect(bad({ metadata: { ['k'.repeat(5000)]: 12 } })).toBe(`payloads[3].metadata."${'k'.repeat(64)}" must be a base64 string`);
    expect(bad({ data: 'not base64 !' })).toBe('payloads[3].data must be a base64 string');
    expect(bad({ metadata: [] })).toBe('payloads[3].metadata must be an object of base64 strings');
    expect(bad({ externalPayloads: [{ sizeBytes: -1 }] })).toBe('payloads[3].externalPayloads[0].sizeBytes must be a non-negative integer');
  });
});

describe('encryption', () => {
  test('the format: metadata, nonce ‖ ciphertext ‖ tag, over the serialized payload', async () => {
    const keys = ring();
    const original = json({ card: '4111 1111 1111 1111' });
    const [encrypted] = await new EncryptionCodec(keys).encode([original]);
    expect(Buffer.from(encrypted.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
    expect(Buffer.from(encrypted.metadata?.['encryption-key-id'] ?? []).toString()).toBe('k1');
    expect(Object.keys(encrypted.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(encrypted.data?.length).toBe(12 + serializePayload(original).length + 16);
    expect(Buffer.from(encrypted.data ?? []).includes('4111')).toBe(false);
    const [decoded] = await new EncryptionCodec(keys).decode([encrypted]);
    expect(Buffer.from(decoded.data ?? []).toString()).toBe(JSON.stringify({ card: '4111 1111 1111 1111' }));
  });

  test('every encode uses a fresh nonce', () => {
    const keys = ring();
    const a = encryptPayload(json(1), keys).data ?? new Uint8Array();
    const b = encryptPayload(json(1), keys).data ?? new Uint8Array();
    expect(Buffer.from(a.subarray(0, 12)).equals(Buffer.from(b.subarray(0, 12)))).toBe(false);
  });

  test('decode uses the key the payload names: old keys keep decrypting after a rotation', () => {
    const keys = { k1: randomBytes(32), k2: randomBytes(32) };
    const old = encryptPayload(json('old'), new KeyRing(keys, 'k1'));
    const rotated = new KeyRing(keys, 'k2');
    const fresh = encryptPayload(json('new'), rotated);
    expect(Buffer.from(fresh.metadata?.['encryption-key-id'] ?? []).toString()).toBe('k2');
    expect(Buffer.from(decryptPayload(old, rotated).data ?? []).toString()).toBe('"old"');
  });

  test('payloads that are not encrypted pass through decode', () => {
    const plain = json('plain');
    expect(decryptPayload(plain, ring())).toBe(plain);
    expect(isEncrypted(plain)).toBe(false);
  });

  test('attacks: tampered, unknown key, missing key id, truncated, another key of the same id', () => {
    const keys = ring();
    const encrypted = encryptPayload(json('secret'), keys);
    const data = Buffer.from(encrypted.data ?? []);
    const flip = (i: number) => {
      const copy = Buffer.from(data);
      copy[i] ^= 1;
      return { ...encrypted, data: copy };
    };
    expect(codeOf(() => decryptPayload(flip(0), keys))).toBe('DECRYPT_FAILED'); // nonce
    expect(codeOf(() => decryptPayload(flip(20), keys))).toBe('DECRYPT_FAILED'); // ciphertext
    expect(codeOf(() => decryptPayload(flip(data.length - 1), keys))).toBe('DECRYPT_FAILED'); // tag
    expect(codeOf(() => decryptPayload({ ...encrypted, metadata: { ...encrypted.metadata, 'encryption-key-id': text('nope') } }, keys)))
      .toBe('UNKNOWN_KEY');
    expect(codeOf(() => decryptPayload({ ...encrypted, metadata: { encoding: text('binary/encrypted') } }, keys))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => decryptPayload({ ...encrypted, data: data.subarray(0, 27) }, keys))).toBe('MALFORMED');
    expect(codeOf(() => decryptPayload({ ...encrypted, data: data.subarray(0, data.length - 1) }, keys))).toBe('DECRYPT_FAILED');
    expect(codeOf(() => decryptPayload(encrypted, new KeyRing({ k1: randomBytes(32) }, 'k1')))).toBe('DECRYPT_FAILED');
    // No message carries the plaintext or key material.
    try {
      decryptPayload(flip(20), keys);
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
  });

  test('compression: marked, smaller for repetitive data, and bounded on decode', () => {
    const keys = ring();
    const big = json('a'.repeat(100_000));
    const compressed = encryptPayload(big, keys, { compressAtBytes: 1024 });
    expect(Buffer.from(compressed.metadata?.['encryption-compression'] ?? []).toString()).toBe('gzip');
    expect(compressed.data?.length).toBeLessThan(2000);
    expect(Buffer.from(decryptPayload(compressed, keys).data ?? []).length).toBe(100_002);
    expect(codeOf(() => decryptPayload(compressed, keys, { maxDecompressedBytes: 10_000 }))).toBe('TOO_LARGE');
    expect(encryptPayload(json('small'), keys, { compressAtBytes: 1024 }).metadata?.['encryption-compression']).toBeUndefined();
  });

  test('a batch\'s decompression is bounded in all (a budget), not only per payload', () => {
    const keys = ring();
    const bomb = encryptPayload({ metadata: {}, data: new Uint8Array(1024 * 1024) }, keys, { compressAtBytes: 1024 });
    expect(bomb.data?.length).toBeLessThan(4096);
    const budget = { remaining: 3 * 1024 * 1024 };
    const outcomes = Array.from({ length: 5 }, () => codeOf(() => decryptPayload(bomb, keys, { budget })));
    expect(outcomes).toEqual([undefined, undefined, 'TOO_LARGE', 'TOO_LARGE', 'TOO_LARGE']);
  });

  test('key bytes never share memory with what the codec returns (no Buffer pool, wiped after reading)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyring-pool-'));
    try {
      const raw = randomBytes(32);
      writeFileSync(join(dir, 'k.key'), raw.toString('base64'));
      writeFileSync(join(dir, 'active'), 'k');
      const keys = KeyRing.fromDirectory(dir);
      const small = encryptPayload(json('x'), keys);
      const data = small.data as Uint8Array;
      expect(Buffer.from(data.buffer).indexOf(raw)).toBe(-1);
      expect(Buffer.from(decryptPayload(small, keys).data ?? []).toString()).toBe('"x"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('any payload survives encode and decode (property)', async () => {
    const codec = new EncryptionCodec(ring(), { compressAtBytes: 64 });
    const metadataArb = fc.dictionary(fc.string({ minLength: 1 }), fc.uint8Array());
    await fc.assert(fc.asyncProperty(metadataArb, fc.uint8Array({ minLength: 1, maxLength: 4096 }),
      async (metadata, data) => {
        const [back] = await codec.decode(await codec.encode([{ metadata, data }]));
        expect([...(back.data ?? [])]).toEqual([...data]);
        expect(Object.keys(back.metadata ?? {}).sort()).toEqual(Object.keys(metadata).sort());
      }));
  });
});
