/**
 * The authorizer proxy, as an in-process app: an HTTP/2 gRPC listener that authenticates every call (a client
 * certificate, a bearer JWT or a bearer API key, through the security core), authorizes it against the policy (the
 * namespace read from the request message itself), and forwards the frames unchanged to the frontend over mutual TLS
 * with a short-lived token it mints for the caller; an HTTP server for health and metrics; an HTTPS server for its
 * JWKS. Bounded before trust: a caller is authenticated before any of its message is read, at most a stream window is
 * buffered for a call being verified, and connections, calls per connection, idle time and age are limited. `main.ts`
 * starts it from the environment; tests start it on port 0.
 */
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createSecureServer, Http2Session } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { PROXY_JWKS_PATH, PROXY_LIMITS } from '../../lib/authorizer/proxy-env';
import { AuthorizerPolicy, permissionsClaim, validatePolicy } from '../../lib/authorizer/policy';
import { ApiKeys } from '../security/api-keys';
import { Authenticator, Credentials } from '../security/authenticate';
import { ByteBudget } from '../security/budget';
import { CertificateKind, CertificateTrust, parseCertificates, servingTls } from '../security/certificates';
import { Clock, systemClock } from '../security/clock';
import { IdentityProviderKeys } from '../security/jwks';
import { apiKeyExpiry, loggers } from '../security/observability';
import { filesSource, jsonFile, Reloader, Watched } from '../security/reload';
import { Connection, serveCall } from './calls';
import { ProxyMetrics } from './observability';
import { SignerOptions, TokenSigner } from './signer';
import { Upstream, UpstreamOptions } from './upstream';

/** The limits of the listener (each has a default in PROXY_LIMITS). */
export interface ProxyLimits {
  readonly maxConnections?: number;
  readonly maxConcurrentStreams?: number;
  readonly connectionIdleSeconds?: number;
  readonly connectionMaxAgeSeconds?: number;
  readonly connectionMaxAgeGraceSeconds?: number;
  readonly maxMessageBytes?: number;
  readonly maxBufferedBytes?: number;
  readonly maxPendingAuthentications?: number;
  readonly unauthenticatedMessageBytes?: number;
  readonly firstMessageSeconds?: number;
  readonly unauthenticatedConnectionSeconds?: number;
}

export interface ProxyConfig {
  /** The gRPC listener clients call: its serving certificate, and the CAs whose direct leaves it accepts. */
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly certFile: string;
    readonly keyFile: string;
    /** The CAs whose own leaves authenticate user workloads (identity URIs `.../temporal-client/<name>`). */
    readonly clientCaFiles: readonly string[];
    /** The CAs whose own leaves authenticate platform components (identity URIs `.../temporal-platform/<name>`). @default - none */
    readonly platformCaFiles?: readonly string[];
    /**
     * Certificates TLS needs to verify those CAs' chains but that issue no caller (the root above a CA that is
     * not self-signed).
     * @default - none
     */
    readonly chainCaFiles?: readonly string[];
  };
  /** Plain HTTP: `/healthz`, `/readyz` and `/metrics`. */
  readonly http: { readonly host: string; readonly port: number };
  /** HTTPS with the serving certificate: `/.well-known/jwks.json`, the frontend's key source. */
  readonly jwks: { readonly host: string; readonly port: number };
  /** Trust domain of identity URIs (the cluster DNS domain). */
  readonly trustDomain: string;
  readonly upstream: UpstreamOptions;
  readonly signer: Omit<SignerOptions, 'now'>;
  /** JSON policy file (a mounted ConfigMap key), re-read on change. */
  readonly policyFile: string;
  /** How often to look for changed files (policy, keys, certificates). */
  readonly reloadSeconds: number;
  /** Bearer JWTs of the organisation's identity provider, when callers may use them. */
  readonly oidc?: {
    readonly issuer: string;
    readonly audience: string;
    readonly jwksUri: string;
    readonly algorithms?: readonly string[];
    /** How long the last keys fetched keep verifying while the provider cannot be reached. @default 3600 */
    readonly maxStaleSeconds?: number;
  };
  /** The API key records (JSON, a mounted Secret key), when callers may use API keys. @default - none */
  readonly apiKeysFile?: string;
  readonly limits?: ProxyLimits;
  readonly logLevel?: string;
  /** Where audit and service logs go. @default stdout */
  readonly logDestination?: NodeJS.WritableStream;
  /** @default Date.now */
  readonly clock?: Clock;
}

