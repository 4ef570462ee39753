/**
 * The proxy's configuration from its environment (what the AuthorizerProxy construct sets on its container).
 * Every problem is reported at once, by variable name, before anything listens.
 */
import { PROXY_ENV, PROXY_LIMITS, PROXY_PORTS } from '../../lib/authorizer/proxy-env';
import { ProxyConfig } from './proxy';

export { PROXY_ENV };


/** Reads the configuration; throws one Error listing every missing or malformed variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): ProxyConfig {
  const problems: string[] = [];
  const text = (name: string, fallback?: string): string => {
    const value = env[name] ?? fallback;
    if (value === undefined || value === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    return value;
  };
  const number = (name: string, fallback: number, min = 0, max: number = 65535): number => {
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
    const port = match ? Number(match[2]) : NaN;
    if (!match || port > 65535) {
      problems.push(`${name} must be host:port, e.g. 0.0.0.0:${fallbackPort} (got ${JSON.stringify(raw)})`);
      return { host: '0.0.0.0', port: fallbackPort };
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  };
  const oidcIssuer = env[PROXY_ENV.oidcIssuer];
  const config: ProxyConfig = {
    listen: {
      ...address(PROXY_ENV.listen, PROXY_PORTS.grpc),
      certFile: text(PROXY_ENV.certFile),
      keyFile: text(PROXY_ENV.keyFile),
      clientCaFiles: text(PROXY_ENV.clientCaFiles).split(',').filter((f) => f !== ''),
      platformCaFiles: (env[PROXY_ENV.platformCaFiles] ?? '').split(',').filter((f) => f !== ''),
      chainCaFiles: (env[PROXY_ENV.chainCaFiles] ?? '').split(',').filter((f) => f !== ''),
    },
    http: address(PROXY_ENV.httpListen, PROXY_PORTS.http),
    jwks: address(PROXY_ENV.jwksListen, PROXY_PORTS.jwks),
    trustDomain: text(PROXY_ENV.trustDomain),
    upstream: {
      address: text(PROXY_ENV.upstreamAddress),
      serverName: text(PROXY_ENV.upstreamServerName),
      caFile: text(PROXY_ENV.upstreamCaFile),
      certFile: text(PROXY_ENV.upstreamCertFile),
      keyFile: text(PROXY_ENV.upstreamKeyFile),
    },
    signer: {
      keyFile: text(PROXY_ENV.signingKeyFile),
      ...(env[PROXY_ENV.signingCertFile] ? { certFile: env[PROXY_ENV.signingCertFile] } : {}),
      issuer: text(PROXY_ENV.tokenIssuer),
      audience: text(PROXY_ENV.tokenAudience),
      ttlSeconds: number(PROXY_ENV.tokenTtl, 300, 30, 3600),
      publishDelaySeconds: number(PROXY_ENV.keyPublishDelay, 150, 0, 3600),
    },
    policyFile: text(PROXY_ENV.policyFile),
    reloadSeconds: number(PROXY_ENV.reloadSeconds, 10, 1, 600),
    ...(oidcIssuer ? { oidc: {
      issuer: oidcIssuer,
      audience: text(PROXY_ENV.oidcAudience),
      jwksUri: text(PROXY_ENV.oidcJwksUri),
      maxStaleSeconds: number(PROXY_ENV.oidcMaxStale, PROXY_LIMITS.oidcMaxStaleSeconds, 0, 7 * 86_400),
    } } : {}),
    ...(env[PROXY_ENV.apiKeysFile] ? { apiKeysFile: env[PROXY_ENV.apiKeysFile] } : {}),
    limits: {
      maxConnections: number(PROXY_ENV.maxConnections, PROXY_LIMITS.maxConnections, 1, 1_000_000),
      maxConcurrentStreams: number(PROXY_ENV.maxConcurrentStreams, PROXY_LIMITS.maxConcurrentStreams, 1, 10_000),
      connectionIdleSeconds: number(PROXY_ENV.connectionIdle, PROXY_LIMITS.connectionIdleSeconds, 10, 86_400),
      connectionMaxAgeSeconds: number(PROXY_ENV.connectionMaxAge, PROXY_LIMITS.connectionMaxAgeSeconds, 60, 7 * 86_400),
      maxMessageBytes: number(PROXY_ENV.maxMessageBytes, PROXY_LIMITS.maxMessageBytes, 1024, 2 ** 31 - 1),
      maxBufferedBytes: number(PROXY_ENV.maxBufferedBytes, PROXY_LIMITS.maxBufferedBytes, 1024 * 1024, 2 ** 40),
    },
    logLevel: env[PROXY_ENV.logLevel] ?? 'info',
  };
  const { maxBufferedBytes = 0, maxMessageBytes = 0 } = config.limits ?? {};
  if (maxBufferedBytes < maxMessageBytes) {
    problems.push(`${PROXY_ENV.maxBufferedBytes} (${maxBufferedBytes}) must be at least ${PROXY_ENV.maxMessageBytes} ` +
      `(${maxMessageBytes}): otherwise the largest message could never be taken`);
  }
  if (config.oidc) {
    try {
      new URL(config.oidc.jwksUri);
    } catch {
      problems.push(`${PROXY_ENV.oidcJwksUri} must be a URL`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}
