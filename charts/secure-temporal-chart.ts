import { Chart, ChartProps, Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { Role, ROLES } from '../lib/authorizer/policy';
import { ValidationError } from '../lib/core/errors';
import { Installation, InstallationProps } from '../lib/core/installation';
import { requireDnsLabel } from '../lib/core/names';
import { admitsNamespace, describePeer, ExternalPeer } from '../lib/core/peers';
import { rollback } from '../lib/core/rollback';
import { requireUnusedNames } from '../lib/core/unique';
import { Components } from '../lib/core/component';
import { MonitorsProps, TemporalMonitors } from '../lib/monitoring/monitors';
import { NetworkBoundary, NetworkBoundaryOptions } from '../lib/network/boundary';
import { TemporalAdminTools } from '../lib/temporal/admin-tools';
import { CodecServer, CodecServerOptions } from '../lib/temporal/codec-server';
import { PersistenceProps, TemporalCluster, TemporalClusterProps } from '../lib/temporal/cluster';
import { EvaluationPostgres } from '../lib/temporal/evaluation-postgres';
import { TemporalNamespaceProps } from '../lib/temporal/namespace-job';
import { TemporalWebUi, TemporalWebUiProps } from '../lib/temporal/web-ui';
import { TlsIdentity } from '../lib/tls/identity';
import { stripNamespace } from '../lib/tls/generated-chain';
import { ServiceAccountRef, WorkloadIssuancePolicy } from '../lib/tls/issuance-policy';
import { ClientIdentityProps, TemporalPki, TemporalPkiProps } from '../lib/tls/pki';

/** A workload's client identity, and the role it gets in each of its Temporal namespaces through the authorizer proxy. */
export interface ClientIdentity extends ClientIdentityProps {
  /**
   * Its role in each of `temporalNamespaces`: `write` runs workers and starts, signals or cancels workflows;
   * `worker` only polls and completes tasks; `read` only lists and describes; `admin` also manages the namespace.
   * @default 'write'
   */
  readonly role?: Role;
}

/** The parts of a deployment, for constructs added to it (`addComponents`). */
export interface SecureTemporalDeployment {
  readonly installation: Installation;
  readonly pki: TemporalPki;
  readonly cluster: TemporalCluster;
  readonly webUi?: TemporalWebUi;
  readonly codecServer?: CodecServer;
  readonly adminTools?: TemporalAdminTools;
  readonly database?: EvaluationPostgres;
}

/**
 * Props of the default deployment. Every prop of `TemporalCluster` is accepted here too (replicas and
 * resources per service, images, dynamic config, shards ...), as are the network options (`clientNamespaces`,
 * `ingressController`, `monitoring`, `outsideRoles`, `clusterDns`, `externalDatabase`, `extraFlows`; see NetworkBoundaryOptions
 * and docs/NETWORK.md) and the installation's `name` and `clusterDomain`.
 */
export interface SecureTemporalChartProps extends Omit<ChartProps, 'namespace'>, InstallationProps,
  Omit<TemporalClusterProps, 'installation' | 'persistence' | 'pki' | 'namespaces' | 'authorizerProxy'>, NetworkBoundaryOptions {
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
  /**
   * The database. Leave unset for evaluation: a single-replica PostgreSQL (NOT for production) is then
   * deployed in the namespace.
   * @default - the evaluation PostgreSQL
   */
  readonly persistence?: PersistenceProps;
  /** @default - one namespace, `default`, with 3 days retention */
  readonly namespaces?: readonly TemporalNamespaceProps[];
  /**
   * Web UI settings, or `false` for none. With `sso` (single sign-on with the authorizer proxy's identity provider)
   * each user acts with their own grants, and the browser decodes payloads at the codec server.
   * @default - a Web UI without Ingress or sign-on, acting read-only with its own identity
   */
  readonly webUi?: false | Omit<TemporalWebUiProps, 'cluster' | 'codecEndpoint'>;
  /**
   * The codec server (payload decryption for the Web UI and the CLI, under the proxy's policy; see docs/SECURITY.md
   * "Payload encryption"), or `false` for none. It reads one key ring per Temporal namespace, each from a Secret you
   * create.
   * @default - on with the authorizer proxy: 2 replicas, keys in `<name>-codec-keys-<namespace>`, CORS for the Web UI's origin
   */
  readonly codecServer?: false | CodecServerOptions;
  /** @default true */
  readonly adminTools?: boolean;
  /**
   * PKI settings: key algorithm, lifetimes, renewBefore, existing issuers in place of the generated chain,
   * certificates minted outside cert-manager, the cert-manager cluster resource namespace (see
   * docs/SECURITY.md). mTLS itself is always on.
   * @default - the generated chain with the defaults of TemporalPkiProps
   */
  readonly tls?: Omit<TemporalPkiProps, 'installation'>;
  /**
   * The authorizer proxy, the one door to Temporal (see docs/SECURITY.md): its replicas, policy rules, identity
   * provider. `false` deploys none, and leaves every caller the frontend admits free to do everything.
   * @default - a proxy with the grants of `clientIdentities` and of the platform's own components
   */
  readonly authorizerProxy?: TemporalClusterProps['authorizerProxy'];
  /**
   * Client identities of workloads (a worker app in Kubernetes namespace X for Temporal namespaces Y):
   * each gets a certificate from the workload CA, issued into its own namespace, for it to mount, and its
   * `role` in those namespaces through the authorizer proxy. Each namespace must be admitted by `clientNamespaces`.
   * @default - none
   */
  readonly clientIdentities?: readonly ClientIdentity[];
  /**
   * Confine each client namespace to its own identities at issuance: approver-policy `CertificateRequestPolicy`s
   * and RBAC that let the workload CA sign, for namespace N, only client certificates of
   * `spiffe://<domain>/ns/N/temporal-client/*` (docs/SECURITY.md "Confining issuance"). Needs approver-policy
   * installed, and cert-manager's own approver limited to namespaced issuers; required on multi-tenant clusters.
   * `false` leaves them out (then anyone allowed to create a Certificate anywhere can obtain any workload identity).
   * Not made when certificates are minted outside cert-manager (`tls.issuance: 'provided'`).
   * @default - on; cert-manager's ServiceAccount `cert-manager` in the cluster resource namespace
   */
  readonly workloadIssuancePolicy?: false | { readonly certManagerServiceAccount?: ServiceAccountRef };
  /**
   * Your own components in the Temporal namespace, created inside the chart after its built-in parts and
   * before its network boundary: every construct created here that implements `IComponent` and registers
   * (`Components.register(this)`) gets its NetworkPolicy rows, DNS egress and its place in the diagram;
   * certificates it asks the PKI for are issued into its own scope. A workload of the chart that no component
   * describes fails the synth.
   * @default - none
   */
  readonly addComponents?: (scope: Construct, deployment: SecureTemporalDeployment) => void;
  /**
   * Monitors for a Prometheus run by the prometheus-operator: a PodMonitor per component with a metrics endpoint,
   * and a PrometheusRule with the alerts of docs/OPERATIONS.md "Alerts" (its CRDs must be installed). Prometheus must
   * run where `monitoring` says (the NetworkPolicies admit it there).
   * @default - none
   */
  readonly monitors?: MonitorsProps;
}

/**
 * The secured Temporal deployment with opinionated defaults: every server service, the Web UI, admin
 * tools, schema and namespace jobs, and (without `persistence`) an evaluation PostgreSQL, all under Pod
 * Security Standards "restricted", fenced by a default-deny NetworkPolicy boundary.
 */
export class SecureTemporalChart extends Chart implements SecureTemporalDeployment {
  /** Name, namespace and cluster domain, validated once and shared by every part. */
  public readonly installation: Installation;
  public readonly cluster: TemporalCluster;
  public readonly webUi?: TemporalWebUi;
  /** The codec server, when deployed. */
  public readonly codecServer?: CodecServer;
  public readonly adminTools?: TemporalAdminTools;
  public readonly database?: EvaluationPostgres;
  /** The NetworkPolicy boundary: default deny, then the rows of its flows table. */
  public readonly network: NetworkBoundary;
  /** The PKI (cert-manager issuers and CA certificates) behind every certificate of the deployment. */
  public readonly pki: TemporalPki;
  /** The declared workload client identities, in the order of `clientIdentities`. */
  public readonly clientIdentities: readonly TlsIdentity[];
  /** What confines client namespaces to their own identities at issuance, when made. */
  public readonly issuancePolicy?: WorkloadIssuancePolicy;
  /** The PodMonitors and the PrometheusRule, when `monitors` asks for them. */
  public readonly monitors?: TemporalMonitors;

  constructor(scope: Construct, id: string, props: SecureTemporalChartProps = {}) {
    const namespace = props.namespace ?? 'temporal';
    super(scope, id, { ...props, namespace });
    try {
      requireDnsLabel(this.node.path, 'namespace', namespace);
      this.installation = Installation.of(this, { name: props.name, clusterDomain: props.clusterDomain });
      requireOneInstallation(this);
      const createNamespace = props.createNamespace ?? true;
      if (createNamespace) {
        requireUnusedNames(this, [{ kind: 'Namespace', name: namespace }],
          'set createNamespace: false on every chart of this namespace but one');
      }
      const identities = (props.clientIdentities ?? []);
      requireAdmittedIdentities(this.node.path, identities, props.clientNamespaces ?? []);
      requireRoles(this.node.path, identities, props.authorizerProxy !== false);

      if (createNamespace) {
        const namespaceObject = new k8s.KubeNamespace(this, 'Namespace', {
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
        // Cluster-scoped: the chart's namespace stamped on it would make it a member of itself (a cycle for Pulumi).
        stripNamespace(namespaceObject);
      }

      this.pki = new TemporalPki(this, 'Pki', { ...(props.tls ?? {}), installation: this.installation });
      let persistence = props.persistence;
      if (persistence === undefined) {
        // TLS only, certificate authentication: the default deployment has no database password at all.
        this.database = new EvaluationPostgres(this, 'EvaluationPostgres', { installation: this.installation, pki: this.pki });
        persistence = { default: this.database.store('temporal'), visibility: this.database.store('temporal_visibility') };
      }

      // Every cluster prop reaches the cluster as given; the chart adds what it owns.
      this.cluster = new TemporalCluster(this, 'Cluster', {
        ...props,
        installation: this.installation,
        pki: this.pki,
        persistence,
        namespaces: props.namespaces ?? [{ name: 'default', retention: Duration.days(3) }],
        authorizerProxy: props.authorizerProxy ?? {},
      });
      const webUi = props.webUi === false ? undefined : props.webUi ?? {};
      if (props.codecServer !== undefined && props.codecServer !== false && props.authorizerProxy === false) {
        throw new ValidationError('INVALID_POLICY', `${this.node.path}/codecServer`, 'the codec server authorizes with the authorizer ' +
          'proxy\'s policy, which is off (authorizerProxy: false)', 'codecServer', 'turn the proxy back on, or set codecServer: false');
      }
      if (props.codecServer !== false && this.cluster.authorizerProxy) {
        const callback = webUi?.sso?.callbackUrl;
        let uiOrigin: string | undefined;
        try {
          uiOrigin = callback !== undefined ? new URL(callback).origin : undefined;
        } catch {
          uiOrigin = undefined; // the Web UI reports the bad URL
        }
        const options = props.codecServer ?? {};
        this.codecServer = new CodecServer(this, 'CodecServer', {
          ...options,
          corsOrigins: options.corsOrigins ?? (uiOrigin ? [uiOrigin] : []),
          cluster: this.cluster,
        });
      }
      if (webUi !== undefined) {
        this.webUi = new TemporalWebUi(this, 'WebUi', {
          ...webUi,
          cluster: this.cluster,
          ...(webUi.sso && this.codecServer?.publicUrl ? { codecEndpoint: this.codecServer.publicUrl } : {}),
        });
      }
      if (props.adminTools ?? true) {
        this.adminTools = new TemporalAdminTools(this, 'AdminTools', { cluster: this.cluster });
      }
      const clients = new Construct(this, 'ClientIdentities');
      this.clientIdentities = identities.map((identity, i) => {
        const { role, ...certificate } = identity;
        const issued = this.pki.issueClientCertificate(clients, `Client${i}`, certificate);
        this.cluster.authorizerProxy?.grant(issued, role ?? 'write', issued.temporalNamespaces);
        return issued;
      });
      if (props.workloadIssuancePolicy !== false && this.pki.mode !== 'provided') {
        this.issuancePolicy = new WorkloadIssuancePolicy(this, 'IssuancePolicy', {
          pki: this.pki,
          namespaces: this.clientIdentities.map((identity) => identity.namespace),
          certManagerServiceAccount: props.workloadIssuancePolicy?.certManagerServiceAccount,
        });
      }
      props.addComponents?.(this, this);
      this.network = new NetworkBoundary(this, 'Network', {
        installation: this.installation,
        clientNamespaces: props.clientNamespaces,
        ingressController: props.ingressController,
        monitoring: props.monitoring,
        outsideRoles: props.outsideRoles,
        clusterDns: props.clusterDns,
        externalDatabase: props.externalDatabase,
        extraFlows: props.extraFlows,
      });
      if (props.monitors !== undefined && (props.monitors.podMonitors === true || props.monitors.alertRules === true
        || props.monitors.dashboards === true)) {
        if (props.monitoring === false && props.monitors.podMonitors === true) {
          throw new ValidationError('INVALID_MONITORING', `${this.node.path}/monitors`, 'PodMonitors need Prometheus admitted to the ' +
            'metrics ports, and monitoring is false', 'podMonitors', 'set monitoring to the namespace Prometheus runs in, e.g. ' +
            'Peer.namespace("monitoring")');
        }
        this.monitors = new TemporalMonitors(this, 'Monitors', {
          ...props.monitors,
          installation: this.installation,
          components: Components.findAll(this),
          authorizerProxy: this.cluster.authorizerProxy !== undefined,
          codecServer: this.codecServer !== undefined,
        });
      }
    } catch (error) {
      rollback(this, error);
    }
  }
}

/** Throws `INVALID_POLICY` for a role that is not one, or that nothing would enforce (no authorizer proxy). */
function requireRoles(path: string, identities: readonly ClientIdentity[], proxy: boolean): void {
  identities.forEach((identity, i) => {
    if (identity.role === undefined) {
      return;
    }
    const at = `${path}/clientIdentities[${i}]`;
    if (!ROLES.includes(identity.role)) {
      throw new ValidationError('INVALID_POLICY', at, `role must be one of ${ROLES.join(', ')}`, identity.role,
        'e.g. role: "write" for a worker that also starts workflows, "worker" for one that only runs tasks');
    }
    if (!proxy) {
      throw new ValidationError('INVALID_POLICY', at, 'a role needs the authorizer proxy, which is off (authorizerProxy: false)',
        identity.role, 'drop role, or turn the authorizer proxy back on');
    }
  });
}

/** Throws `DUPLICATE_NAME` when another chart of the App deploys the same installation (namespace and name). */
function requireOneInstallation(chart: SecureTemporalChart): void {
  const charts = chart.node.root.node.findAll().filter((c): c is SecureTemporalChart => c instanceof SecureTemporalChart);
  const other = charts.find((c) => c !== chart && c.installation !== undefined &&
    c.installation.namespace === chart.installation.namespace && c.installation.name === chart.installation.name);
  if (other !== undefined) {
    throw new ValidationError('DUPLICATE_NAME', chart.node.path,
      `${other.node.path} already deploys installation "${chart.installation.name}" in namespace "${chart.installation.namespace}"`,
      chart.installation.name, 'give the second chart another namespace, or another name');
  }
}

/**
 * Throws `CLIENT_NOT_ADMITTED` for a client identity whose Kubernetes namespace no client namespace peer can
 * admit (its certificate would be issued, its traffic blocked), and `DUPLICATE_NAME` for an identity declared
 * twice. A peer selecting namespaces by other labels than the name may admit any namespace.
 */
function requireAdmittedIdentities(path: string, identities: readonly ClientIdentityProps[], peers: readonly ExternalPeer[]): void {
  identities.forEach((identity, i) => {
    const at = `${path}/clientIdentities[${i}]`;
    const first = identities.findIndex((o) => o.name === identity.name && o.namespace === identity.namespace);
    if (first !== i) {
      throw new ValidationError('DUPLICATE_NAME', at, `the identity "${identity.namespace}/${identity.name}" is declared twice ` +
        `(also clientIdentities[${first}])`, identity.name, 'declare each identity once; list all its Temporal namespaces there');
    }
    if (typeof identity.namespace === 'string' && !peers.some((peer) => admitsNamespace(peer, identity.namespace))) {
      const declared = peers.length > 0 ? peers.map(describePeer).join('; ') : 'none';
      throw new ValidationError('CLIENT_NOT_ADMITTED', at,
        `the identity's namespace "${identity.namespace}" is not admitted by clientNamespaces (${declared}): its certificate ` +
          'would be issued, its traffic blocked', identity.namespace,
        `add Peer.namespace("${identity.namespace}") to clientNamespaces`);
    }
  });
}
