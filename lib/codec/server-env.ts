/**
 * The contract between the CodecServer construct and the program it runs: the environment variables the program
 * reads and its ports. Pure, shared by both sides.
 */
export const CODEC_ENV = {
  /** `host:port` of the HTTPS listener (encode, decode). */
  listen: 'CODEC_LISTEN',
  /** `host:port` of the plain HTTP listener (`/healthz`, `/metrics`). */
  httpListen: 'CODEC_HTTP_LISTEN',
  certFile: 'CODEC_TLS_CERT_FILE',
  keyFile: 'CODEC_TLS_KEY_FILE',
  /** Comma-separated CA files whose leaves are user workloads (client certificates of the CLI or tools). */
  clientCaFiles: 'CODEC_CLIENT_CA_FILES',
  /** Comma-separated CA files whose leaves are platform components. */
  platformCaFiles: 'CODEC_PLATFORM_CA_FILES',
  trustDomain: 'CODEC_TRUST_DOMAIN',
  /**
   * The folder of key ring folders: `<dir>/<namespace>/` per Temporal namespace, each a mounted Secret (`<id>.key`
   * files and `active`), read with `NamespaceKeyRings.fromDirectory`.
   */
  keysDir: 'CODEC_KEYS_DIR',
  /** The authorization policy (the authorizer proxy's, JSON). */
  policyFile: 'CODEC_POLICY_FILE',
  oidcIssuer: 'CODEC_OIDC_ISSUER',
  oidcAudience: 'CODEC_OIDC_AUDIENCE',
  oidcJwksUri: 'CODEC_OIDC_JWKS_URI',
  /** Comma-separated origins allowed by CORS (the Web UI's), e.g. `https://temporal.example.com`. */
  corsOrigins: 'CODEC_CORS_ORIGINS',
  maxBodyBytes: 'CODEC_MAX_BODY_BYTES',
  maxPayloads: 'CODEC_MAX_PAYLOADS',
  requestTimeoutMs: 'CODEC_REQUEST_TIMEOUT_MS',
  /** Compress payloads of at least this many bytes before encryption on encode (0 = never). */
  compressAtBytes: 'CODEC_COMPRESS_AT_BYTES',
  reloadSeconds: 'CODEC_RELOAD_SECONDS',
  logLevel: 'CODEC_LOG_LEVEL',
} as const;

export const CODEC_PORTS = {
  https: 8443,
  http: 9090,
} as const;

/** Defaults of the limits. */
export const CODEC_LIMITS = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxPayloads: 1000,
  requestTimeoutMs: 30_000,
} as const;
