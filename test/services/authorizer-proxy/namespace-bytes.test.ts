/** The proxy's protobuf field reader byte by byte: every wire type, the last occurrence winning, and each malformation. */
import { filterNamespaceList, hasNonEmptyField, keepFields, MalformedRequest, stringField } from '../../../services/authorizer-proxy/namespace';

const b = (...bytes: number[]) => Uint8Array.from(bytes);
const str = (s: string) => [...Buffer.from(s)];

function malformed(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return e instanceof MalformedRequest ? e.message : `not MalformedRequest: ${String(e)}`;
  }
  return 'accepted';
}

describe('reading fields', () => {
  // field 1 varint 150 (2 bytes), field 2 fixed64, field 3 string "ab", field 4 fixed32, field 3 again "cd", field 16 string "x"
  const message = b(0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, ...str('ab'), 0x25, 1, 2, 3, 4, 0x1a, 2, ...str('cd'),
    0x82, 0x01, 1, ...str('x'));

  it('does find a string field after fields of every wire type, the last occurrence winning, field numbers past 15 too', () => {
    expect(stringField(message, 3)).toBe('cd');
    expect(stringField(message, 16)).toBe('x');
    expect(stringField(message, 1)).toBeUndefined();
    expect(stringField(message, 5)).toBeUndefined();
    expect(stringField(b(), 1)).toBeUndefined();
  });

  it('does keep the fields asked for, byte for byte, in their order', () => {
    expect([...keepFields(message, [1, 4])]).toEqual([0x08, 0x96, 0x01, 0x25, 1, 2, 3, 4]);
    expect([...keepFields(message, [3])]).toEqual([0x1a, 2, ...str('ab'), 0x1a, 2, ...str('cd')]);
    expect([...keepFields(message, [2])]).toEqual([0x11, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...keepFields(message, [])]).toEqual([]);
  });

  it('does tell a present, non-empty field from an empty or absent one', () => {
    expect(hasNonEmptyField(message, 3)).toBe(true);
    expect(hasNonEmptyField(message, 1)).toBe(true);
    expect(hasNonEmptyField(b(0x1a, 0), 3)).toBe(false);
    expect(hasNonEmptyField(b(0x1a, 0, 0x1a, 1, 0x61), 3)).toBe(true);
    expect(hasNonEmptyField(b(0x08, 0x00), 1)).toBe(true);
    expect(hasNonEmptyField(message, 9)).toBe(false);
  });

  it('does refuse each malformation with its reason', () => {
    expect(malformed(() => stringField(b(0x08, 0x96), 1))).toBe('truncated varint');
    expect(malformed(() => stringField(b(0x08, ...Array(10).fill(0x80), 1), 1))).toBe('truncated varint');
    expect(malformed(() => stringField(b(0x0b), 1))).toBe('unsupported wire type 3');
    expect(malformed(() => stringField(b(0x0c), 1))).toBe('unsupported wire type 4');
    expect(malformed(() => stringField(b(0x0e), 1))).toBe('unsupported wire type 6');
    expect(malformed(() => stringField(b(0x11, 1, 2, 3, 4, 5, 6, 7), 1))).toBe('truncated field');
    expect(malformed(() => stringField(b(0x15, 1, 2, 3), 1))).toBe('truncated field');
    expect(malformed(() => stringField(b(0x0a, 3, 0x61, 0x62), 1))).toBe('truncated field');
    expect(malformed(() => stringField(b(0x02, 0), 1))).toBe('truncated field');
    // Exactly long enough is a message.
    expect(stringField(b(0x0a, 2, 0x61, 0x62), 1)).toBe('ab');
    expect(stringField(b(0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 1, 0x61), 1)).toBe('a');
    expect(stringField(b(0x15, 1, 2, 3, 4, 0x0a, 1, 0x61), 1)).toBe('a');
  });
});

describe('filterNamespaceList', () => {
  const entry = (name: string) => {
    const info = [0x0a, name.length, ...str(name)];
    const describe = [0x0a, info.length, ...info];
    return [0x0a, describe.length, ...describe];
  };

  it('does judge an entry by its last namespace_info, and an entry without one as the empty name', () => {
    const twoInfos = [0x0a, 2 + 3 + 2 + 3, 0x0a, 3, 0x0a, 1, ...str('a'), 0x0a, 3, 0x0a, 1, ...str('b')];
    const seen: string[] = [];
    filterNamespaceList(b(...twoInfos, 0x0a, 0, ...entry('c')), (ns) => {
      seen.push(ns);
      return true;
    });
    expect(seen).toEqual(['b', '', 'c']);
    expect([...filterNamespaceList(b(...entry('a'), 0x12, 1, 0x70, ...entry('b')), (ns) => ns === 'b')]).toEqual([0x12, 1, 0x70, ...entry('b')]);
  });
});
