import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { TlsPodWiring } from '../tls/consumers';
import { CONFIG_CHECKSUM_ANNOTATION, componentLabels, selectorLabels } from './labels';
import { ResolvedSqlStore } from './persistence';
import { spreadConstraints, storePasswordEnv, storeTlsVolumes, TMP_MOUNT, TMP_VOLUME } from './pod';
import { PORT_NAMES, ServicePorts, TemporalService } from './ports';
import { restrictedContainerSecurityContext, restrictedPodBasics } from './security';
import { IMAGE_USERS } from './images';

/** Where the static config and the dynamic config are mounted in server containers. */
export const SERVER_CONFIG_DIR = '/etc/temporal/config';
export const SERVER_CONFIG_FILE = 'config_template.yaml';
export const DYNAMIC_CONFIG_DIR = '/etc/temporal/dynamicconfig';
export const DYNAMIC_CONFIG_FILE = 'dynamic_config.yaml';
export const POD_IP_ENV = 'POD_IP';

export interface TemporalServerServiceProps {
  readonly instance: string;
  readonly service: TemporalService;
  readonly ports: ServicePorts;
  readonly replicas: number;
  readonly resources: k8s.ResourceRequirements;
  readonly image: string;
  readonly configMapName: string;
  readonly dynamicConfigMapName: string;
  readonly configChecksum: string;
  readonly stores: readonly ResolvedSqlStore[];
  /** Certificates and trust anchors of the server's listeners. @default - none (plaintext) */
  readonly tls?: TlsPodWiring;
}

/**
 * One Temporal server service: its ServiceAccount (no API token), Deployment (started with its own
 * `--service` flag), headless Service for membership and a PodDisruptionBudget.
 */
export class TemporalServerService extends Construct {
  public readonly deployment: k8s.KubeDeployment;
  public readonly headlessService: k8s.KubeService;
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** Labels that select this service's pods. */
  public readonly selector: Record<string, string>;
  public readonly name: string;

  constructor(scope: Construct, id: string, props: TemporalServerServiceProps) {
    super(scope, id);
    const { instance, service, ports } = props;
    this.name = `${instance}-${service}`;
    const labels = componentLabels(instance, service);
    this.selector = selectorLabels(instance, service);

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.name, labels },
      automountServiceAccountToken: false,
    });

    const containerPorts: k8s.ContainerPort[] = [
      { name: PORT_NAMES.grpc, containerPort: ports.grpc, protocol: 'TCP' },
      { name: PORT_NAMES.membership, containerPort: ports.membership, protocol: 'TCP' },
      ...(ports.http !== undefined ? [{ name: PORT_NAMES.http, containerPort: ports.http, protocol: 'TCP' }] : []),
      { name: PORT_NAMES.metrics, containerPort: ports.metrics, protocol: 'TCP' },
    ];
    const tls = storeTlsVolumes(props.stores);
    const probe = (extra: Partial<k8s.Probe>): k8s.Probe => ({
      tcpSocket: { port: k8s.IntOrString.fromString(PORT_NAMES.grpc) },
      periodSeconds: 10,
      timeoutSeconds: 5,
      ...extra,
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name: this.name, labels },
      spec: {
        replicas: props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.selector },
        template: {
          metadata: {
            labels,
            annotations: {
              [CONFIG_CHECKSUM_ANNOTATION]: props.configChecksum,
              'prometheus.io/scrape': 'true',
              'prometheus.io/port': String(ports.metrics),
              'prometheus.io/path': '/metrics',
            },
          },
          spec: {
            ...restrictedPodBasics(this.serviceAccount.name, IMAGE_USERS.server),
            topologySpreadConstraints: spreadConstraints(this.selector),
            terminationGracePeriodSeconds: 60,
            containers: [{
              name: service,
              image: props.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['temporal-server', 'start', '--service', service],
              env: [
                { name: 'TEMPORAL_SERVER_CONFIG_FILE_PATH', value: `${SERVER_CONFIG_DIR}/${SERVER_CONFIG_FILE}` },
                { name: POD_IP_ENV, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                // No authorizer is configured at this layer: the server then lets every authenticated
                // caller act on every namespace. Say so explicitly instead of relying on a start-up warning
                // (future server releases require the flag); authorization is added by the authorizer layer.
                { name: 'TEMPORAL_ALLOW_NO_AUTH', value: 'true' },
                ...storePasswordEnv(props.stores),
              ],
              ports: containerPorts,
              startupProbe: probe({ failureThreshold: 30, periodSeconds: 5 }),
              readinessProbe: probe({ failureThreshold: 3 }),
              livenessProbe: probe({ failureThreshold: 6, periodSeconds: 20 }),
              resources: props.resources,
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [
                { name: 'config', mountPath: SERVER_CONFIG_DIR, readOnly: true },
                { name: 'dynamic-config', mountPath: DYNAMIC_CONFIG_DIR, readOnly: true },
                TMP_MOUNT,
                ...tls.mounts,
                ...(props.tls?.mounts ?? []),
              ],
            }],
            volumes: [
              { name: 'config', configMap: { name: props.configMapName } },
              { name: 'dynamic-config', configMap: { name: props.dynamicConfigMapName } },
              TMP_VOLUME,
              ...tls.volumes,
              ...(props.tls?.volumes ?? []),
            ],
          },
        },
      },
    });

    this.headlessService = new k8s.KubeService(this, 'Headless', {
      metadata: { name: `${this.name}-headless`, labels },
      spec: {
        clusterIp: 'None',
        publishNotReadyAddresses: true,
        selector: this.selector,
        ports: containerPorts.map((p) => ({
          name: p.name,
          port: p.containerPort,
          targetPort: k8s.IntOrString.fromString(p.name ?? ''),
          protocol: 'TCP',
          appProtocol: p.name === PORT_NAMES.http || p.name === PORT_NAMES.metrics ? 'http' : 'tcp',
        })),
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'Pdb', {
      metadata: { name: this.name, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.selector } },
    });
  }
}
