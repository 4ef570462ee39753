/**
 * A real OpenID Connect provider (`oidc-provider` 9.x) on loopback, for end-to-end tests. It issues JWT access tokens
 * that an authorizer verifies with `jose` against the provider's JWKS.
 *
 * Usage: `OIDC_CONFIG='<json>' node test/e2e/oidc/provider.mjs` (or the JSON as argv[2]). The config:
 *   {
 *     "port": 0,                    // 0 = any free port; the server listens on 127.0.0.1 only
 *     "audience": "temporal",       // the `aud` of every access token
 *     "signingAlg": "ES256",        // or "RS256": the one signing key, generated at start
 *     "accessTokenTTL": 3600,       // optional, seconds
 *     "clients": [{ "client_id": "...", "client_secret": "...", "redirect_uris": ["http://127.0.0.1:1234/cb"] }],
 *     "accounts": { "alice": { "permissions": ["orders:write"], "groups": ["team-orders"] } },
 *     "tls": { "cert": "<PEM>", "key": "<PEM>" },   // optional: serve HTTPS (the issuer is then https://...)
 *     "signingJwk": { ... }          // optional: the private JWK to sign with (default: generated at start)
 *   }
 * The issuer is `http://127.0.0.1:<port>` (`https://` with tls; the port actually bound). With tls, the process must
 * trust the certificate's CA itself (NODE_EXTRA_CA_CERTS) for its own discovery check. Once the server listens, exactly one line is printed
 * to stdout: `{"issuer":"http://127.0.0.1:<port>","jwks":"http://127.0.0.1:<port>/jwks"}`. Everything else (the
 * "Unsupported runtime" warning on Node 20, oidc-provider notices, errors) goes to stderr. SIGTERM/SIGINT stop it.
 * Discovery: `<issuer>/.well-known/openid-configuration`; token endpoint: `<issuer>/token`; JWKS: `<issuer>/jwks`.
 *
 * Getting a token without a browser: the `client_credentials` grant at the real token endpoint. For that, an
 * account needs a client of the same id (the helper in oidc.ts adds one, with a random secret, for every account that
 * has none):
 *   POST <issuer>/token, Authorization: Basic base64(client_id:client_secret), body grant_type=client_credentials
 * The token is for the default resource (no `resource` parameter needed); its `sub` and `client_id` are the client id,
 * and `permissions`/`groups` are those of the account with that id (none when there is no such account).
 *
 * Access token (both flows): a JWS, header `{ alg: signingAlg, typ: 'at+jwt', kid }`, claims `sub, iss, aud, exp, iat,
 * jti, client_id, scope?` plus `permissions` and `groups` from extraTokenClaims (they never override the standard
 * claims). `aud` is `audience`; the resource indicator is `audience` itself when it is an absolute URI, otherwise
 * `urn:oidc-test:resource:<audience>` (oidc-provider only takes absolute URIs as resource indicators).
 *
 * Browser flow: the authorization-code flow works with devInteractions (the built-in, development-only login and
 * consent pages; any login name is accepted there, but only accounts from the config have claims, others fail at the
 * token endpoint). Clients with `redirect_uris` may use `authorization_code`, `refresh_token` and
 * `client_credentials`; clients without only `client_credentials`. useGrantedResource is on, so the access token of the
 * code flow is the same kind of JWT for `audience`, with `sub` = the account that logged in. findAccount returns the
 * account's `sub`, `permissions` and `groups` as claims (ID token / userinfo, scope `openid`).
 */
/* global console, fetch, setTimeout, URL */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

// oidc-provider writes its notices with console.info (stdout): keep stdout for the one JSON line. The static imports
// below load no oidc-provider code; it is imported dynamically after this.
const writeErr = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
console.log = writeErr;
console.info = writeErr;
console.debug = writeErr;

const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await import('jose');
const { default: Provider, errors } = await import('oidc-provider');

function fail(message) {
  process.stderr.write(`oidc test provider: ${message}\n`);
  process.exit(2);
}

