/**
 * The codec server: `POST <any prefix>/encode` and `<any prefix>/decode` over HTTPS, for the Web UI (a browser,
 * with the signed-in user's OIDC access token, across origins) and the CLI (a client certificate). Bodies are
 * proto3 JSON `{"payloads":[{"metadata":{k: base64},"data": base64}]}`; the same number of payloads comes back.
 * The Web UI also sends the ID token (`Authorization-Extras`): CORS allows it, the server ignores it. The
 * `X-Namespace` header is checked against the authorization policy the authorizer proxy enforces: decode needs
 * read, encode needs write, in that namespace or in `temporal-system`. Logs say who asked what, never a key or
 * payload content.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt } from 'jose';
import pino, { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { CodecError } from '../../lib/codec/errors';
import { decryptPayload, encryptPayload } from '../../lib/codec/codec';
import { KeyRing, watchedKeyRing } from '../../lib/codec/key-ring';
import { payloadFromJson, payloadToJson } from '../../lib/codec/payload';
import {
  AuthorizerPolicy, grantsOf, Identity, JwtIdentity, permissionsClaim, Role, SYSTEM_NAMESPACE, validatePolicy,
} from '../../lib/authorizer/policy';
import { bearerToken, certificateIdentity, CertificateTrust, jwtIdentity, Unauthenticated } from '../authorizer-proxy/authn';
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
  constructor(public readonly status: number, public readonly reason: string, public readonly code = 'REFUSED') {
    super(reason);
  }
}

function loadPolicy(file: string): AuthorizerPolicy {
  return validatePolicy(file, JSON.parse(readFileSync(file, 'utf8')));
}

function version(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Which identity a request acts as, and how it proved it. */
interface Caller {
  readonly identity: Identity;
  readonly id: string;
  readonly auth: 'jwt' | 'mtls';
}

