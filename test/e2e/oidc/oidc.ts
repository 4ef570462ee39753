/**
 * Starts the loopback OpenID Connect provider of provider.mjs (oidc-provider 9.x) as a child process and gets JWT
 * access tokens from it without a browser: the `client_credentials` grant at its real token endpoint, as the client
 * named like the account (one, with a random secret, is added for every account that has no client of its own id).
 * The token's `sub` is the account; `permissions` and `groups` are the account's; `aud` is the configured audience.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type OidcSigningAlg = 'ES256' | 'RS256';

export interface OidcClient {
  readonly client_id: string;
  readonly client_secret: string;
  /** With redirect URIs the client may also use the authorization-code flow (devInteractions login and consent). */
  readonly redirect_uris?: readonly string[];
}

export interface OidcAccount {
  /** Temporal's `<namespace>:<role>` strings, put in the access token's `permissions` claim. */
  readonly permissions?: readonly string[];
  /** Put in the access token's `groups` claim. */
  readonly groups?: readonly string[];
}

export interface OidcProviderConfig {
  /** 0 or absent: any free port on 127.0.0.1. */
  readonly port?: number;
  /** The `aud` of the access tokens. */
  readonly audience: string;
  readonly signingAlg: OidcSigningAlg;
  readonly clients?: readonly OidcClient[];
  readonly accounts: Readonly<Record<string, OidcAccount>>;
  /** Access token lifetime in seconds (default 3600). */
  readonly accessTokenTTL?: number;
  /** How long to wait for the provider to listen (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key; `ca` is what verifies it (the provider and these helpers trust it). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** The private JWK the provider signs with (so that a test can sign tokens with the very same key). @default - generated */
  readonly signingJwk?: object;
}

export interface OidcProvider {
  /** `http://127.0.0.1:<port>`, the `iss` of the tokens. */
  readonly issuer: string;
  /** The JWKS URI from the provider's discovery document. */
  readonly jwksUri: string;
  /** A fresh access token (JWT) for the account. */
  token(account: string): Promise<string>;
  /** Stops the provider (idempotent). */
  stop(): Promise<void>;
}

const PROVIDER_SCRIPT = join(__dirname, 'provider.mjs');
const STDERR_KEEP = 16_384;
const HTTP_TIMEOUT_MS = 10_000;

/** `application/x-www-form-urlencoded` encoding, as RFC 6749 §2.3.1 wants for the Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** One HTTP(S) request, trusting `ca` (when given) for HTTPS. */
function request(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {}):
  Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, timeout: HTTP_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts the provider and resolves once it listens; rejects (and kills it) if it fails or is not up in time. */
export async function startOidcProvider(config: OidcProviderConfig): Promise<OidcProvider> {
  const clients: OidcClient[] = [...(config.clients ?? [])];
  for (const account of Object.keys(config.accounts)) {
    if (!clients.some((c) => c.client_id === account)) {
      clients.push({ client_id: account, client_secret: randomBytes(24).toString('base64url') });
    }
  }
  const secrets = new Map(clients.map((c) => [c.client_id, c.client_secret]));
  const providerConfig = {
    port: config.port ?? 0,
    audience: config.audience,
    signingAlg: config.signingAlg,
    clients,
    accounts: config.accounts,
    ...(config.accessTokenTTL === undefined ? {} : { accessTokenTTL: config.accessTokenTTL }),
    ...(config.tls ? { tls: { cert: config.tls.cert, key: config.tls.key } } : {}),
    ...(config.signingJwk ? { signingJwk: config.signingJwk } : {}),
  };
  let caFile: string | undefined;
  if (config.tls) {
    caFile = join(mkdtempSync(join(tmpdir(), 'oidc-ca-')), 'ca.crt');
    writeFileSync(caFile, config.tls.ca);
  }

  const child = spawn(process.execPath, [PROVIDER_SCRIPT], {
    env: { ...process.env, OIDC_CONFIG: JSON.stringify(providerConfig), ...(caFile ? { NODE_EXTRA_CA_CERTS: caFile } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      process.off('exit', killOnExit);
      const done = exited(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(timer);
    }
  };

  let started: { issuer: string; jwks: string };
  try {
    started = await new Promise((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        reject(new Error(`OIDC provider did not start within ${config.startTimeoutMs ?? 30_000} ms; stderr:\n${stderr}`));
      }, config.startTimeoutMs ?? 30_000);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new Error(`OIDC provider exited (code ${code}, signal ${signal}) before listening; stderr:\n${stderr}`));
      };
      child.once('close', onExit);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        if (stdout.includes('\n')) {
          return; // drain: only the first line is the announcement
        }
        stdout += chunk;
        const nl = stdout.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          child.off('close', onExit);
          try {
            const line: unknown = JSON.parse(stdout.slice(0, nl));
            const { issuer, jwks } = line as { issuer?: unknown; jwks?: unknown };
            if (typeof issuer !== 'string' || typeof jwks !== 'string') {
              throw new Error('no issuer/jwks');
            }
            resolve({ issuer, jwks });
          } catch (e) {
            reject(new Error(`OIDC provider announced ${JSON.stringify(stdout.slice(0, nl))}: ${(e as Error).message}`));
          }
        }
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }

  const { issuer, jwks: jwksUri } = started;
  let tokenEndpoint: string;
  try {
    const res = await request(`${issuer}/.well-known/openid-configuration`, { ca: config.tls?.ca });
    const discovery = JSON.parse(res.body) as { token_endpoint?: unknown };
    if (res.status !== 200 || typeof discovery.token_endpoint !== 'string') {
      throw new Error(`discovery answered ${res.status} ${JSON.stringify(discovery)}`);
    }
    tokenEndpoint = discovery.token_endpoint;
  } catch (e) {
    await stop();
    throw e;
  }

  const token = async (account: string): Promise<string> => {
    if (stopped) {
      throw new Error('OIDC provider is stopped');
    }
    if (!Object.hasOwn(config.accounts, account)) {
      throw new Error(`unknown OIDC test account ${JSON.stringify(account)}`);
    }
    const secret = secrets.get(account) as string;
    const res = await request(tokenEndpoint, {
      method: 'POST',
      headers: {
        'authorization': `Basic ${Buffer.from(`${formEncode(account)}:${formEncode(secret)}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
      ca: config.tls?.ca,
    });
    const text = res.body;
    let body: { access_token?: unknown } = {};
    try {
      body = JSON.parse(text) as { access_token?: unknown };
    } catch {
      // reported below
    }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      throw new Error(`token request for ${account} failed: ${res.status} ${text}; provider stderr:\n${stderr}`);
    }
    return body.access_token;
  };

  return { issuer, jwksUri, token, stop };
}
