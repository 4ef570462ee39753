/**
 * The synthesized manifests, as `cdk8s synth` writes them, and look-ups into them. Objects are found
 * by kind and name or labels, never by position.
 */
import { App } from 'cdk8s';
import type { IContainer, IPodSpec, IServicePort } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';

/** A synthesized Kubernetes object (only the fields the harness reads are typed). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  readonly data?: Readonly<Record<string, string>>;
}

/** Secret name -> key -> value: what the tests "create" in the cluster. */
export type Secrets = Readonly<Record<string, Readonly<Record<string, string>>>>;

export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export interface Manifests {
  readonly objects: readonly KubeObject[];
  /** Cluster DNS domain the chart was synthesized for (Service host names end in `.svc.<domain>`). */
  readonly clusterDomain: string;
  /** cert-manager's cluster resource namespace the chart was synthesized for (where ClusterIssuers read their CA). */
  readonly clusterResourceNamespace: string;
}

/**
 * Synthesizes the chart in-process as main.ts does (main.ts passes no props; the tests may declare
 * e.g. a workload identity) and parses the YAML stream.
 */
export function synthesize(props: SecureTemporalChartProps = {}): Manifests {
  const app = new App();
  const chart = new SecureTemporalChart(app, 'temporal', props);
  const objects = parseAllDocuments(app.synthYaml())
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
  return { objects, clusterDomain: chart.cluster.clusterDomain, clusterResourceNamespace: chart.pki.clusterResourceNamespace };
}

function describeMatches(matches: readonly KubeObject[]): string {
  return matches.map((o) => `${o.kind}/${o.metadata.name}`).join(', ') || 'none';
}

/** The one object of `kind` named `name`. */
export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const matches = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} named ${name}, found ${matches.length}`);
  }
  return matches[0];
}

/** Every object of `kind` whose labels include all of `labels`. */
export function findAllByLabels(objects: readonly KubeObject[], kind: string, labels: Readonly<Record<string, string>>):
  KubeObject[] {
  return objects.filter((o) => o.kind === kind &&
    Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v));
}

/** The one object of `kind` whose labels include all of `labels`. */
export function findByLabels(objects: readonly KubeObject[], kind: string, labels: Readonly<Record<string, string>>):
  KubeObject {
  const matches = findAllByLabels(objects, kind, labels);
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} labelled ${JSON.stringify(labels)}, found: ${describeMatches(matches)}`);
  }
  return matches[0];
}

/** The one object of `kind` with label app.kubernetes.io/component = `component`. */
export function findComponent(objects: readonly KubeObject[], kind: string, component: string): KubeObject {
  return findByLabels(objects, kind, { [COMPONENT_LABEL]: component });
}

/** Pod template spec of a Deployment, StatefulSet or Job. */
export function podSpec(workload: KubeObject): IPodSpec {
  const spec = (workload.spec as { template?: { spec?: IPodSpec } } | undefined)?.template?.spec;
  if (spec === undefined) {
    throw new Error(`${workload.kind}/${workload.metadata.name} has no pod template`);
  }
  return spec;
}

/** The workload's only (non-init) container. */
export function onlyContainer(workload: KubeObject): IContainer {
  const { containers } = podSpec(workload);
  if (containers.length !== 1) {
    throw new Error(`${workload.kind}/${workload.metadata.name} has ${containers.length} containers, expected 1`);
  }
  return containers[0];
}

/** A container port by name. */
export function containerPort(container: IContainer, name: string): number {
  const port = container.ports?.find((p) => p.name === name);
  if (port === undefined) {
    throw new Error(`container ${container.name} has no port named ${name}`);
  }
  return port.containerPort;
}

/** Ports of a Service. */
export function servicePorts(service: KubeObject): IServicePort[] {
  return (service.spec as { ports?: IServicePort[] } | undefined)?.ports ?? [];
}

/** In-cluster DNS name of a Service: `<name>.<namespace>.svc.<domain>`. */
export function serviceHost(service: KubeObject, clusterDomain: string): string {
  if (service.metadata.namespace === undefined) {
    throw new Error(`Service ${service.metadata.name} has no namespace`);
  }
  return `${service.metadata.name}.${service.metadata.namespace}.svc.${clusterDomain}`;
}

/** What the `postgres` image makes of the evaluation PostgreSQL StatefulSet. */
export interface EvaluationDatabase {
  /** The StatefulSet itself (its volumes and args are run by the harness). */
  readonly statefulSet: KubeObject;
  /** DNS name of its Service (what the stores connect to). */
  readonly host: string;
  readonly port: number;
  /** POSTGRES_USER (the superuser; image default `postgres`). */
  readonly user: string;
  /** POSTGRES_DB (image default: the user): created at first start. */
  readonly database: string;
  /** Secret of its server certificate (the volume mounted where `ssl_cert_file` points), if it serves TLS. */
  readonly serverCertificateSecret?: string;
}

/**
 * Reads the evaluation PostgreSQL (StatefulSet with component `postgres` and its governing Service) the
 * way the `postgres` image's entrypoint does. It has no password: it authenticates by certificate.
 */
export function evaluationDatabase(manifests: Manifests): EvaluationDatabase {
  const sts = findComponent(manifests.objects, 'StatefulSet', 'postgres');
  const pod = podSpec(sts);
  const container = onlyContainer(sts);
  const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
  const user = env.get('POSTGRES_USER') ?? 'postgres';
  const database = env.get('POSTGRES_DB') ?? user;
  const args = container.args ?? [];
  const certFile = args.find((a) => a.startsWith('ssl_cert_file='))?.slice('ssl_cert_file='.length);
  const certMount = certFile === undefined ? undefined
    : (container.volumeMounts ?? []).find((m) => certFile.startsWith(`${m.mountPath}/`));
  const serverCertificateSecret = pod.volumes?.find((v) => v.name === certMount?.name)?.secret?.secretName;
  const serviceName = (sts.spec as { serviceName?: string }).serviceName;
  if (serviceName === undefined) {
    throw new Error(`StatefulSet ${sts.metadata.name} has no serviceName`);
  }
  const service = findObject(manifests.objects, 'Service', serviceName);
  const port = servicePorts(service).find((p) => p.name === 'postgres')?.port ?? containerPort(container, 'postgres');
  return { statefulSet: sts, host: serviceHost(service, manifests.clusterDomain), port, user, database, serverCertificateSecret };
}