function readConfig() {
  const raw = process.env.OIDC_CONFIG || process.argv[2];
  if (!raw) {
    fail('no config: set OIDC_CONFIG or pass the JSON as the first argument');
  }
  let config;
  try {
    config = JSON.parse(raw);
  } catch (e) {
    fail(`config is not JSON: ${e.message}`);
  }
  const { port = 0, audience, signingAlg, clients = [], accounts = {}, accessTokenTTL = 3600, tls, signingJwk } = config;
  if (tls !== undefined && (typeof tls?.cert !== 'string' || typeof tls?.key !== 'string')) {
    fail('tls must be { cert, key } (PEM strings)');
  }
  if (signingJwk !== undefined && (typeof signingJwk !== 'object' || typeof signingJwk.d !== 'string')) {
    fail('signingJwk must be a private JWK');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`bad port ${JSON.stringify(port)}`);
  }
  if (typeof audience !== 'string' || audience === '') {
    fail('audience must be a non-empty string');
  }
  if (signingAlg !== 'ES256' && signingAlg !== 'RS256') {
    fail(`signingAlg must be ES256 or RS256, not ${JSON.stringify(signingAlg)}`);
  }
  if (!Array.isArray(clients) || clients.some((c) => typeof c?.client_id !== 'string' || typeof c?.client_secret !== 'string')) {
    fail('clients must be an array of { client_id, client_secret, redirect_uris? }');
  }
  if (accounts === null || typeof accounts !== 'object' || Array.isArray(accounts)) {
    fail('accounts must be an object { [accountId]: { permissions?, groups? } }');
  }
  if (!Number.isInteger(accessTokenTTL) || accessTokenTTL <= 0) {
    fail('accessTokenTTL must be a positive integer (seconds)');
  }
  return { port, audience, signingAlg, clients, accounts, accessTokenTTL, tls, signingJwk };
}

function isAbsoluteUri(value) {
  return URL.canParse(value) && !value.includes('#');
}

const config = readConfig();
const resource = isAbsoluteUri(config.audience) ? config.audience : `urn:oidc-test:resource:${encodeURIComponent(config.audience)}`;

/** The account's `permissions` and `groups` (copies), or undefined for an unknown account. */
function accountClaims(accountId) {
  if (typeof accountId !== 'string' || !Object.hasOwn(config.accounts, accountId)) {
    return undefined;
  }
  const account = config.accounts[accountId] ?? {};
  return { permissions: [...(account.permissions ?? [])], groups: [...(account.groups ?? [])] };
}

const privateJwk = config.signingJwk ?? await exportJWK((await generateKeyPair(config.signingAlg, { extractable: true })).privateKey);
const kid = await calculateJwkThumbprint(privateJwk);
const signingJwk = { ...privateJwk, kid, alg: config.signingAlg, use: 'sig' };

// Listen first: the issuer has the bound port in it, and the provider needs its issuer when it is made.
const server = config.tls ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }) : createHttpServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port, '127.0.0.1', () => {
    server.off('error', reject);
    resolve();
  });
});
const issuer = `${config.tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map(({ client_id, client_secret, redirect_uris }) => {
    const browser = Array.isArray(redirect_uris) && redirect_uris.length > 0;
    return {
      client_id,
      client_secret,
      grant_types: browser ? ['authorization_code', 'refresh_token', 'client_credentials'] : ['client_credentials'],
      response_types: browser ? ['code'] : [],
      redirect_uris: browser ? redirect_uris : [],
    };
  }),
  clientDefaults: { id_token_signed_response_alg: config.signingAlg },
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub', 'permissions', 'groups'] },
  findAccount(_ctx, sub) {
    const claims = accountClaims(sub);
    if (claims === undefined) {
      return undefined;
    }
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  extraTokenClaims(_ctx, token) {
    // AccessToken (code flow): the account that logged in; ClientCredentials: the account named like the client.
    return accountClaims(token.accountId ?? token.clientId);
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, indicator) {
        if (indicator !== resource) {
          throw new errors.InvalidTarget(`unknown resource ${indicator}`);
        }
        return {
          audience: config.audience,
          scope: 'openid',
          accessTokenFormat: 'jwt',
          accessTokenTTL: config.accessTokenTTL,
          jwt: { sign: { alg: config.signingAlg } },
        };
      },
    },
  },
  ttl: {
    AccessToken: config.accessTokenTTL,
    ClientCredentials: config.accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 86400,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  clientBasedCORS: () => true,
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc test provider: server_error ${err?.stack ?? err}\n`));
server.on('request', provider.callback());

// Print what discovery says, so the line is exactly what a relying party would find.
const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
if (discovery.issuer !== issuer || typeof discovery.jwks_uri !== 'string') {
  fail(`unexpected discovery document ${JSON.stringify(discovery)}`);
}
process.stdout.write(`${JSON.stringify({ issuer, jwks: discovery.jwks_uri })}\n`);

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
