import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as tls from '@pulumi/tls';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { SecureTemporalChart, SecureTemporalChartProps } from '../charts/secure-temporal-chart';
import { DEPLOYMENT_CHART_ID } from '../charts/synth';
import { ValidationError } from '../lib/core/errors';
import { SCHEMA_VERSION_ANNOTATION, SERVER_VERSION_ANNOTATION } from '../lib/core/labels';
import { mintCertificates } from './pulumi-tls';

/** Who issues the certificates on the Pulumi path. */
export type CertificateSource = 'cert-manager' | 'pulumi-tls';

export interface SecureTemporalArgs {
  /**
   * The props of the deployment: the same as `SecureTemporalChart`'s (`npx cdk8s synth`), so both paths deploy the
   * same objects. `tls.issuance` is set by `certificates`.
   * @default - the default deployment
   */
  readonly chart?: SecureTemporalChartProps;
  /**
   * `cert-manager` (default): the cert-manager Issuers and Certificates of the chart are deployed, and cert-manager
   * (installed in the cluster, with its CRDs) issues every Secret. `pulumi-tls`: `@pulumi/tls` mints the same PKI
   * from the same certificate specifications into Secrets of the same names and shape, and no cert-manager object is
   * deployed; certificates are re-issued by the first `pulumi up` inside their renewal window.
   * @default 'cert-manager'
   */
  readonly certificates?: CertificateSource;
}

/** One object of the synthesized chart. */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

