import { constants, ServerHttp2Stream } from 'node:http2';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  answerWithStatus, CallError, decompress, encodeMessage, formatTimeout, frame, httpStatusCode, messages, parseTimeout, Status, statusName,
} from '../../../services/authorizer-proxy/grpc';

async function callError(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (e) {
    return e instanceof CallError ? `${statusName(e.code)}: ${e.message}` : `not a CallError: ${String(e)}`;
  }
  return 'no error';
}

describe('status names', () => {
  it('does name every status gRPC defines, and give the number of any other', () => {
    expect(Object.values(Status).map(statusName)).toEqual(Object.keys(Status));
    expect(statusName(17)).toBe('17');
  });
});

describe('encodeMessage', () => {
  it('does percent-encode outside printable ASCII and "%" itself, and cut the text at 1 KiB', () => {
    expect(encodeMessage('a ~%\u00e9\n')).toBe('a ~%25%C3%A9%0A');
    expect(encodeMessage('x'.repeat(1024))).toBe('x'.repeat(1024));
    expect(encodeMessage('x'.repeat(1025))).toBe(`${'x'.repeat(1024)}...`);
  });
});

describe('grpc-timeout', () => {
  it('does read every unit, and nothing when the header is absent', () => {
    expect(parseTimeout(undefined)).toBeUndefined();
    expect(['2H', '3M', '4S', '5m', '6000u', '7000000n', '99999999m'].map((v) => parseTimeout(v)))
      .toEqual([7_200_000, 180_000, 4000, 5, 6, 7, 99_999_999]);
    expect(parseTimeout(['8S', '9S'])).toBe(8000);
  });

  it('does refuse a malformed header as INTERNAL, showing at most 20 characters of it', async () => {
    for (const bad of ['', '1', 'S', '1s', '123456789m', '-1S', '1.5S', ' 1S', '1S ', '1SS']) {
      expect(await callError(() => parseTimeout(bad))).toBe(`INTERNAL: malformed grpc-timeout header: ${bad}`);
    }
    expect(await callError(() => parseTimeout(`${'9'.repeat(30)}S`))).toBe(`INTERNAL: malformed grpc-timeout header: ${'9'.repeat(20)}`);
  });

  it('does write at most 8 digits in the smallest unit that holds the time, rounded up, and at least 1', () => {
    expect([0, 0.2, 1, 99_999_999, 100_000_000, 100_000_001, 99_999_999_000, 99_999_999_001, 6_000_000_000_000, 1e20].map(formatTimeout))
      .toEqual(['1m', '1m', '1m', '99999999m', '100000S', '100001S', '99999999S', '1666667M', '1666667H', '99999999H']);
    for (const ms of [1, 59_999, 3_600_000, 123_456_789_012]) {
      expect(parseTimeout(formatTimeout(ms))).toBeGreaterThanOrEqual(ms);
    }
  });
});

describe('httpStatusCode', () => {
  it('does map HTTP statuses as gRPC\'s HTTP/2 mapping does', () => {
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 200, 301].map((s) => statusName(httpStatusCode(s))))
      .toEqual(['INTERNAL', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'UNIMPLEMENTED', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE',
        'UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
  });
});

describe('framing', () => {
  it('does prefix a message with its flag and length, and read a body of several back', () => {
    expect([...frame(Buffer.from('ab'))]).toEqual([0, 0, 0, 0, 2, 0x61, 0x62]);
    const body = Buffer.concat([frame(Buffer.from('ab')), Buffer.from([1, 0, 0, 0, 1, 0x63]), frame(Buffer.alloc(0))]);
    expect(messages(body).map((m) => [m.compressed, m.message.toString()])).toEqual([[false, 'ab'], [true, 'c'], [false, '']]);
    expect(messages(Buffer.alloc(0))).toEqual([]);
    expect([...frame(Buffer.alloc(300))].slice(0, 5)).toEqual([0, 0, 0, 1, 44]);
  });

  it('does refuse a body cut inside a prefix or a message', async () => {
    const whole = frame(Buffer.from('abc'));
    expect(await callError(() => messages(whole.subarray(0, 4)))).toBe('INTERNAL: the frontend\'s answer ends inside a message prefix');
    expect(await callError(() => messages(Buffer.concat([whole, whole.subarray(0, 4)]))))
      .toBe('INTERNAL: the frontend\'s answer ends inside a message prefix');
    expect(await callError(() => messages(whole.subarray(0, 7)))).toBe('INTERNAL: the frontend\'s answer ends inside a message');
    expect(messages(whole.subarray(0, 8))).toHaveLength(1);
    // The second message of a body, cut: what is left after the first counts, not the whole body.
    expect(await callError(() => messages(Buffer.concat([whole, whole.subarray(0, 7)])))).toBe('INTERNAL: the frontend\'s answer ends inside a message');
  });
});

