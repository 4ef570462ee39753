/**
 * Payload encryption in two format versions (docs/SECURITY.md "Payload encryption" gives them byte for byte):
 *
 * - Format 1, Temporal's samples' format, so that Go and TypeScript workers of the samples interoperate: metadata
 *   `encoding: binary/encrypted` and `encryption-key-id: <id>`; data = 12-byte nonce ‖ AES-256-GCM ciphertext ‖
 *   16-byte tag, over the serialized original Payload, with no associated data.
 * - Format 2, bound to a Temporal namespace: the same, plus metadata `encryption-format: 2` and
 *   `encryption-namespace: <namespace>`, and associated data that authenticates the format, the namespace, the key id
 *   and the compression marker (`formatAssociatedData`). Written when the caller names a namespace; decoded only for
 *   that namespace, and the associated data is built from the namespace the caller decodes for, never from metadata.
 *
 * Optionally the serialized Payload is gzip-compressed before encryption, marked `encryption-compression: gzip`.
 * Payloads that are not encrypted pass through decode unchanged. The workers' codec and the codec server use this
 * same code.
 */
import { kMaxLength } from 'node:buffer';
import { createCipheriv, createDecipheriv, KeyObject, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CodecError } from './errors';
import { KeyRing } from './key-ring';
import { requireNamespace } from './namespace';
import { Payload, parsePayload, serializePayload } from './payload';
import { secretKey } from './secret-keys';

export const ENCODING_KEY = 'encoding';
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const COMPRESSION_METADATA = 'encryption-compression';
/** Marks the format version; absent in format 1 (the samples' format). */
export const FORMAT_METADATA = 'encryption-format';
/** The namespace a format-2 payload is bound to. */
export const NAMESPACE_METADATA = 'encryption-namespace';
/** The value of `encryption-format` of the namespace-bound format. */
export const FORMAT_V2 = '2';
/** The first field of format 2's associated data. */
export const ASSOCIATED_DATA_LABEL = 'secure-temporal/payload-encryption';
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
   * The Temporal namespace the payloads belong to. Encode binds them to it (format 2); decode refuses a format-2
   * payload of any other namespace (`WRONG_NAMESPACE`) before decrypting it, and authenticates it for this namespace.
   * Format-1 payloads (the samples' format) decode whatever the namespace.
   * @default - encode writes format 1; decode refuses format-2 payloads
   */
  readonly namespace?: string;
  /**
   * The format encode writes when `namespace` is given. `1` (unbound, the samples' format) only for a rollout: while
   * some readers of the namespace (workers of an older version, another codec server) cannot read format 2 yet, the
   * new ones already decode it and keep writing format 1 (docs/SECURITY.md "Migrating from one shared key ring").
   * @default 2 with a namespace, else 1
   */
  readonly encodeFormat?: 1 | 2;
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
  return value === undefined ? undefined : utf8.decode(value);
}

/** True when `payload` is one of ours (encoding `binary/encrypted`). */
export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, ENCODING_KEY) === ENCRYPTED_ENCODING;
}

/**
 * The associated data of format 2: the label, the format version, the namespace, the key id and the compression
 * marker (`gzip`, or empty without compression), as UTF-8, each separated from the next by one NUL byte. Namespace
 * names and key ids never contain NUL (both are validated), so no two inputs give the same bytes.
 */
export function formatAssociatedData(namespace: string, keyId: string, compression: string | undefined): Uint8Array {
  return Buffer.from([ASSOCIATED_DATA_LABEL, FORMAT_V2, namespace, keyId, compression].join('\0'));
}

/** The namespace encode binds payloads to (format 2), or undefined for format 1. CodecError for bad options. */
function bindingNamespace(options: EncryptionOptions): string | undefined {
  const namespace = options.namespace === undefined ? undefined : requireNamespace(options.namespace, 'the namespace option');
  const format = options.encodeFormat === 1 ? 1 : namespace === undefined && options.encodeFormat === undefined ? 1 : 2;
  if (format === 2 && namespace === undefined) {
    throw new CodecError('INVALID_NAMESPACE', 'format 2 binds payloads to a namespace: give the namespace option, e.g. { namespace: "orders" }');
  }
  return format === 2 ? namespace : undefined;
}

/**
 * Encrypts one payload with the ring's active key: format 2 bound to `options.namespace` when it is given (CodecError
 * `INVALID_NAMESPACE` for a name Temporal would not accept), else (or with `encodeFormat: 1`) format 1.
 */
