/**
 * The proxy's configuration from its environment (what the AuthorizerProxy construct sets on its container).
 * Every problem is reported at once, by variable name, before anything listens.
 */
import { ProxyConfig } from './proxy';

/** The environment variables the proxy reads (names shared with the construct that sets them). */
export const PROXY_ENV = {
  port: 'PROXY_PORT',
  httpPort: 'PROXY_HTTP_PORT',
  jwksPort: 'PROXY_JWKS_PORT',
  certFile: 'PROXY_TLS_CERT_FILE',
  keyFile: 'PROXY_TLS_KEY_FILE',
  clientCaFiles: 'PROXY_CLIENT_CA_FILES',
  chainCaFiles: 'PROXY_CHAIN_CA_FILES',
  trustDomain: 'PROXY_TRUST_DOMAIN',
  upstreamAddress: 'PROXY_UPSTREAM_ADDRESS',
  upstreamServerName: 'PROXY_UPSTREAM_SERVER_NAME',
  upstreamCaFile: 'PROXY_UPSTREAM_CA_FILE',
  upstreamCertFile: 'PROXY_UPSTREAM_CERT_FILE',
  upstreamKeyFile: 'PROXY_UPSTREAM_KEY_FILE',
  signingKeyFile: 'PROXY_SIGNING_KEY_FILE',
  tokenIssuer: 'PROXY_TOKEN_ISSUER',
  tokenAudience: 'PROXY_TOKEN_AUDIENCE',
  tokenTtl: 'PROXY_TOKEN_TTL_SECONDS',
  keyPublishDelay: 'PROXY_KEY_PUBLISH_DELAY_SECONDS',
  policyFile: 'PROXY_POLICY_FILE',
  reloadSeconds: 'PROXY_RELOAD_SECONDS',
  oidcIssuer: 'PROXY_OIDC_ISSUER',
  oidcAudience: 'PROXY_OIDC_AUDIENCE',
  oidcJwksUri: 'PROXY_OIDC_JWKS_URI',
  logLevel: 'PROXY_LOG_LEVEL',
} as const;

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
  const number = (name: string, fallback: number, min = 0, max = 65535): number => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    }
    return value;
  };
  const oidcIssuer = env[PROXY_ENV.oidcIssuer];
  const config: ProxyConfig = {
    listen: {
      host: '0.0.0.0',
      port: number(PROXY_ENV.port, 7233),
      certFile: text(PROXY_ENV.certFile),
      keyFile: text(PROXY_ENV.keyFile),
      clientCaFiles: text(PROXY_ENV.clientCaFiles).split(',').filter((f) => f !== ''),
      chainCaFiles: (env[PROXY_ENV.chainCaFiles] ?? '').split(',').filter((f) => f !== ''),
    },
    http: { host: '0.0.0.0', port: number(PROXY_ENV.httpPort, 9090) },
    jwks: { host: '0.0.0.0', port: number(PROXY_ENV.jwksPort, 8443) },
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
    } } : {}),
    logLevel: env[PROXY_ENV.logLevel] ?? 'info',
  };
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
