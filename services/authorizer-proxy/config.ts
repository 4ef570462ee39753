/**
 * The proxy's configuration from its environment (what the AuthorizerProxy construct sets on its container).
 * Every problem is reported at once, by variable name, before anything listens.
 */
import { PROXY_ENV, PROXY_LIMITS, PROXY_PORTS } from '../../lib/authorizer/proxy-env';
import { EnvReader } from '../security/env';
import { ProxyConfig } from './proxy';

export { PROXY_ENV };


/** Reads the configuration; throws one Error listing every missing or malformed variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): ProxyConfig {
  const read = new EnvReader(env);
  const oidcIssuer = read.optional(PROXY_ENV.oidcIssuer);
  const apiKeysFile = read.optional(PROXY_ENV.apiKeysFile);
  const signingCertFile = read.optional(PROXY_ENV.signingCertFile);
  const config: ProxyConfig = {
    listen: {
      ...read.address(PROXY_ENV.listen, PROXY_PORTS.grpc),
      certFile: read.text(PROXY_ENV.certFile),
      keyFile: read.text(PROXY_ENV.keyFile),
      clientCaFiles: read.list(PROXY_ENV.clientCaFiles, { required: true }),
      platformCaFiles: read.list(PROXY_ENV.platformCaFiles),
      chainCaFiles: read.list(PROXY_ENV.chainCaFiles),
    },
    http: read.address(PROXY_ENV.httpListen, PROXY_PORTS.http),
    jwks: read.address(PROXY_ENV.jwksListen, PROXY_PORTS.jwks),
    trustDomain: read.text(PROXY_ENV.trustDomain),
    upstream: {
      address: read.text(PROXY_ENV.upstreamAddress),
      serverName: read.text(PROXY_ENV.upstreamServerName),
      caFiles: read.list(PROXY_ENV.upstreamCaFiles, { required: true }),
      certFile: read.text(PROXY_ENV.upstreamCertFile),
      keyFile: read.text(PROXY_ENV.upstreamKeyFile),
    },
    signer: {
      keyFile: read.text(PROXY_ENV.signingKeyFile),
      ...(signingCertFile ? { certFile: signingCertFile } : {}),
      issuer: read.text(PROXY_ENV.tokenIssuer),
      audience: read.text(PROXY_ENV.tokenAudience),
      ttlSeconds: read.integer(PROXY_ENV.tokenTtl, 300, 30, 3600),
      publishDelaySeconds: read.integer(PROXY_ENV.keyPublishDelay, 150, 0, 3600),
    },
    policyFile: read.text(PROXY_ENV.policyFile),
    reloadSeconds: read.integer(PROXY_ENV.reloadSeconds, 10, 1, 600),
    ...(oidcIssuer ? { oidc: {
      issuer: oidcIssuer,
      audience: read.text(PROXY_ENV.oidcAudience),
      jwksUri: read.text(PROXY_ENV.oidcJwksUri),
      maxStaleSeconds: read.integer(PROXY_ENV.oidcMaxStale, PROXY_LIMITS.oidcMaxStaleSeconds, 0, 7 * 86_400),
    } } : {}),
    ...(apiKeysFile ? { apiKeysFile } : {}),
    limits: {
      maxConnections: read.integer(PROXY_ENV.maxConnections, PROXY_LIMITS.maxConnections, 1, 1_000_000),
      maxConcurrentStreams: read.integer(PROXY_ENV.maxConcurrentStreams, PROXY_LIMITS.maxConcurrentStreams, 1, 10_000),
      connectionIdleSeconds: read.integer(PROXY_ENV.connectionIdle, PROXY_LIMITS.connectionIdleSeconds, 10, 86_400),
      connectionMaxAgeSeconds: read.integer(PROXY_ENV.connectionMaxAge, PROXY_LIMITS.connectionMaxAgeSeconds, 60, 7 * 86_400),
      connectionMaxAgeGraceSeconds: read.integer(PROXY_ENV.connectionMaxAgeGrace, PROXY_LIMITS.connectionMaxAgeGraceSeconds, 1, 86_400),
      maxMessageBytes: read.integer(PROXY_ENV.maxMessageBytes, PROXY_LIMITS.maxMessageBytes, 1024, 2 ** 31 - 1),
      maxBufferedBytes: read.integer(PROXY_ENV.maxBufferedBytes, PROXY_LIMITS.maxBufferedBytes, 1024 * 1024, 2 ** 40),
    },
    logLevel: env[PROXY_ENV.logLevel] ?? 'info',
  };
  const { maxBufferedBytes = 0, maxMessageBytes = 0 } = config.limits ?? {};
  if (maxBufferedBytes < maxMessageBytes) {
    read.problem(`${PROXY_ENV.maxBufferedBytes} (${maxBufferedBytes}) must be at least ${PROXY_ENV.maxMessageBytes} ` +
      `(${maxMessageBytes}): otherwise the largest message could never be taken`);
  }
  if (config.oidc) {
    read.url(PROXY_ENV.oidcJwksUri, config.oidc.jwksUri);
  }
  read.check();
  return config;
}
