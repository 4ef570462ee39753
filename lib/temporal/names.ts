import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ValidationError } from '../errors';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** True when `value` is an RFC 1123 DNS label (what Kubernetes requires of Service and Namespace names). */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/**
 * Throws unless `value` is a DNS label no longer than `maxLength` (shorter than 63 where suffixes are
 * appended to it, e.g. `<name>-internal-frontend-headless`).
 */
export function requireDnsLabel(path: string, field: string, value: string, maxLength = 63): string {
  if (typeof value !== 'string' || value.length > maxLength || !DNS_LABEL.test(value)) {
    throw new ValidationError(
      'INVALID_NAME',
      path,
      `${field} must be a DNS label of at most ${maxLength} characters (lower-case letters, digits and '-', ` +
        'starting and ending with a letter or digit)',
      value,
      `choose a ${field} such as "temporal"`,
    );
  }
  return value;
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Throws unless `value` is an RFC 1035 label (starts with a letter) of at most `maxLength` characters:
 * what Kubernetes requires of Service names, so of every name prefix that Services are named after.
 */
export function requireDns1035Label(path: string, field: string, value: string, maxLength = 63): string {
  if (typeof value !== 'string' || value.length > maxLength || !DNS_1035_LABEL.test(value)) {
    throw new ValidationError(
      'INVALID_NAME',
      path,
      `${field} must be an RFC 1035 label of at most ${maxLength} characters (lower-case letters, digits and ` +
        "'-', starting with a letter and ending with a letter or digit)",
      value,
      `choose a ${field} such as "temporal"`,
    );
  }
  return value;
}

/** Throws unless `replicas` is an integer from 1 to 2^31-1 (Kubernetes' int32). */
export function requireReplicas(path: string, replicas: unknown, fix: string): number {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > 2147483647) {
    throw new ValidationError('INVALID_REPLICAS', path, 'replicas must be an integer >= 1', replicas, fix);
  }
  return replicas;
}

/** The Kubernetes cluster DNS domain unless told otherwise. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** Throws unless `value` is a DNS name usable as the cluster DNS domain (e.g. `cluster.local`). */
export function requireClusterDomain(path: string, value: string): string {
  if (typeof value !== 'string' || value.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) {
    throw new ValidationError('INVALID_NAME', path, 'clusterDomain must be a DNS name', value,
      'use the cluster\'s DNS domain, usually "cluster.local"');
  }
  return value;
}

/**
 * The Kubernetes namespace of the Chart `construct` lives in, validated. Constructs whose DNS names,
 * certificates or Issuers depend on the namespace require the Chart to have one.
 */
export function requireChartNamespace(construct: Construct): string {
  const path = construct.node.path;
  const namespace = Chart.of(construct).namespace;
  if (namespace === undefined) {
    throw new ValidationError('INVALID_NAMESPACE', path, 'the Chart has no Kubernetes namespace', namespace,
      'create the Chart with { namespace: "temporal" }: DNS names, certificates and Issuers depend on it');
  }
  return requireDnsLabel(path, 'namespace', namespace);
}

const TEMPORAL_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Temporal namespace names accepted by the namespace job (a safe subset of what the server allows). */
export function requireTemporalNamespaceName(path: string, value: string): string {
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
