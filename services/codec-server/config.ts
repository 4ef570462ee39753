/**
 * The codec server's configuration from its environment (what the CodecServer construct sets). Every problem is
 * reported at once, by variable name, before anything listens.
 */
import { CODEC_ENV, CODEC_LIMITS, CODEC_PORTS } from '../../lib/codec/server-env';
import { EnvReader } from '../security/env';

export interface CodecServerConfig {
  readonly listen: { host: string; port: number };
  readonly http: { host: string; port: number };
  readonly certFile: string;
  readonly keyFile: string;
  /** The workload CAs: the only certificates that authenticate callers here (a platform component's never does). */
  readonly clientCaFiles: readonly string[];
  readonly trustDomain: string;
  /** The folder of per-namespace key ring folders. */
  readonly keysDir: string;
  readonly policyFile: string;
  readonly oidc?: { readonly issuer: string; readonly audience: string; readonly jwksUri: string; readonly maxStaleSeconds: number };
  /** The API key records, when callers may use API keys. */
  readonly apiKeysFile?: string;
  /** Body bytes of the requests served at once. */
  readonly maxInFlightBytes: number;
  readonly maxConnections: number;
  readonly corsOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly maxPayloads: number;
  readonly requestTimeoutMs: number;
  readonly compressAtBytes?: number;
  readonly reloadSeconds: number;
  readonly logLevel: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv): CodecServerConfig {
  const read = new EnvReader(env);
  const issuer = read.optional(CODEC_ENV.oidcIssuer);
  const apiKeysFile = read.optional(CODEC_ENV.apiKeysFile);
  const compress = read.integer(CODEC_ENV.compressAtBytes, 0, 0, 1 << 30);
  const config: CodecServerConfig = {
    listen: read.address(CODEC_ENV.listen, CODEC_PORTS.https),
    http: read.address(CODEC_ENV.httpListen, CODEC_PORTS.http),
    certFile: read.text(CODEC_ENV.certFile),
    keyFile: read.text(CODEC_ENV.keyFile),
    clientCaFiles: read.list(CODEC_ENV.clientCaFiles),
    trustDomain: read.text(CODEC_ENV.trustDomain),
    keysDir: read.text(CODEC_ENV.keysDir),
    policyFile: read.text(CODEC_ENV.policyFile),
    ...(issuer ? { oidc: { issuer, audience: read.text(CODEC_ENV.oidcAudience), jwksUri: read.text(CODEC_ENV.oidcJwksUri),
      maxStaleSeconds: read.integer(CODEC_ENV.oidcMaxStale, CODEC_LIMITS.oidcMaxStaleSeconds, 0, 7 * 86_400) } } : {}),
    ...(apiKeysFile ? { apiKeysFile } : {}),
    maxInFlightBytes: read.integer(CODEC_ENV.maxInFlightBytes, CODEC_LIMITS.maxInFlightBytes, 1024, 2 ** 40),
    maxConnections: read.integer(CODEC_ENV.maxConnections, CODEC_LIMITS.maxConnections, 1, 100_000),
    corsOrigins: read.origins(CODEC_ENV.corsOrigins),
    maxBodyBytes: read.integer(CODEC_ENV.maxBodyBytes, CODEC_LIMITS.maxBodyBytes, 1024, 256 * 1024 * 1024),
    maxPayloads: read.integer(CODEC_ENV.maxPayloads, CODEC_LIMITS.maxPayloads, 1, 100_000),
    requestTimeoutMs: read.integer(CODEC_ENV.requestTimeoutMs, CODEC_LIMITS.requestTimeoutMs, 1000, 600_000),
    ...(compress > 0 ? { compressAtBytes: compress } : {}),
    reloadSeconds: read.integer(CODEC_ENV.reloadSeconds, 10, 1, 600),
    logLevel: env[CODEC_ENV.logLevel] ?? 'info',
  };
  if (config.maxInFlightBytes < config.maxBodyBytes) {
    read.problem(`${CODEC_ENV.maxInFlightBytes} (${config.maxInFlightBytes}) must be at least ${CODEC_ENV.maxBodyBytes} ` +
      `(${config.maxBodyBytes}): otherwise the largest request could never be served`);
  }
  if (config.clientCaFiles.length === 0 && !config.oidc && !config.apiKeysFile) {
    read.problem(`no caller could authenticate: set ${CODEC_ENV.clientCaFiles}, ${CODEC_ENV.oidcIssuer} or ${CODEC_ENV.apiKeysFile}`);
  }
  if (config.oidc) {
    read.url(CODEC_ENV.oidcJwksUri, config.oidc.jwksUri);
  }
  read.check();
  return config;
}
