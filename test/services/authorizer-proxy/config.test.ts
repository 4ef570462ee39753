import { PROXY_JWKS_PATH } from '../../../lib/authorizer/proxy-env';
import { configFromEnv, PROXY_ENV } from '../../../services/authorizer-proxy/config';
import { refusal } from '../refusal';

const COMPLETE = {
  [PROXY_ENV.certFile]: '/tls/tls.crt', [PROXY_ENV.keyFile]: '/tls/tls.key', [PROXY_ENV.clientCaFiles]: '/trust/a.crt,/trust/b.crt',
  [PROXY_ENV.trustDomain]: 'cluster.local', [PROXY_ENV.upstreamAddress]: 'fe:7233', [PROXY_ENV.upstreamServerName]: 'fe',
  [PROXY_ENV.upstreamCaFiles]: '/trust/frontend-ca.crt,/trust/frontend-ca-2.crt', [PROXY_ENV.upstreamCertFile]: '/client/tls.crt',
  [PROXY_ENV.upstreamKeyFile]: '/client/tls.key', [PROXY_ENV.signingKeyFile]: '/signing/tls.key', [PROXY_ENV.tokenIssuer]: 'p',
  [PROXY_ENV.tokenAudience]: 'a', [PROXY_ENV.policyFile]: '/policy/policy.json',
};

const problems = (env: Record<string, string | undefined>): string => refusal(() => configFromEnv({ ...COMPLETE, ...env }));

