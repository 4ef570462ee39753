/**
 * Payload encryption in the format of Temporal's samples, so that Go and TypeScript workers interoperate:
 * - metadata `encoding: binary/encrypted` and `encryption-key-id: <id>`;
 * - data = 12-byte nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag, over the serialized original Payload (no AAD).
 * Optionally the serialized Payload is gzip-compressed before encryption, marked `encryption-compression: gzip`.
 * Payloads that are not encrypted pass through decode unchanged. The workers' codec and the codec server use
 * this same code.
 */
import { createCipheriv, createDecipheriv, KeyObject, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CodecError } from './errors';
import { KeyRing } from './key-ring';
import { Payload, parsePayload, serializePayload } from './payload';
import { secretKey } from './secret-keys';

export const ENCODING_KEY = 'encoding';
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const COMPRESSION_METADATA = 'encryption-compression';
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

const text = new TextEncoder();

/**
 * Nonces from the system CSPRNG, drawn in blocks (one `randomBytes` call per 4096 nonces instead of one per
 * payload); each 12-byte slice is handed out once.
 */
const NONCE_BLOCK = NONCE_BYTES * 4096;
let nonces = Buffer.alloc(0);
let nonceAt = 0;
function nextNonce(): Buffer {
  if (nonceAt + NONCE_BYTES > nonces.length) {
    nonces = randomBytes(NONCE_BLOCK);
    nonceAt = 0;
  }
  const nonce = nonces.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}
const utf8 = new TextDecoder();

export interface EncryptionOptions {
  /**
   * Compress payloads of at least this many serialized bytes (gzip) before encrypting them. Compression before
   * encryption lets the ciphertext's length depend on the content: leave it off where an attacker can mix their
   * own input with secrets in one payload.
   * @default - off
   */
  readonly compressAtBytes?: number;
  /** Decode refuses a payload that would decompress to more than this. @default 64 MiB */
  readonly maxDecompressedBytes?: number;
  /**
   * What a batch may decompress to in all (the codec server's per-request budget: a few kilobytes of compressed
   * zeros each must not add up to gigabytes). Decode counts down `remaining` and refuses past it.
   */
  readonly budget?: { remaining: number };
}

function metadataText(payload: Payload, key: string): string | undefined {
  const value = payload.metadata?.[key];
  return value === undefined || value === null ? undefined : utf8.decode(value);
}

/** True when `payload` is one of ours (encoding `binary/encrypted`). */
export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, ENCODING_KEY) === ENCRYPTED_ENCODING;
}

/** Encrypts one payload with the ring's active key. */
export function encryptPayload(payload: Payload, ring: KeyRing, options: EncryptionOptions = {}): Payload {
  let plain: Uint8Array = serializePayload(payload);
  const compress = options.compressAtBytes !== undefined && plain.length >= options.compressAtBytes;
  if (compress) {
    plain = gzipSync(plain);
  }
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', secretKey(ring, ring.activeId) as KeyObject, nonce);
  const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      [ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: text.encode(ring.activeId),
      ...(compress ? { [COMPRESSION_METADATA]: text.encode('gzip') } : {}),
    },
    data,
  };
}

/** Decrypts one payload (a payload that is not encrypted is returned as it is). CodecError on any failure. */
export function decryptPayload(payload: Payload, ring: KeyRing, options: EncryptionOptions = {}): Payload {
  if (!isEncrypted(payload)) {
    return payload;
  }
  const id = metadataText(payload, KEY_ID_METADATA);
  if (id === undefined || id === '') {
    throw new CodecError('UNKNOWN_KEY', `the payload names no key (metadata ${KEY_ID_METADATA} is missing)`);
  }
  const key = secretKey(ring, id);
  if (key === undefined) {
    throw new CodecError('UNKNOWN_KEY', `the payload's key "${id.slice(0, 64)}" is not in the key ring`);
  }
  const data = payload.data ?? new Uint8Array();
  if (data.length < NONCE_BYTES + TAG_BYTES) {
    throw new CodecError('MALFORMED', `the encrypted data is ${data.length} bytes, shorter than a nonce and a tag`);
  }
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CodecError('DECRYPT_FAILED', `the payload does not authenticate with key "${id}": it was altered, or encrypted with another key`);
  }
  const compression = metadataText(payload, COMPRESSION_METADATA);
  if (compression !== undefined) {
    if (compression !== 'gzip') {
      throw new CodecError('MALFORMED', `unknown ${COMPRESSION_METADATA} "${compression.slice(0, 32)}"`);
    }
    const limit = Math.min(options.maxDecompressedBytes ?? 64 * 1024 * 1024, options.budget?.remaining ?? Infinity);
    if (limit < 1) {
      throw new CodecError('TOO_LARGE', 'the request decompresses to more than its budget');
    }
    try {
      plain = gunzipSync(plain, { maxOutputLength: limit });
    } catch (e) {
      throw (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || (e as { code?: string }).code === 'ERR_OUT_OF_RANGE'
        ? new CodecError('TOO_LARGE', `the payload decompresses to more than ${limit} bytes`)
        : new CodecError('MALFORMED', 'the compressed payload does not decompress');
    }
  }
  if (options.budget) {
    options.budget.remaining -= plain.length;
  }
  return parsePayload(plain);
}

/**
 * The payload codec for `@temporalio/common` data converters (`DataConverter.payloadCodecs`) and for the codec
 * server: encodes with the active key, decodes with any key of the ring. `keys` is a ring, or a function giving
 * the current one (`watchedKeyRing(dir)` follows a mounted Secret).
 */
export class EncryptionCodec {
  private readonly ring: () => KeyRing;

  constructor(keys: KeyRing | (() => KeyRing), private readonly options: EncryptionOptions = {}) {
    this.ring = typeof keys === 'function' ? keys : () => keys;
  }

  // Generic so that it is a `PayloadCodec` of `@temporalio/common` (whose payloads type int64 with `long`) without
  // depending on it: what comes back is always a plain payload of the same shape.
  public async encode<P extends Payload>(payloads: P[]): Promise<P[]> {
    const ring = this.ring();
    return payloads.map((p) => encryptPayload(p, ring, this.options)) as P[];
  }

  public async decode<P extends Payload>(payloads: P[]): Promise<P[]> {
    const ring = this.ring();
    return payloads.map((p) => decryptPayload(p, ring, this.options)) as P[];
  }
}