type ResourceClass = new (name: string, args: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** One step of a deployment: an object, its Pulumi name, and what must exist first. */
export interface DeploymentStep {
  readonly object: ManifestObject;
  readonly name: string;
  /** Pulumi names (earlier steps) it depends on. */
  readonly dependsOn: readonly string[];
  /** A workload: it also waits for the certificates minted outside the chart (`pulumi-tls` mode). */
  readonly afterCertificates: boolean;
}

function isCertManagerObject(object: ManifestObject): boolean {
  return CERT_MANAGER_GROUPS.has(group(object.apiVersion));
}

/**
 * The order in which the chart's objects are created, and what each waits for. Pure. Namespaces come first and
 * everything in a namespace waits for it; cert-manager's issuers and policies before the Certificates, which wait
 * for them; then everything else; workloads last, each waiting for every certificate, ConfigMap, Secret and
 * ServiceAccount, so that no pod starts before what it mounts exists. The Temporal server Deployments also wait
 * for the schema Jobs (Complete): on an upgrade, the servers of the new release roll only once the stores carry its
 * schema.
 */
export function planDeployment(objects: readonly ManifestObject[]): DeploymentStep[] {
  const steps: DeploymentStep[] = [];
  const names = new Set<string>();
  const namespaces = new Map<string, string>();
  const add = (object: ManifestObject, dependsOn: string[], afterCertificates = false): string => {
    const name = resourceName(object);
    if (names.has(name)) {
      throw new Error(`two objects of the chart share the Pulumi name ${name}`);
    }
    names.add(name);
    const ns = object.metadata.namespace !== undefined ? namespaces.get(object.metadata.namespace) : undefined;
    steps.push({ object, name, dependsOn: ns ? [ns, ...dependsOn] : dependsOn, afterCertificates });
    return name;
  };
  for (const object of objects.filter((o) => o.kind === 'Namespace')) {
    namespaces.set(object.metadata.name, add(object, []));
  }
  const certManager = objects.filter(isCertManagerObject);
  const issuers = certManager.filter((o) => o.kind !== 'Certificate').map((o) => add(o, []));
  const certs = certManager.filter((o) => o.kind === 'Certificate').map((o) => add(o, issuers));
  const rest = objects.filter((o) => o.kind !== 'Namespace' && !isCertManagerObject(o));
  const configuration: string[] = [];
  for (const object of rest.filter((o) => !WORKLOADS.has(o.kind))) {
    const name = add(object, []);
    if (object.kind === 'ConfigMap' || object.kind === 'Secret' || object.kind === 'ServiceAccount') {
      configuration.push(name);
    }
  }
  const workloads = rest.filter((o) => WORKLOADS.has(o.kind));
  const schemaJobs = workloads.filter(isSchemaJob).map((o) => add(o, [...issuers, ...certs, ...configuration], true));
  for (const object of workloads.filter((o) => !isSchemaJob(o))) {
    add(object, [...issuers, ...certs, ...configuration, ...(isServer(object) ? schemaJobs : [])], true);
  }
  return steps;
}

/** The typed `@pulumi/kubernetes` class of each kind the chart synthesizes; anything else is a CustomResource. */
const CLASSES: Readonly<Record<string, ResourceClass>> = {
  'v1/Namespace': k8s.core.v1.Namespace as unknown as ResourceClass,
  'v1/ConfigMap': k8s.core.v1.ConfigMap as unknown as ResourceClass,
  'v1/Secret': k8s.core.v1.Secret as unknown as ResourceClass,
  'v1/Service': k8s.core.v1.Service as unknown as ResourceClass,
  'v1/ServiceAccount': k8s.core.v1.ServiceAccount as unknown as ResourceClass,
  'apps/v1/Deployment': k8s.apps.v1.Deployment as unknown as ResourceClass,
  'apps/v1/StatefulSet': k8s.apps.v1.StatefulSet as unknown as ResourceClass,
  'batch/v1/Job': k8s.batch.v1.Job as unknown as ResourceClass,
  'policy/v1/PodDisruptionBudget': k8s.policy.v1.PodDisruptionBudget as unknown as ResourceClass,
  'networking.k8s.io/v1/NetworkPolicy': k8s.networking.v1.NetworkPolicy as unknown as ResourceClass,
  'networking.k8s.io/v1/Ingress': k8s.networking.v1.Ingress as unknown as ResourceClass,
  'rbac.authorization.k8s.io/v1/Role': k8s.rbac.v1.Role as unknown as ResourceClass,
  'rbac.authorization.k8s.io/v1/RoleBinding': k8s.rbac.v1.RoleBinding as unknown as ResourceClass,
  'rbac.authorization.k8s.io/v1/ClusterRole': k8s.rbac.v1.ClusterRole as unknown as ResourceClass,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': k8s.rbac.v1.ClusterRoleBinding as unknown as ResourceClass,
};

/** A schema Job of the chart (it says which schema version it installs). */
function isSchemaJob(object: ManifestObject): boolean {
  return object.kind === 'Job' && SCHEMA_VERSION_ANNOTATION in ((object.metadata.annotations ?? {}) as Record<string, string>);
}

/** A Temporal server Deployment (its pods say which release they run). */
function isServer(object: ManifestObject): boolean {
  const template = (object.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template;
  return object.kind === 'Deployment' && SERVER_VERSION_ANNOTATION in (template?.metadata?.annotations ?? {});
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'CronJob']);
const CERT_MANAGER_GROUPS = new Set(['cert-manager.io', 'policy.cert-manager.io']);

/** The chart's objects, as `npx cdk8s synth` writes them (validated, in the same order). Throws ValidationError. */
export function synthesizeObjects(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; objects: ManifestObject[] } {
  const app = new App({ outdir: '.' });
  const chart = new SecureTemporalChart(app, DEPLOYMENT_CHART_ID, props);
  const objects = parseAllDocuments(app.synthYaml()).map((doc) => doc.toJS() as ManifestObject).filter((o) => o !== null);
  return { chart, objects };
}

/** The Pulumi name of an object: unique and stable (kind, namespace, name). */
export function resourceName(object: ManifestObject): string {
  return [object.kind.toLowerCase(), object.metadata.namespace, object.metadata.name].filter((p) => p !== undefined).join('-');
}

function group(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

/**
 * A secured Temporal on Kubernetes as one Pulumi component: builds `SecureTemporalChart` in-process from the same
 * props as the cdk8s path, and deploys every object with `@pulumi/kubernetes`, as children of this component.
 * Ordering: the Namespace before everything in it; the certificates (cert-manager's objects, or in `pulumi-tls` mode
 * the minted Secrets) and the ConfigMaps before the workloads that mount them. Objects the chart writes into other
 * namespaces (cert-manager's cluster resource namespace, client namespaces) need those namespaces to exist.
 */
export class SecureTemporal extends pulumi.ComponentResource {
  /** `host:port` SDK clients and workers dial (the authorizer proxy's when it is on, else the frontend's). */
  public readonly frontendAddress: pulumi.Output<string>;
  /** The Kubernetes namespace of the installation. */
  public readonly namespace: pulumi.Output<string>;
  /** Each client identity's certificate Secret, `<namespace>/<secret name>`, in the order of `clientIdentities`. */
  public readonly clientSecretNames: pulumi.Output<string[]>;
  /** The Web UI's Service, `<namespace>/<name>`, when there is a UI (reach it with `kubectl port-forward`). */
  public readonly webUiService: pulumi.Output<string | undefined>;
  /** How many Kubernetes objects the component manages (the chart's, plus minted Secrets in `pulumi-tls` mode). */
  public readonly objectCount: pulumi.Output<number>;
  /** The Temporal server version it deploys (the stack's output; the next update reads it as the running version). */
  public readonly serverVersion: pulumi.Output<string>;
  /** The Pulumi resources of the chart's objects, by `resourceName`. */
  public readonly resources: ReadonlyMap<string, pulumi.CustomResource>;
  /** In `pulumi-tls` mode, the Secrets minted from the certificate specifications (none with cert-manager). */
  public readonly certificateSecrets: readonly pulumi.CustomResource[];
  /** In `pulumi-tls` mode, the private keys (Pulumi secrets; a CA's key exists only here, in the state). */
  public readonly certificateKeys: readonly tls.PrivateKey[];

  constructor(name: string, args: SecureTemporalArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('secure-temporal:index:SecureTemporal', name, {}, opts);
    const certificates = args.certificates ?? 'cert-manager';
    if (certificates !== 'cert-manager' && certificates !== 'pulumi-tls') {
      throw new ValidationError('INVALID_TLS', `${name}/certificates`, 'certificates must be "cert-manager" or "pulumi-tls"',
        certificates, 'set certificates to "cert-manager" (cert-manager installed in the cluster) or "pulumi-tls"');
    }
    const requested = args.chart?.tls?.issuance;
    if (requested !== undefined && requested !== (certificates === 'pulumi-tls' ? 'provided' : 'cert-manager')) {
      throw new ValidationError('INVALID_TLS', `${name}/chart/tls/issuance`,
        `tls.issuance "${requested}" contradicts certificates "${certificates}"`, requested,
        'leave tls.issuance unset: certificates decides it');
    }
    const props: SecureTemporalChartProps = {
      ...(args.chart ?? {}),
      tls: { ...(args.chart?.tls ?? {}), issuance: certificates === 'pulumi-tls' ? 'provided' : 'cert-manager' },
    };
    const { chart, objects } = synthesizeObjects(props);

    const certManager = objects.filter(isCertManagerObject);
    if (certificates === 'pulumi-tls' && certManager.length > 0) {
      throw new Error(`pulumi-tls mode, yet the chart synthesized cert-manager objects: ${certManager.map(resourceName).join(', ')}`);
    }
    const resources = new Map<string, pulumi.CustomResource>();
    const certificateSecrets: pulumi.CustomResource[] = [];
    const certificateKeys: tls.PrivateKey[] = [];
    // pulumi-tls: the Secrets are minted after the namespaces (the plan puts them first) and before anything else.
    const mint = (): void => {
      const minted = mintCertificates(this, chart.pki.specifications(), () => ({}), (spec) => {
        const ns = resources.get(resourceName({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: spec.namespace } }));
        return ns ? [ns] : [];
      });
      certificateSecrets.push(...[...minted.values()].map((m) => m.secret));
      certificateKeys.push(...[...minted.values()].map((m) => m.key));
    };
    let mintedAll = certificates !== 'pulumi-tls';
    for (const step of planDeployment(objects)) {
      if (!mintedAll && step.object.kind !== 'Namespace') {
        mint();
        mintedAll = true;
      }
      const dependsOn: pulumi.Resource[] = step.dependsOn.map((n) => resources.get(n)!);
      if (step.afterCertificates) {
        dependsOn.push(...certificateSecrets);
      }
      const options: pulumi.CustomResourceOptions = {
        parent: this,
        dependsOn,
        ...(step.object.kind === 'Secret' ? { additionalSecretOutputs: ['data', 'stringData'] } : {}),
      };
      const Class = CLASSES[`${step.object.apiVersion}/${step.object.kind}`];
      resources.set(step.name, Class !== undefined
        ? new Class(step.name, withoutTypeFields(step.object), options)
        : new k8s.apiextensions.CustomResource(step.name, step.object as unknown as k8s.apiextensions.CustomResourceArgs, options));
    }
    if (!mintedAll) {
      mint();
    }
    this.certificateSecrets = certificateSecrets;
    this.certificateKeys = certificateKeys;
    this.resources = resources;
    this.namespace = pulumi.output(chart.installation.namespace);
    this.frontendAddress = pulumi.output(chart.cluster.clientAddress);
    this.clientSecretNames = pulumi.output(chart.clientIdentities.map((i) => `${i.namespace}/${i.secretName}`));
    this.webUiService = pulumi.output(chart.webUi ? `${chart.installation.namespace}/${chart.webUi.service.metadata.name}` : undefined);
    this.objectCount = pulumi.output(objects.length + certificateSecrets.length);
    // Known once every server Deployment is updated: an update that fails before then does not record the new version as
    // running, so the next one is still checked against the one that runs.
    const servers = objects.filter(isServer).map((o) => resources.get(resourceName(o))!);
    this.serverVersion = pulumi.all(servers.map((r) => r.id)).apply(() => chart.cluster.serverVersion.version.text);
    this.registerOutputs({
      serverVersion: this.serverVersion,
      frontendAddress: this.frontendAddress,
      namespace: this.namespace,
      clientSecretNames: this.clientSecretNames,
      webUiService: this.webUiService,
      objectCount: this.objectCount,
    });
  }
}

/** The typed classes take the object without `apiVersion` and `kind` (they set them). */
function withoutTypeFields(object: ManifestObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...object };
  delete rest.apiVersion;
  delete rest.kind;
  return rest;
}
