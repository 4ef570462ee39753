/**
 * The authorizer proxy, as an in-process app: a gRPC server that authenticates every call (client certificate
 * and/or bearer JWT), authorizes it against the policy (the namespace read from the request message itself),
 * and forwards the request bytes unchanged to the frontend over mutual TLS with a short-lived token it mints
 * for the caller; an HTTP server for health and metrics; an HTTPS server for its JWKS. `main.ts` starts it
 * from the environment; tests start it on port 0.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo } from 'node:net';
import {
  ClientUnaryCall, experimental, Metadata, sendUnaryData, Server, ServerUnaryCall, ServerWritableStream, ServiceError, status,
} from '@grpc/grpc-js';
import { createRemoteJWKSet, decodeJwt } from 'jose';
import { API_METHODS, ApiMethod } from '../../lib/authorizer/api';
import { PROXY_JWKS_PATH } from '../../lib/authorizer/proxy-env';
import {
  AuthorizerPolicy, authorize, CertificateIdentity, grantsOf, Identity, JwtIdentity, permissionsClaim, permissionsFor, validatePolicy,
  visibleNamespaces,
} from '../../lib/authorizer/policy';
import { bearerToken, certificateIdentity, CertificateTrust, jwtIdentity, JwtTrust, Unauthenticated } from './authn';
import { filterNamespaceList, MalformedRequest, stringField } from './namespace';
import { AuditRecord, loggers, ProxyMetrics } from './observability';
import { SignerOptions, TokenSigner } from './signer';
import { MAX_MESSAGE_BYTES, Upstream, UpstreamOptions } from './upstream';

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
     * not self-signed). gRPC hands the proxy only certificates TLS verified.
     * @default - none
     */
    readonly chainCaFiles?: readonly string[];
  };
  /** Plain HTTP: `/healthz` and `/metrics`. */
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
  };
  readonly logLevel?: string;
  /** Where audit and service logs go. @default stdout */
  readonly logDestination?: NodeJS.WritableStream;
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

/** A gRPC status error. */
function grpcError(code: status, details: string, metadata?: Metadata): Partial<ServiceError> {
  return { code, details, metadata: metadata ?? new Metadata() };
}

/** Headers the proxy sets or that belong to the transport, never forwarded as they came. */
const DROPPED_HEADERS = ['authorization', 'authorization-extras', 'te', 'content-type', 'user-agent', 'host',
  // The server gives these callers priority and their own rate limits (caller type `operator`, `background` ...):
  // a client does not choose them.
  'caller-type', 'caller-name', 'call-initiation'];

/** The caller's metadata, for the frontend: transport headers dropped, the proxy's token as the only credential. */
function forwardedMetadata(incoming: Metadata, token?: string): Metadata {
  const out = new Metadata();
  for (const key of Object.keys(incoming.getMap())) {
    if (!DROPPED_HEADERS.includes(key) && !key.startsWith('grpc-') && !key.startsWith(':')) {
      incoming.get(key).forEach((v) => out.add(key, v));
    }
  }
  if (token !== undefined) {
    out.set('authorization', `Bearer ${token}`);
  }
  return out;
}

