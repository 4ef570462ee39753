/**
 * Reads and trims protobuf messages at the top level without decoding them: the proxy forwards the bytes as they came,
 * and only looks at the fields it decides on (the namespace, a namespace id) or narrows (ListNamespaces, GetClusterInfo).
 */

/** Thrown when the bytes are not a well-formed protobuf message. */
export class MalformedRequest extends Error {}

function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) {
      return [value, i + 1];
    }
  }
  throw new MalformedRequest('truncated varint');
}

/**
 * The value of top-level string field `field` of a protobuf message, or undefined when it is absent. The last
 * occurrence wins, as protobuf decoders do. Throws MalformedRequest on bytes that are not a message.
 */
export function stringField(bytes: Uint8Array, field: number): string | undefined {
  const found = fields(bytes).filter((f) => f.number === field && f.wire === 2).pop();
  return found ? Buffer.from(bytes.subarray(found.value, found.end)).toString('utf8') : undefined;
}

/** True when top-level field `field` is present with a non-empty value (a string or message that is not zero-length). */
export function hasNonEmptyField(bytes: Uint8Array, field: number): boolean {
  return fields(bytes).some((f) => f.number === field && (f.wire !== 2 || f.end > f.value));
}

/** The message with only the top-level fields numbered in `keep`, each byte of them as it came. */
export function keepFields(message: Uint8Array, keep: readonly number[]): Buffer {
  return Buffer.concat(fields(message).filter((f) => keep.includes(f.number)).map((f) => message.subarray(f.start, f.end)));
}

/** Each top-level field of a message: its number, and where it starts, its value starts, and it ends. */
function fields(bytes: Uint8Array): { number: number; wire: number; start: number; value: number; end: number }[] {
  const out: { number: number; wire: number; start: number; value: number; end: number }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [key, next] = varint(bytes, at);
    at = next;
    const number = Math.floor(key / 8);
    const wire = key % 8;
    let value = at;
    switch (wire) {
      case 0:
        at = varint(bytes, at)[1];
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const [length, begin] = varint(bytes, at);
        value = begin;
        at = begin + length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new MalformedRequest(`unsupported wire type ${wire}`);
    }
    if (number === 0 || at > bytes.length) {
      throw new MalformedRequest('truncated field');
    }
    out.push({ number, wire, start, value, end: at });
  }
  return out;
}

/**
 * A ListNamespacesResponse with only the namespaces `keep` accepts: entries (field 1, DescribeNamespaceResponse) whose
 * `namespace_info.name` (field 1 of field 1) it refuses are cut out of the bytes; everything else stays as it came.
 */
export function filterNamespaceList(response: Uint8Array, keep: (namespace: string) => boolean): Buffer {
  const kept: Uint8Array[] = [];
  for (const field of fields(response)) {
    if (field.number === 1) {
      const entry = response.subarray(field.value, field.end);
      const info = fields(entry).filter((f) => f.number === 1).pop();
      const name = info ? stringField(entry.subarray(info.value, info.end), 1) ?? '' : '';
      if (!keep(name)) {
        continue;
      }
    }
    kept.push(response.subarray(field.start, field.end));
  }
  return Buffer.concat(kept);
}
