/**
 * The codec server: `POST <any prefix>/encode` and `<any prefix>/decode` over HTTPS, for the Web UI (a browser, with
 * the signed-in user's OIDC access token, across origins), the CLI (a workload client certificate) and automation (an
 * API key). Bodies are proto3 JSON `{"payloads":[{"metadata":{k: base64},"data": base64}]}`; the same number of
 * payloads comes back. The `X-Namespace` header names the namespace: the caller needs read (decode) or write (encode)
 * there under the authorizer proxy's policy, and the namespace's own key ring is used, so a payload bound to another
 * namespace is refused. Callers are authenticated by the security core before the body is read; requests are admitted
 * by body bytes in flight, so the process stays inside its memory limit. Logs say who asked what, never a key or
 * payload content.
 */
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { grantsOf, permissionsClaim, Role, SYSTEM_NAMESPACE, validatePolicy } from '../../lib/authorizer/policy';
import { decryptPayload, encryptPayload } from '../../lib/codec/codec';
import { CodecError } from '../../lib/codec/errors';
import { keyFolderDigest, NamespaceKeyRings } from '../../lib/codec/key-ring';
import { payloadFromJson, payloadToJson } from '../../lib/codec/payload';
import { ApiKeys } from '../security/api-keys';
import { Authenticated, Authenticator, Credentials } from '../security/authenticate';
import { ByteBudget } from '../security/budget';
import { CertificateTrust, parseCertificates, servingTls } from '../security/certificates';
import { Clock, systemClock } from '../security/clock';
import { Busy, Unauthenticated } from '../security/errors';
import { IdentityProviderKeys } from '../security/jwks';
import { apiKeyExpiry, loggers } from '../security/observability';
import { filesSource, jsonFile, Reloader, Watched } from '../security/reload';
import { ConnectionGuard } from './admission';
import { CodecServerConfig } from './config';

export type Operation = 'encode' | 'decode';

/** Roles that may run each operation in a namespace. */
const ALLOWED: Readonly<Record<Operation, readonly Role[]>> = { decode: ['read', 'write', 'admin'], encode: ['write', 'admin'] };

export interface RunningCodecServer {
  /** The HTTPS port (encode, decode). */
  readonly port: number;
  /** The plain HTTP port (`/healthz`, `/metrics`). */
  readonly httpPort: number;
  readonly metrics: Registry;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(public readonly status: number, public readonly reason: string, public readonly code: string) {
    super(reason);
  }
}

/** The serving certificate and the workload CAs (the only certificates that authenticate callers here). */
interface TlsFiles {
  readonly tls: { cert: Buffer; key: Buffer; ca: Buffer[] };
  readonly trust: CertificateTrust;
}

