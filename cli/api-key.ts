/**
 * `secure-temporal api-key`: makes API keys and keeps the file of their records (`api-keys.json`, the content of the
 * Secret the authorizer proxy and the codec server read). The key is printed once and stored nowhere; the file holds
 * only its SHA-256, its owner and its expiry, so the file (and the Secret) never holds a credential.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiKeyFile, ApiKeyRecord, API_KEYS_FILE, createApiKey, MAX_KEY_DAYS, validateApiKeyFile } from '../lib/authorizer/api-keys';

export { MAX_KEY_DAYS };
import { ValidationError } from '../lib/core/errors';

export const API_KEY_USAGE = `Usage:
  secure-temporal api-key create --id ID --owner OWNER --expires 90d|2027-03-01 [--file ${API_KEYS_FILE}]
      make a key: the key is printed on stdout (once: store it in your secret manager), its record is added to the
      file (created if missing), or printed on stderr without --file
  secure-temporal api-key disable --id ID [--file ${API_KEYS_FILE}]   refuse the key from the next reload on
  secure-temporal api-key remove --id ID [--file ${API_KEYS_FILE}]    drop the key's record
  secure-temporal api-key list [--file ${API_KEYS_FILE}]              id, owner, expiry and days left of each key

Then update the Secret the deployment names (authorizerProxy.apiKeySecret), e.g.
  kubectl -n temporal create secret generic temporal-api-keys --from-file=${API_KEYS_FILE} --dry-run=client -o yaml | kubectl apply -f -
The proxy and the codec server reload it without a restart (within a minute or so, as the kubelet updates the volume).`;

const DAY_MS = 86_400_000;

/** When a key made at `now` expires: `<n>d` from now, or a date or time; an error naming the flag otherwise. */
export function parseExpiry(value: string, now: number): Date {
  const days = /^([0-9]{1,4})d$/.exec(value);
  const at = days ? new Date(now + Number(days[1]) * DAY_MS)
    : /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(value) ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value) : new Date(NaN);
  if (Number.isNaN(at.getTime())) {
    throw new ValidationError('INVALID_POLICY', 'api-key/--expires', '--expires must be a number of days or a date', value,
      'e.g. --expires 90d or --expires 2027-03-01');
  }
  if (at.getTime() <= now) {
    throw new ValidationError('INVALID_POLICY', 'api-key/--expires', '--expires is not in the future', value, 'give a later date, e.g. 90d');
  }
  if (at.getTime() - now > MAX_KEY_DAYS * DAY_MS) {
    throw new ValidationError('INVALID_POLICY', 'api-key/--expires', `a key may live at most ${MAX_KEY_DAYS} days`, value,
      'make a shorter-lived key and rotate it before it expires (the metric api_key_expiry_days tells when)');
  }
  return at;
}

function readFile(file: string): ApiKeyFile {
  if (!existsSync(file)) {
    return { keys: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new ValidationError('INVALID_POLICY', file, 'the file is not JSON', file, `fix or remove ${file}`);
  }
  return validateApiKeyFile(file, json);
}

/** Writes the file whole (a new file renamed over the old one), validated, keys sorted by id. */
function writeFile(file: string, keys: readonly ApiKeyRecord[]): void {
  const content: ApiKeyFile = { keys: [...keys].sort((a, b) => a.id.localeCompare(b.id)) };
  validateApiKeyFile(file, content);
  writeFileSync(`${file}.new`, `${JSON.stringify(content, undefined, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.new`, file);
}

/** Runs `api-key ...`; returns the exit code (0 done, 1 refused, 2 bad usage). */
export function runApiKey(argv: readonly string[], out: (line: string) => void, err: (line: string) => void, now = Date.now()): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        id: { type: 'string' },
        owner: { type: 'string' },
        expires: { type: 'string' },
        file: { type: 'string', short: 'f' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n\n${API_KEY_USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  const { id, owner, expires, help } = parsed.values;
  const file = parsed.values.file ?? API_KEYS_FILE;
  if (help) {
    out(API_KEY_USAGE);
    return 0;
  }
  const needs = (...flags: [string, unknown][]): boolean => {
    const missing = flags.filter(([, v]) => v === undefined).map(([f]) => `--${f}`);
    if (missing.length > 0) {
      err(`api-key ${command} needs ${missing.join(', ')}\n\n${API_KEY_USAGE}`);
    }
    return missing.length === 0;
  };
  try {
    if (rest.length > 0) {
      err(`unexpected ${rest.join(' ')}\n\n${API_KEY_USAGE}`);
      return 2;
    }
    switch (command) {
      case 'create': {
        if (!needs(['id', id], ['owner', owner], ['expires', expires])) {
          return 2;
        }
        const current = parsed.values.file !== undefined ? readFile(file) : { keys: [] };
        if (current.keys.some((k) => k.id === id)) {
          err(`${file} already holds a key with id ${id}: give the new key its own id (e.g. ${id}-2) and remove the old one once rotated`);
          return 1;
        }
        const { key, record } = createApiKey(id as string, owner as string, parseExpiry(expires as string, now));
        if (parsed.values.file !== undefined) {
          writeFile(file, [...current.keys, record]);
          err(`added key ${record.id} (owner ${record.owner}, expires ${record.expires}) to ${file}; the key is printed once, below`);
        } else {
          err(`the key's record, for the "keys" list of ${API_KEYS_FILE}:\n${JSON.stringify(record)}`);
        }
        out(key);
        return 0;
      }
      case 'disable':
      case 'remove': {
        if (!needs(['id', id])) {
          return 2;
        }
        const current = readFile(file);
        if (!current.keys.some((k) => k.id === id)) {
          err(`${file} holds no key with id ${id} (it holds ${current.keys.map((k) => k.id).join(', ') || 'none'})`);
          return 1;
        }
        writeFile(file, command === 'remove' ? current.keys.filter((k) => k.id !== id)
          : current.keys.map((k) => (k.id === id ? { ...k, disabled: true } : k)));
        err(`${command === 'remove' ? 'removed' : 'disabled'} key ${id} in ${file}: update the Secret for it to take effect`);
        return 0;
      }
      case 'list': {
        for (const k of readFile(file).keys) {
          const days = Math.floor((Date.parse(k.expires) - now) / DAY_MS);
          out(`${k.id}\towner=${k.owner}\texpires=${k.expires}\t${days < 0 ? 'expired' : `${days}d left`}${k.disabled ? '\tdisabled' : ''}`);
        }
        return 0;
      }
      default:
        err(`${command === undefined ? 'no api-key command given' : `unknown api-key command "${command}"`}\n\n${API_KEY_USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ValidationError) {
      err(error.message);
      return 1;
    }
    throw error;
  }
}
