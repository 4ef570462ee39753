/**
 * One call through the proxy, on the bytes: authenticate from the connection's certificate and the call's headers
 * (before reading anything of the body), read the first message within the caller's budget, decide on the namespace it
 * names, and forward the frames to the frontend with a token minted for the caller; the answer streams back frame by
 * frame, headers and trailers as the frontend sent them. Deadlines, cancellation and status codes behave as for a
 * direct call: the deadline goes upstream with the time already spent taken off, a cancelled call cancels upstream,
 * and a broken upstream call ends with the status gRPC gives it (UNAVAILABLE, CANCELLED ...).
 */
import { ClientHttp2Session, ClientHttp2Stream, constants, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Logger } from 'pino';
import { ApiMethod, apiMethod } from '../../lib/authorizer/api';
import { isTemporalNamespaceName } from '../../lib/core/names';
import {
  AuthorizerPolicy, authorize, grantsOf, Grants, permissionsFor, SYSTEM_NAMESPACE, visibleNamespaces,
} from '../../lib/authorizer/policy';
import { Authenticated, Authenticator, Credentials } from '../security/authenticate';
import { Clock } from '../security/clock';
import { ByteBudget } from '../security/budget';
import { Busy, Unauthenticated } from '../security/errors';
import {
  answerWithStatus, CallError, decompress, encodeMessage, formatTimeout, frame, httpStatusCode, messages, parseTimeout, Status, statusName,
} from './grpc';
import { filterNamespaceList, hasNonEmptyField, keepFields, MalformedRequest, stringField } from './namespace';
import { AuditRecord, ProxyMetrics } from './observability';
import { TokenSigner } from './signer';
import { Upstream } from './upstream';

/** What bounds a call, before and after it is authenticated. */
export interface CallLimits {
  /** The largest message of an authenticated caller (the frontend's own limit). */
  readonly maxMessageBytes: number;
  /**
   * The largest message of a call that needs no credentials (health checks), and of a caller who holds no role at all
   * (who is refused once the message names what it asked for).
   */
  readonly unauthenticatedMessageBytes: number;
  /** How long a call may take to send its first message, from its headers (a caller that declares and then stalls). */
  readonly firstMessageSeconds: number;
}

export interface CallContext {
  readonly authenticator: Authenticator;
  readonly policy: () => AuthorizerPolicy;
  readonly signer: TokenSigner;
  readonly upstream: Upstream;
  /** The frontend's name (`:authority` of forwarded calls). */
  readonly serverName: string;
  readonly limits: CallLimits;
  readonly metrics: ProxyMetrics;
  readonly audit: Logger;
  readonly log: Logger;
  readonly clock: Clock;
}

/** The largest answer the proxy reads whole to narrow it (ListNamespaces, GetClusterInfo: a page is a few KiB). */
const MAX_NARROWED_BYTES = 16 * 1024 * 1024;

/** The longest a timer can wait (setTimeout's limit): a longer deadline is the frontend's alone to enforce. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Headers the proxy sets or that belong to the transport, never forwarded as they came. */
const DROPPED_HEADERS = new Set(['authorization', 'authorization-extras', 'te', 'content-type', 'user-agent', 'host', 'content-length',
  // The server gives these callers priority and their own rate limits (caller type `operator`, `background` ...):
  // a client does not choose them.
  'caller-type', 'caller-name', 'call-initiation']);

/** Response headers that are the proxy's to set. */
const RESPONSE_DROPPED = new Set([':status', 'content-length', 'date']);

/** GetClusterInfoResponse fields a caller without a temporal-system role sees: the client and server versions, the cluster's name. */
const CLUSTER_INFO_FOR_ALL = [1, 2, 4, 5];

/** The first message of a call, and what came after it. */
export interface FirstMessage {
  /** The message's frame as it came (the 5-byte prefix and the message); none once the proxy decompressed it. */
  readonly frame?: Buffer;
  readonly compressed: boolean;
  readonly message: Buffer;
  /** Bytes after the first message (a second frame, which unary calls never send). */
  readonly rest: Buffer;
  /** The caller had ended its side already. */
  readonly ended: boolean;
}

