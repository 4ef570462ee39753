import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, Endpoint, endpointAddress, HealthEndpoints, healthProbe, IComponent, NamedPort } from '../core/component';
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
import { identityProviderCall, OIDC_CA_FILE } from '../authorizer/proxy';
import { ExternalPeer } from '../core/peers';
import { TemporalCluster } from './cluster';
import { requireHttpsUrl } from './codec-server';
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
  readonly annotations?: { readonly [key: string]: string };
}

/**
 * Single sign-on of the Web UI with the organisation's OpenID Connect provider: the provider the authorizer proxy
 * trusts (`authorizerProxy.oidc`). Each signed-in user's access token travels with every call the UI makes, so a
 * person sees only what their grants allow; the UI's own certificate then grants nothing.
 */
export interface WebUiSsoProps {
  /** The UI's client id at the provider (the `aud` of the ID tokens). */
  readonly clientId: string;
  /** The Secret (in the Temporal namespace, created by you) holding the client secret. */
  readonly clientSecret: { readonly name: string; /** @default 'client-secret' */ readonly key?: string };
  /** Where the provider sends users back: `<UI URL>/auth/sso/callback`, registered at the provider. */
  readonly callbackUrl: string;
  /** @default ['openid', 'profile', 'email'] */
  readonly scopes?: readonly string[];
  /** The provider's URL for discovery, when not its issuer. @default - `authorizerProxy.oidc.issuer` */
  readonly providerUrl?: string;
  /** Label of the sign-in button. @default 'sso' */
  readonly label?: string;
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
  /**
   * Sign users in with the organisation's identity provider (required for an Ingress). Needs the authorizer proxy
   * with `oidc` of the same provider.
   * @default - no sign-in: reachable by port-forward only, acting with `role`
   */
  readonly sso?: WebUiSsoProps;
  /**
   * The codec server's URL as browsers reach it: the UI tells the browser to decode payloads there with the
   * user's access token. Only with `sso` (without a user's token the codec server answers nothing).
   * @default - none: payloads show encrypted
   */
  readonly codecEndpoint?: string;
}

const OIDC_CA_DIR = '/etc/web-ui/oidc-ca';

interface ResolvedSso extends WebUiSsoProps {
  readonly providerUrl: string;
  readonly issuer: string;
  readonly peers: readonly ExternalPeer[];
}

function requireSso(path: string, sso: WebUiSsoProps, cluster: TemporalCluster): ResolvedSso {
  const oidc = cluster.authorizerProxy?.oidc;
  if (oidc === undefined) {
    throw new ValidationError('INVALID_POLICY', path, 'single sign-on needs the authorizer proxy to accept the same provider\'s tokens ' +
      '(the UI forwards each user\'s token to it)', 'sso', 'set authorizerProxy.oidc to the provider the Web UI signs users in with');
  }
  if (typeof sso.clientId !== 'string' || sso.clientId.trim() === '') {
    throw new ValidationError('INVALID_POLICY', path, 'sso.clientId must name the UI\'s client at the provider', sso.clientId,
      'e.g. clientId: "temporal-ui"');
  }
  if (typeof sso.clientSecret?.name !== 'string') {
    throw new ValidationError('INVALID_POLICY', path, 'sso.clientSecret must name a Secret (the secret itself never goes in the manifests)',
      sso.clientSecret, 'e.g. clientSecret: { name: "temporal-ui-oidc", key: "client-secret" }, created with kubectl create secret generic');
  }
  if (sso.clientId === oidc.audience) {
    throw new ValidationError('INVALID_POLICY', path, 'sso.clientId is the audience the proxy accepts: ID tokens (whose aud is the client id) ' +
      'would then pass as access tokens', sso.clientId, 'give Temporal its own API audience at the provider (authorizerProxy.oidc.audience), ' +
      'distinct from the UI\'s client id');
  }
  requireDnsName(path, 'sso.clientSecret.name', sso.clientSecret.name, { example: 'temporal-ui-oidc' });
  if (sso.clientSecret.key !== undefined && !/^[-._a-zA-Z0-9]+$/.test(sso.clientSecret.key)) {
    throw new ValidationError('INVALID_POLICY', path, 'sso.clientSecret.key must be a Secret key', sso.clientSecret.key, 'e.g. "client-secret"');
  }
  const callback = requireHttpsUrl(path, 'sso.callbackUrl', sso.callbackUrl);
  if (!new URL(callback).pathname.endsWith('/auth/sso/callback')) {
    throw new ValidationError('INVALID_POLICY', path, 'sso.callbackUrl must be the UI\'s /auth/sso/callback', sso.callbackUrl,
      'e.g. "https://temporal.example.com/auth/sso/callback"');
  }
  const scopes = sso.scopes ?? ['openid', 'profile', 'email'];
  if (!scopes.includes('openid') || scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s) || s.includes(','))) {
    throw new ValidationError('INVALID_POLICY', path, 'sso.scopes must include "openid" and be scope tokens', scopes,
      'e.g. ["openid", "profile", "email"]');
  }
  const providerUrl = sso.providerUrl !== undefined ? requireHttpsUrl(path, 'sso.providerUrl', sso.providerUrl) : oidc.issuer;
  return { ...sso, scopes, providerUrl, issuer: oidc.issuer, peers: oidc.peers };
}

