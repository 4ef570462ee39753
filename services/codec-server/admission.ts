/**
 * What keeps the codec server inside its memory limit: requests are admitted by the body bytes they may bring (each
 * costs a few times its body while it is parsed, decoded and answered), and connections are bounded in number and in
 * how long they may stay without an authenticated request. A request over the budget is answered 503 with
 * `Retry-After`, never queued in memory and never allowed to take the process down.
 */
import { TLSSocket } from 'node:tls';

/** The body bytes of the requests being served, against a budget. */
export class InFlight {
  private used = 0;

  public constructor(private readonly budget: number) {}

  /** Takes `bytes` of the budget; false (and nothing taken) when they do not fit. */
  public admit(bytes: number): boolean {
    if (this.used + bytes > this.budget) {
      return false;
    }
    this.used += bytes;
    return true;
  }

  public release(bytes: number): void {
    this.used -= bytes;
  }

  public get bytes(): number {
    return this.used;
  }
}

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

  /** A new connection (TLS done): false when it must be closed at once. */
  public opened(socket: TLSSocket): boolean {
    if (this.pending.size >= this.limits.maxUnauthenticated) {
      return false;
    }
    const timer = setTimeout(() => {
      this.pending.delete(socket);
      socket.destroy();
    }, this.limits.unauthenticatedMs);
    timer.unref();
    this.pending.set(socket, timer);
    socket.once('close', () => this.authenticated(socket));
    return true;
  }

  /** A request on `socket` authenticated: the connection is no longer counted. */
  public authenticated(socket: TLSSocket): void {
    const timer = this.pending.get(socket);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.pending.delete(socket);
    }
  }

  public get unauthenticated(): number {
    return this.pending.size;
  }
}