/**
 * Reads the first length-prefixed message of `stream`: refused from its length prefix alone when it declares more than
 * `limit` (`tooLarge` says how), and past the shared budget, which counts bytes as they arrive (a caller that declares a
 * large message and sends nothing holds nothing). The message is copied, as it arrives, into one buffer of its size.
 */
export function readFirstMessage(stream: ServerHttp2Stream, limit: number, budget: ByteBudget, reserved: { bytes: number },
  tooLarge: (length: number) => CallError): Promise<FirstMessage> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    let frame: Buffer | undefined;
    let filled = 0;
    const extra: Buffer[] = [];
    const done = (result: FirstMessage | Error): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onClose);
      stream.pause();
      if (result instanceof Error) {
        reject(result);
      } else {
        resolve(result);
      }
    };
    const complete = (ended: boolean): void => {
      const whole = frame as Buffer;
      done({ frame: whole, compressed: whole[0] === 1, message: whole.subarray(5), rest: Buffer.concat(extra), ended });
    };
    const take = (chunk: Buffer): void => {
      const whole = frame as Buffer;
      const n = Math.min(chunk.length, whole.length - filled);
      chunk.copy(whole, filled, 0, n);
      filled += n;
      if (n < chunk.length) {
        extra.push(chunk.subarray(n));
      }
    };
    const onData = (chunk: Buffer): void => {
      if (!budget.reserve(chunk.length)) {
        done(new CallError(Status.RESOURCE_EXHAUSTED, 'the proxy is holding as many request bytes as it may: retry shortly'));
        return;
      }
      reserved.bytes += chunk.length;
      if (frame !== undefined) {
        take(chunk);
      } else {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        if (head.length < 5) {
          return;
        }
        const length = head.readUInt32BE(1);
        if (length > limit) {
          done(tooLarge(length));
          return;
        }
        // Pages of an unwritten buffer are not resident: memory follows the bytes that came, as the budget does.
        frame = Buffer.allocUnsafe(5 + length);
        take(head);
        head = Buffer.alloc(0);
      }
      if (frame !== undefined && filled === frame.length) {
        complete(false);
      }
    };
    const onEnd = (): void => {
      if (frame !== undefined && filled === frame.length) {
        complete(true);
      } else {
        done(new CallError(Status.INTERNAL, frame === undefined && head.length === 0 ? 'the call carries no request message'
          : 'the request ends inside a message'));
      }
    };
    const onClose = (): void => done(new CallError(Status.CANCELLED, 'cancelled by the caller'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.resume();
  });
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The caller's metadata for the frontend: reserved and transport headers dropped, the proxy's token as the only credential. */
export function forwardedHeaders(incoming: IncomingHttpHeaders, path: string, serverName: string, deadlineMs: number | undefined,
  token: string | undefined, acceptEncoding: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ':method': 'POST', ':scheme': 'https', ':path': path, ':authority': serverName,
    'content-type': 'application/grpc', 'te': 'trailers',
    'user-agent': 'secure-temporal-authorizer-proxy',
  };
  for (const [key, value] of Object.entries(incoming)) {
    if (!key.startsWith(':') && !key.startsWith('grpc-') && !DROPPED_HEADERS.has(key) && value !== undefined) {
      out[key] = value;
    }
  }
  if (deadlineMs !== undefined) {
    out['grpc-timeout'] = formatTimeout(deadlineMs);
  }
  // Trace context travels on (it grants nothing).
  const trace = incoming['grpc-trace-bin'];
  if (trace !== undefined) {
    out['grpc-trace-bin'] = trace;
  }
  const accept = incoming['grpc-accept-encoding'];
  if (acceptEncoding && accept !== undefined) {
    out['grpc-accept-encoding'] = accept;
  }
  if (token !== undefined) {
    out.authorization = `Bearer ${token}`;
  }
  return out;
}

