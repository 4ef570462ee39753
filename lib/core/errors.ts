/**
 * Stable codes for every input the library rejects. A code never changes meaning once released, so
 * callers and tests may match on it.
 */
export type ValidationCode =
  | 'INVALID_NAME'
  | 'DUPLICATE_NAME'
  | 'INVALID_REPLICAS'
  | 'INVALID_SHARDS'
  | 'PORT_CLASH'
  | 'INVALID_PORT'
  | 'MISSING_PASSWORD_SOURCE'
  | 'INVALID_STORE'
  | 'INVALID_NAMESPACE'
  | 'INVALID_DURATION'
  | 'INVALID_RESOURCES'
  | 'INVALID_IMAGE'
  | 'INVALID_VERSION'
  | 'INVALID_UPGRADE'
  | 'INVALID_DYNAMIC_CONFIG'
  | 'INVALID_INGRESS'
  | 'INVALID_FLOW'
  | 'INVALID_PEER'
  | 'CLIENT_NOT_ADMITTED'
  | 'INVALID_POLICY'
  | 'INVALID_TLS'
  | 'INVALID_MONITORING'
  | 'TLS_SERVER_NAME_MISMATCH'
  | 'TLS_UNTRUSTED_CLIENT'
  | 'TLS_UNRESOLVED_ISSUER'
  | 'TLS_SHARED_ISSUER';

/**
 * Thrown for every invalid prop. The message names the construct path, the bad value and the fix,
 * e.g. `TemporalCluster/Frontend: replicas must be >= 1 (got 0). Fix: set replicas to 1 or more.`
 */
export class ValidationError extends Error {
  public readonly code: ValidationCode;
  public readonly path: string;
  public readonly value: unknown;
  public readonly fix: string;

  constructor(code: ValidationCode, path: string, problem: string, value: unknown, fix: string) {
    super(`${path}: ${problem} (got ${describe(value)}). Fix: ${fix}`);
    this.name = 'ValidationError';
    this.code = code;
    this.path = path;
    this.value = value;
    this.fix = fix;
  }
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