describe('the proxy\'s configuration from the environment', () => {
  it('does read the least environment with every default', () => {
    expect(configFromEnv(COMPLETE)).toStrictEqual({
      listen: { host: '0.0.0.0', port: 7233, certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', clientCaFiles: ['/trust/a.crt', '/trust/b.crt'],
        platformCaFiles: [], chainCaFiles: [] },
      http: { host: '0.0.0.0', port: 9090 }, jwks: { host: '0.0.0.0', port: 8443 }, trustDomain: 'cluster.local',
      upstream: { address: 'fe:7233', serverName: 'fe', caFiles: ['/trust/frontend-ca.crt', '/trust/frontend-ca-2.crt'], certFile: '/client/tls.crt', keyFile: '/client/tls.key' },
      signer: { keyFile: '/signing/tls.key', issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 150 },
      policyFile: '/policy/policy.json', reloadSeconds: 10,
      limits: { maxConnections: 2000, maxConcurrentStreams: 100, connectionIdleSeconds: 300, connectionMaxAgeSeconds: 1800,
        connectionMaxAgeGraceSeconds: 120,
        maxMessageBytes: 128 * 1024 * 1024, maxBufferedBytes: 192 * 1024 * 1024 },
      logLevel: 'info',
    });
  });

  it('does read every setting, at the edges of their ranges', () => {
    const config = configFromEnv({ ...COMPLETE, PROXY_LISTEN: '[fd00::1]:1', PROXY_HTTP_LISTEN: '127.0.0.1:65535', PROXY_JWKS_LISTEN: 'jwks:8444',
      PROXY_CLIENT_CA_FILES: '/a.crt,,/b.crt,', PROXY_PLATFORM_CA_FILES: '/p.crt,', PROXY_CHAIN_CA_FILES: ',/c.crt',
      PROXY_SIGNING_CERT_FILE: '/signing/tls.crt', PROXY_GRANT_TTL_SECONDS: '30', PROXY_PUBLISH_DELAY_SECONDS: '3600', PROXY_RELOAD_SECONDS: '600',
      PROXY_OIDC_ISSUER: 'https://idp', PROXY_OIDC_AUDIENCE: 't', PROXY_OIDC_JWKS_URI: 'https://idp/jwks', PROXY_OIDC_MAX_STALE_SECONDS: '604800',
      PROXY_API_KEYS_FILE: '/k/api-keys.json', PROXY_MAX_CONNECTIONS: '1', PROXY_MAX_CONCURRENT_STREAMS: '10000',
      PROXY_CONNECTION_IDLE_SECONDS: '10', PROXY_CONNECTION_MAX_AGE_SECONDS: '60',
      PROXY_CONNECTION_MAX_AGE_GRACE_SECONDS: '1', PROXY_MAX_MESSAGE_BYTES: '1048576',
      PROXY_MAX_BUFFERED_BYTES: '1048576', PROXY_LOG_LEVEL: 'debug' });
    expect(config.listen).toStrictEqual({ host: 'fd00::1', port: 1, certFile: '/tls/tls.crt', keyFile: '/tls/tls.key',
      clientCaFiles: ['/a.crt', '/b.crt'], platformCaFiles: ['/p.crt'], chainCaFiles: ['/c.crt'] });
    expect([config.http, config.jwks]).toStrictEqual([{ host: '127.0.0.1', port: 65535 }, { host: 'jwks', port: 8444 }]);
    expect(config.signer).toStrictEqual({ keyFile: '/signing/tls.key', certFile: '/signing/tls.crt', issuer: 'p', audience: 'a', ttlSeconds: 30,
      publishDelaySeconds: 3600 });
    expect(config.oidc).toStrictEqual({ issuer: 'https://idp', audience: 't', jwksUri: 'https://idp/jwks', maxStaleSeconds: 604800 });
    expect(config.apiKeysFile).toBe('/k/api-keys.json');
    expect(config.limits).toStrictEqual({ maxConnections: 1, maxConcurrentStreams: 10000, connectionIdleSeconds: 10,
      connectionMaxAgeSeconds: 60, connectionMaxAgeGraceSeconds: 1, maxMessageBytes: 1048576, maxBufferedBytes: 1048576 });
    expect([config.reloadSeconds, config.logLevel]).toEqual([600, 'debug']);
  });

  it('does take empty values as the defaults', () => {
    expect(configFromEnv({ ...COMPLETE, PROXY_LISTEN: '', PROXY_RELOAD_SECONDS: '' })).toMatchObject({ listen: { host: '0.0.0.0', port: 7233 },
      reloadSeconds: 10 });
  });

  it('does name each bad value, with its range or form', () => {
    const listen = (v: string) => `invalid configuration: PROXY_LISTEN must be host:port, e.g. 0.0.0.0:7233 (got ${JSON.stringify(v)})`;
    for (const bad of ['0.0.0.0:65536', 'x:y', ':7233', 'a b:7233', 'host:123456', ' host:7233', 'host:7233 ', '[::1:7233']) {
      expect(problems({ PROXY_LISTEN: bad })).toBe(listen(bad));
    }
    const grace = (v: string) => 'invalid configuration: PROXY_CONNECTION_MAX_AGE_GRACE_SECONDS must be an integer from 1 to 86400 ' +
      `(got ${JSON.stringify(v)})`;
    for (const bad of ['0', '86401']) {
      expect(problems({ PROXY_CONNECTION_MAX_AGE_GRACE_SECONDS: bad })).toBe(grace(bad));
    }
    const ttl = (v: string) => `invalid configuration: PROXY_GRANT_TTL_SECONDS must be an integer from 30 to 3600 (got ${JSON.stringify(v)})`;
    for (const bad of ['29', '3601', '60.5', 'x']) {
      expect(problems({ PROXY_GRANT_TTL_SECONDS: bad })).toBe(ttl(bad));
    }
    expect(problems({ PROXY_MAX_MESSAGE_BYTES: '2147483648', PROXY_MAX_BUFFERED_BYTES: '4294967296' })).toBe('invalid configuration: ' +
      'PROXY_MAX_MESSAGE_BYTES must be an integer from 1024 to 2147483647 (got "2147483648")');
    expect(problems({ PROXY_MAX_BUFFERED_BYTES: '1048575' })).toBe('invalid configuration: PROXY_MAX_BUFFERED_BYTES must be an integer from ' +
      '1048576 to 1099511627776 (got "1048575"); PROXY_MAX_BUFFERED_BYTES (1048575) must be at least PROXY_MAX_MESSAGE_BYTES (134217728): ' +
      'otherwise the largest message could never be taken');
    expect(problems({ PROXY_MAX_BUFFERED_BYTES: '2097152', PROXY_MAX_MESSAGE_BYTES: '2097153' })).toBe('invalid configuration: ' +
      'PROXY_MAX_BUFFERED_BYTES (2097152) must be at least PROXY_MAX_MESSAGE_BYTES (2097153): otherwise the largest message could never be taken');
    expect(problems({ PROXY_MAX_BUFFERED_BYTES: '2097152', PROXY_MAX_MESSAGE_BYTES: '2097152' })).toBe('accepted');
    expect(problems({ PROXY_CLIENT_CA_FILES: '', PROXY_TRUST_DOMAIN: undefined })).toBe('invalid configuration: PROXY_CLIENT_CA_FILES is not set; ' +
      'PROXY_TRUST_DOMAIN is not set');
  });

  it('does read a COMPLETE environment, with the defaults', () => {
    const config = configFromEnv(COMPLETE);
    expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 7233, clientCaFiles: ['/trust/a.crt', '/trust/b.crt'], chainCaFiles: [] });
    expect(config.signer).toMatchObject({ ttlSeconds: 300, publishDelaySeconds: 150 });
    expect(config.oidc).toBeUndefined();
    expect(configFromEnv({ ...COMPLETE, [PROXY_ENV.jwksListen]: '[::1]:8444' }).jwks).toEqual({ host: '::1', port: 8444 });
    expect(configFromEnv({ ...COMPLETE, [PROXY_ENV.oidcIssuer]: 'https://idp', [PROXY_ENV.oidcAudience]: 't',
      [PROXY_ENV.oidcJwksUri]: 'https://idp/jwks' }).oidc).toEqual({ issuer: 'https://idp', audience: 't', jwksUri: 'https://idp/jwks',
      maxStaleSeconds: 3600 });
  });

  it('fails naming every missing or malformed variable at once', () => {
    expect(() => configFromEnv({ ...COMPLETE, [PROXY_ENV.policyFile]: '', [PROXY_ENV.listen]: '0.0.0.0:70000', [PROXY_ENV.tokenTtl]: '5' }))
      .toThrow('invalid configuration: PROXY_LISTEN must be host:port, e.g. 0.0.0.0:7233 (got "0.0.0.0:70000"); PROXY_GRANT_TTL_SECONDS must be an ' +
        'integer from 30 to 3600 (got "5"); PROXY_POLICY_FILE is not set');
    expect(() => configFromEnv({ ...COMPLETE, [PROXY_ENV.oidcIssuer]: 'https://idp', [PROXY_ENV.oidcAudience]: 't',
      [PROXY_ENV.oidcJwksUri]: 'not a url' })).toThrow('PROXY_OIDC_JWKS_URI must be a URL');
  });

  it('does publish its signing keys at the well-known path (the frontend is given the same URL)', () => {
    expect(PROXY_JWKS_PATH).toBe('/.well-known/jwks.json');
  });
});
