import { EventEmitter } from 'node:events';
import { TLSSocket } from 'node:tls';
import { ConnectionGuard } from '../../../services/codec-server/admission';

/** A socket that records being destroyed and can be closed. */
class FakeSocket extends EventEmitter {
  public destroyed = false;
  public destroy(): void {
    this.destroyed = true;
  }
}
const socket = () => new FakeSocket() as FakeSocket & TLSSocket;

afterEach(() => {
  jest.useRealTimers();
});

describe('ConnectionGuard', () => {
  test('counts a connection until a request on it authenticates, and then never closes it for that', () => {
    jest.useFakeTimers();
    const guard = new ConnectionGuard({ maxConnections: 10, maxUnauthenticated: 2, unauthenticatedMs: 1_000 });
    const s = socket();
    guard.opened(s);
    expect(guard.unauthenticated).toBe(1);
    guard.authenticated(s);
    expect(guard.unauthenticated).toBe(0);
    jest.advanceTimersByTime(5_000);
    expect(s.destroyed).toBe(false);
    guard.authenticated(s);
    expect(guard.unauthenticated).toBe(0);
  });

  test('closes a connection that stays unauthenticated for unauthenticatedMs, not before', () => {
    jest.useFakeTimers();
    const guard = new ConnectionGuard({ maxConnections: 10, maxUnauthenticated: 2, unauthenticatedMs: 1_000 });
    const s = socket();
    guard.opened(s);
    jest.advanceTimersByTime(999);
    expect(s.destroyed).toBe(false);
    jest.advanceTimersByTime(1);
    expect(s.destroyed).toBe(true);
    expect(guard.unauthenticated).toBe(0);
  });

  test('past the limit, closes the oldest unauthenticated connection to make room', () => {
    jest.useFakeTimers();
    const guard = new ConnectionGuard({ maxConnections: 10, maxUnauthenticated: 2, unauthenticatedMs: 1_000 });
    const [a, b, c] = [socket(), socket(), socket()];
    guard.opened(a);
    guard.opened(b);
    expect([a.destroyed, b.destroyed]).toEqual([false, false]);
    guard.opened(c);
    expect([a.destroyed, b.destroyed, c.destroyed]).toEqual([true, false, false]);
    expect(guard.unauthenticated).toBe(2);
    // The evicted connection's timer is gone with it; the others still run out.
    jest.advanceTimersByTime(1_000);
    expect([b.destroyed, c.destroyed]).toEqual([true, true]);
    expect(guard.unauthenticated).toBe(0);
  });

  test('forgets a connection that closes, and its timer', () => {
    jest.useFakeTimers();
    const guard = new ConnectionGuard({ maxConnections: 10, maxUnauthenticated: 1, unauthenticatedMs: 1_000 });
    const [a, b] = [socket(), socket()];
    guard.opened(a);
    a.emit('close');
    expect(guard.unauthenticated).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    guard.opened(b);
    expect(a.destroyed).toBe(false);
    expect(b.destroyed).toBe(false);
  });
});
