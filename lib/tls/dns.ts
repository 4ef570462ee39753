import { ApiObject, Chart } from 'cdk8s';
import { ValidationError } from '../errors';
import { DEFAULT_CLUSTER_DOMAIN, isDnsLabel } from '../temporal/names';

/**
 * Where a Kubernetes Service answers in cluster DNS. Certificates and `serverName`s are derived from
 * this one value (see `serviceDnsNames`), never typed again.
 */
export interface ServiceDns {
  /** The Service's `metadata.name`. */
  readonly name: string;
  /** The Service's namespace. */
  readonly namespace: string;
  /** The cluster DNS domain, usually `cluster.local`. */
  readonly clusterDomain: string;
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const WILDCARD_DNS_NAME = /^\*\.(?=.{1,251}$)([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;

export { isDnsLabel };

/** True for a lower-case DNS name (labels of at most 63 characters, 253 in all); `*.` allowed in front when asked. */
export function isDnsName(value: string, allowWildcard = false): boolean {
  if (typeof value !== 'string') {
    return false;
  }
  const labelsOk = value.replace(/^\*\./, '').split('.').every((l) => l.length <= 63);
  return labelsOk && (DNS_NAME.test(value) || (allowWildcard && WILDCARD_DNS_NAME.test(value)));
}

/** Throws `INVALID_TLS` unless `value` is a DNS label (used for names that end up in object names and SANs). */
export function requireLabel(path: string, field: string, value: string, maxLength = 63): string {
  if (!isDnsLabel(value) || value.length > maxLength) {
    throw new ValidationError('INVALID_TLS', path,
      `${field} must be a DNS label of at most ${maxLength} characters (lower-case letters, digits and '-')`,
      value, `choose a ${field} such as "temporal"`);
  }
  return value;
}

/** Validates a ServiceDns and returns it. */
export function requireServiceDns(path: string, service: ServiceDns): ServiceDns {
  requireLabel(path, 'service name', service?.name);
  requireLabel(path, 'service namespace', service?.namespace);
  if (!isDnsName(service.clusterDomain)) {
    throw new ValidationError('INVALID_TLS', path, 'clusterDomain must be a DNS name', service.clusterDomain,
      'use the cluster\'s DNS domain, usually "cluster.local"');
  }
  return service;
}

/**
 * Every name a client inside the cluster can use to reach the Service, shortest first:
 * `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`. Pure.
 */
export function serviceDnsNames(service: ServiceDns): string[] {
  const { name, namespace, clusterDomain } = service;
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}

/** The fully qualified name `<svc>.<ns>.svc.<clusterDomain>`: the `serverName` clients verify. Pure. */
export function serviceFqdn(service: ServiceDns): string {
  return `${service.name}.${service.namespace}.svc.${service.clusterDomain}`;
}

/**
 * The ServiceDns of a synthesized Service object (a `k8s.KubeService` or any ApiObject of kind
 * Service): its name and namespace are read from the object, so a rename can never leave a stale SAN.
 */
export function serviceDnsOf(service: ApiObject, clusterDomain = DEFAULT_CLUSTER_DOMAIN): ServiceDns {
  const path = service.node.path;
  if (service.kind !== 'Service') {
    throw new ValidationError('INVALID_TLS', path, 'expected a Service object', service.kind,
      'pass the Service that serves the certificate (e.g. cluster.frontendService)');
  }
  const namespace = service.metadata.namespace ?? Chart.of(service).namespace;
  if (namespace === undefined) {
    throw new ValidationError('INVALID_TLS', path, 'the Service has no namespace', namespace,
      'create the Chart with a namespace, e.g. { namespace: "temporal" }');
  }
  return requireServiceDns(path, { name: service.name, namespace, clusterDomain });
}
