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
  upstreamCaFile: 'PROXY_UPSTREAM_CA_FILE',
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
  logLevel: 'PROXY_LOG_LEVEL',
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
