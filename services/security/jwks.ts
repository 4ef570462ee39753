/**
 * The identity provider's signing keys (its JWKS), fetched and cached with a bound on staleness. Keys are refreshed
 * in the background once they are `refreshMs` old, and at once (at most every `cooldownMs`) when a token names a key
 * the cache does not hold. While the provider cannot be reached, the last keys fetched keep verifying tokens for
 * up to `maxStaleMs` after the last successful fetch, so that a provider outage does not lock every token caller out;
 * after that, tokens are refused until a fetch succeeds. A key the provider withdraws stops working within
 * `refreshMs` while the provider answers.
 */
import { get as httpGet, IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createLocalJWKSet, FlattenedJWSInput, JSONWebKeySet, JWTHeaderParameters, JWTVerifyGetKey } from 'jose';
import { Clock } from './clock';
import { Unauthenticated } from './errors';

/** Fetches the JWKS document at a URL. */
export type FetchKeySet = (url: URL, timeoutMs: number) => Promise<JSONWebKeySet>;

export interface KeySetOptions {
  readonly uri: URL;
  readonly clock: Clock;
  /** Keys older than this are refetched in the background. @default 60 s */
  readonly refreshMs?: number;
  /** How long after the last successful fetch keys still verify while refetches fail. @default 1 h */
  readonly maxStaleMs?: number;
  /** Least time between two fetches caused by an unknown `kid`. @default 30 s */
  readonly cooldownMs?: number;
  /** @default 5 s */
  readonly timeoutMs?: number;
  /** @default an HTTP(S) GET of at most 1 MiB */
  readonly fetch?: FetchKeySet;
  /** Told about each failed fetch (for logs and metrics). */
  readonly onError?: (error: Error) => void;
}

const MAX_JWKS_BYTES = 1024 * 1024;

/** An HTTP(S) GET of a JWKS document: status 200, JSON with a `keys` array, at most 1 MiB, within the timeout. */
export const fetchKeySet: FetchKeySet = (url, timeoutMs) => new Promise((resolve, reject) => {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  const request = get(url, { timeout: timeoutMs, headers: { accept: 'application/json' } }, (response: IncomingMessage) => {
    if (response.statusCode !== 200) {
      response.resume();
      reject(new Error(`the identity provider's key set answered HTTP ${response.statusCode}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_JWKS_BYTES) {
        request.destroy(new Error('the identity provider\'s key set is larger than 1 MiB'));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => {
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet;
        if (!Array.isArray(parsed?.keys)) {
          throw new Error('no keys array');
        }
        resolve(parsed);
      } catch (e) {
        reject(new Error(`the identity provider's key set is not a JWKS: ${(e as Error).message}`));
      }
    });
    response.on('error', reject);
  });
  request.on('timeout', () => request.destroy(new Error(`the identity provider's key set did not answer within ${timeoutMs} ms`)));
  request.on('error', reject);
});

interface Fetched {
  readonly keys: JWTVerifyGetKey;
  readonly kids: ReadonlySet<string | undefined>;
  readonly at: number;
}

export class IdentityProviderKeys {
  private fetched?: Fetched;
  private inflight?: Promise<void>;
  private lastAttempt = -Infinity;
  /** Whether the last fetch failed (unset before the first one ends). */
  private lastFailed?: boolean;
  private readonly refreshMs: number;
  private readonly maxStaleMs: number;
  private readonly cooldownMs: number;

  public constructor(private readonly options: KeySetOptions) {
    this.refreshMs = options.refreshMs ?? 60_000;
    this.maxStaleMs = options.maxStaleMs ?? 3_600_000;
    this.cooldownMs = options.cooldownMs ?? 30_000;
  }

  /** When the keys in use were fetched (ms), or undefined before the first successful fetch. */
  public get fetchedAt(): number | undefined {
    return this.fetched?.at;
  }

  /** Fetches now, unless a fetch is under way (then waits for it). Never throws: a failure is reported and kept out. */
  private refresh(): Promise<void> {
    if (this.inflight === undefined) {
      this.lastAttempt = this.options.clock();
      this.inflight = (this.options.fetch ?? fetchKeySet)(this.options.uri, this.options.timeoutMs ?? 5_000)
        .then((set) => {
          // A key set that does not parse is a failed fetch like any other: the last keys stay.
          const keys = createLocalJWKSet(set);
          // createLocalJWKSet refused a set whose keys are not objects.
          const kids = new Set(set.keys.map((k) => k.kid));
          this.fetched = { keys, kids, at: this.options.clock() };
          this.lastFailed = false;
        })
        .catch((e: unknown) => {
          this.lastFailed = true;
          this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  /** jose's key resolver: the provider's key for a token's header, or Unauthenticated when there is none to trust. */
  public readonly getKey: JWTVerifyGetKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const now = this.options.clock();
    if (this.fetched === undefined) {
      // No keys yet: fetch (at most once per cooldown while the provider fails).
      if (this.inflight !== undefined || now - this.lastAttempt >= this.cooldownMs) {
        await this.refresh();
      }
    } else if (now - this.fetched.at > this.maxStaleMs) {
      // Past the staleness bound, only a fetch now can verify the token (at most once per cooldown while it fails).
      if (this.inflight !== undefined || now - this.lastAttempt >= this.cooldownMs) {
        await this.refresh();
      }
    } else if (now - this.fetched.at >= this.refreshMs && !(this.lastFailed === true && now - this.lastAttempt < this.cooldownMs)) {
      // Due for a refresh, unless the last one failed within the cooldown (a failing provider is not asked per token).
      void this.refresh();
    }
    if (this.fetched !== undefined && typeof header.kid === 'string' && !this.fetched.kids.has(header.kid)) {
      // A key the cache does not hold: the fetch under way may bring it; else fetch, at most once per cooldown.
      if (this.inflight !== undefined) {
        await this.inflight;
      } else if (now - this.lastAttempt >= this.cooldownMs) {
        await this.refresh();
      }
    }
    const fetched = this.fetched;
    if (fetched === undefined) {
      throw new Unauthenticated('the identity provider\'s keys cannot be fetched');
    }
    if (this.options.clock() - fetched.at > this.maxStaleMs) {
      throw new Unauthenticated('the identity provider\'s keys could not be refreshed for too long');
    }
    return fetched.keys(header, token);
  };
}