export function encryptPayload(payload: Payload, ring: KeyRing, options: EncryptionOptions = {}): Payload {
  const namespace = bindingNamespace(options);
  let plain: Uint8Array = serializePayload(payload);
  const compress = plain.length >= (options.compressAtBytes ?? Infinity);
  if (compress) {
    plain = gzipSync(plain);
  }
  const compression = compress ? 'gzip' : undefined;
  const nonce = nextNonce();
  const cipher = createCipheriv('aes-256-gcm', secretKey(ring, ring.activeId) as KeyObject, nonce);
  if (namespace !== undefined) {
    cipher.setAAD(formatAssociatedData(namespace, ring.activeId, compression));
  }
  const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      [ENCODING_KEY]: text.encode(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: text.encode(ring.activeId),
      ...(namespace !== undefined ? { [FORMAT_METADATA]: text.encode(FORMAT_V2), [NAMESPACE_METADATA]: text.encode(namespace) } : {}),
      ...(compression !== undefined ? { [COMPRESSION_METADATA]: text.encode(compression) } : {}),
    },
    data,
  };
}

/**
 * For a format-2 payload, the namespace the caller decodes for (`expected`), once the payload's namespace is found to
 * be that one; undefined for format 1. Reads nothing but metadata.
 */
function boundNamespace(payload: Payload, expected: string | undefined): string | undefined {
  const format = metadataText(payload, FORMAT_METADATA);
  if (format === undefined) {
    return undefined;
  }
  if (format !== FORMAT_V2) {
    throw new CodecError('MALFORMED', `unknown ${FORMAT_METADATA} ${JSON.stringify(format.slice(0, 32))}: this codec reads formats 1 and 2`);
  }
  const bound = metadataText(payload, NAMESPACE_METADATA);
  if (bound === undefined) {
    throw new CodecError('MALFORMED', `the payload is of format 2 and names no namespace (metadata ${NAMESPACE_METADATA} is missing)`);
  }
  if (expected === undefined) {
    throw new CodecError('WRONG_NAMESPACE', `the payload is bound to namespace ${JSON.stringify(bound.slice(0, 255))}: decode it with the ` +
      'namespace option of the namespace it was read from (e.g. new EncryptionCodec(keys, { namespace: "orders" }))');
  }
  if (bound !== expected) {
    throw new CodecError('WRONG_NAMESPACE', `the payload is bound to namespace ${JSON.stringify(bound.slice(0, 255))}, not ` +
      `${JSON.stringify(expected)}: decode it with its own namespace's key ring and namespace`);
  }
  return expected;
}

/**
 * Decrypts one payload (a payload that is not encrypted is returned as it is). CodecError on any failure; a format-2
 * payload of another namespace than `options.namespace` is refused (`WRONG_NAMESPACE`) before any key is used.
 */
export function decryptPayload(payload: Payload, ring: KeyRing, options: EncryptionOptions = {}): Payload {
  if (!isEncrypted(payload)) {
    return payload;
  }
  const expected = options.namespace === undefined ? undefined : requireNamespace(options.namespace, 'the namespace option');
  const namespace = boundNamespace(payload, expected);
  const compression = metadataText(payload, COMPRESSION_METADATA);
  if (compression !== undefined && compression !== 'gzip') {
    throw new CodecError('MALFORMED', `unknown ${COMPRESSION_METADATA} ${JSON.stringify(compression.slice(0, 32))}`);
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
    if (namespace !== undefined) {
      // Built from the namespace the caller decodes for and the metadata the decoder acts on (key id, compression).
      decipher.setAAD(formatAssociatedData(namespace, id, compression));
    }
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    plain = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CodecError('DECRYPT_FAILED', `the payload does not authenticate with key "${id}": it was altered, or encrypted with another key`);
  }
  if (compression !== undefined) {
    // Capped at the largest buffer Node makes (zlib refuses a larger maxOutputLength).
    const limit = Math.min(options.maxDecompressedBytes ?? 64 * 1024 * 1024, options.budget?.remaining ?? Infinity, kMaxLength);
    if (limit < 1) {
      throw new CodecError('TOO_LARGE', 'the request decompresses to more than its budget');
    }
    try {
      plain = gunzipSync(plain, { maxOutputLength: limit });
    } catch (e) {
      throw (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
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
 * the current one (`watchedKeyRing(dir)` follows a mounted Secret). With `{ namespace: 'orders' }` (a worker of
 * namespace orders, with orders' key ring) it writes format 2 bound to that namespace and decodes only that
 * namespace's format-2 payloads (and any format-1 payload).
 */
export class EncryptionCodec {
  private readonly ring: () => KeyRing;

  constructor(keys: KeyRing | (() => KeyRing), private readonly options: EncryptionOptions = {}) {
    bindingNamespace(options);
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
