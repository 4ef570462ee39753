import { ApiObject, Chart } from 'cdk8s';
import { ValidationError } from './errors';
import { DEFAULT_CLUSTER_DOMAIN, requireClusterDomain, requireDnsLabel } from './names';

/**
 * Where a Kubernetes Service answers in cluster DNS. Certificates, `serverName`s and client addresses are
 * derived from this one value (see `serviceDnsNames`), never typed again.
 */
export interface ServiceDns {
  /** The Service's `metadata.name`. */
  readonly name: string;
  /** The Service's namespace. */
  readonly namespace: string;
  /** The cluster DNS domain, usually `cluster.local`. */
  readonly clusterDomain: string;
}

/** Validates a ServiceDns and returns it. */
export function requireServiceDns(path: string, service: ServiceDns): ServiceDns {
  requireDnsLabel(path, 'service name', service?.name, { example: 'temporal-frontend' });
  requireDnsLabel(path, 'service namespace', service?.namespace);
  requireClusterDomain(path, service.clusterDomain);
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
    throw new ValidationError('INVALID_NAME', path, 'expected a Service object', service.kind,
      'pass the Service that serves the certificate (e.g. cluster.frontendService)');
  }
  const namespace = service.metadata.namespace ?? Chart.of(service).namespace;
  if (namespace === undefined) {
    throw new ValidationError('INVALID_NAMESPACE', path, 'the Service has no namespace', namespace,
      'create the Chart with a namespace, e.g. { namespace: "temporal" }');
  }
  return requireServiceDns(path, { name: service.name, namespace, clusterDomain });
}