export interface RunningProxy {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly jwksPort: number;
  readonly metrics: ProxyMetrics;
  readonly signer: TokenSigner;
  /** The policy in force. */
  policy(): AuthorizerPolicy;
  /** Looks for changed files now (as the timer does). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** The listener's TLS material and the certificate trust it implies, from one read of its files. */
interface ListenerFiles {
  readonly tls: { cert: Buffer; key: Buffer; ca: Buffer[] };
  readonly trust: CertificateTrust;
}

function listenerFiles(listen: ProxyConfig['listen'], trustDomain: string): Watched<ListenerFiles> {
  const kinds = new Map<string, CertificateKind>([
    ...listen.clientCaFiles.map((f) => [f, 'workload'] as const),
    ...(listen.platformCaFiles ?? []).map((f) => [f, 'platform'] as const),
  ]);
  const chain = listen.chainCaFiles ?? [];
  return new Watched('serving certificate', filesSource(listen.certFile, listen.keyFile, ...kinds.keys(), ...chain), (snapshot) => {
    const [cert, key, ...cas] = snapshot.files;
    const trusted = cas.filter((f) => kinds.has(f.name));
    return {
      tls: servingTls(cert, key, cas),
      trust: {
        trustDomain,
        // Every certificate of each bundle: during a CA rotation a file holds the old and the new CA.
        cas: trusted.flatMap((f) => parseCertificates(f.content, f.name)
          .map((certificate) => ({ certificate, kind: kinds.get(f.name) as CertificateKind }))),
      },
    };
  });
}

function listen(server: HttpServer | ReturnType<typeof createSecureServer>, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** The connection's client certificate when TLS verified it (a certificate TLS refused is no certificate), read once. */
function peerCertificate(session: Http2Session): Credentials['certificate'] {
  const socket = session.socket as TLSSocket;
  if (!socket.authorized) {
    return undefined;
  }
  // An authorized socket has a certificate; without one, getPeerCertificate gives an empty object (no raw bytes).
  const peer = socket.getPeerCertificate();
  return peer.raw ? { der: peer.raw, fingerprint: peer.fingerprint256 } : undefined;
}

export async function startProxy(config: ProxyConfig): Promise<RunningProxy> {
  const clock = config.clock ?? systemClock;
  const limits = { ...PROXY_LIMITS, ...config.limits };
  const { log, audit } = loggers('authorizer-proxy', config.logLevel ?? 'info', config.logDestination);
  const metrics = new ProxyMetrics();
  const policy = new Watched('policy', filesSource(config.policyFile), (snapshot) => jsonFile(snapshot, validatePolicy));
  const listener = listenerFiles(config.listen, config.trustDomain);
  const apiKeys = config.apiKeysFile !== undefined ? new Watched('API keys', filesSource(config.apiKeysFile), ApiKeys.parse) : undefined;
  const signer = await TokenSigner.create({ ...config.signer, now: clock });
  const upstream = new Upstream(config.upstream);
  const idpKeys = config.oidc ? new IdentityProviderKeys({
    uri: new URL(config.oidc.jwksUri), clock, maxStaleMs: (config.oidc.maxStaleSeconds ?? limits.oidcMaxStaleSeconds) * 1000,
    onError: (e) => {
      metrics.keySetFailures.inc();
      log.warn({ err: e.message }, 'the identity provider\'s keys were not fetched; the last keys fetched stay in use');
    },
  }) : undefined;
  const authenticator = new Authenticator({
    clock,
    certificates: () => listener.value.trust,
    ...(config.oidc && idpKeys ? { jwt: { issuer: config.oidc.issuer, audience: config.oidc.audience, keys: idpKeys.getKey,
      algorithms: config.oidc.algorithms, clock } } : {}),
    claims: () => ({ groups: policy.value.jwtGroupsClaim ?? 'groups', permissions: permissionsClaim(policy.value) }),
    ...(apiKeys ? { apiKeys: () => apiKeys.value } : {}),
    noCredentials: 'the call carries neither a valid client certificate nor a bearer token',
    maxPendingVerifications: limits.maxPendingAuthentications,
  });
  if (apiKeys) {
    apiKeyExpiry(metrics.registry, 'authorizer_proxy', () => apiKeys.value, clock);
  }
  const budget = new ByteBudget(limits.maxBufferedBytes);
  metrics.bufferedSource = () => budget.bytes;

  // Without an identity provider or API keys, every caller has a certificate: TLS refuses a connection without one.
  const requireCertificate = config.oidc === undefined && config.apiKeysFile === undefined;
  const server = createSecureServer({
    ...listener.value.tls,
    requestCert: true,
    rejectUnauthorized: requireCertificate,
    minVersion: 'TLSv1.2',
    allowHTTP1: false,
    handshakeTimeout: 10_000,
    maxSessionMemory: 32,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, initialWindowSize: 65_535, maxHeaderListSize: 64 * 1024,
      enablePush: false },
  });
  server.maxConnections = limits.maxConnections;
  const connections = new WeakMap<Http2Session, Connection>();
  const sessions = new Set<Http2Session>();
  metrics.connectionsSource = () => sessions.size;
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    // A connection that has carried no authenticated call (and has no certificate TLS verified) is closed soon: it
    // holds a slot of maxConnections for nothing.
    const certificate = peerCertificate(session);
    let unauthenticated: NodeJS.Timeout | undefined = certificate === undefined
      ? setTimeout(() => session.destroy(), limits.unauthenticatedConnectionSeconds * 1000) : undefined;
    unauthenticated?.unref();
    connections.set(session, { certificate, authenticated: () => {
      clearTimeout(unauthenticated);
      unauthenticated = undefined;
    } });
    // Idle: no call for `connectionIdleSeconds`; age: `connectionMaxAgeSeconds`, then calls in flight get
    // `connectionMaxAgeGraceSeconds` (longer than a long poll) before the connection is cut.
    let active = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      idle = setTimeout(() => session.close(), limits.connectionIdleSeconds * 1000);
      idle.unref();
    };
    armIdle();
    const age = setTimeout(() => {
      session.close();
      setTimeout(() => session.destroy(), limits.connectionMaxAgeGraceSeconds * 1000).unref();
    }, limits.connectionMaxAgeSeconds * 1000);
    age.unref();
    session.on('stream', (stream) => {
      active += 1;
      clearTimeout(idle);
      stream.once('close', () => {
        active -= 1;
        if (active === 0 && !session.closed) {
          armIdle();
        }
      });
    });
    // A session's errors need no listener here: the HTTP/2 server listens to each session's (and emits sessionError).
    session.once('close', () => {
      clearTimeout(idle);
      clearTimeout(age);
      clearTimeout(unauthenticated);
      sessions.delete(session);
    });
  });
  server.on('stream', (stream, headers) => serveCall({
    authenticator, policy: () => policy.value, signer, upstream, serverName: config.upstream.serverName, limits, metrics, audit, log, clock,
  }, budget, stream, headers, connections.get(stream.session as Http2Session) as Connection));
  const grpcPort = await listen(server, config.listen.host, config.listen.port);

  const reloader = new Reloader([
    policy,
    { what: 'signing key', reload: () => signer.reload() },
    { what: listener.what, reload: () => listener.reload(), onChange: () => {
      server.setSecureContext({ ...listener.value.tls, minVersion: 'TLSv1.2' });
      jwksServer.setSecureContext({ cert: listener.value.tls.cert, key: listener.value.tls.key, minVersion: 'TLSv1.2' });
    } },
    { what: 'client certificate', reload: () => upstream.reload() },
    ...(apiKeys ? [apiKeys] : []),
  ], {
    changed: (what) => {
      if (what === 'signing key') {
        log.info({ kid: signer.jwks().keys.map((k) => k.kid) }, 'signing key rotated');
      } else {
        log.info({ what, ...(what === 'policy' ? { rules: policy.value.rules.length } : {}) }, `${what} reloaded`);
      }
    },
    failed: (what, error) => {
      metrics.reloadFailures.inc({ what });
      log.error({ err: error.message, what }, `${what} not reloaded${what === 'policy' ? ': the new policy is invalid; the previous one stays' : ''}`);
    },
  });

  const health = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '';
    if (url === '/healthz') {
      const failures = reloader.failures();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', kid: signer.kid, ready: signer.ready(),
        ...(failures.length > 0 ? { reloadFailures: failures } : {}) }));
    } else if (url === '/readyz') {
      // Not ready while the signing key is younger than its publish delay (a replica started during a rotation).
      const ready = signer.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ready ? 'ready' : 'signing key not yet published long enough', kid: signer.kid }));
    } else if (url === '/metrics') {
      void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
    } else {
      res.writeHead(404).end();
    }
  };
  const httpServer = createHttpServer(health);
  const httpPort = await listen(httpServer, config.http.host, config.http.port);
  const jwksServer = createHttpsServer({ cert: listener.value.tls.cert, key: listener.value.tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
    if (req.url === PROXY_JWKS_PATH && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(signer.jwks()));
    } else {
      res.writeHead(404).end();
    }
  });
  const jwksPort = await listen(jwksServer, config.jwks.host, config.jwks.port);
  reloader.start(config.reloadSeconds * 1000);
  log.info({ grpcPort, httpPort, jwksPort, upstream: config.upstream.address, requireCertificate }, 'authorizer proxy listening');

  return {
    grpcPort,
    httpPort,
    jwksPort,
    metrics,
    signer,
    policy: () => policy.value,
    reload: () => reloader.reload(),
    close: async () => {
      reloader.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      sessions.forEach((s) => s.close());
      const forced = setTimeout(() => sessions.forEach((s) => s.destroy()), 5_000);
      await closed;
      clearTimeout(forced);
      upstream.close();
      await Promise.all([httpServer, jwksServer].map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      })));
      await new Promise<void>((resolve) => log.flush(() => resolve()));
      await new Promise<void>((resolve) => audit.flush(() => resolve()));
    },
  };
}