describe('decompress', () => {
  const text = Buffer.from('x'.repeat(1000));

  it('does inflate gzip and deflate up to the limit, exactly', async () => {
    expect((await decompress(gzipSync(text), 'gzip', 1000)).equals(text)).toBe(true);
    expect((await decompress(deflateSync(text), 'deflate', 1000)).equals(text)).toBe(true);
    expect(await callError(() => decompress(gzipSync(text), 'gzip', 999))).toBe('RESOURCE_EXHAUSTED: the message decompresses to more than 999 bytes');
    expect(await callError(() => decompress(deflateSync(text), 'deflate', 999)))
      .toBe('RESOURCE_EXHAUSTED: the message decompresses to more than 999 bytes');
  });

  it('does refuse an encoding it does not read, and bytes that do not inflate', async () => {
    expect(await callError(() => decompress(text, 'snappy', 1000)))
      .toBe('UNIMPLEMENTED: the message is compressed with snappy, which the proxy does not read');
    expect(await callError(() => decompress(text, undefined, 1000)))
      .toBe('UNIMPLEMENTED: the message is compressed with no declared encoding, which the proxy does not read');
    expect(await callError(() => decompress(text, 'y'.repeat(100), 1000)))
      .toBe(`UNIMPLEMENTED: the message is compressed with ${'y'.repeat(32)}, which the proxy does not read`);
    expect(await callError(() => decompress(text, 'gzip', 1000))).toBe('INTERNAL: the compressed message does not decompress');
    expect(await callError(() => decompress(gzipSync(text), 'deflate', 1000))).toBe('INTERNAL: the compressed message does not decompress');
  });
});

describe('answerWithStatus', () => {
  /** A stream that records what is done to it. */
  function fakeStream(state: Partial<Record<'destroyed' | 'closed' | 'headersSent' | 'readableEnded', boolean>> = {}, respondThrows = false) {
    const calls: unknown[][] = [];
    const stream = { destroyed: false, closed: false, headersSent: false, readableEnded: false, ...state,
      respond: (...args: unknown[]) => {
        calls.push(['respond', ...args]);
        if (respondThrows) {
          throw new Error('the stream is gone');
        }
      },
      close: (code: number) => calls.push(['close', code]) };
    return { stream: stream as unknown as ServerHttp2Stream, calls };
  }

  it('does answer trailers-only with the status and its encoded message, and stop the caller sending', () => {
    const { stream, calls } = fakeStream();
    answerWithStatus(stream, Status.PERMISSION_DENIED, 'no role on billing permits this: 100%');
    expect(calls).toEqual([
      ['respond', { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'no role on billing permits this: 100%25' },
        { endStream: true }],
      ['close', constants.NGHTTP2_NO_ERROR],
    ]);
  });

  it('does not reset a stream whose caller had finished sending', () => {
    const { stream, calls } = fakeStream({ readableEnded: true });
    answerWithStatus(stream, Status.INTERNAL, 'x');
    expect(calls.map((c) => c[0])).toEqual(['respond']);
  });

  it('does nothing to a stream that is gone or already answered', () => {
    for (const state of [{ destroyed: true }, { closed: true }, { headersSent: true }]) {
      const { stream, calls } = fakeStream(state);
      answerWithStatus(stream, Status.INTERNAL, 'x');
      expect(calls).toEqual([]);
    }
  });

  it('does reset the stream when the answer cannot be written', () => {
    const { stream, calls } = fakeStream({}, true);
    answerWithStatus(stream, Status.INTERNAL, 'x');
    expect(calls.map((c) => c[0])).toEqual(['respond', 'close']);
    expect(calls[1]).toEqual(['close', constants.NGHTTP2_INTERNAL_ERROR]);
  });
});