function firstString(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/** The certificates a caller may present, reloaded from files; a gRPC certificate provider for the listener. */
class ListenerCertificates implements experimental.CertificateProvider {
  private identity?: experimental.IdentityCertificateUpdate;
  private ca?: experimental.CaCertificateUpdate;
  private digest = '';
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  public trust: CertificateTrust['cas'] = [];

  public constructor(private readonly listen: ProxyConfig['listen']) {
    this.load();
  }

  /** Re-reads the files; tells the listeners when something changed. */
  public load(): boolean {
    const certificate = readFileSync(this.listen.certFile);
    const privateKey = readFileSync(this.listen.keyFile);
    const workload = this.listen.clientCaFiles.map((f) => readFileSync(f));
    const platform = (this.listen.platformCaFiles ?? []).map((f) => readFileSync(f));
    const cas = [...workload, ...platform];
    const chain = (this.listen.chainCaFiles ?? []).map((f) => readFileSync(f));
    const digest = [certificate, privateKey, ...cas, Buffer.from('|'), ...chain].map((b) => b.toString('base64')).join('|');
    if (digest === this.digest) {
      return false;
    }
    this.digest = digest;
    this.identity = { certificate, privateKey };
    this.ca = { caCertificate: Buffer.concat([...cas, ...chain].map((c) => Buffer.concat([c, Buffer.from('\n')]))) };
    const parse = (pem: Buffer): X509Certificate[] => pem.toString('utf8').split(/(?=-----BEGIN CERTIFICATE-----)/)
      .filter((b) => b.includes('BEGIN')).map((b) => new X509Certificate(b));
    this.trust = [
      ...workload.flatMap(parse).map((certificate) => ({ certificate, kind: 'workload' as const })),
      ...platform.flatMap(parse).map((certificate) => ({ certificate, kind: 'platform' as const })),
    ];
    this.identityListeners.forEach((l) => l(this.identity ?? null));
    this.caListeners.forEach((l) => l(this.ca ?? null));
    return true;
  }

  // Listeners hear the current certificates on the next tick, as from a file watcher: gRPC registers its own
  // watcher only after adding these listeners, and would miss a synchronous first update.
  public addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => listener(this.ca ?? null));
  }

  public removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener);
  }

  public addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => listener(this.identity ?? null));
  }

  public removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener);
  }
}

function readPolicy(file: string): AuthorizerPolicy {
  return validatePolicy(file, JSON.parse(readFileSync(file, 'utf8')));
}

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

const passthrough = (b: Buffer): Buffer => b;

