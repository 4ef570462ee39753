import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { ValidationError } from '../errors';
import { TemporalCluster } from './cluster';
import { platformClientTls } from './cluster-tls';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from './images';
import { componentLabels, selectorLabels } from './labels';
import { requireReplicas } from './names';
import { spreadConstraints, TMP_MOUNT, TMP_VOLUME } from './pod';
import { WEB_UI_PORT } from './ports';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodBasics, toResourceRequirements,
} from './security';

/** Ingress in front of the Web UI. */
export interface WebUiIngressProps {
  /** Host name users browse to, e.g. `temporal.example.com`. */
  readonly host: string;
  /** @default - the cluster's default IngressClass */
  readonly className?: string;
  /**
   * Name of a `kubernetes.io/tls` Secret for HTTPS at the ingress (e.g. issued by cert-manager).
   * @default - no TLS at the ingress (not recommended: the UI then runs over plain HTTP)
   */
  readonly tlsSecretName?: string;
  /** @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface TemporalWebUiProps {
  readonly cluster: TemporalCluster;
  /** @default 1 */
  readonly replicas?: number;
  /** @default { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' } */
  readonly resources?: ComputeResources;
  /** @default DEFAULT_IMAGES.ui */
  readonly image?: string;
  /** @default - no Ingress (reach the UI with `kubectl port-forward`) */
  readonly ingress?: WebUiIngressProps;
  /**
   * Namespace the UI opens on.
   * @default 'default'
   */
  readonly defaultNamespace?: string;
}

/** Temporal Web UI: Deployment, ClusterIP Service, optional Ingress. */
export class TemporalWebUi extends Construct {
  public readonly name: string;
  public readonly service: k8s.KubeService;
  public readonly deployment: k8s.KubeDeployment;
  public readonly selector: Record<string, string>;
  public readonly ingress?: k8s.KubeIngress;
  /** `host:port` of the frontend the UI server calls (`TEMPORAL_ADDRESS`). */
  public readonly address: string;

  constructor(scope: Construct, id: string, props: TemporalWebUiProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const { cluster } = props;
      this.name = `${cluster.name}-web`;
      const labels = componentLabels(cluster.name, 'web');
      this.selector = selectorLabels(cluster.name, 'web');
      this.address = cluster.frontendAddress;
      const replicas = requireReplicas(path, props.replicas ?? 1, 'set replicas to 1 or more, or leave the Web UI out');
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.ui);
      const host = props.ingress?.host;
      if (props.ingress) {
        if (typeof host !== 'string' || host.length > 253 || host.split('.').some((label) => label.length > 63) ||
          !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/.test(host)) {
          throw new ValidationError('INVALID_INGRESS', `${path}/Ingress`, 'ingress.host must be a fully qualified DNS name',
            host, 'set ingress.host, e.g. "temporal.example.com"');
        }
      }
      const resources = toResourceRequirements(path, props.resources ?? { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' });
      // mTLS to the frontend with a platform-clients certificate; host verification on.
      const tls = cluster.tls ? platformClientTls(cluster.tls, { id: 'WebClient', name: 'web', target: 'frontend',
        program: 'web-ui' }) : undefined;
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });
      const probe = (extra: Partial<k8s.Probe>): k8s.Probe => ({
        httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('http') },
        periodSeconds: 10,
        ...extra,
      });
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels },
        spec: {
          replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: this.selector },
          template: {
            metadata: { labels },
            spec: {
              ...restrictedPodBasics(account.name, IMAGE_USERS.ui),
              topologySpreadConstraints: spreadConstraints(this.selector),
              containers: [{
                name: 'web',
                image,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'TEMPORAL_ADDRESS', value: cluster.frontendAddress },
                  { name: 'TEMPORAL_UI_PORT', value: String(WEB_UI_PORT) },
                  { name: 'TEMPORAL_DEFAULT_NAMESPACE', value: props.defaultNamespace ?? 'default' },
                  { name: 'TEMPORAL_DISABLE_NEWS_FETCH', value: 'true' },
                  ...(tls?.env ?? []),
                ],
                ports: [{ name: 'http', containerPort: WEB_UI_PORT, protocol: 'TCP' }],
                readinessProbe: probe({ failureThreshold: 3 }),
                livenessProbe: probe({ failureThreshold: 6, periodSeconds: 20 }),
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [TMP_MOUNT, ...(tls?.wiring.mounts ?? [])],
              }],
              volumes: [TMP_VOLUME, ...(tls?.wiring.volumes ?? [])],
            },
          },
        },
      });
      this.service = new k8s.KubeService(this, 'Service', {
        metadata: { name: this.name, labels },
        spec: {
          type: 'ClusterIP',
          selector: this.selector,
          ports: [{ name: 'http', port: WEB_UI_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP',
            appProtocol: 'http' }],
        },
      });
      new k8s.KubePodDisruptionBudget(this, 'Pdb', {
        metadata: { name: this.name, labels },
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.selector } },
      });
      if (props.ingress && host !== undefined) {
        this.ingress = new k8s.KubeIngress(this, 'Ingress', {
          metadata: { name: this.name, labels, annotations: { ...(props.ingress.annotations ?? {}) } },
          spec: {
            ingressClassName: props.ingress.className,
            tls: props.ingress.tlsSecretName ? [{ hosts: [host], secretName: props.ingress.tlsSecretName }] : undefined,
            rules: [{
              host,
              http: {
                paths: [{
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: this.service.name, port: { name: 'http' } } },
                }],
              },
            }],
          },
        });
      }
    } catch (error) {
      rollback(this, error);
    }
  }
}