export async function startCodecServer(config: CodecServerConfig, options: { destination?: NodeJS.WritableStream; clock?: Clock } = {}):
  Promise<RunningCodecServer> {
  const clock = options.clock ?? systemClock;
  const { log, audit } = loggers('codec-server', config.logLevel, options.destination);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'codec_server_' });
  const requests = new Counter({ name: 'codec_server_requests_total', help: 'Requests by operation and HTTP status',
    labelNames: ['operation', 'status'], registers: [registry] });
  const payloadsCount = new Counter({ name: 'codec_server_payloads_total', help: 'Payloads encoded or decoded',
    labelNames: ['operation'], registers: [registry] });
  const duration = new Histogram({ name: 'codec_server_request_duration_seconds', help: 'Request latency',
    labelNames: ['operation'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry] });
  const reloadFailures = new Counter({ name: 'codec_server_reload_failures_total', help: 'Failed reloads (keys, policy, certificate, API keys)',
    labelNames: ['what'], registers: [registry] });
  const keySetFailures = new Counter({ name: 'codec_server_identity_provider_key_fetch_failures_total',
    help: 'Failed fetches of the identity provider\'s signing keys', registers: [registry] });

  const policy = new Watched('policy', filesSource(config.policyFile), (snapshot) => jsonFile(snapshot, validatePolicy));
  // The key folders are compared by a digest of their contents; the keys themselves are read only by the key ring.
  const keys = new Watched('keys', () => ({ digest: keyFolderDigest(config.keysDir), files: [] }),
    () => NamespaceKeyRings.fromDirectory(config.keysDir));
  const certificates = new Watched<TlsFiles>('certificates', filesSource(config.certFile, config.keyFile, ...config.clientCaFiles),
    (snapshot) => {
      const [cert, key, ...cas] = snapshot.files;
      return {
        tls: servingTls(cert, key, cas),
        trust: { trustDomain: config.trustDomain,
          cas: cas.flatMap((f) => parseCertificates(f.content, f.name).map((certificate) => ({ certificate, kind: 'workload' as const }))) },
      };
    });
  const apiKeys = config.apiKeysFile !== undefined ? new Watched('API keys', filesSource(config.apiKeysFile), ApiKeys.parse) : undefined;
  log.info({ namespaces: keys.value.namespaces }, 'key rings loaded');

  const idpKeys = config.oidc ? new IdentityProviderKeys({
    uri: new URL(config.oidc.jwksUri), clock, maxStaleMs: config.oidc.maxStaleSeconds * 1000,
    onError: (e) => {
      keySetFailures.inc();
      log.warn({ err: e.message }, 'the identity provider\'s keys were not fetched; the last keys fetched stay in use');
    },
  }) : undefined;
  const authenticator = new Authenticator({
    clock,
    certificates: () => certificates.value.trust,
    ...(config.oidc && idpKeys ? { jwt: { issuer: config.oidc.issuer, audience: config.oidc.audience, keys: idpKeys.getKey, clock } } : {}),
    claims: () => ({ groups: policy.value.jwtGroupsClaim ?? 'groups', permissions: permissionsClaim(policy.value) }),
    ...(apiKeys ? { apiKeys: () => apiKeys.value } : {}),
    noCredentials: 'the request carries neither a bearer token nor a client certificate',
  });
  if (apiKeys) {
    apiKeyExpiry(registry, 'codec_server', () => apiKeys.value, clock);
  }
  // A request costs a few times its body while it is parsed, decoded and answered: admitted by the body bytes it may
  // bring, so that the process stays inside its memory limit (503 and Retry-After past it, never queued).
  const inFlight = new ByteBudget(config.maxInFlightBytes);
  const guard = new ConnectionGuard({ maxConnections: config.maxConnections,
    maxUnauthenticated: Math.max(1, Math.floor(config.maxConnections / 2)), unauthenticatedMs: Math.min(config.requestTimeoutMs, 10_000) });
  new Gauge({ name: 'codec_server_in_flight_body_bytes', help: 'Body bytes of the requests being served (admitted against the budget)',
    registers: [registry], collect() {
      this.set(inFlight.bytes);
    } });
  new Gauge({ name: 'codec_server_unauthenticated_connections', help: 'Connections that have not yet carried an authenticated request',
    registers: [registry], collect() {
      this.set(guard.unauthenticated);
    } });

  /** The connection's client certificate when TLS verified it against the workload CAs, read once per connection. */
  const peers = new WeakMap<TLSSocket, Credentials['certificate'] | null>();
  function peerOf(socket: TLSSocket): Credentials['certificate'] {
    let peer = peers.get(socket);
    if (peer === undefined) {
      // Without a certificate, getPeerCertificate gives an empty object (no raw bytes).
      const raw = socket.authorized ? socket.getPeerCertificate() : undefined;
      peer = raw?.raw ? { der: raw.raw, fingerprint: raw.fingerprint256 } : null;
      peers.set(socket, peer);
    }
    return peer ?? undefined;
  }

  function authorize(caller: Authenticated, operation: Operation, namespace: string): string[] {
    const grants = grantsOf(policy.value, caller.identity);
    const roles = new Set([...(grants.roles.get(SYSTEM_NAMESPACE) ?? []), ...(grants.roles.get(namespace) ?? [])]);
    if (!ALLOWED[operation].some((role) => roles.has(role))) {
      throw new HttpError(403, `${operation} on namespace ${namespace} needs the role ${ALLOWED[operation].join(', ')}`, 'FORBIDDEN');
    }
    return grants.rules as string[];
  }

  // No credentials mode: the browser authenticates with the bearer header, never with cookies or a client certificate.
  const corsHeaders = (origin: string | undefined): Record<string, string> => {
    const allowed = config.corsOrigins.find((o) => o === origin);
    return allowed !== undefined ? { 'access-control-allow-origin': allowed, vary: 'Origin' } : { vary: 'Origin' };
  };

  function readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > config.maxBodyBytes) {
          reject(new HttpError(413, `the body is larger than ${config.maxBodyBytes} bytes`, 'TOO_LARGE'));
          req.removeAllListeners('data');
          req.pause();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      req.on('error', reject);
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    // A request to a server always has its URL.
    const [path] = String(req.url).split('?');
    const operation: Operation | undefined = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    const origin = req.headers.origin;
    const cors = corsHeaders(origin);
    // Fields left undefined are left out of the audit line.
    const record: Record<string, unknown> = { method: req.method, path, origin };
    let status = 500;
    let reason: string | undefined;
    let count = 0;
    let admitted = 0;
    const send = (code: number, body: unknown, headers: Record<string, string> = {}): void => {
      status = code;
      const text = JSON.stringify(body);
      res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store',
        'x-content-type-options': 'nosniff', ...cors, ...headers });
      res.end(text);
    };
    try {
      if (operation === undefined) {
        throw new HttpError(404, 'not found: POST .../encode or .../decode', 'NOT_FOUND');
      }
      // A browser on an origin that is not allowed gets no CORS header (its own check fails) and a refusal.
      if (origin !== undefined && !config.corsOrigins.includes(origin)) {
        throw new HttpError(403, 'this origin is not allowed', 'ORIGIN');
      }
      if (req.method === 'OPTIONS') {
        status = 204;
        reason = 'preflight';
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers':
          'Authorization, Authorization-Extras, Content-Type, X-Namespace', 'access-control-max-age': '600', 'content-length': '0' });
        res.end();
        return;
      }
      if (req.method !== 'POST') {
        throw new HttpError(405, `${req.method} is not allowed: POST`, 'METHOD');
      }
      const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') {
        throw new HttpError(415, 'the body must be application/json', 'CONTENT_TYPE');
      }
      const namespace = req.headers['x-namespace'];
      if (typeof namespace !== 'string' || namespace === '') {
        throw new HttpError(400, 'the X-Namespace header names no namespace', 'NAMESPACE');
      }
      record.namespace = namespace.slice(0, 255);
      // From a browser page (an Origin), only the signed-in person's token counts: a client certificate installed in
      // the browser must not be usable by a script of an allowed origin.
      if (origin !== undefined && req.headers.authorization === undefined) {
        throw new HttpError(401, 'a request from a browser page needs a bearer token', 'UNAUTHENTICATED');
      }
      const socket = req.socket as TLSSocket;
      let caller: Authenticated;
      try {
        caller = await authenticator.authenticate({ certificate: origin === undefined ? peerOf(socket) : undefined,
          authorization: req.headers.authorization });
      } catch (e) {
        throw e instanceof Unauthenticated ? new HttpError(401, e.message, 'UNAUTHENTICATED')
          : e instanceof Busy ? new HttpError(503, 'the codec server is verifying as many tokens as it may: retry shortly', 'BUSY') : e;
      }
      guard.authenticated(socket);
      record.identity = caller.id;
      record.auth = caller.auth;
      record.rules = authorize(caller, operation, namespace);
      const ring = keys.value.ring(namespace);
      if (ring === undefined) {
        throw new HttpError(422, `namespace ${namespace.slice(0, 255)} has no key ring here`, 'NO_KEY_RING');
      }
      // NaN when the body comes chunked; Node's parser refuses a Content-Length that is not a decimal number.
      const declared = Number(req.headers['content-length']);
      if (declared > config.maxBodyBytes) {
        throw new HttpError(413, `the body is larger than ${config.maxBodyBytes} bytes`, 'TOO_LARGE');
      }
      const bytes = Number.isSafeInteger(declared) ? declared : config.maxBodyBytes;
      if (!inFlight.reserve(bytes)) {
        throw new HttpError(503, 'the codec server is serving as many bytes as its memory allows: retry shortly', 'BUSY');
      }
      admitted = bytes;
      const body = await readBody(req);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new HttpError(400, 'the body is not JSON', 'BAD_REQUEST');
      }
      const list = (parsed as { payloads?: unknown } | null)?.payloads;
      if (!Array.isArray(list)) {
        throw new HttpError(400, 'the body must be {"payloads": [...]}', 'BAD_REQUEST');
      }
      if (list.length > config.maxPayloads) {
        throw new HttpError(413, `more than ${config.maxPayloads} payloads in one request`, 'TOO_MANY');
      }
      count = list.length;
      // What this request may decompress to in all: a few kilobytes of compressed zeros per payload must not add up.
      const codecOptions = { namespace, ...(config.compressAtBytes ? { compressAtBytes: config.compressAtBytes } : {}),
        maxDecompressedBytes: config.maxBodyBytes * 4, budget: { remaining: config.maxBodyBytes * 4 } };
      const out = list.map((item, i) => {
        const payload = payloadFromJson(item, `payloads[${i}]`);
        return payloadToJson(operation === 'encode' ? encryptPayload(payload, ring, codecOptions) : decryptPayload(payload, ring, codecOptions));
      });
      payloadsCount.inc({ operation }, count);
      reason = 'ok';
      send(200, { payloads: out });
    } catch (e) {
      const error = e instanceof HttpError ? e
        : e instanceof CodecError ? new HttpError(e.code === 'BAD_REQUEST' ? 400 : e.code === 'TOO_LARGE' ? 413 : 422, e.message, e.code)
          : undefined;
      if (error === undefined) {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'internal error');
        reason = 'internal error';
        send(500, { error: 'INTERNAL', message: 'internal error' });
      } else {
        reason = error.reason;
        // After a 413 the rest of the upload is not read: the connection closes. After a 503 it is read and dropped
        // (never held), so that the client reads the answer and retries on the same connection.
        send(error.status, { error: error.code, message: error.reason },
          error.status === 401 ? { 'www-authenticate': 'Bearer' } : error.status === 413 ? { connection: 'close' }
            : error.status === 503 ? { 'retry-after': '1' } : {});
      }
    } finally {
      inFlight.release(admitted);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ operation: operation ?? 'none', status: String(status) });
      if (operation !== undefined) {
        duration.observe({ operation }, seconds);
      }
      audit.info({ ...record, operation, payloads: count, status, reason, latencyMs: Math.round(seconds * 1e6) / 1e3 }, 'request');
    }
  }

  const server = createHttpsServer({
    ...certificates.value.tls, minVersion: 'TLSv1.2',
    // Browsers present no certificate: TLS asks for one, and only a certificate TLS verified (socket.authorized) counts.
    requestCert: true, rejectUnauthorized: false, handshakeTimeout: 10_000,
    requestTimeout: config.requestTimeoutMs, headersTimeout: Math.min(config.requestTimeoutMs, 10_000), keepAliveTimeout: 5_000,
  }, (req, res) => void serve(req, res));
  server.maxHeadersCount = 100;
  server.maxConnections = config.maxConnections;
  server.on('secureConnection', (socket: TLSSocket) => guard.opened(socket));
  const health = createHttpServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.url === '/metrics') {
      void registry.metrics().then((m) => res.writeHead(200, { 'content-type': registry.contentType }).end(m));
    } else {
      res.writeHead(404).end();
    }
  });

  const reloader = new Reloader([
    keys,
    policy,
    { what: certificates.what, reload: () => certificates.reload(),
      onChange: () => server.setSecureContext({ ...certificates.value.tls, minVersion: 'TLSv1.2' }) },
    ...(apiKeys ? [apiKeys] : []),
  ], {
    changed: (what) => log.info({ what, ...(what === 'keys' ? { namespaces: keys.value.namespaces } : {}) }, `${what} reloaded`),
    failed: (what, error) => {
      reloadFailures.inc({ what });
      log.error({ err: error.message, what }, `${what} not reloaded; the previous ${what} stay in use`);
    },
  });
  reloader.start(config.reloadSeconds * 1000);

  const listen = (s: Server, at: { host: string; port: number }) => new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(at.port, at.host, () => resolve((s.address() as AddressInfo).port));
  });
  const port = await listen(server, config.listen);
  const httpPort = await listen(health, config.http);
  log.info({ port, httpPort, origins: config.corsOrigins, oidc: config.oidc?.issuer ?? null, apiKeys: apiKeys !== undefined },
    'codec server listening');
  return {
    port, httpPort, metrics: registry,
    close: async () => {
      reloader.stop();
      server.closeIdleConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => health.close(r))]);
      log.flush();
    },
  };
}
