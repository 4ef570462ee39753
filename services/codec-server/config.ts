/**
 * The codec server's configuration from its environment (what the CodecServer construct sets). Every problem is
 * reported at once, by variable name, before anything listens.
 */
import { CODEC_ENV, CODEC_LIMITS, CODEC_PORTS } from '../../lib/codec/server-env';

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
  const problems: string[] = [];
  const text = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    return value;
  };
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return value;
  };
  const address = (name: string, fallbackPort: number): { host: string; port: number } => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      return { host: '0.0.0.0', port: fallbackPort };
    }
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(raw);
    if (!match || Number(match[2]) > 65535) {
      problems.push(`${name} must be host:port, e.g. 0.0.0.0:${fallbackPort} (got ${JSON.stringify(raw)})`);
      return { host: '0.0.0.0', port: fallbackPort };
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port: Number(match[2]) };
  };
  const list = (name: string): string[] => (env[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const corsOrigins = list(CODEC_ENV.corsOrigins);
  for (const origin of corsOrigins) {
    let ok = false;
    try {
      const url = new URL(origin);
      ok = (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin;
    } catch {
      ok = false;
    }
    if (!ok) {
      problems.push(`${CODEC_ENV.corsOrigins}: "${origin}" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com`);
    }
  }
  const issuer = env[CODEC_ENV.oidcIssuer];
  const compress = number(CODEC_ENV.compressAtBytes, 0, 0, 1 << 30);
  const config: CodecServerConfig = {
    listen: address(CODEC_ENV.listen, CODEC_PORTS.https),
    http: address(CODEC_ENV.httpListen, CODEC_PORTS.http),
    certFile: text(CODEC_ENV.certFile),
    keyFile: text(CODEC_ENV.keyFile),
    clientCaFiles: list(CODEC_ENV.clientCaFiles),
    trustDomain: text(CODEC_ENV.trustDomain),
    keysDir: text(CODEC_ENV.keysDir),
    policyFile: text(CODEC_ENV.policyFile),
    ...(issuer ? { oidc: { issuer, audience: text(CODEC_ENV.oidcAudience), jwksUri: text(CODEC_ENV.oidcJwksUri),
      maxStaleSeconds: number(CODEC_ENV.oidcMaxStale, CODEC_LIMITS.oidcMaxStaleSeconds, 0, 7 * 86_400) } } : {}),
    ...(env[CODEC_ENV.apiKeysFile] ? { apiKeysFile: env[CODEC_ENV.apiKeysFile] } : {}),
    maxInFlightBytes: number(CODEC_ENV.maxInFlightBytes, CODEC_LIMITS.maxInFlightBytes, 1024, 2 ** 40),
    maxConnections: number(CODEC_ENV.maxConnections, CODEC_LIMITS.maxConnections, 1, 100_000),
    corsOrigins,
    maxBodyBytes: number(CODEC_ENV.maxBodyBytes, CODEC_LIMITS.maxBodyBytes, 1024, 256 * 1024 * 1024),
    maxPayloads: number(CODEC_ENV.maxPayloads, CODEC_LIMITS.maxPayloads, 1, 100_000),
    requestTimeoutMs: number(CODEC_ENV.requestTimeoutMs, CODEC_LIMITS.requestTimeoutMs, 1000, 600_000),
    ...(compress > 0 ? { compressAtBytes: compress } : {}),
    reloadSeconds: number(CODEC_ENV.reloadSeconds, 10, 1, 600),
    logLevel: env[CODEC_ENV.logLevel] ?? 'info',
  };
  if (config.maxInFlightBytes < config.maxBodyBytes) {
    problems.push(`${CODEC_ENV.maxInFlightBytes} (${config.maxInFlightBytes}) must be at least ${CODEC_ENV.maxBodyBytes} ` +
      `(${config.maxBodyBytes}): otherwise the largest request could never be served`);
  }
  if (config.clientCaFiles.length === 0 && !config.oidc && !config.apiKeysFile) {
    problems.push(`no caller could authenticate: set ${CODEC_ENV.clientCaFiles}, ${CODEC_ENV.oidcIssuer} or ${CODEC_ENV.apiKeysFile}`);
  }
  if (config.oidc) {
    try {
      new URL(config.oidc.jwksUri);
    } catch {
      problems.push(`${CODEC_ENV.oidcJwksUri} must be a URL`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}
