import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, Endpoint, endpointAddress, IComponent, NamedPort } from '../core/component';
import { serviceDnsOf } from '../core/dns';
import { ValidationError } from '../core/errors';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from '../core/images';
import { componentLabels, selectorLabels } from '../core/labels';
import { requireDns1035Label, requireDnsName, requireReplicas } from '../core/names';
import {
  ComputeResources, disruptionBudget, restrictedContainerSecurityContext, restrictedPodBasics, spreadConstraints, TMP_MOUNT, TMP_VOLUME,
  toResourceRequirements,
} from '../core/pod-security';
import { rollback } from '../core/rollback';
import { Role, SYSTEM_NAMESPACE } from '../authorizer/policy';
import { requireUnusedNames } from '../core/unique';
import { TemporalCluster } from './cluster';
import { WEB_UI_PORT } from './ports';

/** Ingress in front of the Web UI. */
export interface WebUiIngressProps {
  /** Host name users browse to, e.g. `temporal.example.com`. */
  readonly host: string;
  /** @default - the cluster's default IngressClass */
  readonly className?: string;
  /**
   * Name of a `kubernetes.io/tls` Secret for HTTPS at the ingress (e.g. issued by cert-manager). Required
   * unless `allowPlaintext` says otherwise.
   * @default - none: an Ingress without it is refused
   */
  readonly tlsSecretName?: string;
  /**
   * Publish the UI over plain HTTP (no `tlsSecretName`): sessions and every workflow shown travel in clear
   * text. Only for an ingress that terminates TLS elsewhere (a load balancer in front of it).
   * @default false
   */
  readonly allowPlaintext?: boolean;
  /** @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface TemporalWebUiProps {
  readonly cluster: TemporalCluster;
  /**
   * Component name: objects are `<cluster name>-<name>`, its client certificate `<name>`. Set it to run a
   * second Web UI next to the first.
   * @default 'web'
   */
  readonly name?: string;
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
  /**
   * What the UI server may do in every namespace through the authorizer proxy with its own certificate (when
   * the cluster has a proxy). Everyone who reaches the UI acts with it until single sign-on forwards each
   * user's token, hence read-only by default.
   * @default 'read'
   */
  readonly role?: Role;
}

/** Temporal Web UI: Deployment, ClusterIP Service, optional Ingress. A component: it calls the frontend. */
export class TemporalWebUi extends Construct implements IComponent {
  public readonly name: string;
  public readonly service: k8s.KubeService;
  public readonly deployment: k8s.KubeDeployment;
  public readonly selector: Record<string, string>;
  public readonly ingress?: k8s.KubeIngress;
  /** `host:port` of the frontend the UI server calls (`TEMPORAL_ADDRESS`). */
  public readonly address: string;
  /** The UI's HTTP port, through its Service. */
  public readonly http: Endpoint;
  public readonly description: ComponentDescription;

  constructor(scope: Construct, id: string, props: TemporalWebUiProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const { cluster } = props;
      const component = requireDns1035Label(path, 'name', props.name ?? 'web', { maxLength: 20, example: 'web' });
      this.name = `${cluster.name}-${component}`;
      const labels = componentLabels(cluster.name, component);
      this.selector = selectorLabels(cluster.name, component);
      const target = cluster.clientEndpoint;
      this.address = endpointAddress(target);
      const replicas = requireReplicas(path, props.replicas ?? 1, 'set replicas to 1 or more, or leave the Web UI out');
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.ui, DEFAULT_IMAGES.ui);
      const host = props.ingress?.host;
      if (props.ingress) {
        if (typeof host !== 'string' || host.length > 253 || host.split('.').some((label) => label.length > 63) ||
          !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/.test(host)) {
          throw new ValidationError('INVALID_INGRESS', `${path}/Ingress`, 'ingress.host must be a fully qualified DNS name',
            host, 'set ingress.host, e.g. "temporal.example.com"');
        }
        if (props.ingress.tlsSecretName === undefined && props.ingress.allowPlaintext !== true) {
          throw new ValidationError('INVALID_INGRESS', `${path}/Ingress`,
            'the Ingress has no TLS: the UI would be published over plain HTTP', props.ingress,
            'set ingress.tlsSecretName to a kubernetes.io/tls Secret for the host (e.g. issued by cert-manager), or ' +
              'set ingress.allowPlaintext: true if TLS ends in front of the ingress controller');
        }
        if (props.ingress.tlsSecretName !== undefined) {
          requireDnsName(`${path}/Ingress`, 'ingress.tlsSecretName', props.ingress.tlsSecretName, { example: 'temporal-web-tls' });
        }
      }
      const resources = toResourceRequirements(path, props.resources ?? { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' });
      requireUnusedNames(this, [{ kind: 'Deployment', name: this.name }, { kind: 'Service', name: this.name }],
        `give the second Web UI its own name, e.g. { name: "${component}-2" }`);
      // mTLS to the proxy (or the frontend) with a platform-clients certificate; host verification on.
      const tls = cluster.clientTls(this, 'Client', { name: component, program: 'web-ui', role: props.role ?? 'read',
        namespaces: [SYSTEM_NAMESPACE] });
      const httpPort: NamedPort = { name: 'http', port: WEB_UI_PORT, protocol: 'TCP' };
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });
      const probe = (extra: Partial<k8s.Probe>): k8s.Probe => ({
        httpGet: { path: '/healthz', port: k8s.IntOrString.fromString(httpPort.name) },
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
                  { name: 'TEMPORAL_ADDRESS', value: this.address },
                  { name: 'TEMPORAL_UI_PORT', value: String(WEB_UI_PORT) },
                  { name: 'TEMPORAL_DEFAULT_NAMESPACE', value: props.defaultNamespace ?? 'default' },
                  { name: 'TEMPORAL_DISABLE_NEWS_FETCH', value: 'true' },
                  ...(tls?.env ?? []),
                ],
                ports: [{ name: httpPort.name, containerPort: httpPort.port, protocol: 'TCP' }],
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
          ports: [{ name: httpPort.name, port: httpPort.port, targetPort: k8s.IntOrString.fromString(httpPort.name),
            protocol: 'TCP', appProtocol: 'http' }],
        },
      });
      disruptionBudget(this, this.name, labels, this.selector);
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
                  backend: { service: { name: this.service.name, port: { name: httpPort.name } } },
                }],
              },
            }],
          },
        });
      }
      this.http = { component: this, port: httpPort, service: serviceDnsOf(this.service, cluster.clusterDomain) };
      this.description = {
        id: component,
        workload: this.deployment,
        selector: this.selector,
        ports: [httpPort],
        calls: [{ to: target, category: 'ui', purpose: `the Web UI server calls the ${cluster.authorizerProxy ? 'authorizer proxy' : 'frontend API'}` }],
        admits: props.ingress ? [{ from: { outside: { role: 'ingress-controller' } }, port: httpPort, category: 'ingress',
          purpose: 'browsers reach the Web UI through the Ingress' }] : [],
        presents: tls ? [tls.identity] : [],
      };
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }
}
