import { Chart, ChartProps, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../lib/atomic';
import { NetworkBoundary, NetworkBoundaryOptions } from '../lib/network/boundary';
import { TemporalAdminTools } from '../lib/temporal/admin-tools';
import { TlsIdentity } from '../lib/tls/identity';
import { ClientIdentityProps, TemporalPki, TemporalPkiProps } from '../lib/tls/pki';
import { PersistenceProps, ServerServiceProps, TemporalCluster } from '../lib/temporal/cluster';
import { DynamicConfig } from '../lib/temporal/dynamic-config';
import { EvaluationPostgres } from '../lib/temporal/evaluation-postgres';
import { TemporalNamespaceProps } from '../lib/temporal/namespace-job';
import { DEFAULT_CLUSTER_DOMAIN, requireClusterDomain, requireDns1035Label, requireDnsLabel } from '../lib/temporal/names';
import { TemporalWebUi, TemporalWebUiProps } from '../lib/temporal/web-ui';

/**
 * Props of the default deployment. The network options (`clientNamespaces`, `ingressController`,
 * `monitoring`, `clusterDns`, `externalDatabase`, `extraFlows`) are documented on NetworkBoundaryOptions
 * and in docs/NETWORK.md.
 */
export interface SecureTemporalChartProps extends Omit<ChartProps, 'namespace'>, NetworkBoundaryOptions {
  /**
   * Kubernetes namespace of everything.
   * @default 'temporal'
   */
  readonly namespace?: string;
  /**
   * Create the Namespace object, labelled to enforce Pod Security Standards "restricted".
   * @default true
   */
  readonly createNamespace?: boolean;
  /** Name prefix of every object. @default 'temporal' */
  readonly name?: string;
  /**
   * The database. Leave unset for evaluation: a single-replica PostgreSQL (NOT for production) is then
   * deployed in the namespace.
   * @default - the evaluation PostgreSQL
   */
  readonly persistence?: PersistenceProps;
  /** See TemporalClusterProps.numHistoryShards (IMMUTABLE). @default 512 */
  readonly numHistoryShards?: number;
  /** @default - 1 replica */
  readonly frontend?: ServerServiceProps;
  /** @default - 1 replica */
  readonly history?: ServerServiceProps;
  /** @default - 1 replica */
  readonly matching?: ServerServiceProps;
  /** @default - 1 replica */
  readonly worker?: ServerServiceProps;
  /** @default false */
  readonly internalFrontend?: boolean | ServerServiceProps;
  /** @default - DEFAULT_DYNAMIC_CONFIG */
  readonly dynamicConfig?: DynamicConfig;
  /** @default - one namespace, `default`, with 3 days retention */
  readonly namespaces?: readonly TemporalNamespaceProps[];
  /** Web UI settings, or `false` for none. @default - a Web UI without Ingress */
  readonly webUi?: false | Omit<TemporalWebUiProps, 'cluster'>;
  /** @default true */
  readonly adminTools?: boolean;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
  /**
   * PKI settings: key algorithm, lifetimes, renewBefore, an existing issuer in place of the generated
   * chain, the cert-manager cluster resource namespace (see docs/SECURITY.md). mTLS itself is always on.
   * @default - the generated chain with the defaults of TemporalPkiProps
   */
  readonly tls?: Omit<TemporalPkiProps, 'name' | 'clusterDomain'>;
  /** Extra DNS names of the frontend (ingress / load balancer), added to its certificate. @default - none */
  readonly frontendExtraHosts?: readonly string[];
  /**
   * Client identities of workloads (a worker app in Kubernetes namespace X for Temporal namespaces Y):
   * each gets a certificate from the workload CA, issued into its own namespace, for it to mount.
   * @default - none
   */
  readonly clientIdentities?: readonly ClientIdentityProps[];
}

/**
 * The secured Temporal deployment with opinionated defaults: every server service, the Web UI, admin
 * tools, schema and namespace jobs, and (without `persistence`) an evaluation PostgreSQL, all under Pod
 * Security Standards "restricted", fenced by a default-deny NetworkPolicy boundary.
 */
export class SecureTemporalChart extends Chart {
  public readonly cluster: TemporalCluster;
  public readonly webUi?: TemporalWebUi;
  public readonly adminTools?: TemporalAdminTools;
  public readonly database?: EvaluationPostgres;
  /** The NetworkPolicy boundary: default deny, then the rows of its flows table. */
  public readonly network: NetworkBoundary;
  /** The PKI (cert-manager issuers and CA certificates) behind every certificate of the deployment. */
  public readonly pki: TemporalPki;
  /** The declared workload client identities, in the order of `clientIdentities`. */
  public readonly clientIdentities: readonly TlsIdentity[];

  constructor(scope: Construct, id: string, props: SecureTemporalChartProps = {}) {
    const namespace = props.namespace ?? 'temporal';
    super(scope, id, { ...props, namespace });
    try {
      requireDnsLabel(this.node.path, 'namespace', namespace);
      // Checked here, before the PKI and the cluster derive names from them.
      const name = requireDns1035Label(this.node.path, 'name', props.name ?? 'temporal', 30);
      requireClusterDomain(this.node.path, props.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN);

      if (props.createNamespace ?? true) {
        new k8s.KubeNamespace(this, 'Namespace', {
          metadata: {
            name: namespace,
            labels: {
              'pod-security.kubernetes.io/enforce': 'restricted',
              'pod-security.kubernetes.io/enforce-version': 'latest',
              'pod-security.kubernetes.io/audit': 'restricted',
              'pod-security.kubernetes.io/warn': 'restricted',
            },
          },
        });
      }

      this.pki = new TemporalPki(this, 'Pki', { ...(props.tls ?? {}), name, clusterDomain: props.clusterDomain });
      let persistence = props.persistence;
      if (persistence === undefined) {
        // TLS only, certificate authentication: the default deployment has no database password at all.
        this.database = new EvaluationPostgres(this, 'EvaluationPostgres', {
          name,
          namespace,
          clusterDomain: props.clusterDomain,
          pki: this.pki,
        });
        persistence = { default: this.database.store('temporal'), visibility: this.database.store('temporal_visibility') };
      }

      this.cluster = new TemporalCluster(this, 'Cluster', {
        name,
        pki: this.pki,
        frontendExtraHosts: props.frontendExtraHosts,
        persistence,
        numHistoryShards: props.numHistoryShards,
        frontend: props.frontend,
        history: props.history,
        matching: props.matching,
        worker: props.worker,
        internalFrontend: props.internalFrontend,
        dynamicConfig: props.dynamicConfig,
        namespaces: props.namespaces ?? [{ name: 'default', retention: Duration.days(3) }],
        logLevel: props.logLevel,
        clusterDomain: props.clusterDomain,
      });
      if (props.webUi !== false) {
        this.webUi = new TemporalWebUi(this, 'WebUi', { cluster: this.cluster, ...(props.webUi ?? {}) });
      }
      if (props.adminTools ?? true) {
        this.adminTools = new TemporalAdminTools(this, 'AdminTools', { cluster: this.cluster });
      }
      this.clientIdentities = (props.clientIdentities ?? []).map((identity, i) =>
        this.pki.issueClientCertificate(`Client${i}`, identity));
      this.network = new NetworkBoundary(this, 'Network', {
        cluster: this.cluster,
        webUi: this.webUi,
        adminTools: this.adminTools,
        evaluationDatabase: this.database,
        clientNamespaces: props.clientNamespaces,
        ingressController: props.ingressController,
        monitoring: props.monitoring,
        clusterDns: props.clusterDns,
        externalDatabase: props.externalDatabase,
        extraFlows: props.extraFlows,
      });
    } catch (error) {
      rollback(this, error);
    }
  }
}
