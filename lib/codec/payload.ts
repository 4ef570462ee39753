/**
 * Temporal's `temporal.api.common.v1.Payload` in its two wire forms: the protobuf binary form (what the codec
 * encrypts, as Temporal's samples do) and the proto3 JSON form (what the Web UI and the CLI send a codec server).
 * Pure; uses protobufjs's reader and writer for the binary form.
 */
import { Reader, Writer } from 'protobufjs/minimal';
import { CodecError } from './errors';

/** A payload, shaped like `@temporalio/proto`'s `IPayload` (so the codec plugs into `@temporalio/common` data converters). */
export interface Payload {
  metadata?: { [key: string]: Uint8Array } | null;
  data?: Uint8Array | null;
  /** Sizes of payloads stored outside Temporal (field 3 of the message); kept as they are. */
  externalPayloads?: { sizeBytes?: number | { toString(): string } | null }[] | null;
}

/** Sets an own property, whatever its name (a metadata key `__proto__` must not reach the prototype). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}


/** An int64 as protobufjs gives it (a number, or a Long past 2^53) or as a caller wrote it; absent is 0. */
function toNumber(value: number | { toString(): string } | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value.toString());
}

/** The protobuf binary form. Metadata keys are written in sorted order, so the same payload gives the same bytes. */
export function serializePayload(payload: Payload): Uint8Array {
  const writer = Writer.create();
  const metadata = payload.metadata ?? {};
  for (const key of Object.keys(metadata).sort()) {
    writer.uint32(10).fork().uint32(10).string(key).uint32(18).bytes(metadata[key] ?? new Uint8Array()).ldelim();
  }
  if (payload.data && payload.data.length > 0) {
    writer.uint32(18).bytes(payload.data);
  }
  for (const external of payload.externalPayloads ?? []) {
    writer.uint32(26).fork();
    const size = toNumber(external.sizeBytes);
    if (size !== 0) {
      writer.uint32(8).int64(size);
    }
    writer.ldelim();
  }
  return writer.finish();
}

/** Parses the protobuf binary form; CodecError `MALFORMED` when the bytes are not a Payload. */
export function parsePayload(bytes: Uint8Array): Payload {
  try {
    const reader = Reader.create(bytes);
    const metadata: Record<string, Uint8Array> = {};
    let data: Uint8Array = new Uint8Array();
    const externalPayloads: { sizeBytes: number }[] = [];
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const end = (): number => reader.uint32() + reader.pos;
      switch (tag) {
        case 10: { // metadata entry { string key = 1; bytes value = 2; }
          const stop = end();
          let key = '';
          let value: Uint8Array = new Uint8Array();
          while (reader.pos < stop) {
            const entryTag = reader.uint32();
            if (entryTag === 10) {
              key = reader.string();
            } else if (entryTag === 18) {
              value = reader.bytes();
            } else {
              reader.skipType(entryTag & 7);
            }
          }
          setOwn(metadata, key, value);
          break;
        }
        case 18:
          data = reader.bytes();
          break;
        case 26: { // ExternalPayloadDetails { int64 size_bytes = 1; }
          const stop = end();
          let sizeBytes = 0;
          while (reader.pos < stop) {
            const detailTag = reader.uint32();
            if (detailTag === 8) {
              sizeBytes = toNumber(reader.int64());
            } else {
              reader.skipType(detailTag & 7);
            }
          }
          externalPayloads.push({ sizeBytes });
          break;
        }
        default:
          reader.skipType(tag & 7);
      }
    }
    return { metadata, data, ...(externalPayloads.length > 0 ? { externalPayloads } : {}) };
  } catch {
    // protobufjs's reader throws on any read past the end (a length, a skip, a field cut off).
    throw new CodecError('MALFORMED', 'the decrypted bytes are not a serialized Payload');
  }
}

/** A payload in proto3 JSON: metadata values and data in base64. */
export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
  externalPayloads?: { sizeBytes?: string | number }[];
}

/**
 * Base64 (standard or URL-safe, padded or not) to bytes; CodecError `BAD_REQUEST` for anything else. Node's decoder
 * skips characters outside the alphabet, so a string with any is caught by the length of what it decodes to
 * (cheaper than scanning a megabyte string with a regular expression).
 */
function fromBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string') {
    throw new CodecError('BAD_REQUEST', `${what} must be a base64 string`);
  }
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(value, 'base64');
  const expected = padding > 0 ? (value.length / 4) * 3 - padding : Math.floor((value.length * 3) / 4);
  // With padding, a length that is no multiple of 4 gives a fractional `expected`, which no decoded length equals.
  if (value.length % 4 === 1 || bytes.length !== expected) {
    throw new CodecError('BAD_REQUEST', `${what} must be a base64 string`);
  }
  return bytes;
}

/** Reads one payload of a proto3 JSON body; CodecError `BAD_REQUEST` naming the field when it is not one. */
export function payloadFromJson(value: unknown, at: string): Payload {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CodecError('BAD_REQUEST', `${at} must be an object { metadata, data }`);
  }
  const json = value as Record<string, unknown>;
  const metadata: Record<string, Uint8Array> = {};
  if (json.metadata !== undefined && json.metadata !== null) {
    if (typeof json.metadata !== 'object' || Array.isArray(json.metadata)) {
      throw new CodecError('BAD_REQUEST', `${at}.metadata must be an object of base64 strings`);
    }
    for (const [key, v] of Object.entries(json.metadata as Record<string, unknown>)) {
      setOwn(metadata, key, fromBase64(v, `${at}.metadata.${JSON.stringify(key.slice(0, 64))}`));
    }
  }
  const data = json.data === undefined || json.data === null ? new Uint8Array() : fromBase64(json.data, `${at}.data`);
  const externals = json.externalPayloads;
  if (externals !== undefined && externals !== null && !Array.isArray(externals)) {
    throw new CodecError('BAD_REQUEST', `${at}.externalPayloads must be an array`);
  }
  const externalPayloads = (externals as unknown[] | undefined ?? []).map((e, i) => {
    const size = (e as { sizeBytes?: unknown } | null)?.sizeBytes ?? 0;
    const n = typeof size === 'string' ? Number(size) : size;
    if (!Number.isSafeInteger(n) || (n as number) < 0) {
      throw new CodecError('BAD_REQUEST', `${at}.externalPayloads[${i}].sizeBytes must be a non-negative integer`);
    }
    return { sizeBytes: n };
  });
  return { metadata, data, ...(externalPayloads.length > 0 ? { externalPayloads } : {}) };
}

/** One payload in proto3 JSON (int64 as a decimal string, empty fields left out). */
export function payloadToJson(payload: Payload): JsonPayload {
  const metadata = Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  const data = payload.data && payload.data.length > 0 ? Buffer.from(payload.data).toString('base64') : undefined;
  const externalPayloads = (payload.externalPayloads ?? []).map((e) => {
    const size = toNumber(e.sizeBytes);
    return size === 0 ? {} : { sizeBytes: String(size) };
  });
  return {
    metadata,
    ...(data !== undefined ? { data } : {}),
    ...(externalPayloads.length > 0 ? { externalPayloads } : {}),
  };
}