export function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': 200 };
  for (const [key, value] of Object.entries(incoming)) {
    if (!key.startsWith(':') && !RESPONSE_DROPPED.has(key) && value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

/**
 * The status of a call whose frontend stream closed before its answer was through: UNAVAILABLE when the connection to the
 * frontend was lost (Node then closes its streams with CANCEL, which is not the frontend cancelling: a caller may retry
 * it), else what the stream's reset code says, else INTERNAL.
 */
export function closedStatus(rstCode: number | undefined, connectionLost: boolean): [number, string] {
  if (connectionLost) {
    return [Status.UNAVAILABLE, 'the connection to the frontend was lost during the call'];
  }
  return rstCode !== undefined && rstCode !== constants.NGHTTP2_NO_ERROR ? resetStatus(rstCode)
    : [Status.INTERNAL, 'the frontend ended the call without a status'];
}

/** The status gRPC gives a call whose stream was reset with `code` (as grpc-js and grpc-go map them). */
export function resetStatus(code: number | undefined): [number, string] {
  switch (code) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return [Status.UNAVAILABLE, 'the frontend refused the call (REFUSED_STREAM)'];
    case constants.NGHTTP2_CANCEL:
      return [Status.CANCELLED, 'the frontend cancelled the call'];
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return [Status.RESOURCE_EXHAUSTED, 'the frontend asked to slow down (ENHANCE_YOUR_CALM)'];
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return [Status.PERMISSION_DENIED, 'the frontend found the connection\'s security inadequate'];
    default:
      return [Status.INTERNAL, `Received RST_STREAM with code ${code ?? 'unknown'}`];
  }
}

/** How an answer is narrowed for a caller before it goes back (ListNamespaces, GetClusterInfo), when it is. */
function narrowing(api: ApiMethod, grants: Grants): ((message: Buffer) => Buffer) | undefined {
  const system = (grants.roles.get(SYSTEM_NAMESPACE)?.size ?? 0) > 0;
  if (api.anyGranted === 'filtered' && !system) {
    const keep = visibleNamespaces(grants);
    return (message) => filterNamespaceList(message, keep);
  }
  if (api.name === 'GetClusterInfo' && !system) {
    return (message) => keepFields(message, CLUSTER_INFO_FOR_ALL);
  }
  return undefined;
}

/**
 * Serves one call on `stream`. `certificate` is the connection's client certificate when TLS verified it (read once
 * per connection).
 */
export function serveCall(context: CallContext, budget: ByteBudget, stream: ServerHttp2Stream, headers: IncomingHttpHeaders,
  connection: Connection): void {
  const path = String(headers[':path'] ?? '');
  const api = apiMethod(path);
  // Protobuf only: the proxy reads the message as protobuf, so another codec (`application/grpc+json`) is refused.
  const type = String(headers['content-type'] ?? '').split(';')[0].trim();
  if (headers[':method'] !== 'POST' || (type !== 'application/grpc' && type !== 'application/grpc+proto')) {
    stream.respond({ ':status': headers[':method'] !== 'POST' ? 405 : 415 }, { endStream: true });
    return;
  }
  if (api === undefined) {
    answerWithStatus(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${path.slice(0, 200)}`);
    return;
  }
  new Call(context, budget, stream, headers, connection, api).start();
}

/** What a call knows of its connection: the client certificate TLS verified (read once), and how to say it authenticated. */
export interface Connection {
  readonly certificate: Credentials['certificate'];
  /** A call on the connection authenticated: the connection is no longer one that never did. */
  authenticated(): void;
}

class Call {
  private readonly started = process.hrtime.bigint();
  private readonly deadlineAt?: number;
  private timer?: NodeJS.Timeout;
  private upstreamStream?: ClientHttp2Stream;
  private trailers: OutgoingHttpHeaders = {};
  private finished = false;
  private readonly reserved = { bytes: 0 };
  private record: Omit<AuditRecord, 'latencyMs' | 'status'>;

  private firstMessageTimer?: NodeJS.Timeout;
  private readonly timeoutError?: CallError;

  public constructor(private readonly context: CallContext, private readonly budget: ByteBudget, private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders, private readonly connection: Connection, private readonly api: ApiMethod) {
    this.record = { identity: 'unknown', auth: 'none', api: api.name, decision: 'deny', reason: '' };
    try {
      const timeoutMs = parseTimeout(headers['grpc-timeout']);
      if (timeoutMs !== undefined) {
        this.deadlineAt = context.clock() + timeoutMs;
      }
    } catch (e) {
      this.timeoutError = e as CallError;
    }
  }

  public start(): void {
    this.context.metrics.inFlight.inc();
    // A deadline longer than a timer can hold (about 24.8 days) is left to the frontend alone.
    const remaining = this.deadlineAt === undefined ? undefined : Math.max(0, this.deadlineAt - this.context.clock());
    if (remaining !== undefined && remaining <= MAX_TIMER_MS) {
      this.timer = setTimeout(() => this.end(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'), remaining);
    }
    const firstMessageMs = this.context.limits.firstMessageSeconds * 1000;
    this.firstMessageTimer = setTimeout(() => this.end(Status.DEADLINE_EXCEEDED,
      `the request message did not arrive within ${this.context.limits.firstMessageSeconds} s`), firstMessageMs);
    this.stream.on('close', () => {
      if (!this.finished) {
        // The caller went away (cancelled, its deadline passed, its connection broke): so does the call upstream.
        if (this.upstreamStream !== undefined && !this.upstreamStream.closed) {
          this.upstreamStream.close(constants.NGHTTP2_CANCEL);
        }
        this.record = { ...this.record, reason: this.record.reason || 'cancelled by the caller' };
        this.finish(Status.CANCELLED);
      }
    });
    this.stream.on('error', () => undefined);
    this.run().catch((e: unknown) => this.fail(e));
  }

  private async run(): Promise<void> {
    const { context, api } = this;
    if (this.timeoutError !== undefined) {
      throw this.timeoutError;
    }
    if (api.health) {
      // As on the server: health checks need no credentials, reveal nothing, and go on without a token.
      this.record = { ...this.record, identity: 'anonymous', auth: 'none', decision: 'allow', reason: 'health check' };
      const first = await this.read(context.limits.unauthenticatedMessageBytes,
        (length) => new CallError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${context.limits.unauthenticatedMessageBytes})`));
      this.forward(first, undefined, undefined);
      return;
    }
    const caller = await this.authenticate();
    this.connection.authenticated();
    this.record = { ...this.record, identity: caller.id, auth: caller.auth };
    const grants = grantsOf(context.policy(), caller.identity);
    // A caller who holds no role at all is refused whatever it asks; its message is read only as far as a small one
    // goes (to name what it asked for), never to the frontend's limit.
    const granted = grants.roles.size > 0;
    const limit = granted ? context.limits.maxMessageBytes : context.limits.unauthenticatedMessageBytes;
    const first = await this.read(limit, (length) => granted
      ? new CallError(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs. ${limit})`)
      : new CallError(Status.PERMISSION_DENIED, `${api.name}: this identity holds no role`));
    let message = first.message;
    if (first.compressed) {
      message = await decompress(first.message, firstHeader(this.headers['grpc-encoding']), limit);
      // What the message takes in the clear counts against the budget until it is handed to the frontend.
      if (!this.budget.reserve(message.length)) {
        throw new CallError(Status.RESOURCE_EXHAUSTED, 'the proxy is holding as many request bytes as it may: retry shortly');
      }
      this.reserved.bytes += message.length;
    }
    let namespace: string | undefined;
    if (api.scope === 'namespace') {
      namespace = stringField(message, api.namespaceField ?? 1);
      if (namespace !== undefined && namespace !== '' && !isTemporalNamespaceName(namespace)) {
        this.record = { ...this.record, namespace: (namespace as string).slice(0, 255) };
        this.deny(Status.INVALID_ARGUMENT, 'the request names no valid Temporal namespace', 'invalid namespace name');
        return;
      }
      this.record = { ...this.record, namespace };
      const header = firstHeader(this.headers['temporal-namespace']);
      if (header !== undefined && header !== '' && header !== namespace) {
        this.deny(Status.PERMISSION_DENIED, 'the temporal-namespace header and the request name different namespaces',
          'namespace header and message disagree');
        return;
      }
      if (api.namespaceIdField !== undefined && hasNonEmptyField(message, api.namespaceIdField)) {
        this.deny(Status.INVALID_ARGUMENT, `${api.name} through the proxy names its namespace by name only: leave the namespace id empty`,
          'namespace named by id');
        return;
      }
    }
    const decision = authorize(grants, api, namespace);
    this.record = { ...this.record, rules: grants.rules, reason: decision.reason };
    if (!decision.allow) {
      this.deny(Status.PERMISSION_DENIED, decision.reason, decision.reason);
      return;
    }
    this.record = { ...this.record, decision: 'allow' };
    const token = await context.signer.mint(caller.id, permissionsFor(grants, api, namespace));
    // A compressed request goes on in the clear (the frontend need not read the caller's compression).
    this.forward(first.compressed ? { ...first, frame: undefined, compressed: false, message } : first, token, narrowing(api, grants));
  }

  /** The first message, within `limit` and the first-message time. */
  private async read(limit: number, tooLarge: (length: number) => CallError): Promise<FirstMessage> {
    const first = await readFirstMessage(this.stream, limit, this.budget, this.reserved, tooLarge);
    clearTimeout(this.firstMessageTimer);
    return first;
  }

  /**
   * The caller's identity (the security core refuses a call that presents nothing, with its reason), or RESOURCE_EXHAUSTED
   * when too many tokens are being verified already (its Busy). Until then nothing of the body is read: at most a stream
   * window waits unread.
   */
  private async authenticate(): Promise<Authenticated> {
    try {
      return await this.context.authenticator.authenticate({ certificate: this.connection.certificate,
        authorization: this.headers.authorization });
    } catch (e) {
      throw e instanceof Busy ? new CallError(Status.RESOURCE_EXHAUSTED, 'the proxy is verifying as many calls as it may: retry shortly') : e;
    }
  }

  private forward(first: FirstMessage, token: string | undefined, narrow: ((message: Buffer) => Buffer) | undefined): void {
    if (this.finished) {
      return;
    }
    const { context, stream } = this;
    const remaining = this.deadlineAt === undefined ? undefined : this.deadlineAt - context.clock();
    const outgoing = forwardedHeaders(this.headers, this.api.path, context.serverName, remaining, token, narrow === undefined);
    if (first.compressed) {
      outgoing['grpc-encoding'] = firstHeader(this.headers['grpc-encoding']) ?? 'identity';
    }
    let upstream: ClientHttp2Stream;
    let session: ClientHttp2Session;
    try {
      session = context.upstream.session();
      upstream = session.request(outgoing, { endStream: false });
    } catch (e) {
      this.end(Status.UNAVAILABLE, `the frontend could not be reached: ${(e as Error).message}`);
      return;
    }
    this.upstreamStream = upstream;
    // The frame as it came, or (when the proxy decompressed it) a prefix and the message in the clear, without copying
    // it; the budget is released once the bytes are handed to the connection.
    if (first.frame !== undefined) {
      upstream.write(first.frame, () => this.releaseBudget());
    } else {
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(first.message.length, 1);
      upstream.write(prefix);
      upstream.write(first.message, () => this.releaseBudget());
    }
    if (first.rest.length > 0) {
      upstream.write(first.rest);
    }
    // The caller may have ended its side while the call was decided ('end' is emitted even on a paused stream).
    if (first.ended || stream.readableEnded) {
      upstream.end();
    } else {
      stream.on('data', (chunk: Buffer) => {
        if (!upstream.write(chunk)) {
          stream.pause();
          upstream.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => upstream.end());
      stream.resume();
    }
    upstream.on('response', (responseHeaders_: IncomingHttpHeaders) => this.onResponse(upstream, responseHeaders_, narrow));
    upstream.on('error', (e: Error & { code?: string; cause?: { code?: string } }) => {
      // A session that never connected cancels its streams, the connection's error as their cause.
      if (!this.finished && (upstream.rstCode === undefined || session.connecting)) {
        this.end(Status.UNAVAILABLE, `the frontend could not be reached: ${e.cause?.code ?? e.code ?? e.message}`);
      }
    });
    upstream.on('close', () => {
      if (!this.finished) {
        this.end(...closedStatus(upstream.rstCode, session.destroyed));
      }
    });
  }

  private onResponse(upstream: ClientHttp2Stream, incoming: IncomingHttpHeaders, narrow: ((message: Buffer) => Buffer) | undefined): void {
    const { stream } = this;
    if (this.finished || stream.destroyed) {
      return;
    }
    const httpStatus = Number(incoming[':status']);
    if (httpStatus !== 200) {
      this.end(httpStatusCode(httpStatus), `the frontend answered HTTP ${httpStatus}`);
      return;
    }
    const status = firstHeader(incoming['grpc-status'] as string | undefined);
    if (status !== undefined) {
      // Trailers-only: the answer is the status.
      stream.respond(responseHeaders(incoming), { endStream: true });
      this.finish(Number(status));
      return;
    }
    stream.respond(responseHeaders(incoming), { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers(this.trailers));
    upstream.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.trailers = responseHeaders(trailers);
      delete this.trailers[':status'];
    });
    if (narrow !== undefined) {
      const chunks: Buffer[] = [];
      let size = 0;
      upstream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_NARROWED_BYTES) {
          this.end(Status.INTERNAL, 'the frontend\'s answer is larger than the proxy narrows');
          return;
        }
        chunks.push(chunk);
      });
      upstream.on('end', () => {
        if (this.finished) {
          return;
        }
        try {
          const narrowed = messages(Buffer.concat(chunks)).map(({ compressed, message }) => {
            if (compressed) {
              throw new CallError(Status.INTERNAL, 'the frontend compressed an answer the proxy must read');
            }
            return frame(narrow(message));
          });
          narrowed.forEach((f) => stream.write(f));
          this.complete();
        } catch (e) {
          this.fail(e instanceof MalformedRequest ? new CallError(Status.INTERNAL, 'the proxy could not read the answer') : e);
        }
      });
      return;
    }
    upstream.on('data', (chunk: Buffer) => {
      if (!stream.write(chunk)) {
        upstream.pause();
        stream.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => this.complete());
  }

  /** The frontend's answer is through: its trailers go back, and the call is done with their status. */
  private complete(): void {
    if (this.finished) {
      return;
    }
    const status = Number(firstHeader(this.trailers['grpc-status'] as string | undefined) ?? Status.INTERNAL);
    if (this.trailers['grpc-status'] === undefined) {
      this.trailers = { 'grpc-status': String(Status.INTERNAL), 'grpc-message': encodeMessage('the frontend ended the call without a status') };
    }
    this.stream.end();
    this.finish(status);
  }

  private deny(code: number, details: string, reason: string): void {
    this.record = { ...this.record, decision: 'deny', reason };
    this.end(code, details);
  }

  /** Ends the call with a status of the proxy's own (before or after the answer's headers) and cancels the upstream call. */
  private end(code: number, details: string): void {
    if (this.finished) {
      return;
    }
    const { stream } = this;
    if (!stream.headersSent) {
      answerWithStatus(stream, code, details);
    } else if (!stream.writableEnded && !stream.destroyed) {
      this.trailers = { 'grpc-status': String(code), 'grpc-message': encodeMessage(details) };
      stream.end();
    }
    if (this.upstreamStream !== undefined && !this.upstreamStream.closed) {
      this.upstreamStream.close(constants.NGHTTP2_CANCEL);
    }
    this.finish(code);
  }

  private fail(e: unknown): void {
    if (e instanceof Unauthenticated) {
      this.record = { ...this.record, decision: 'deny', reason: e.message };
      this.end(Status.UNAUTHENTICATED, e.message);
    } else if (e instanceof CallError) {
      this.record = { ...this.record, decision: 'deny', reason: e.message };
      this.end(e.code, e.message);
    } else if (e instanceof MalformedRequest) {
      this.record = { ...this.record, decision: 'deny', reason: 'malformed request' };
      this.end(Status.INVALID_ARGUMENT, 'the request message is malformed');
    } else {
      this.context.log.error({ err: e instanceof Error ? e.message : String(e), api: this.api.name }, 'internal error');
      this.record = { ...this.record, decision: 'deny', reason: 'internal error' };
      this.end(Status.INTERNAL, 'the proxy could not serve the call');
    }
  }

  private releaseBudget(): void {
    if (this.reserved.bytes > 0) {
      this.budget.release(this.reserved.bytes);
      this.reserved.bytes = 0;
    }
  }

  private finish(code: number): void {
    if (this.finished) {
      return;
    }
    this.finished = true;
    clearTimeout(this.timer);
    clearTimeout(this.firstMessageTimer);
    this.releaseBudget();
    this.context.metrics.inFlight.dec();
    const latencyMs = Number(process.hrtime.bigint() - this.started) / 1e6;
    const full: AuditRecord = { ...this.record, latencyMs, status: statusName(code) };
    this.context.metrics.record(full);
    this.context.audit.info({ audit: full }, 'call');
  }
}
