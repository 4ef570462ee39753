/**
 * The connections to the frontend: HTTP/2 sessions over mutual TLS with the proxy's platform-clients certificate, the
 * frontend's name verified against its CA (a purpose CA, so OpenSSL is told to accept a partial chain). A small pool,
 * so that calls spread over the frontend's pods (a Service balances connections, not calls); each session carries many
 * calls at once. When the certificate files change (rotation), new calls go over fresh sessions; the old ones finish
 * the calls in flight (GOAWAY) and are destroyed after a grace period.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ClientHttp2Session, ClientSessionOptions, connect, constants } from 'node:http2';
import { createSecureContext, SecureContext } from 'node:tls';

export interface UpstreamOptions {
  /** `host:port` of the frontend. */
  readonly address: string;
  /** The name the frontend's certificate must carry. */
  readonly serverName: string;
  /** PEM files of the frontend's CA (every certificate of each: both key slots during a rollover). */
  readonly caFiles: readonly string[];
  /** PEM files: the proxy's client certificate (with its chain) and key. */
  readonly certFile: string;
  readonly keyFile: string;
  /** How long an old session lives after a rotation (longer than the longest call, a 70 s long poll). @default 120000 */
  readonly drainMs?: number;
  /** Sessions kept open to the frontend. @default 2 */
  readonly poolSize?: number;
  /**
   * Each session is pinged this often, and destroyed when a ping goes unanswered for `pingTimeoutMs`: a frontend that
   * vanished without closing its connections (a node lost) costs new calls nothing. @default 30000
   */
  readonly pingIntervalMs?: number;
  /** @default 10000 */
  readonly pingTimeoutMs?: number;
  /**
   * A session whose TLS handshake has not completed this long after it was opened is destroyed, and the calls waiting
   * on it end `UNAVAILABLE` (ETIMEDOUT): a frontend whose process hangs still has its connections accepted by the
   * kernel, and nothing else would ever end them. @default 10000
   */
  readonly connectTimeoutMs?: number;
}

/** The largest message a caller may send once authenticated, and the frontend may answer: the frontend's own limit. */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/**
 * Flow-control windows towards the trusted frontend: large enough that answers stream at the network's speed, small
 * enough that an answer a slow caller does not read holds at most this much in the proxy (per call; per session).
 */
const STREAM_WINDOW = 256 * 1024;
const SESSION_WINDOW = 8 * 1024 * 1024;

export class Upstream {
  private context: SecureContext;
  private digest: string;
  private sessions: (ClientHttp2Session | undefined)[];
  private next = 0;
  private readonly retired = new Set<ClientHttp2Session>();
  private closed = false;

  public constructor(private readonly options: UpstreamOptions) {
    const { context, digest } = this.read();
    this.context = context;
    this.digest = digest;
    this.sessions = new Array<ClientHttp2Session | undefined>(options.poolSize ?? 2).fill(undefined);
  }

  private read(): { context: SecureContext; digest: string } {
    // Each CA file ends with a newline (PEM), so that their concatenation is one bundle.
    const ca = Buffer.concat(this.options.caFiles.flatMap((f) => [readFileSync(f), Buffer.from('\n')]));
    const [cert, key] = [this.options.certFile, this.options.keyFile].map((f) => readFileSync(f));
    return {
      context: createSecureContext({ ca, cert, key, allowPartialTrustChain: true, minVersion: 'TLSv1.2' }),
      digest: createHash('sha256').update(ca).update(cert).update(key).digest('hex'),
    };
  }

  private connect(): ClientHttp2Session {
    const options: ClientSessionOptions & { secureContext: SecureContext; servername: string } = {
      secureContext: this.context,
      servername: this.options.serverName,
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      // Large messages of authenticated callers are queued on this session until the frontend takes them.
      maxSessionMemory: 512,
    };
    const session = connect(`https://${this.options.address}`, options);
    const connectMs = this.options.connectTimeoutMs ?? 10_000;
    const connecting = setTimeout(() => session.destroy(Object.assign(
      new Error(`the frontend did not complete the TLS handshake within ${connectMs} ms`), { code: 'ETIMEDOUT' })), connectMs);
    connecting.unref();
    session.once('connect', () => {
      clearTimeout(connecting);
      session.setLocalWindowSize(SESSION_WINDOW);
    });
    // A dead connection is noticed by a ping that goes unanswered (Node's ping waits for ever), not by calls hanging.
    let unanswered: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      // Not while connecting: Node cancels such a ping at once (the connect timeout covers that time).
      if (unanswered === undefined && !session.connecting && !session.closed && !session.destroyed) {
        unanswered = setTimeout(() => session.destroy(), this.options.pingTimeoutMs ?? 10_000);
        unanswered.unref();
        session.ping(() => {
          clearTimeout(unanswered);
          unanswered = undefined;
        });
      }
    }, this.options.pingIntervalMs ?? 30_000);
    ping.unref();
    // Without a listener, a session's error (the frontend refusing the connection) would end the program.
    session.on('error', () => undefined);
    session.once('close', () => {
      clearTimeout(connecting);
      clearInterval(ping);
      clearTimeout(unanswered);
      this.retired.delete(session);
    });
    session.unref();
    return session;
  }

  /**
   * A session for a new call (round robin over the pool, connecting where a slot is empty or its session is closed: a
   * frontend going away, in a rollout, sends GOAWAY, and Node marks the session closed while its calls finish).
   */
  public session(): ClientHttp2Session {
    if (this.closed) {
      throw new Error('the upstream is closed');
    }
    const slot = this.next;
    this.next = (this.next + 1) % this.sessions.length;
    let session = this.sessions[slot];
    if (session === undefined || session.closed || session.destroyed) {
      session = this.connect();
      this.sessions[slot] = session;
    }
    return session;
  }

  /** Re-reads the certificate files; on a change, new calls use new sessions. Returns true on a change. */
  public reload(): boolean {
    const { context, digest } = this.read();
    if (digest === this.digest) {
      return false;
    }
    this.context = context;
    this.digest = digest;
    const old = this.sessions.filter((s): s is ClientHttp2Session => s !== undefined);
    this.sessions = this.sessions.map(() => undefined);
    for (const session of old) {
      this.retired.add(session);
      session.close();
      setTimeout(() => session.destroy(), this.options.drainMs ?? 120_000).unref();
    }
    return true;
  }

  public close(): void {
    this.closed = true;
    for (const session of [...this.sessions, ...this.retired]) {
      session?.destroy(undefined, constants.NGHTTP2_NO_ERROR);
    }
    this.sessions = this.sessions.map(() => undefined);
    this.retired.clear();
  }
}
