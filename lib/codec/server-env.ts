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
  /** How long after the last successful fetch the identity provider's keys still verify tokens while it cannot be reached. */
  oidcMaxStale: 'CODEC_OIDC_MAX_STALE_SECONDS',
  /** The API key records (`api-keys.json` of a Secret): bearer API keys are accepted when set. */
  apiKeysFile: 'CODEC_API_KEYS_FILE',
  /** Body bytes of the requests served at once (set from the container's memory limit); past it, 503 and Retry-After. */
  maxInFlightBytes: 'CODEC_MAX_IN_FLIGHT_BYTES',
  maxConnections: 'CODEC_MAX_CONNECTIONS',
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
  /** Body bytes served at once: eight requests of the largest size (the construct sets it from the memory limit: 32 MiB at 512 MiB). */
  maxInFlightBytes: 32 * 1024 * 1024,
  maxConnections: 512,
  oidcMaxStaleSeconds: 3600,
} as const;

/**
 * How many times its body a request costs in memory while it is served (the body, its text, the parsed JSON, the
 * decoded and encrypted bytes and the answer, and the garbage of the requests before it that the collector has not
 * reclaimed yet): the construct divides the memory it leaves for requests by this to set the in-flight budget.
 * Measured by `npm run bench:codec` under sustained load of the largest requests at concurrency 64 with the default
 * 512 MiB limit: at 8 the peak resident set reached 442 to 521 MiB (over the limit), at 12 (a 32 MiB budget) 393 to
 * 418 MiB.
 */
export const CODEC_MEMORY_PER_BODY_BYTE = 12;

/** Memory the codec server's process takes before any request (Node, the program, metrics), in bytes. */
export const CODEC_BASELINE_BYTES = 128 * 1024 * 1024;

/** The in-flight budget for a container memory limit: what is left over the baseline, divided by the cost per body byte. */
export function codecInFlightBudget(memoryLimitBytes: number, maxBodyBytes: number): number {
  return Math.max(maxBodyBytes, Math.floor((memoryLimitBytes - CODEC_BASELINE_BYTES) / CODEC_MEMORY_PER_BODY_BYTE));
}
