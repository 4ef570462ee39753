/**
 * API keys, as Temporal Cloud has them: opaque bearer keys for automation (a CI job, a deploy tool), each with an id,
 * an owner identity that policy rules match, an expiry and a disabled flag. Only a key's SHA-256 is stored (in a
 * Secret you create, `api-keys.json`); the key itself is shown once, when it is made. Pure: the format, the hash and
 * the validation of the key file, shared by the proxy, the codec server and the `secure-temporal api-key` command.
 *
 * A key reads `stk_<id>_<secret>`: the prefix tells it apart from a JWT (which starts `eyJ` and has two dots), the
 * id (public, in audit lines and metrics) finds its record, and the secret is 32 random bytes in base64url. Keys are
 * high-entropy random strings, so one SHA-256 suffices (no password hashing); records are compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../core/errors';

/** The prefix of every API key. */
export const API_KEY_PREFIX = 'stk_';
/** Key of the key records in their Secret (and name of the mounted file). */
export const API_KEYS_FILE = 'api-keys.json';
/** Ids: lowercase letters, digits and `-`, starting with a letter or digit, at most 63 (no `_`: it ends the id in a key). */
export const API_KEY_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Owners: what rules match (`apiKey.owner`); the characters of a rule name. */
export const API_KEY_OWNER = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,99}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The longest a key may live: keys are rotated, never kept forever (the command refuses more, the programs too). */
export const MAX_KEY_DAYS = 730;

/** One stored key: never the key, only its hash. */
export interface ApiKeyRecord {
  readonly id: string;
  /** The identity the key acts for: rules grant to it with `apiKey: { owner }`. */
  readonly owner: string;
  /** SHA-256 of the whole key (`stk_<id>_<secret>`), lowercase hex. */
  readonly sha256: string;
  /** When the key stops working: an RFC 3339 time, e.g. `2027-03-01T00:00:00Z`. */
  readonly expires: string;
  /** A disabled key is refused (revocation that keeps the record, and its audit trail, in place). @default false */
  readonly disabled?: boolean;
}

/** The file of key records (the Secret's `api-keys.json`). */
export interface ApiKeyFile {
  readonly keys: readonly ApiKeyRecord[];
}

const RECORD_KEYS = ['id', 'owner', 'sha256', 'expires', 'disabled'];

/** SHA-256 of a key, as stored. */
export function apiKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** True when `token` (a bearer token) has the shape of an API key rather than a JWT. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** The id and secret of a key, or undefined when it is not one. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  if (!looksLikeApiKey(key)) {
    return undefined;
  }
  const rest = key.slice(API_KEY_PREFIX.length);
  const at = rest.indexOf('_');
  const id = rest.slice(0, at);
  const secret = rest.slice(at + 1);
  return at > 0 && API_KEY_ID.test(id) && SECRET.test(secret) ? { id, secret } : undefined;
}

/** True when `key` hashes to `record.sha256`, compared in constant time. */
export function apiKeyMatches(key: string, record: Pick<ApiKeyRecord, 'sha256'>): boolean {
  return timingSafeEqual(createHash('sha256').update(key).digest(), Buffer.from(record.sha256, 'hex'));
}

/** A new key for `id` (32 random bytes), and its record. The key is returned once and stored nowhere. */
export function createApiKey(id: string, owner: string, expires: Date, random: (n: number) => Buffer = randomBytes):
  { key: string; record: ApiKeyRecord } {
  requireId('api-key', id);
  requireOwner('api-key', owner);
  if (Number.isNaN(expires.getTime())) {
    throw new ValidationError('INVALID_POLICY', 'api-key/expires', 'expires must be a time', String(expires), 'e.g. 2027-03-01 or 90d');
  }
  const key = `${API_KEY_PREFIX}${id}_${random(32).toString('base64url')}`;
  return { key, record: { id, owner, sha256: apiKeyHash(key), expires: expires.toISOString() } };
}

function fail(path: string, problem: string, value: unknown, fix: string): never {
  throw new ValidationError('INVALID_POLICY', path, problem, value, fix);
}

function requireId(path: string, id: unknown): void {
  if (typeof id !== 'string' || !API_KEY_ID.test(id)) {
    fail(`${path}/id`, 'an API key id is 1-63 lowercase letters, digits or "-", starting with a letter or digit', id,
      'e.g. "ci-deploy-2026-12"');
  }
}

function requireOwner(path: string, owner: unknown): void {
  if (typeof owner !== 'string' || !API_KEY_OWNER.test(owner)) {
    fail(`${path}/owner`, 'an owner is 1-100 letters, digits, ".", "_", ":", "/", "@" or "-"', owner, 'e.g. "ci-deploy"');
  }
}

/** True for an RFC 3339 time with an explicit offset whose date exists (no local times, no 30 February). */
function isRfc3339(value: unknown): value is string {
  const match = typeof value === 'string'
    ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(value) : null;
  if (match === null) {
    return false;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // A day the month does not have (0, or past its end) rolls into another month; a year below 100 is read as 19xx.
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.parse refuses a minute or second of 60 and an offset past 23:59, but reads hour 24 as the next midnight.
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && Number(match[4]) < 24 && !Number.isNaN(Date.parse(match[0]));
}

/**
 * Validates the key file (strict: unknown fields, duplicate ids, a malformed hash or expiry are refused with the
 * field and the fix) and returns it. Pure.
 */
export function validateApiKeyFile(path: string, file: unknown): ApiKeyFile {
  if (file === null || typeof file !== 'object' || Array.isArray(file) || !Array.isArray((file as ApiKeyFile).keys)) {
    fail(path, 'the API key file must be an object with a keys array', file, 'write { "keys": [ { "id", "owner", "sha256", "expires" } ] }');
  }
  const unknownTop = Object.keys(file).filter((k) => k !== 'keys');
  if (unknownTop.length > 0) {
    fail(`${path}/${unknownTop[0]}`, `the API key file has no field "${unknownTop[0]}"`, unknownTop[0], 'it takes keys only');
  }
  const ids = new Set<string>();
  (file as ApiKeyFile).keys.forEach((record, i) => {
    const at = `${path}/keys[${i}]`;
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      fail(at, 'a key record must be an object', record, 'write { "id", "owner", "sha256", "expires" }');
    }
    const unknown = Object.keys(record).filter((k) => !RECORD_KEYS.includes(k));
    if (unknown.length > 0) {
      fail(`${at}/${unknown[0]}`, `a key record has no field "${unknown[0]}"`, unknown[0], `a key record takes ${RECORD_KEYS.join(', ')}`);
    }
    requireId(at, record.id);
    if (ids.has(record.id)) {
      fail(`${at}/id`, 'two key records share an id', record.id, 'give every key its own id (it names the key in audit lines)');
    }
    requireOwner(at, record.owner);
    if (typeof record.sha256 !== 'string' || !SHA256_HEX.test(record.sha256)) {
      fail(`${at}/sha256`, 'sha256 must be 64 lowercase hex digits (the SHA-256 of the key, never the key)', '(not shown)',
        'make keys with `secure-temporal api-key create`, which prints the record');
    }
    if (!isRfc3339(record.expires)) {
      fail(`${at}/expires`, 'expires must be an RFC 3339 time with its offset (Z or ±hh:mm), on a day the month has', record.expires,
        'e.g. "2027-03-01T00:00:00Z"');
    }
    if (record.disabled !== undefined && typeof record.disabled !== 'boolean') {
      fail(`${at}/disabled`, 'disabled must be true or false', record.disabled, 'set "disabled": true to revoke the key');
    }
    ids.add(record.id);
  });
  return file as ApiKeyFile;
}
