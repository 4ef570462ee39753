/**
 * API keys at run time: the records of the mounted key file (hashes only), and the identity of a presented key.
 * Whoever cannot prove possession of a key learns nothing about it: an unknown id and a wrong secret get the same
 * answer, and only a key that verifies is told that it expired or was disabled.
 */
import { ApiKeyFile, apiKeyMatches, ApiKeyRecord, MAX_KEY_DAYS, parseApiKey, validateApiKeyFile } from '../../lib/authorizer/api-keys';
import { ApiKeyIdentity } from '../../lib/authorizer/policy';
import { Clock } from './clock';
import { Unauthenticated } from './errors';
import { jsonFile, Snapshot } from './reload';

/** The key records by id. */
export class ApiKeys {
  private readonly byId: ReadonlyMap<string, ApiKeyRecord>;

  public constructor(file: ApiKeyFile) {
    this.byId = new Map(file.keys.map((record) => [record.id, record]));
  }

  /** Parses the key file (`api-keys.json` of the mounted Secret); a ValidationError naming the field otherwise. */
  public static parse(snapshot: Snapshot): ApiKeys {
    return new ApiKeys(jsonFile(snapshot, validateApiKeyFile));
  }

  public get records(): readonly ApiKeyRecord[] {
    return [...this.byId.values()];
  }

  /** The identity of `key` and when it expires (ms), or Unauthenticated. */
  public verify(key: string, clock: Clock): { identity: ApiKeyIdentity; expiresAt: number } {
    const parsed = parseApiKey(key);
    const record = parsed === undefined ? undefined : this.byId.get(parsed.id);
    // The same work and the same answer for an unknown id as for a wrong secret.
    const matches = apiKeyMatches(key, record ?? UNKNOWN);
    if (record === undefined || !matches) {
      throw new Unauthenticated('the API key is not valid');
    }
    if (record.disabled === true) {
      throw new Unauthenticated(`the API key ${record.id} is disabled`);
    }
    const expiresAt = Date.parse(record.expires);
    const now = clock();
    if (now >= expiresAt) {
      throw new Unauthenticated(`the API key ${record.id} expired at ${record.expires}`);
    }
    // A record written by hand with an expiry years away is no key that is rotated: refused, with the reason.
    if (expiresAt - now > MAX_KEY_DAYS * 86_400_000) {
      throw new Unauthenticated(`the API key ${record.id} expires more than ${MAX_KEY_DAYS} days ahead: make a shorter-lived key`);
    }
    return { identity: { kind: 'apiKey', id: record.id, owner: record.owner }, expiresAt };
  }
}

const UNKNOWN = { sha256: '0'.repeat(64) };
