import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ValidationError } from './errors';
import { DEFAULT_CLUSTER_DOMAIN, requireClusterDomain, requireDns1035Label, requireDnsLabel } from './names';

/** Who and where one installation is. */
export interface InstallationProps {
  /**
   * Name prefix of every object (`<name>-frontend`, `<name>-root-ca` ...): an RFC 1035 label of at most
   * 30 characters, so that the longest derived name still fits Kubernetes' limits.
   * @default 'temporal'
   */
  readonly name?: string;
  /**
   * Kubernetes cluster DNS domain: Service DNS names, certificate SANs and `serverName`s end in it.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
}

/** Props of a construct that belongs to an installation: its own name and domain, or a shared installation. */
export interface InstallationScopedProps extends InstallationProps {
  /**
   * A shared installation, validated once (the chart passes its own). `name` and `clusterDomain`, when set
   * too, must agree with it.
   * @default - Installation.of(the construct's Chart, { name, clusterDomain })
   */
  readonly installation?: Installation;
}

/**
 * The shared context of one installation: its name prefix, its Kubernetes namespace (the Chart's) and
 * the cluster DNS domain. Validated once (`Installation.of`), then passed down to the PKI, the cluster and
 * every other construct, so that they cannot disagree on it.
 */
export class Installation {
  /**
   * Validates `props` against the Chart `scope` lives in: the Chart must have a namespace (DNS names,
   * certificates and Issuers depend on it).
   */
  public static of(scope: Construct, props: InstallationProps = {}): Installation {
    const path = scope.node.path;
    const name = requireDns1035Label(path, 'name', props.name ?? 'temporal', { maxLength: 30 });
    const clusterDomain = requireClusterDomain(path, props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);
    return new Installation(name, chartNamespace(scope), clusterDomain);
  }

  /**
   * The installation of `scope`: `props.installation`, else `inherited` (e.g. the PKI's), else a new one
   * from `props`; validated against the Chart `scope` lives in. A `name` or `clusterDomain` that contradicts
   * the installation given is refused.
   */
  public static resolve(scope: Construct, props: InstallationScopedProps, inherited?: Installation): Installation {
    const given = props.installation ?? inherited;
    if (given === undefined) {
      return Installation.of(scope, props);
    }
    for (const field of ['name', 'clusterDomain'] as const) {
      if (props[field] !== undefined && props[field] !== given[field]) {
        throw new ValidationError('INVALID_NAME', scope.node.path, `${field} differs from the installation's ("${given[field]}")`,
          props[field], `drop ${field}, or use an installation of that ${field}`);
      }
    }
    return given.requireSameNamespace(scope);
  }

  private constructor(
    /** Name prefix of every object. */
    public readonly name: string,
    /** Kubernetes namespace of every namespaced object. */
    public readonly namespace: string,
    /** Cluster DNS domain. */
    public readonly clusterDomain: string,
  ) {}

  /**
   * Throws unless `construct` lives in a Chart of this installation's namespace: a construct placed in
   * another Chart would derive DNS names and certificates for the wrong namespace.
   */
  public requireSameNamespace(construct: Construct): this {
    const namespace = Chart.of(construct).namespace;
    if (namespace !== this.namespace) {
      throw new ValidationError('INVALID_NAMESPACE', construct.node.path,
        `the construct's Chart namespace differs from its installation's ("${this.namespace}")`, namespace,
        `create it in the Chart of namespace "${this.namespace}", or give it an installation of its own Chart`);
    }
    return this;
  }
}

/**
 * The Kubernetes namespace of the Chart `construct` lives in, validated. Constructs whose DNS names,
 * certificates or Issuers depend on the namespace require the Chart to have one.
 */
export function chartNamespace(construct: Construct): string {
  const path = construct.node.path;
  const namespace = Chart.of(construct).namespace;
  if (namespace === undefined) {
    throw new ValidationError('INVALID_NAMESPACE', path, 'the Chart has no Kubernetes namespace', namespace,
      'create the Chart with { namespace: "temporal" }: DNS names, certificates and Issuers depend on it');
  }
  return requireDnsLabel(path, 'namespace', namespace);
}
