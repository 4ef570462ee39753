/**
 * The contract between the AuthorizerProxy construct and the program it runs: the environment variables the
 * program reads, and the ports and files it uses by default. Pure (no cdk8s), shared by both sides.
 */
/** The environment variables the proxy reads (names shared with the construct that sets them). */
export const PROXY_ENV = {
  /** `host:port` of the gRPC listener. */
  listen: 'PROXY_LISTEN',
  /** `host:port` of the health and metrics listener. */
  httpListen: 'PROXY_HTTP_LISTEN',
  /** `host:port` of the JWKS listener. */
  jwksListen: 'PROXY_JWKS_LISTEN',
  certFile: 'PROXY_TLS_CERT_FILE',
  keyFile: 'PROXY_TLS_KEY_FILE',
  /** Comma-separated CA files whose leaves are user workloads (URIs `.../temporal-client/<name>`). */
  clientCaFiles: 'PROXY_CLIENT_CA_FILES',
  /** Comma-separated CA files whose leaves are platform components (URIs `.../temporal-platform/<name>`). */
  platformCaFiles: 'PROXY_PLATFORM_CA_FILES',
  chainCaFiles: 'PROXY_CHAIN_CA_FILES',
  trustDomain: 'PROXY_TRUST_DOMAIN',
  upstreamAddress: 'PROXY_UPSTREAM_ADDRESS',
  upstreamServerName: 'PROXY_UPSTREAM_SERVER_NAME',
  upstreamCaFiles: 'PROXY_UPSTREAM_CA_FILES',
  upstreamCertFile: 'PROXY_UPSTREAM_CERT_FILE',
  upstreamKeyFile: 'PROXY_UPSTREAM_KEY_FILE',
  signingKeyFile: 'PROXY_SIGNING_KEY_FILE',
  /** The signing key's certificate (its `notBefore` anchors the publish delay on every replica alike). */
  signingCertFile: 'PROXY_SIGNING_CERT_FILE',
  tokenIssuer: 'PROXY_ISSUER',
  tokenAudience: 'PROXY_AUDIENCE',
  tokenTtl: 'PROXY_GRANT_TTL_SECONDS',
  keyPublishDelay: 'PROXY_PUBLISH_DELAY_SECONDS',
  policyFile: 'PROXY_POLICY_FILE',
  reloadSeconds: 'PROXY_RELOAD_SECONDS',
  oidcIssuer: 'PROXY_OIDC_ISSUER',
  oidcAudience: 'PROXY_OIDC_AUDIENCE',
  oidcJwksUri: 'PROXY_OIDC_JWKS_URI',
  /** How long after the last successful fetch the identity provider's keys still verify tokens while it cannot be reached. */
  oidcMaxStale: 'PROXY_OIDC_MAX_STALE_SECONDS',
  /** The API key records (`api-keys.json` of a Secret): bearer API keys are accepted when set. */
  apiKeysFile: 'PROXY_API_KEYS_FILE',
  maxConnections: 'PROXY_MAX_CONNECTIONS',
  maxConcurrentStreams: 'PROXY_MAX_CONCURRENT_STREAMS',
  connectionIdle: 'PROXY_CONNECTION_IDLE_SECONDS',
  connectionMaxAge: 'PROXY_CONNECTION_MAX_AGE_SECONDS',
  /** How long calls in flight may go on once a connection reached its age, before it is cut. */
  connectionMaxAgeGrace: 'PROXY_CONNECTION_MAX_AGE_GRACE_SECONDS',
  maxMessageBytes: 'PROXY_MAX_MESSAGE_BYTES',
  /** Bytes of request messages held at once over every call (set from the container's memory limit). */
  maxBufferedBytes: 'PROXY_MAX_BUFFERED_BYTES',
  logLevel: 'PROXY_LOG_LEVEL',
} as const;

/** The limits of the proxy program, and their defaults (each has its variable above). */
export const PROXY_LIMITS = {
  /** Open connections per replica. */
  maxConnections: 2000,
  /** Calls at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: 100,
  /** A connection with no call for this long is closed (GOAWAY); clients reconnect when they next call. */
  connectionIdleSeconds: 300,
  /** A connection is closed (GOAWAY, calls in flight finish) after this long, so that clients spread over new replicas. */
  connectionMaxAgeSeconds: 1800,
  /** Calls in flight on a connection past its age go on this long (a long poll takes up to 70 s), then the connection is cut. */
  connectionMaxAgeGraceSeconds: 120,
  /** The largest message of an authenticated caller: the frontend's own limit. */
  maxMessageBytes: 128 * 1024 * 1024,
  /** Request bytes held at once over every call (the construct sets it to half the container's memory limit). */
  maxBufferedBytes: 192 * 1024 * 1024,
  /** Calls whose credentials are being verified at once; each holds at most one HTTP/2 stream window (64 KiB) unread. */
  maxPendingAuthentications: 64,
  /** The largest message of a call that needs no credentials (health checks), or of a caller who holds no role. */
  unauthenticatedMessageBytes: 64 * 1024,
  /** How long a call may take to send its first message, from its headers. */
  firstMessageSeconds: 30,
  /** How long a connection may stay without an authenticated call (a certificate TLS verified counts from the start). */
  unauthenticatedConnectionSeconds: 10,
  /** Staleness bound of the identity provider's keys. */
  oidcMaxStaleSeconds: 3600,
} as const;

/** Ports of the proxy program. */
export const PROXY_PORTS = {
  /** gRPC (mTLS): what clients call, in place of the frontend. */
  grpc: 7233,
  /** HTTPS: the JWKS of the tokens it mints (`/.well-known/jwks.json`), fetched by the frontend. */
  jwks: 8443,
  /** Plain HTTP: `/healthz` and `/metrics`. */
  http: 9090,
} as const;

/** Path of the JWKS on the JWKS port. */
export const PROXY_JWKS_PATH = '/.well-known/jwks.json';
