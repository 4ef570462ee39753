import { configFromEnv } from '../../../services/codec-server/config';
import { refusal } from '../refusal';

/** The least environment that starts: TLS files, trust domain, keys, policy and one way to authenticate. */
const BASE = {
  CODEC_TLS_CERT_FILE: '/tls/tls.crt', CODEC_TLS_KEY_FILE: '/tls/tls.key', CODEC_TRUST_DOMAIN: 'cluster.local',
  CODEC_KEYS_DIR: '/keys', CODEC_POLICY_FILE: '/policy/policy.json', CODEC_CLIENT_CA_FILES: '/ca/workload.crt',
};

const problems = (env: Record<string, string | undefined>): string => refusal(() => configFromEnv({ ...BASE, ...env }));

describe('configFromEnv', () => {
  test('the defaults', () => {
    expect(configFromEnv(BASE)).toStrictEqual({
      listen: { host: '0.0.0.0', port: 8443 }, http: { host: '0.0.0.0', port: 9090 },
      certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', clientCaFiles: ['/ca/workload.crt'], trustDomain: 'cluster.local', keysDir: '/keys',
      policyFile: '/policy/policy.json', maxInFlightBytes: 32 * 1024 * 1024, maxConnections: 512, corsOrigins: [],
      maxBodyBytes: 4 * 1024 * 1024, maxPayloads: 1000, requestTimeoutMs: 30_000, reloadSeconds: 10, logLevel: 'info',
    });
  });

  test('every setting read', () => {
    const config = configFromEnv({ ...BASE, CODEC_LISTEN: '[::1]:9443', CODEC_HTTP_LISTEN: '127.0.0.1:9091',
      CODEC_CLIENT_CA_FILES: ' /ca/a.crt , ,/ca/b.crt ', CODEC_OIDC_ISSUER: 'https://idp.example', CODEC_OIDC_AUDIENCE: 'temporal',
      CODEC_OIDC_JWKS_URI: 'https://idp.example/jwks', CODEC_OIDC_MAX_STALE_SECONDS: '0', CODEC_API_KEYS_FILE: '/api-keys/api-keys.json',
      CODEC_MAX_IN_FLIGHT_BYTES: '4096', CODEC_MAX_CONNECTIONS: '100000', CODEC_CORS_ORIGINS: 'https://ui.example.com, http://localhost:8080',
      CODEC_MAX_BODY_BYTES: '4096', CODEC_MAX_PAYLOADS: '1', CODEC_REQUEST_TIMEOUT_MS: '600000', CODEC_COMPRESS_AT_BYTES: '1',
      CODEC_RELOAD_SECONDS: '600', CODEC_LOG_LEVEL: 'debug' });
    expect(config).toStrictEqual({
      listen: { host: '::1', port: 9443 }, http: { host: '127.0.0.1', port: 9091 },
      certFile: '/tls/tls.crt', keyFile: '/tls/tls.key', clientCaFiles: ['/ca/a.crt', '/ca/b.crt'], trustDomain: 'cluster.local', keysDir: '/keys',
      policyFile: '/policy/policy.json',
      oidc: { issuer: 'https://idp.example', audience: 'temporal', jwksUri: 'https://idp.example/jwks', maxStaleSeconds: 0 },
      apiKeysFile: '/api-keys/api-keys.json', maxInFlightBytes: 4096, maxConnections: 100_000,
      corsOrigins: ['https://ui.example.com', 'http://localhost:8080'], maxBodyBytes: 4096, maxPayloads: 1, requestTimeoutMs: 600_000,
      compressAtBytes: 1, reloadSeconds: 600, logLevel: 'debug',
    });
  });

  test('empty values are the defaults; a listen address of port 65535 is one', () => {
    expect(configFromEnv({ ...BASE, CODEC_LISTEN: '', CODEC_MAX_PAYLOADS: '', CODEC_COMPRESS_AT_BYTES: '0' })).toMatchObject({
      listen: { host: '0.0.0.0', port: 8443 }, maxPayloads: 1000 });
    expect(configFromEnv({ ...BASE, CODEC_COMPRESS_AT_BYTES: '0' })).not.toHaveProperty('compressAtBytes');
    expect(configFromEnv({ ...BASE, CODEC_LISTEN: 'codec:65535' }).listen).toEqual({ host: 'codec', port: 65535 });
  });

  test('each bad value named, all at once, with the fix', () => {
    expect(problems({ CODEC_LISTEN: 'codec:65536', CODEC_HTTP_LISTEN: 'no-port' })).toBe('invalid configuration: ' +
      'CODEC_LISTEN must be host:port, e.g. 0.0.0.0:8443 (got "codec:65536"); CODEC_HTTP_LISTEN must be host:port, e.g. 0.0.0.0:9090 (got "no-port")');
    expect(problems({ CODEC_MAX_PAYLOADS: '100001' })).toBe('invalid configuration: CODEC_MAX_PAYLOADS must be an integer from 1 to 100000 ' +
      '(got "100001")');
    expect(problems({ CODEC_MAX_PAYLOADS: '0' })).toBe('invalid configuration: CODEC_MAX_PAYLOADS must be an integer from 1 to 100000 (got "0")');
    expect(problems({ CODEC_MAX_PAYLOADS: '1.5' })).toBe('invalid configuration: CODEC_MAX_PAYLOADS must be an integer from 1 to 100000 (got "1.5")');
    expect(problems({ CODEC_CORS_ORIGINS: 'ftp://ui.example.com,https://ui.example.com/path,not a url' })).toBe('invalid configuration: ' +
      'CODEC_CORS_ORIGINS: "ftp://ui.example.com" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com; ' +
      'CODEC_CORS_ORIGINS: "https://ui.example.com/path" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com; ' +
      'CODEC_CORS_ORIGINS: "not a url" is not an origin (scheme://host[:port], no path), e.g. https://temporal.example.com');
    expect(problems({ CODEC_MAX_IN_FLIGHT_BYTES: '4095', CODEC_MAX_BODY_BYTES: '4096' })).toBe('invalid configuration: ' +
      'CODEC_MAX_IN_FLIGHT_BYTES (4095) must be at least CODEC_MAX_BODY_BYTES (4096): otherwise the largest request could never be served');
    expect(problems({ CODEC_OIDC_ISSUER: 'https://idp.example', CODEC_OIDC_AUDIENCE: 'temporal', CODEC_OIDC_JWKS_URI: 'jwks' }))
      .toBe('invalid configuration: CODEC_OIDC_JWKS_URI must be a URL');
    expect(problems({ CODEC_TLS_CERT_FILE: '', CODEC_OIDC_ISSUER: 'https://idp.example' })).toBe('invalid configuration: ' +
      'CODEC_TLS_CERT_FILE is not set; CODEC_OIDC_AUDIENCE is not set; CODEC_OIDC_JWKS_URI is not set; CODEC_OIDC_JWKS_URI must be a URL');
  });

  test('some way to authenticate: client CAs, an identity provider or API keys, any one of them', () => {
    const none = 'invalid configuration: no caller could authenticate: set CODEC_CLIENT_CA_FILES, CODEC_OIDC_ISSUER or CODEC_API_KEYS_FILE';
    expect(problems({ CODEC_CLIENT_CA_FILES: ' , ' })).toBe(none);
    expect(problems({ CODEC_CLIENT_CA_FILES: undefined, CODEC_API_KEYS_FILE: '/k/api-keys.json' })).toBe('accepted');
    expect(problems({ CODEC_CLIENT_CA_FILES: undefined, CODEC_OIDC_ISSUER: 'https://idp.example', CODEC_OIDC_AUDIENCE: 'temporal',
      CODEC_OIDC_JWKS_URI: 'https://idp.example/jwks' })).toBe('accepted');
  });
});