export async function startProxy(config: ProxyConfig): Promise<RunningProxy> {
  const { log, audit } = loggers(config.logLevel ?? 'info', config.logDestination);
  const metrics = new ProxyMetrics();
  let policy = readPolicy(config.policyFile);
  const signer = await TokenSigner.create({ ...config.signer });
  const certificates = new ListenerCertificates(config.listen);
  const upstream = new Upstream(config.upstream);
  const certificateTrust = (): CertificateTrust => ({ cas: certificates.trust, trustDomain: config.trustDomain });
  // A certificate's identity is the same on every call of its connection: parsed and verified once per trust
  // generation (emptied when the trusted CAs change), while its validity period is checked on every call.
  const identities = new Map<string, { identity: CertificateIdentity; notBefore: number; notAfter: number } | Unauthenticated>();
  let identitiesTrust = certificates.trust;
  function cachedCertificateIdentity(peer: { raw: Buffer; fingerprint256?: string }): CertificateIdentity {
    if (identitiesTrust !== certificates.trust) {
      identities.clear();
      identitiesTrust = certificates.trust;
    }
    const key = peer.fingerprint256 ?? peer.raw.toString('base64');
    let entry = identities.get(key);
    if (entry === undefined) {
      try {
        const identity = certificateIdentity(peer.raw, certificateTrust());
        const parsed = new X509Certificate(peer.raw);
        entry = { identity, notBefore: Date.parse(parsed.validFrom), notAfter: Date.parse(parsed.validTo) };
      } catch (e) {
        if (!(e instanceof Unauthenticated) || e.message.includes('expired or not yet valid')) {
          throw e;
        }
        entry = e;
      }
      if (identities.size >= 10_000) {
        identities.delete(identities.keys().next().value as string);
      }
      identities.set(key, entry);
    }
    if (entry instanceof Unauthenticated) {
      throw entry;
    }
    const now = Date.now();
    if (now < entry.notBefore || now > entry.notAfter) {
      throw new Unauthenticated('the client certificate is expired or not yet valid');
    }
    return entry.identity;
  }
  const jwtTrust: JwtTrust | undefined = config.oidc ? {
    issuer: config.oidc.issuer,
    audience: config.oidc.audience,
    keys: createRemoteJWKSet(new URL(config.oidc.jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 60_000, timeoutDuration: 5_000 }),
    algorithms: config.oidc.algorithms,
    groupsClaim: policy.jwtGroupsClaim ?? 'groups',
    permissionsClaim: permissionsClaim(policy) ?? false,
  } : undefined;

  // A verified token is reused until it expires, for at most a minute (so that a key the identity provider
  // withdraws stops working soon); refused tokens are never cached.
  const tokens = new Map<string, { identity: JwtIdentity; until: number }>();
  async function cachedJwtIdentity(token: string): Promise<JwtIdentity> {
    if (!jwtTrust) {
      throw new Unauthenticated('bearer tokens are not accepted here');
    }
    const claims = `${policy.jwtGroupsClaim ?? 'groups'}|${permissionsClaim(policy) ?? ''}`;
    const key = `${claims}\n${token}`;
    const now = Date.now();
    const cached = tokens.get(key);
    if (cached !== undefined && cached.until > now) {
      return cached.identity;
    }
    const identity = await jwtIdentity(token, { ...jwtTrust, groupsClaim: policy.jwtGroupsClaim ?? 'groups',
      permissionsClaim: permissionsClaim(policy) ?? false });
    const exp = Number(decodeJwt(token).exp) * 1000;
    if (tokens.size >= 10_000) {
      tokens.delete(tokens.keys().next().value as string);
    }
    tokens.set(key, { identity, until: Math.min(exp, now + 60_000) });
    return identity;
  }

  /**
   * Who the caller is: with a bearer token, the token's subject (a certificate, if presented too, must be valid:
   * it authenticates the component forwarding the token); otherwise the certificate's identity.
   */
  async function authenticate(call: ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>):
    Promise<{ identity: Identity; id: string; auth: string }> {
    const peer = call.getAuthContext()?.sslPeerCertificate;
    const certificate = peer?.raw && peer.raw.length > 0 ? cachedCertificateIdentity(peer) : undefined;
    const token = bearerToken(firstString(call.metadata, 'authorization'));
    if (token !== undefined) {
      const identity = await cachedJwtIdentity(token);
      return { identity, id: `jwt:${identity.issuer}#${identity.subject}`, auth: certificate ? 'jwt+mtls' : 'jwt' };
    }
    if (certificate) {
      return { identity: certificate, id: certificate.uris[0], auth: 'mtls' };
    }
    // gRPC shows the proxy only certificates TLS verified: one that failed (expired, unknown CA) looks absent.
    throw new Unauthenticated('the call carries neither a valid client certificate nor a bearer token');
  }

  /** Authenticates and authorizes one call; on success, the metadata to forward. */
  async function admit(api: ApiMethod, call: ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>, request: Buffer):
    Promise<{ metadata?: Metadata; error?: Partial<ServiceError>; record: Omit<AuditRecord, 'latencyMs' | 'status'>;
      /** The namespaces a narrowed answer (ListNamespaces) may show. */
      narrow?: (namespace: string) => boolean }> {
    let who = { id: 'unknown', auth: 'none' };
    let namespace: string | undefined;
    try {
      if (api.health) {
        // As on the server: health checks need no credentials, reveal nothing, and go on without a token.
        return { metadata: forwardedMetadata(call.metadata),
          record: { identity: 'anonymous', auth: 'none', api: api.name, decision: 'allow', reason: 'health check' } };
      }
      const { identity, id, auth } = await authenticate(call);
      who = { id, auth };
      if (api.scope === 'namespace') {
        namespace = stringField(request, api.namespaceField ?? 1);
        const header = firstString(call.metadata, 'temporal-namespace');
        if (header !== undefined && header !== '' && header !== namespace) {
          return { error: grpcError(status.PERMISSION_DENIED, 'the temporal-namespace header and the request name different namespaces'),
            record: { identity: id, auth, namespace, api: api.name, decision: 'deny', reason: 'namespace header and message disagree' } };
        }
      }
      const grants = grantsOf(policy, identity);
      const decision = authorize(grants, api, namespace);
      const base = { identity: id, auth, namespace, api: api.name, rules: grants.rules };
      if (!decision.allow) {
        return { error: grpcError(status.PERMISSION_DENIED, decision.reason), record: { ...base, decision: 'deny', reason: decision.reason } };
      }
      const token = await signer.mint(id, permissionsFor(grants, api, namespace));
      return { metadata: forwardedMetadata(call.metadata, token), record: { ...base, decision: 'allow', reason: decision.reason },
        ...(api.anyGranted === 'filtered' ? { narrow: visibleNamespaces(grants) } : {}) };
    } catch (e) {
      if (e instanceof Unauthenticated) {
        return { error: grpcError(status.UNAUTHENTICATED, e.message),
          record: { identity: who.id, auth: who.auth, namespace, api: api.name, decision: 'deny', reason: e.message } };
      }
      if (e instanceof MalformedRequest) {
        return { error: grpcError(status.INVALID_ARGUMENT, 'the request message is malformed'),
          record: { identity: who.id, auth: who.auth, api: api.name, decision: 'deny', reason: 'malformed request' } };
      }
      log.error({ err: e instanceof Error ? e.message : String(e), api: api.name }, 'internal error');
      return { error: grpcError(status.INTERNAL, 'the proxy could not serve the call'),
        record: { identity: who.id, auth: who.auth, namespace, api: api.name, decision: 'deny', reason: 'internal error' } };
    }
  }

  function finish(record: Omit<AuditRecord, 'latencyMs' | 'status'>, started: bigint, code: status): void {
    const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const full: AuditRecord = { ...record, latencyMs, status: status[code] ?? String(code) };
    metrics.record(full);
    audit.info({ audit: full }, 'call');
  }

  function unary(api: ApiMethod) {
    return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>): void => {
      const started = process.hrtime.bigint();
      metrics.inFlight.inc();
      let done = false;
      const reply = (error: Partial<ServiceError> | null, value?: Buffer, trailer?: Metadata): void => {
        if (!done) {
          done = true;
          metrics.inFlight.dec();
          callback(error as ServiceError | null, value, trailer);
        }
      };
      void admit(api, call, call.request).then(({ metadata, error, record, narrow }) => {
        if (error || !metadata) {
          reply(error ?? grpcError(status.INTERNAL, 'no decision'));
          finish(record, started, error?.code ?? status.INTERNAL);
          return;
        }
        if (call.cancelled) {
          reply(grpcError(status.CANCELLED, 'cancelled by the caller'));
          finish(record, started, status.CANCELLED);
          return;
        }
        const deadline = call.getDeadline();
        const outgoing: ClientUnaryCall = upstream.current.makeUnaryRequest(api.path, passthrough, passthrough, call.request, metadata,
          Number.isFinite(Number(deadline)) ? { deadline } : {}, (err, response) => {
            if (err) {
              reply(err, undefined, err.metadata);
              finish(record, started, err.code);
            } else {
              try {
                reply(null, narrow && response ? filterNamespaceList(response, narrow) : response);
                finish(record, started, status.OK);
              } catch {
                reply(grpcError(status.INTERNAL, 'the proxy could not read the answer'));
                finish(record, started, status.INTERNAL);
              }
            }
          });
        outgoing.on('metadata', (md: Metadata) => call.sendMetadata(md));
        call.on('cancelled', () => outgoing.cancel());
      });
    };
  }

  function serverStream(api: ApiMethod) {
    return (call: ServerWritableStream<Buffer, Buffer>): void => {
      const started = process.hrtime.bigint();
      void admit(api, call, call.request).then(({ metadata, error, record }) => {
        if (error || !metadata) {
          call.emit('error', error ?? grpcError(status.INTERNAL, 'no decision'));
          finish(record, started, error?.code ?? status.INTERNAL);
          return;
        }
        const deadline = call.getDeadline();
        const outgoing = upstream.current.makeServerStreamRequest(api.path, passthrough, passthrough, call.request, metadata,
          Number.isFinite(Number(deadline)) ? { deadline } : {});
        outgoing.on('metadata', (md: Metadata) => call.sendMetadata(md));
        outgoing.on('data', (chunk: Buffer) => call.write(chunk));
        outgoing.on('error', (err: ServiceError) => {
          call.emit('error', err);
          finish(record, started, err.code);
        });
        outgoing.on('end', () => {
          call.end();
          finish(record, started, status.OK);
        });
        call.on('cancelled', () => outgoing.cancel());
      });
    };
  }

  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // SDK clients ping every 30 s or so, also without calls: accept it.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });
  for (const api of API_METHODS.values()) {
    if (api.serverStreaming) {
      server.register(api.path, serverStream(api), passthrough, passthrough, 'serverStream');
    } else {
      server.register(api.path, unary(api), passthrough, passthrough, 'unary');
    }
  }
  const credentials = experimental.createCertificateProviderServerCredentials(certificates, certificates, false);
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync(`${config.listen.host}:${config.listen.port}`,
    credentials, (err, port) => (err ? reject(err) : resolve(port))));

  const health = (_req: IncomingMessage, res: ServerResponse): void => {
    const url = _req.url ?? '';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', kid: signer.kid, ready: signer.ready(),
        ...(reloadFailures.size > 0 ? { reloadFailures: [...reloadFailures].sort() } : {}) }));
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
  const jwksServer = createHttpsServer({
    cert: readFileSync(config.listen.certFile), key: readFileSync(config.listen.keyFile), minVersion: 'TLSv1.2',
  }, (req, res) => {
    if (req.url === PROXY_JWKS_PATH && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(signer.jwks()));
    } else {
      res.writeHead(404).end();
    }
  });
  const jwksPort = await listen(jwksServer, config.jwks.host, config.jwks.port);

  async function reload(): Promise<void> {
    try {
      const next = readPolicy(config.policyFile);
      if (JSON.stringify(next) !== JSON.stringify(policy)) {
        policy = next;
        log.info({ rules: policy.rules.length }, 'policy reloaded');
      }
    } catch (e) {
      metrics.reloadFailures.inc({ what: 'policy' });
      log.error({ err: e instanceof Error ? e.message : String(e) }, 'policy not reloaded: the new policy is invalid; the previous one stays');
    }
    // Each on its own: one unusable file must not keep the others from being reloaded.
    const step = async (what: string, run: () => Promise<boolean> | boolean, done: () => void): Promise<void> => {
      try {
        if (await run()) {
          done();
        }
        reloadFailures.delete(what);
      } catch (e) {
        reloadFailures.add(what);
        metrics.reloadFailures.inc({ what });
        log.error({ err: e instanceof Error ? e.message : String(e), what }, `${what} not reloaded`);
      }
    };
    await step('signing key', () => signer.reload(), () => log.info({ kid: signer.jwks().keys.map((k) => k.kid) }, 'signing key rotated'));
    await step('serving certificate', () => certificates.load(), () => {
      jwksServer.setSecureContext({ cert: readFileSync(config.listen.certFile), key: readFileSync(config.listen.keyFile) });
      log.info('serving certificate reloaded');
    });
    await step('client certificate', () => upstream.reload(), () => log.info('client certificate reloaded'));
  }
  const reloadFailures = new Set<string>();
  const timer = setInterval(() => void reload(), config.reloadSeconds * 1000);
  timer.unref();
  log.info({ grpcPort, httpPort, jwksPort, upstream: config.upstream.address }, 'authorizer proxy listening');

  return {
    grpcPort,
    httpPort,
    jwksPort,
    metrics,
    signer,
    policy: () => policy,
    reload,
    close: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
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