export async function startCodecServer(config: CodecServerConfig, options: { destination?: NodeJS.WritableStream } = {}):
  Promise<RunningCodecServer> {
  const stream = (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false });
  const log: Logger = pino({
    level: config.logLevel, base: { component: 'codec-server' }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg',
    formatters: { level: (label: string) => ({ level: label }) },
  }, stream);
  const audit: Logger = log.child({}, { level: 'info' });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'codec_server_' });
  const requests = new Counter({ name: 'codec_server_requests_total', help: 'Requests by operation and HTTP status',
    labelNames: ['operation', 'status'], registers: [registry] });
  const payloadsCount = new Counter({ name: 'codec_server_payloads_total', help: 'Payloads encoded or decoded',
    labelNames: ['operation'], registers: [registry] });
  const duration = new Histogram({ name: 'codec_server_request_duration_seconds', help: 'Request latency',
    labelNames: ['operation'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry] });
  const reloadFailures = new Counter({ name: 'codec_server_reload_failures_total', help: 'Failed reloads (keys, policy, certificate)',
    labelNames: ['what'], registers: [registry] });

  const keys = watchedKeyRing(config.keysDir, {
    intervalMs: config.reloadSeconds * 1000,
    onReload: (ring) => log.info({ keys: ring.ids, active: ring.activeId }, 'key ring reloaded'),
    onError: (e) => {
      reloadFailures.inc({ what: 'keys' });
      log.error({ err: e.message }, 'key ring not reloaded; the previous keys stay');
    },
  });
  const initial: KeyRing = keys();
  log.info({ keys: initial.ids, active: initial.activeId }, 'key ring loaded');

  let policy = loadPolicy(config.policyFile);
  let policyVersion = version(config.policyFile);
  const readCas = (): CertificateTrust => ({
    trustDomain: config.trustDomain,
    cas: [
      ...config.clientCaFiles.map((f) => ({ certificate: new X509Certificate(readFileSync(f)), kind: 'workload' as const })),
      ...config.platformCaFiles.map((f) => ({ certificate: new X509Certificate(readFileSync(f)), kind: 'platform' as const })),
    ],
  });
  let trust = readCas();
  const tlsFiles = () => ({
    cert: readFileSync(config.certFile),
    key: readFileSync(config.keyFile),
    ca: [...config.clientCaFiles, ...config.platformCaFiles].map((f) => readFileSync(f)),
  });
  let tlsVersion = [config.certFile, config.keyFile, ...config.clientCaFiles, ...config.platformCaFiles].map(version).join('|');

  const jwks = config.oidc ? createRemoteJWKSet(new URL(config.oidc.jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 60_000,
    timeoutDuration: 5_000 }) : undefined;
  const tokens = new Map<string, { identity: JwtIdentity; until: number }>();
  async function tokenIdentity(token: string): Promise<JwtIdentity> {
    if (!config.oidc || !jwks) {
      throw new Unauthenticated('bearer tokens are not accepted here');
    }
    const now = Date.now();
    const cached = tokens.get(token);
    if (cached !== undefined && cached.until > now) {
      return cached.identity;
    }
    const identity = await jwtIdentity(token, { issuer: config.oidc.issuer, audience: config.oidc.audience, keys: jwks,
      groupsClaim: policy.jwtGroupsClaim ?? 'groups', permissionsClaim: permissionsClaim(policy) ?? false });
    if (tokens.size >= 10_000) {
      tokens.delete(tokens.keys().next().value as string);
    }
    tokens.set(token, { identity, until: Math.min(Number(decodeJwt(token).exp) * 1000, now + 60_000) });
    return identity;
  }

  async function authenticate(req: IncomingMessage): Promise<Caller> {
    const token = bearerToken(req.headers.authorization);
    if (token !== undefined) {
      const identity = await tokenIdentity(token);
      return { identity, id: `jwt:${identity.issuer}#${identity.subject}`, auth: 'jwt' };
    }
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate?.();
    if (peer && peer.raw && peer.raw.length > 0) {
      const identity = certificateIdentity(peer.raw, trust);
      return { identity, id: identity.uris[0], auth: 'mtls' };
    }
    throw new Unauthenticated('the request carries neither a bearer token nor a client certificate');
  }

  function authorize(identity: Identity, operation: Operation, namespace: string): string[] {
    const grants = grantsOf(policy, identity);
    const roles = new Set([...(grants.roles.get(SYSTEM_NAMESPACE) ?? []), ...(grants.roles.get(namespace) ?? [])]);
    if (!ALLOWED[operation].some((role) => roles.has(role))) {
      throw new HttpError(403, `${operation} on namespace ${namespace} needs the role ${ALLOWED[operation].join(', ')}`, 'FORBIDDEN');
    }
    return grants.rules as string[];
  }

  // No credentials mode: the browser authenticates with the bearer header, never with cookies or a client certificate.
  const corsHeaders = (origin: string | undefined): Record<string, string> => origin !== undefined && config.corsOrigins.includes(origin)
    ? { 'access-control-allow-origin': origin, vary: 'Origin' }
    : { vary: 'Origin' };

  function readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > config.maxBodyBytes) {
      return Promise.reject(new HttpError(413, `the body is larger than ${config.maxBodyBytes} bytes`, 'TOO_LARGE'));
    }
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
      req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = req.url ?? '/';
    const path = url.split('?')[0];
    const operation: Operation | undefined = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const cors = corsHeaders(origin);
    const record: Record<string, unknown> = { method: req.method, path, ...(origin !== undefined ? { origin } : {}) };
    let status = 500;
    let reason = '';
    let count = 0;
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
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers':
          'Authorization, Authorization-Extras, Content-Type, X-Namespace', 'access-control-max-age': '600', 'content-length': '0' });
        res.end();
        return;
      }
      if (req.method !== 'POST') {
        throw new HttpError(405, `${req.method} is not allowed: POST`, 'METHOD');
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
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
      let caller: Caller;
      try {
        caller = await authenticate(req);
      } catch (e) {
        throw e instanceof Unauthenticated ? new HttpError(401, e.message, 'UNAUTHENTICATED') : e;
      }
      record.identity = caller.id;
      record.auth = caller.auth;
      record.rules = authorize(caller.identity, operation, namespace);
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
      const ring = keys();
      // What this request may decompress to in all: a few kilobytes of compressed zeros per payload must not add up.
      const options = { ...(config.compressAtBytes ? { compressAtBytes: config.compressAtBytes } : {}),
        maxDecompressedBytes: config.maxBodyBytes * 4, budget: { remaining: config.maxBodyBytes * 4 } };
      const out = list.map((item, i) => {
        const payload = payloadFromJson(item, `payloads[${i}]`);
        return payloadToJson(operation === 'encode' ? encryptPayload(payload, ring, options) : decryptPayload(payload, ring, options));
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
        // After a 413 the rest of the upload is not read: the connection closes.
        send(error.status, { error: error.code, message: error.reason },
          error.status === 401 ? { 'www-authenticate': 'Bearer' } : error.status === 413 ? { connection: 'close' } : {});
      }
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ operation: operation ?? 'none', status: String(status) });
      if (operation !== undefined) {
        duration.observe({ operation }, seconds);
      }
      audit.info({ ...record, operation, payloads: count, status, reason, latencyMs: Math.round(seconds * 1e6) / 1e3 }, 'request');
    }
  }

  const server = createHttpsServer({
    ...tlsFiles(), minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false,
    requestTimeout: config.requestTimeoutMs, headersTimeout: Math.min(config.requestTimeoutMs, 20_000), keepAliveTimeout: 65_000,
  }, (req, res) => void serve(req, res));
  server.maxHeadersCount = 100;
  server.maxConnections = 1024;
  const health = createHttpServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.url === '/metrics') {
      void registry.metrics().then((m) => res.writeHead(200, { 'content-type': registry.contentType }).end(m));
    } else {
      res.writeHead(404).end();
    }
  });

  const timer = setInterval(() => {
    keys();
    const pv = version(config.policyFile);
    if (pv !== policyVersion) {
      policyVersion = pv;
      try {
        policy = loadPolicy(config.policyFile);
        tokens.clear();
        log.info({ rules: policy.rules.length }, 'policy reloaded');
      } catch (e) {
        reloadFailures.inc({ what: 'policy' });
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'policy not reloaded; the previous one stays');
      }
    }
    const tv = [config.certFile, config.keyFile, ...config.clientCaFiles, ...config.platformCaFiles].map(version).join('|');
    if (tv !== tlsVersion) {
      tlsVersion = tv;
      try {
        server.setSecureContext({ ...tlsFiles(), minVersion: 'TLSv1.2' });
        trust = readCas();
        log.info('certificates reloaded');
      } catch (e) {
        reloadFailures.inc({ what: 'certificates' });
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'certificates not reloaded');
      }
    }
  }, config.reloadSeconds * 1000);
  timer.unref();

  const listen = (s: Server, at: { host: string; port: number }) => new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(at.port, at.host, () => resolve((s.address() as AddressInfo).port));
  });
  const port = await listen(server, config.listen);
  const httpPort = await listen(health, config.http);
  log.info({ port, httpPort, origins: config.corsOrigins, oidc: config.oidc?.issuer ?? null }, 'codec server listening');
  return {
    port, httpPort, metrics: registry,
    close: async () => {
      clearInterval(timer);
      server.closeIdleConnections();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => health.close(r))]);
      log.flush();
    },
  };
}