/** The UI server's auth settings (its `config/docker.yaml` template); the client secret from its Secret. */
function ssoEnv(sso: ResolvedSso): k8s.EnvVar[] {
  return [
    { name: 'TEMPORAL_AUTH_ENABLED', value: 'true' },
    { name: 'TEMPORAL_AUTH_TYPE', value: 'oidc' },
    { name: 'TEMPORAL_AUTH_LABEL', value: sso.label ?? 'sso' },
    { name: 'TEMPORAL_AUTH_PROVIDER_URL', value: sso.providerUrl },
    { name: 'TEMPORAL_AUTH_ISSUER_URL', value: sso.issuer },
    { name: 'TEMPORAL_AUTH_CLIENT_ID', value: sso.clientId },
    { name: 'TEMPORAL_AUTH_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: sso.clientSecret.name, key: sso.clientSecret.key ?? 'client-secret' } } },
    { name: 'TEMPORAL_AUTH_CALLBACK_URL', value: sso.callbackUrl },
    { name: 'TEMPORAL_AUTH_SCOPES', value: (sso.scopes ?? []).join(',') },
    // The UI server's own CORS: its pages' origin.
    { name: 'TEMPORAL_CORS_ORIGINS', value: new URL(sso.callbackUrl).origin },
  ];
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
      if (props.ingress && props.sso === undefined) {
        throw new ValidationError('INVALID_INGRESS', `${path}/Ingress`, 'a Web UI published without single sign-on lets everyone who reaches ' +
          'it act with its own identity', props.ingress.host, 'set sso (the Web UI signs users in with your identity provider), or ' +
          'leave ingress out and reach the UI with kubectl port-forward');
      }
      const sso = props.sso ? requireSso(`${path}/sso`, props.sso, cluster) : undefined;
      if (props.codecEndpoint !== undefined && sso === undefined) {
        throw new ValidationError('INVALID_INGRESS', path, 'codecEndpoint needs sso: the codec server decodes only for a signed-in user\'s token',
          props.codecEndpoint, 'set sso, or leave codecEndpoint out');
      }
      const codecEndpoint = props.codecEndpoint !== undefined ? requireHttpsUrl(path, 'codecEndpoint', props.codecEndpoint) : undefined;
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
      // With single sign-on every call carries the user's token: the UI's certificate authenticates the UI and grants nothing.
      const oidcCa = sso ? cluster.authorizerProxy?.oidcCaConfigMap : undefined;
      // Go's system roots are SSL_CERT_FILE plus every file of SSL_CERT_DIR (the server's CA, both key slots). For
      // discovery and the token endpoint, SSL_CERT_FILE is the identity provider's private CA, or, for a provider with a
      // public certificate, the image's own public bundle (no public CA certifies a cluster-internal name).
      const tls = cluster.clientTls(this, 'Client', { name: component, program: 'web-ui', role: sso ? undefined : props.role ?? 'read',
        namespaces: [SYSTEM_NAMESPACE], extraTrustFile: oidcCa ? `${OIDC_CA_DIR}/${OIDC_CA_FILE}` : sso ? 'image' : undefined });
      const httpPort: NamedPort = { name: 'http', port: WEB_UI_PORT, protocol: 'TCP' };
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });
      const health: HealthEndpoints = { readiness: { port: httpPort, path: '/healthz' } };
      const probe = (extra: Partial<k8s.Probe>): k8s.Probe => healthProbe(health.readiness, { periodSeconds: 10, ...extra });
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
                  ...(sso ? ssoEnv(sso) : []),
                  ...(codecEndpoint ? [
                    { name: 'TEMPORAL_CODEC_ENDPOINT', value: codecEndpoint },
                    { name: 'TEMPORAL_CODEC_PASS_ACCESS_TOKEN', value: 'true' },
                  ] : []),
                ],
                ports: [{ name: httpPort.name, containerPort: httpPort.port, protocol: 'TCP' }],
                readinessProbe: probe({ failureThreshold: 3 }),
                livenessProbe: probe({ failureThreshold: 6, periodSeconds: 20 }),
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [TMP_MOUNT, ...(tls?.wiring.mounts ?? []),
                  ...(oidcCa ? [{ name: 'oidc-ca', mountPath: OIDC_CA_DIR, readOnly: true }] : [])],
              }],
              volumes: [TMP_VOLUME, ...(tls?.wiring.volumes ?? []), ...(oidcCa ? [{ name: 'oidc-ca', configMap: { name: oidcCa.name } }] : [])],
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
        calls: [
          { to: target, category: 'ui', purpose: `the Web UI server calls the ${cluster.authorizerProxy ? 'authorizer proxy' : 'frontend API'}` },
          ...(sso ? [identityProviderCall(component, sso.peers, sso.providerUrl, 'the Web UI server signs users in (discovery, token endpoint)')] : []),
        ],
        admits: props.ingress ? [{ from: { outside: { role: 'ingress-controller' } }, port: httpPort, category: 'ingress',
          purpose: 'browsers reach the Web UI through the Ingress' }] : [],
        health,
        presents: tls ? [tls.identity] : [],
      };
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }
}
