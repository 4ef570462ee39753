/**
 * gRPC over HTTP/2, the little the proxy needs to forward calls as bytes: status codes, the length-prefixed message
 * framing, `grpc-timeout`, `grpc-message` encoding, and the trailers-only answers the proxy gives itself.
 */
import { constants, ServerHttp2Stream } from 'node:http2';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';

/** gRPC status codes (the numbers on the wire). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const STATUS_NAMES = Object.fromEntries(Object.entries(Status).map(([name, code]) => [code, name])) as Record<number, string>;

/** The name of a status code (`PERMISSION_DENIED`), or the number for one gRPC does not define. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? String(code);
}

/** A call the proxy ends itself, with a status and details for the caller. */
export class CallError extends Error {
  public constructor(public readonly code: number, details: string) {
    super(details);
  }
}

/** The longest status message the proxy sends (a message is never a channel for bulk data). */
const MAX_DETAILS = 1024;

/** `grpc-message` as the protocol wants it: percent-encoded outside printable ASCII (and `%` itself), at most 1 KiB of text. */
export function encodeMessage(details: string): string {
  const text = details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}...` : details;
  return Array.from(Buffer.from(text, 'utf8'))
    .map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

const TIMEOUT_UNITS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds of a `grpc-timeout` header (`100m`, `5S` ...); undefined when absent, CallError when malformed. */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const match = /^(\d{1,8})([HMSmun])$/.exec(Array.isArray(value) ? value[0] : value);
  if (!match) {
    throw new CallError(Status.INTERNAL, `malformed grpc-timeout header: ${String(value).slice(0, 20)}`);
  }
  return Number(match[1]) * TIMEOUT_UNITS[match[2]];
}

/**
 * A `grpc-timeout` header for `ms` milliseconds: at most 8 digits (the protocol's limit), in the smallest unit that
 * holds it, rounded up.
 */
export function formatTimeout(ms: number): string {
  const units: [string, number][] = [['m', 1], ['S', 1000], ['M', 60_000], ['H', 3_600_000]];
  for (const [unit, size] of units) {
    const value = Math.max(1, Math.ceil(ms / size));
    if (value < 100_000_000) {
      return `${value}${unit}`;
    }
  }
  return '99999999H';
}

/** The status gRPC gives an answer whose HTTP status is not 200 (as gRPC's HTTP/2 mapping does). */
export function httpStatusCode(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** One length-prefixed message: the 5-byte prefix (uncompressed) and the message. */
export function frame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** The messages of a complete body of length-prefixed frames (a response the proxy rewrites); CallError on a cut frame. */
export function messages(body: Buffer): { compressed: boolean; message: Buffer }[] {
  const out: { compressed: boolean; message: Buffer }[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) {
      throw new CallError(Status.INTERNAL, 'the frontend\'s answer ends inside a message prefix');
    }
    const length = body.readUInt32BE(at + 1);
    if (body.length - at - 5 < length) {
      throw new CallError(Status.INTERNAL, 'the frontend\'s answer ends inside a message');
    }
    out.push({ compressed: body[at] === 1, message: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/**
 * A compressed message in the clear (`grpc-encoding` gzip or deflate), at most `limit` bytes; CallError otherwise.
 * Off the event loop (zlib's thread pool): other calls go on while a large message inflates.
 */
export async function decompress(message: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const inflater = encoding === 'gzip' ? gunzipAsync : encoding === 'deflate' ? inflateAsync : undefined;
  if (inflater === undefined) {
    throw new CallError(Status.UNIMPLEMENTED, `the message is compressed with ${String(encoding ?? 'no declared encoding').slice(0, 32)}, ` +
      'which the proxy does not read');
  }
  try {
    return await inflater(message, { maxOutputLength: limit });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw code === 'ERR_BUFFER_TOO_LARGE' ? new CallError(Status.RESOURCE_EXHAUSTED, `the message decompresses to more than ${limit} bytes`)
      : new CallError(Status.INTERNAL, 'the compressed message does not decompress');
  }
}

/**
 * Answers `stream` with a status of the proxy's own, before any answer was sent: trailers-only (HEADERS with
 * END_STREAM). The rest of the request is not read: the stream closes, and with it whatever the caller still had to send.
 */
export function answerWithStatus(stream: ServerHttp2Stream, code: number, details: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) {
    return;
  }
  try {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeMessage(details) },
      { endStream: true });
    // The answer is final: stop the caller sending the rest (RST_STREAM NO_ERROR after the status, as RFC 9113 8.1 allows).
    if (!stream.readableEnded) {
      stream.close(constants.NGHTTP2_NO_ERROR);
    }
  } catch {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}
