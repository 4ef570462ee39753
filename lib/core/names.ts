import { ValidationError } from './errors';

/**
 * One validator per kind of name, one error code (`INVALID_NAME`) per mistake. Every name that ends up
 * in an object name, a DNS name, a SAN or Temporal's config is checked here, with a fix that suggests
 * a name of the right kind (`example`).
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_DNS_NAME = /^\*\.(?=.{1,251}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

/** True when `value` is an RFC 1123 DNS label (what Kubernetes requires of Namespace and most object names). */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value);
}

/** True for a lower-case DNS name (labels of at most 63 characters, 253 in all); `*.` in front when `allowWildcard`. */
export function isDnsName(value: unknown, allowWildcard = false): value is string {
  if (typeof value !== 'string') {
    return false;
  }
  const labelsOk = value.replace(/^\*\./, '').split('.').every((l) => l.length <= 63);
  return labelsOk && (DNS_NAME.test(value) || (allowWildcard && WILDCARD_DNS_NAME.test(value)));
}

/** What a name check needs besides the value. */
export interface NameCheck {
  /** Longest accepted value (shorter than 63 where suffixes are appended). @default 63 */
  readonly maxLength?: number;
  /** A valid name of this kind, shown in the fix. @default 'temporal' */
  readonly example?: string;
}

/**
 * Throws `INVALID_NAME` unless `value` is an RFC 1123 DNS label of at most `maxLength` characters:
 * Kubernetes namespaces, identity names, Secret names that become SANs.
 */
export function requireDnsLabel(path: string, field: string, value: unknown, check: NameCheck = {}): string {
  const maxLength = check.maxLength ?? 63;
  if (!isDnsLabel(value) || value.length > maxLength) {
    throw new ValidationError('INVALID_NAME', path,
      `${field} must be a DNS label of at most ${maxLength} characters (lower-case letters, digits and '-', ` +
        'starting and ending with a letter or digit)',
      value, `rename it, e.g. "${check.example ?? 'temporal'}"`);
  }
  return value;
}

/**
 * Throws `INVALID_NAME` unless `value` is an RFC 1035 label (starts with a letter) of at most `maxLength`
 * characters: what Kubernetes requires of Service names, so of every name prefix Services are named after.
 */
export function requireDns1035Label(path: string, field: string, value: unknown, check: NameCheck = {}): string {
  const maxLength = check.maxLength ?? 63;
  if (typeof value !== 'string' || value.length > maxLength || !DNS_1035_LABEL.test(value)) {
    throw new ValidationError('INVALID_NAME', path,
      `${field} must be an RFC 1035 label of at most ${maxLength} characters (lower-case letters, digits and ` +
        "'-', starting with a letter and ending with a letter or digit)",
      value, `rename it, e.g. "${check.example ?? 'temporal'}"`);
  }
  return value;
}

/** Throws `INVALID_NAME` unless `value` is a lower-case DNS name (a `*.` wildcard in front when `allowWildcard`). */
export function requireDnsName(path: string, field: string, value: unknown,
  check: { readonly example: string; readonly allowWildcard?: boolean }): string {
  if (!isDnsName(value, check.allowWildcard ?? false)) {
    throw new ValidationError('INVALID_NAME', path,
      `${field} must be a lower-case DNS name (labels of letters, digits and '-' separated by dots)`,
      value, `use e.g. "${check.example}"`);
  }
  return value;
}

/** The Kubernetes cluster DNS domain unless told otherwise. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** Throws `INVALID_NAME` unless `value` is a DNS name usable as the cluster DNS domain (e.g. `cluster.local`). */
export function requireClusterDomain(path: string, value: unknown): string {
  if (!isDnsName(value)) {
    throw new ValidationError('INVALID_NAME', path, 'clusterDomain must be a DNS name', value,
      'use the cluster\'s DNS domain, usually "cluster.local"');
  }
  return value;
}

/** Throws `INVALID_REPLICAS` unless `replicas` is an integer from 1 to 2^31-1 (Kubernetes' int32). */
export function requireReplicas(path: string, replicas: unknown, fix: string): number {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > 2147483647) {
    throw new ValidationError('INVALID_REPLICAS', path, 'replicas must be an integer >= 1', replicas, fix);
  }
  return replicas;
}

const TEMPORAL_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Temporal namespace names accepted by the namespace job (a safe subset of what the server allows). */
/** True for a Temporal namespace name (1-255 letters, digits, ".", "_" or "-", starting with a letter or digit). Pure. */
export function isTemporalNamespaceName(value: unknown): value is string {
  return typeof value === 'string' && TEMPORAL_NAMESPACE.test(value);
}

export function requireTemporalNamespaceName(path: string, value: unknown): string {
  if (typeof value !== 'string' || !TEMPORAL_NAMESPACE.test(value) || value === 'temporal-system') {
    throw new ValidationError(
      'INVALID_NAMESPACE',
      path,
      'a Temporal namespace name must be 1-255 characters of letters, digits, ".", "_" or "-", start with a ' +
        'letter or digit, and not be "temporal-system"',
      value,
      'rename the namespace, e.g. "default" or "orders-prod"',
    );
  }
  return value;
}

/** `internal-frontend` -> `InternalFrontend`: a construct id from a kebab-case name. Pure. */
export function pascalCase(name: string): string {
  return name.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}
