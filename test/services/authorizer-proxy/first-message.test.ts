/** The proxy's reader of a call's first message, chunk by chunk, against a stream the test drives. */
import { EventEmitter } from 'node:events';
import { ServerHttp2Stream } from 'node:http2';
import { readFirstMessage } from '../../../services/authorizer-proxy/calls';
import { CallError, frame, statusName } from '../../../services/authorizer-proxy/grpc';
import { ByteBudget } from '../../../services/security/budget';

class FakeStream extends EventEmitter {
  public paused = false;
  public pause(): this {
    this.paused = true;
    return this;
  }
  public resume(): this {
    this.paused = false;
    return this;
  }
}

function reader(limit = 1024, budgetBytes = 1 << 20) {
  const stream = new FakeStream();
  const budget = new ByteBudget(budgetBytes);
  const reserved = { bytes: 0 };
  const result = readFirstMessage(stream as unknown as ServerHttp2Stream, limit, budget, reserved,
    (length) => new CallError(8, `too large: ${length}`));
  return { stream, budget, reserved, result };
}

async function failure(result: Promise<unknown>): Promise<string> {
  try {
    await result;
  } catch (e) {
    return e instanceof CallError ? `${statusName(e.code)}: ${e.message}` : `not a CallError: ${String(e)}`;
  }
  return 'no failure';
}

describe('readFirstMessage', () => {
  it('does read a message whose prefix and body come in pieces, keep what follows it, and stop listening', async () => {
    const { stream, reserved, result } = reader();
    const whole = Buffer.concat([frame(Buffer.from('hello')), Buffer.from('NEXT')]);
    expect(stream.paused).toBe(false);
    for (const piece of [whole.subarray(0, 2), whole.subarray(2, 4), whole.subarray(4, 7), whole.subarray(7)]) {
      stream.emit('data', piece);
    }
    const first = await result;
    expect(first.message.toString()).toBe('hello');
    expect([...(first.frame ?? [])]).toEqual([...frame(Buffer.from('hello'))]);
    expect(first.rest.toString()).toBe('NEXT');
    expect([first.compressed, first.ended]).toEqual([false, false]);
    expect(reserved.bytes).toBe(whole.length);
    expect(stream.paused).toBe(true);
    expect([stream.listenerCount('data'), stream.listenerCount('end'), stream.listenerCount('close')]).toEqual([0, 0, 0]);
  });

  it('does read a message in one chunk, an empty message, and the compressed flag', async () => {
    const one = reader();
    one.stream.emit('data', Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), Buffer.from('ab')]));
    const compressed = await one.result;
    expect([compressed.compressed, compressed.message.toString(), compressed.rest.length]).toEqual([true, 'ab', 0]);
    const empty = reader();
    empty.stream.emit('data', frame(Buffer.alloc(0)));
    expect((await empty.result).message.length).toBe(0);
  });

  it('does refuse a message from its declared length, at the limit\'s edge', async () => {
    const atLimit = reader(4);
    atLimit.stream.emit('data', frame(Buffer.from('abcd')));
    expect((await atLimit.result).message.toString()).toBe('abcd');
    const past = reader(4);
    past.stream.emit('data', Buffer.from([0, 0, 0, 0, 5]));
    expect(await failure(past.result)).toBe('RESOURCE_EXHAUSTED: too large: 5');
  });

  it('does count bytes against the shared budget as they arrive, and refuse past it', async () => {
    const { stream, budget, result } = reader(1024, 6);
    stream.emit('data', Buffer.from([0, 0, 0, 0, 3]));
    stream.emit('data', Buffer.from('a'));
    stream.emit('data', Buffer.from('bc'));
    expect(await failure(result)).toBe('RESOURCE_EXHAUSTED: the proxy is holding as many request bytes as it may: retry shortly');
    expect(budget.reserve(0)).toBe(true);
    expect(budget.reserve(1)).toBe(false);
  });

  it('does tell a call that ended without a message from one cut inside it, and a caller that went away', async () => {
    const nothing = reader();
    nothing.stream.emit('end');
    expect(await failure(nothing.result)).toBe('INTERNAL: the call carries no request message');
    const inPrefix = reader();
    inPrefix.stream.emit('data', Buffer.from([0, 0]));
    inPrefix.stream.emit('end');
    expect(await failure(inPrefix.result)).toBe('INTERNAL: the request ends inside a message');
    const inMessage = reader();
    inMessage.stream.emit('data', Buffer.from([0, 0, 0, 0, 3, 0x61]));
    inMessage.stream.emit('end');
    expect(await failure(inMessage.result)).toBe('INTERNAL: the request ends inside a message');
    const gone = reader();
    gone.stream.emit('close');
    expect(await failure(gone.result)).toBe('CANCELLED: cancelled by the caller');
  });
});
