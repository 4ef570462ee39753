/**
 * Connections of the codec server, bounded in number and in how long they may stay without an authenticated request.
 * (Requests are admitted by the body bytes they may bring, against the security core's ByteBudget.)
 */
import { TLSSocket } from 'node:tls';

export interface ConnectionLimits {
  /** Connections at once. */
  readonly maxConnections: number;
  /** Connections at once that have not yet carried an authenticated request. */
  readonly maxUnauthenticated: number;
  /** How long a connection may stay without an authenticated request before it is closed. */
  readonly unauthenticatedMs: number;
}

/**
 * Counts connections that have not (yet) carried an authenticated request, refuses new ones past the limit, and closes
 * those that stay unauthenticated too long. A connection leaves the count once a request on it authenticates.
 */
export class ConnectionGuard {
  private readonly pending = new Map<TLSSocket, NodeJS.Timeout>();

  public constructor(private readonly limits: ConnectionLimits) {}

  /**
   * A new connection (TLS done). Past the limit the oldest connection that never authenticated is closed to make room:
   * a flood of idle connections keeps turning over instead of locking callers out.
   */
  public opened(socket: TLSSocket): void {
    if (this.pending.size >= this.limits.maxUnauthenticated) {
      const [oldest, timer] = this.pending.entries().next().value as [TLSSocket, NodeJS.Timeout];
      clearTimeout(timer);
      this.pending.delete(oldest);
      oldest.destroy();
    }
    const timer = setTimeout(() => {
      this.pending.delete(socket);
      socket.destroy();
    }, this.limits.unauthenticatedMs);
    timer.unref();
    this.pending.set(socket, timer);
    socket.once('close', () => this.authenticated(socket));
  }

  /** A request on `socket` authenticated: the connection is no longer counted. */
  public authenticated(socket: TLSSocket): void {
    clearTimeout(this.pending.get(socket));
    this.pending.delete(socket);
  }

  public get unauthenticated(): number {
    return this.pending.size;
  }
}
