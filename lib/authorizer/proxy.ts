import { createHash } from 'node:crypto';
import { Duration, Lazy } from 'cdk8s';
import { ISecret, k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  Admission, Call, ComponentDescription, Components, Endpoint, HealthEndpoints, healthProbe, IComponent, MetricsEndpoint, NamedPort,
  scrapeAnnotations,
} from '../core/component';
import { serviceDnsOf, serviceFqdn } from '../core/dns';
import { ValidationError } from '../core/errors';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from '../core/images';
import { Installation } from '../core/installation';
import { CONFIG_CHECKSUM_ANNOTATION, componentLabels, selectorLabels } from '../core/labels';
import { requireDns1035Label, requireReplicas } from '../core/names';
import { ExternalPeer, validatePeer } from '../core/peers';
import {
  ComputeResources, disruptionBudget, memoryBytes, restrictedContainerSecurityContext, restrictedPodBasics, spreadConstraints, TMP_MOUNT,
  TMP_VOLUME, toResourceRequirements,
} from '../core/pod-security';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { clientTlsFiles } from '../tls/consumers';
import { TlsIdentity } from '../tls/identity';
import { ROOT_ANCHOR_FILE, TLS_DIR, TLS_FILES, TRUST_DIR } from '../tls/layout';
import { TemporalPki } from '../tls/pki';
import { SigningKey } from '../tls/signing-key';
import { AuthorizerPolicy, PolicyRule, Role, validatePolicy, validateRule } from './policy';
import { bundledProgram } from './program';
import { API_KEYS_FILE } from './api-keys';
import { PROXY_ENV, PROXY_JWKS_PATH, PROXY_LIMITS, PROXY_PORTS } from './proxy-env';

/** The identity provider whose bearer JWTs the proxy accepts (OpenID Connect access tokens). */
export interface OidcProps {
  /** The `iss` of its tokens, e.g. `https://login.example.com/realms/temporal`. */
  readonly issuer: string;
  /** The `aud` its tokens carry for Temporal (the API's identifier or client id at the provider). */
  readonly audience: string;
  /** Where its signing keys are published (`jwks_uri` of its discovery document); https. */
  readonly jwksUri: string;
  /**
   * Where the JWKS is served, for the proxy's egress NetworkPolicy: the provider's addresses
   * (`Peer.cidr('203.0.113.0/24')`) or, in the cluster, its namespace (`Peer.namespace('keycloak')`).
   */
  readonly peers: readonly ExternalPeer[];
  /**
   * PEM bundle of the CAs that issued the provider's HTTPS certificate, when not a public CA (public
   * certificates only; shipped in a ConfigMap and added to Node's trust with `NODE_EXTRA_CA_CERTS`).
   * @default - the Node image's public CAs
   */
  readonly caBundle?: string;
  /**
   * How long the provider's keys, as last fetched, keep verifying tokens while the provider cannot be reached (keys
   * are refetched every minute while it answers). Longer rides out longer outages; shorter stops sooner a key the
   * provider withdrew during an outage. 0 to 7 days.
   * @default Duration.hours(1)
   */
  readonly keysMaxStale?: Duration;
}

/** What a deployment chooses about its authorizer proxy (the chart and the cluster pass the rest). */
export interface AuthorizerProxyOptions {
  /** Component name: objects are `<installation>-<name>`. @default 'authorizer-proxy' */
  readonly name?: string;
  /** It is the one door to Temporal: run at least two. Ignored with `autoscaling` (its `minReplicas` is the floor). @default 2 */
  readonly replicas?: number;
  /**
   * A HorizontalPodAutoscaler (autoscaling/v2) scaling the proxy on CPU between `minReplicas` and `maxReplicas`; the
   * Deployment then leaves `replicas` to it. Needs the cluster's resource metrics (metrics-server). Sizing in
   * docs/OPERATIONS.md.
   * @default - no autoscaler: `replicas` pods
   */
  readonly autoscaling?: ProxyAutoscaling;
  /** @default { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi' } */
  readonly resources?: ComputeResources;
  /** The Node image that runs the bundled program (pinned). @default DEFAULT_IMAGES.node */
  readonly image?: string;
  /** Extra DNS names clients use to reach the proxy (an ingress or load-balancer name): SANs of its certificate. @default - none */
  readonly extraHosts?: readonly string[];
  /** Policy rules (who gets which role in which namespace). More can be added with `grant` and `addRule`. @default - none */
  readonly rules?: readonly PolicyRule[];
  /**
   * JWT claim of the identity provider's tokens whose Temporal permissions (`<namespace>:<role>`) are granted as
   * they are. Opt in only when nobody but your administrators can shape that claim at the provider: a user who can
   * (user-editable attributes mapped into tokens) would grant themselves any role, `temporal-system:admin` too.
   * `false` is the same as leaving it unset.
   * @default - off: roles come from the rules only
   */
  readonly jwtPermissionsClaim?: string | false;
  /** JWT claim with the caller's groups (rules' `jwt.group`). @default 'groups' */
  readonly jwtGroupsClaim?: string;
  /** Bearer JWTs from an identity provider, besides certificates. @default - certificates only */
  readonly oidc?: OidcProps;
  /** Lifetime of the tokens it mints for the frontend (30 s to 1 h). @default Duration.minutes(5) */
  readonly tokenTtl?: Duration;
  /**
   * The Secret (created by you, in the installation's namespace) whose `api-keys.json` holds the API key records: ids,
   * owners, expiries and SHA-256 hashes, never keys (`secure-temporal api-key create` makes a key and its record).
   * Callers then authenticate with `authorization: Bearer stk_...`, and rules grant to `apiKey: { owner }`. Reloaded
   * on change: keys are added, rotated and revoked without a restart. The codec server accepts the same keys.
   * @default - API keys are not accepted
   */
  readonly apiKeySecret?: ISecret;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** How the authorizer proxy scales out (`AuthorizerProxyOptions.autoscaling`). */
export interface ProxyAutoscaling {
  /** The fewest pods (2 or more: every call goes through the proxy). @default 2 */
  readonly minReplicas?: number;
  /** The most pods. */
  readonly maxReplicas: number;
  /** Average CPU use, in percent of the pods' CPU request, the autoscaler keeps them at (10 to 100). @default 70 */
  readonly targetCpuUtilization?: number;
}

/** The frontend the proxy forwards to. */
export interface ProxyUpstream {
  /** `host:port` of the frontend's gRPC port. */
  readonly address: string;
  /** The frontend's server certificate (the proxy verifies it; its CA must accept the proxy's client certificate). */
  readonly server: TlsIdentity;
  /** The frontend's gRPC endpoint, asked for once the cluster exists (for the network rows). */
  readonly endpoint: () => Endpoint;
}

export interface AuthorizerProxyProps extends AuthorizerProxyOptions {
  /** The installation (its name prefixes every object; `name` above is the component's). @default - the PKI's */
  readonly installation?: Installation;
  readonly pki: TemporalPki;
  readonly upstream: ProxyUpstream;
}

/** How often the frontend re-fetches the proxy's JWKS (`global.authorization.jwtKeyProvider.refreshInterval`). */
export const JWKS_REFRESH_SECONDS = 15;
/**
 * A new signing key is published this long before it signs: longer than the frontend's refresh interval plus
 * the kubelet's delay in updating the key Secret in every proxy pod (about a minute), so that every frontend
 * knows the key before a token it signed arrives.
 */
export const KEY_PUBLISH_DELAY_SECONDS = 150;

/** Key of the policy in its ConfigMap. */
export const POLICY_FILE = 'policy.json';
const POLICY_DIR = '/etc/authorizer-proxy/policy';
const PROGRAM_DIR = '/opt/authorizer-proxy';
const OIDC_CA_DIR = '/etc/authorizer-proxy/oidc-ca';
/** Key of the identity provider's CA bundle in its ConfigMap. */
export const OIDC_CA_FILE = 'ca.crt';
/** Where the API key Secret is mounted (proxy and codec server alike). */
export const API_KEYS_DIR = '/etc/secure-temporal/api-keys';
const SIGNING_KEY_DIR = `${TLS_DIR}/signing-key`;
const CLIENT_DIR = `${TLS_DIR}/upstream-client`;
const SERVER_DIR = `${TLS_DIR}/server`;

/**
 * The authorizer proxy: the one door to Temporal. It authenticates every caller (a client certificate of the
 * workload or platform-clients CA, and/or a bearer JWT of the identity provider), checks the policy with the
 * namespace read from the request message, and forwards the bytes to the frontend over mTLS with a short-lived
 * token it signs, whose `permissions` the frontend's default authorizer enforces again. Objects: ServiceAccount,
 * Deployment (a pinned Node image running the bundled program from a ConfigMap), Service (gRPC, JWKS),
 * PodDisruptionBudget, the policy ConfigMap (reloaded on change), its server and client certificates and its
 * signing key (generated by cert-manager, never in the manifests). A component: clients call `grpc`.
 */
export class AuthorizerProxy extends Construct implements IComponent {
  public readonly installation: Installation;
  /** `<installation>-<component>`: its Deployment, Service and certificates. */
  public readonly name: string;
  public readonly component: string;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly policyConfigMap: k8s.KubeConfigMap;
  public readonly selector: Record<string, string>;
  /** The gRPC endpoint clients call, in place of the frontend. */
  public readonly grpc: Endpoint;
  /** The HTTPS endpoint of its JWKS (the frontend's key source). */
  public readonly jwks: Endpoint;
  /** `https://<service>:8443/.well-known/jwks.json`. */
  public readonly jwksUrl: string;
  /** `iss` of the tokens it mints. */
  public readonly tokenIssuer: string;
  /** `aud` of the tokens it mints: the frontend's `global.authorization.audience`. */
  public readonly tokenAudience: string;
  /** Its server certificate (frontend CA): clients verify it with the frontend CA's anchor. */
  public readonly serverIdentity: TlsIdentity;
  /** Its client certificate towards the frontend (platform-clients CA). */
  public readonly clientIdentity: TlsIdentity;
  public readonly signingKey: SigningKey;
  private readonly rules: PolicyRule[] = [];
  /** Names of `rules`: a new rule is checked against them, not the whole policy again (linear in the number of grants). */
  private readonly ruleNames = new Set<string>();
  private readonly policySettings: Pick<AuthorizerPolicy, 'jwtPermissionsClaim' | 'jwtGroupsClaim'>;
  private readonly ports: { readonly grpc: NamedPort; readonly jwks: NamedPort; readonly metrics: NamedPort };

  /** Where Prometheus scrapes it (plain HTTP, next to /healthz and /readyz). */
  private get metricsEndpoint(): MetricsEndpoint {
    return { port: this.ports.metrics, path: '/metrics' };
  }
  /** Ready once its policy, keys and certificates are loaded (`/readyz`); alive while it serves (`/healthz`). */
  private get health(): HealthEndpoints {
    return { readiness: { port: this.ports.metrics, path: '/readyz' }, liveness: { port: this.ports.metrics, path: '/healthz' } };
  }
  private readonly props: AuthorizerProxyProps;

  constructor(scope: Construct, id: string, props: AuthorizerProxyProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      this.props = props;
      this.installation = Installation.resolve(this, { installation: props.installation }, props.pki?.installation);
      const { pki } = props;
      if (pki === undefined) {
        throw new ValidationError('INVALID_TLS', path, 'the authorizer proxy needs a PKI (its callers and the frontend use mTLS)',
          undefined, 'pass the installation\'s TemporalPki as pki');
      }
      this.component = requireDns1035Label(path, 'name', props.name ?? 'authorizer-proxy', { maxLength: 24, example: 'authorizer-proxy' });
      this.name = `${this.installation.name}-${this.component}`;
      const replicas = requireReplicas(path, props.replicas ?? 2,
        'set replicas to 1 or more (2 or more: every call goes through the proxy)');
      const autoscaling = props.autoscaling === undefined ? undefined : requireAutoscaling(path, props.autoscaling);
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.node, DEFAULT_IMAGES.node);
      const compute = props.resources ?? { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi' };
      const resources = toResourceRequirements(path, compute);
      // Half the memory limit for request messages held while calls are decided; the largest message fits in it.
      const maxBufferedBytes = Math.max(16 * 1024 * 1024, Math.floor(memoryBytes(compute.memoryLimit) / 2));
      const maxMessageBytes = Math.min(PROXY_LIMITS.maxMessageBytes, maxBufferedBytes);
      const keysMaxStale = props.oidc?.keysMaxStale?.toSeconds() ?? PROXY_LIMITS.oidcMaxStaleSeconds;
      if (!Number.isInteger(keysMaxStale) || keysMaxStale < 0 || keysMaxStale > 7 * 86_400) {
        throw new ValidationError('INVALID_DURATION', `${path}/oidc`, 'oidc.keysMaxStale must be whole seconds from 0 to 7 days',
          props.oidc?.keysMaxStale?.toHumanString(), 'e.g. Duration.hours(1) (the default)');
      }
      const ttl = (props.tokenTtl ?? Duration.minutes(5)).toSeconds();
      if (!Number.isInteger(ttl) || ttl < 30 || ttl > 3600) {
        throw new ValidationError('INVALID_DURATION', path, 'tokenTtl must be from 30 seconds to 1 hour', props.tokenTtl?.toHumanString(),
          'e.g. Duration.minutes(5): short enough that a leaked token soon expires, long enough to be reused');
      }
      const oidc = props.oidc ? requireOidc(`${path}/oidc`, props.oidc) : undefined;
      this.policySettings = {
        ...(props.jwtPermissionsClaim !== undefined ? { jwtPermissionsClaim: props.jwtPermissionsClaim } : {}),
        ...(props.jwtGroupsClaim !== undefined ? { jwtGroupsClaim: props.jwtGroupsClaim } : {}),
      };
      validatePolicy(`${path}/rules`, { rules: props.rules ?? [], ...this.policySettings });
      this.rules.push(...(props.rules ?? []));
      this.rules.forEach((rule) => this.ruleNames.add(rule.name));
      requireUnusedNames(this, [{ kind: 'Deployment', name: this.name }, { kind: 'Service', name: this.name },
        { kind: 'ConfigMap', name: `${this.name}-policy` }], `give the second proxy its own name, e.g. { name: "${this.component}-2" }`);
      const program = bundledProgram('authorizer-proxy');

      const labels = componentLabels(this.installation.name, this.component);
      this.selector = selectorLabels(this.installation.name, this.component);
      this.ports = {
        grpc: { name: 'grpc-rpc', port: PROXY_PORTS.grpc, protocol: 'TCP' },
        jwks: { name: 'https-jwks', port: PROXY_PORTS.jwks, protocol: 'TCP' },
        metrics: { name: 'metrics', port: PROXY_PORTS.http, protocol: 'TCP' },
      };
      this.service = new k8s.KubeService(this, 'Service', {
        metadata: { name: this.name, labels },
        spec: {
          type: 'ClusterIP',
          selector: this.selector,
          ports: [this.ports.grpc, this.ports.jwks].map((p) => ({
            name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name), protocol: 'TCP',
            appProtocol: p === this.ports.grpc ? 'tcp' : 'https',
          })),
        },
      });
      const dns = serviceDnsOf(this.service, this.installation.clusterDomain);
      const host = serviceFqdn(dns);
      this.grpc = { component: this, port: this.ports.grpc, service: dns };
      this.jwks = { component: this, port: this.ports.jwks, service: dns };
      this.jwksUrl = `https://${host}:${PROXY_PORTS.jwks}${PROXY_JWKS_PATH}`;
      this.tokenIssuer = `https://${host}:${PROXY_PORTS.jwks}`;
      this.tokenAudience = props.upstream.server.serverName ?? host;

      // Callers present leaves of the workload CA (user workloads) or the platform-clients CA (Web UI, admin
      // tools, jobs); the proxy presents its own platform-clients certificate to the frontend.
      this.serverIdentity = pki.issueServerCertificate(this, 'ServerTls', {
        service: dns, extraHosts: props.extraHosts, acceptsClientsFrom: ['workload', 'platform-clients'],
      });
      this.clientIdentity = pki.issuePlatformClientCertificate(this, 'ClientTls', { name: this.component });
      const upstream = clientTlsFiles(this.clientIdentity, props.upstream.server, { clientDir: CLIENT_DIR,
        anchorFiles: (purpose, dir) => pki.trustAnchorFiles(purpose, dir) });
      this.signingKey = pki.issueSigningKey(this, 'SigningKey', { name: this.name });

      this.policyConfigMap = new k8s.KubeConfigMap(this, 'Policy', {
        metadata: { name: `${this.name}-policy`, labels },
        data: { [POLICY_FILE]: Lazy.any({ produce: () => `${JSON.stringify(this.policy, undefined, 2)}\n` }) as unknown as string },
      });
      const programKey = 'authorizer-proxy.js';
      const programChecksum = createHash('sha256').update(program).digest('hex');
      const programConfigMap = new k8s.KubeConfigMap(this, 'Program', {
        metadata: { name: `${this.name}-program-${programChecksum.slice(0, 8)}`, labels },
        immutable: true,
        data: { [programKey]: program },
      });
      const oidcCa = oidc?.caBundle ? new k8s.KubeConfigMap(this, 'OidcCa', {
        metadata: { name: `${this.name}-oidc-ca`, labels },
        data: { [OIDC_CA_FILE]: oidc.caBundle },
      }) : undefined;

      const serverMount = this.serverIdentity.mount(SERVER_DIR);
      const chainCas = pki.rootTrustSource ? [`${TRUST_DIR}/${ROOT_ANCHOR_FILE}`] : [];
      const env: k8s.EnvVar[] = [
        { name: PROXY_ENV.listen, value: `0.0.0.0:${PROXY_PORTS.grpc}` },
        { name: PROXY_ENV.jwksListen, value: `0.0.0.0:${PROXY_PORTS.jwks}` },
        { name: PROXY_ENV.httpListen, value: `0.0.0.0:${PROXY_PORTS.http}` },
        { name: PROXY_ENV.certFile, value: serverMount.certFile },
        { name: PROXY_ENV.keyFile, value: serverMount.keyFile },
        // Every anchor file of each CA (both key slots of a generated CA): files, not bundles, so that each reloads.
        { name: PROXY_ENV.clientCaFiles, value: pki.trustAnchorFiles('workload').join(',') },
        { name: PROXY_ENV.platformCaFiles, value: pki.trustAnchorFiles('platform-clients').join(',') },
        ...(chainCas.length > 0 ? [{ name: PROXY_ENV.chainCaFiles, value: chainCas.join(',') }] : []),
        { name: PROXY_ENV.trustDomain, value: this.installation.clusterDomain },
        { name: PROXY_ENV.upstreamAddress, value: props.upstream.address },
        { name: PROXY_ENV.upstreamServerName, value: upstream.serverName },
        { name: PROXY_ENV.upstreamCaFiles, value: upstream.serverCaFiles.join(',') },
        { name: PROXY_ENV.upstreamCertFile, value: upstream.certFile },
        { name: PROXY_ENV.upstreamKeyFile, value: upstream.keyFile },
        { name: PROXY_ENV.signingKeyFile, value: `${SIGNING_KEY_DIR}/${TLS_FILES.key}` },
        { name: PROXY_ENV.signingCertFile, value: `${SIGNING_KEY_DIR}/${TLS_FILES.cert}` },
        { name: PROXY_ENV.tokenIssuer, value: this.tokenIssuer },
        { name: PROXY_ENV.tokenAudience, value: this.tokenAudience },
        { name: PROXY_ENV.tokenTtl, value: String(ttl) },
        { name: PROXY_ENV.keyPublishDelay, value: String(KEY_PUBLISH_DELAY_SECONDS) },
        { name: PROXY_ENV.policyFile, value: `${POLICY_DIR}/${POLICY_FILE}` },
        { name: PROXY_ENV.reloadSeconds, value: '10' },
        ...(oidc ? [
          { name: PROXY_ENV.oidcIssuer, value: oidc.issuer },
          { name: PROXY_ENV.oidcAudience, value: oidc.audience },
          { name: PROXY_ENV.oidcJwksUri, value: oidc.jwksUri },
          { name: PROXY_ENV.oidcMaxStale, value: String(keysMaxStale) },
        ] : []),
        ...(oidcCa ? [{ name: 'NODE_EXTRA_CA_CERTS', value: `${OIDC_CA_DIR}/${OIDC_CA_FILE}` }] : []),
        ...(props.apiKeySecret ? [{ name: PROXY_ENV.apiKeysFile, value: `${API_KEYS_DIR}/${API_KEYS_FILE}` }] : []),
        { name: PROXY_ENV.maxMessageBytes, value: String(maxMessageBytes) },
        { name: PROXY_ENV.maxBufferedBytes, value: String(maxBufferedBytes) },
        { name: PROXY_ENV.logLevel, value: props.logLevel ?? 'info' },
      ];
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });

      const volumes: k8s.Volume[] = [
        TMP_VOLUME,
        this.serverIdentity.volume('server-tls'),
        this.clientIdentity.volume('client-tls'),
        this.signingKey.volume('signing-key'),
        pki.trustVolume('tls-trust', ['frontend', 'workload', 'platform-clients'], { withRoot: true }),
        { name: 'policy', configMap: { name: this.policyConfigMap.name } },
        { name: 'program', configMap: { name: programConfigMap.name } },
        ...(oidcCa ? [{ name: 'oidc-ca', configMap: { name: oidcCa.name } }] : []),
        ...(props.apiKeySecret ? [apiKeyVolume(props.apiKeySecret)] : []),
      ];
      const mounts: k8s.VolumeMount[] = [
        TMP_MOUNT,
        { name: 'server-tls', mountPath: serverMount.dir, readOnly: true },
        { name: 'client-tls', mountPath: CLIENT_DIR, readOnly: true },
        { name: 'signing-key', mountPath: SIGNING_KEY_DIR, readOnly: true },
        { name: 'tls-trust', mountPath: TRUST_DIR, readOnly: true },
        { name: 'policy', mountPath: POLICY_DIR, readOnly: true },
        { name: 'program', mountPath: PROGRAM_DIR, readOnly: true },
        ...(oidcCa ? [{ name: 'oidc-ca', mountPath: OIDC_CA_DIR, readOnly: true }] : []),
        ...(props.apiKeySecret ? [{ name: 'api-keys', mountPath: API_KEYS_DIR, readOnly: true }] : []),
      ];
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels },
        spec: {
          // With an autoscaler, the replica count is its to set: an applied manifest must not reset it.
          ...(autoscaling === undefined ? { replicas } : {}),
          revisionHistoryLimit: 5,
          selector: { matchLabels: this.selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0),
            maxSurge: k8s.IntOrString.fromNumber(1) } },
          template: {
            metadata: {
              labels,
              annotations: {
                [CONFIG_CHECKSUM_ANNOTATION]: programChecksum,
                ...scrapeAnnotations(this.metricsEndpoint),
              },
            },
            spec: {
              ...restrictedPodBasics(account.name, IMAGE_USERS.node),
              topologySpreadConstraints: spreadConstraints(this.selector),
              // Long polls last up to 70 s: give them time to finish on a rolling update.
              terminationGracePeriodSeconds: 75,
              containers: [{
                name: 'authorizer-proxy',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['node', `${PROGRAM_DIR}/${programKey}`],
                env,
                ports: Object.values(this.ports).map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
                // Ready only once its signing key is past the publish delay (see the signer): a replica started
                // during a key rotation takes no call, and the frontend fetches no JWKS from it, until then.
                readinessProbe: healthProbe(this.health.readiness, { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 1 }),
                livenessProbe: healthProbe(this.health.liveness ?? this.health.readiness, { periodSeconds: 20, timeoutSeconds: 5,
                  failureThreshold: 6 }),
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: mounts,
              }],
              volumes,
            },
          },
        },
      });
      disruptionBudget(this, this.name, labels, this.selector);
      if (autoscaling !== undefined) {
        new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
          metadata: { name: this.name, labels },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: this.name },
            minReplicas: autoscaling.minReplicas,
            maxReplicas: autoscaling.maxReplicas,
            metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization',
              averageUtilization: autoscaling.targetCpuUtilization } } }],
          },
        });
      }
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }

  /** The identity provider whose tokens it accepts, when one is set. */
  public get oidc(): OidcProps | undefined {
    return this.props.oidc;
  }

  /** The Secret with the API key records, when API keys are accepted. */
  public get apiKeySecret(): ISecret | undefined {
    return this.props.apiKeySecret;
  }

  /** The ConfigMap with the identity provider's CA bundle (`ca.crt`), when `oidc.caBundle` is set. */
  public get oidcCaConfigMap(): k8s.KubeConfigMap | undefined {
    return this.node.tryFindChild('OidcCa') as k8s.KubeConfigMap | undefined;
  }

  /** The policy it enforces: every rule given or added, in order. */
  public get policy(): AuthorizerPolicy {
    return { rules: [...this.rules], ...this.policySettings };
  }

  /** Adds a rule (validated now: its name unique in the policy, its namespaces and roles valid). */
  public addRule(rule: PolicyRule): void {
    validateRule(`${this.node.path}/rules/rules[${this.rules.length}]`, rule, this.ruleNames);
    this.rules.push(rule);
  }

  /**
   * Grants the holder of a certificate (a `TlsIdentity` issued by the installation's PKI: a workload's or a
   * platform component's) `role` in each of `namespaces` (`temporal-system` for the whole cluster). The rule
   * matches the certificate's identity URI exactly.
   */
  public grant(identity: TlsIdentity, role: Role, namespaces: readonly string[], options: {
    /** Rule name in the audit log. @default '<namespace of the Secret>/<identity name>' */
    readonly ruleName?: string;
    /** APIs the holder may never call. @default - none */
    readonly denyApis?: readonly string[];
  } = {}): void {
    const uri = identity.uris[0];
    if (uri === undefined) {
      throw new ValidationError('INVALID_POLICY', this.node.path, `the certificate "${identity.name}" has no identity URI to match`,
        identity.path, 'grant certificates of the installation\'s PKI (pki.issueClientCertificate or issuePlatformClientCertificate)');
    }
    this.addRule({
      name: options.ruleName ?? `${identity.namespace}/${identity.name}`,
      certificate: { uri },
      grants: Object.fromEntries(namespaces.map((ns) => [ns, role])),
      ...(options.denyApis ? { denyApis: options.denyApis } : {}),
    });
  }

  public get description(): ComponentDescription {
    const oidc = this.props.oidc;
    const calls: Call[] = [
      { to: this.props.upstream.endpoint(), category: 'client', purpose: 'forwards authorized calls with the token it signs' },
      ...(oidc ? [identityProviderCall(this.component, oidc.peers, oidc.jwksUri, 'fetches the identity provider\'s signing keys')] : []),
    ];
    const admits: Admission[] = [
      { from: { outside: { role: 'clients' } }, port: this.ports.grpc, category: 'client',
        purpose: 'SDK clients and workers of the client namespaces (authenticated and authorized here)' },
    ];
    return {
      id: this.component,
      workload: this.deployment,
      selector: this.selector,
      ports: Object.values(this.ports),
      calls,
      admits,
      metrics: this.metricsEndpoint,
      health: this.health,
      serves: [this.serverIdentity],
      presents: [this.clientIdentity],
    };
  }
}

/** The volume of the API key Secret (only its `api-keys.json`; a missing Secret keeps the pod from starting). */
export function apiKeyVolume(secret: ISecret): k8s.Volume {
  return { name: 'api-keys', secret: { secretName: secret.name, defaultMode: 0o440, optional: false,
    items: [{ key: API_KEYS_FILE, path: API_KEYS_FILE }] } };
}

/**
 * A component's egress to the identity provider (`url`: its JWKS or its discovery URL), to `peers` on the URL's
 * port: the network row of every component that talks to the provider.
 */
export function identityProviderCall(component: string, peers: readonly ExternalPeer[], url: string, purpose: string): Call {
  return {
    outside: { id: `${component}-oidc`, label: 'identity provider', peers },
    ports: [{ port: Number(new URL(url).port || 443) }],
    targets: [url],
    category: 'client',
    purpose,
  };
}

function requireOidc(path: string, oidc: OidcProps): OidcProps {
  const https = (field: 'issuer' | 'jwksUri', example: string): void => {
    let url: URL | undefined;
    try {
      url = new URL(oidc[field]);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== 'https:' || url.username !== '' || url.password !== '') {
      throw new ValidationError('INVALID_POLICY', path, `oidc.${field} must be an https URL`, oidc[field], `e.g. "${example}"`);
    }
  };
  https('issuer', 'https://login.example.com/realms/temporal');
  https('jwksUri', 'https://login.example.com/realms/temporal/protocol/openid-connect/certs');
  if (typeof oidc.audience !== 'string' || oidc.audience.trim() === '') {
    throw new ValidationError('INVALID_POLICY', path, 'oidc.audience must name the audience of the tokens', oidc.audience,
      'set it to the API identifier (or client id) the provider puts in `aud`, e.g. "temporal"');
  }
  if (!Array.isArray(oidc.peers) || oidc.peers.length === 0) {
    throw new ValidationError('INVALID_PEER', path, 'oidc.peers must say where the provider\'s JWKS is served (the proxy\'s egress)',
      oidc.peers, 'e.g. peers: [Peer.cidr("203.0.113.0/24")] for its addresses, or [Peer.namespace("keycloak")] in the cluster');
  }
  oidc.peers.forEach((peer, i) => validatePeer(path, `oidc.peers[${i}]`, peer));
  if (oidc.caBundle !== undefined && (typeof oidc.caBundle !== 'string' || !oidc.caBundle.includes('-----BEGIN CERTIFICATE-----') ||
    oidc.caBundle.includes('PRIVATE KEY'))) {
    throw new ValidationError('INVALID_TLS', path, 'oidc.caBundle must be PEM certificates (and nothing secret)', '(a PEM bundle)',
      'paste the CA certificates of the provider\'s HTTPS certificate, -----BEGIN CERTIFICATE----- blocks only');
  }
  return oidc;
}

/** `autoscaling` checked whole: the bounds, the target, and no key the autoscaler would not read. */
function requireAutoscaling(path: string, autoscaling: ProxyAutoscaling): Required<ProxyAutoscaling> {
  const example = 'e.g. autoscaling: { minReplicas: 2, maxReplicas: 10, targetCpuUtilization: 70 }';
  const unknown = Object.keys(autoscaling).filter((k) => !['minReplicas', 'maxReplicas', 'targetCpuUtilization'].includes(k));
  if (unknown.length > 0) {
    throw new ValidationError('INVALID_REPLICAS', path, `autoscaling has an unknown key: ${unknown.join(', ')}`, autoscaling, example);
  }
  const minReplicas = autoscaling.minReplicas ?? 2;
  if (!Number.isInteger(minReplicas) || minReplicas < 2 || minReplicas > 1000) {
    throw new ValidationError('INVALID_REPLICAS', path,
      'autoscaling.minReplicas must be an integer from 2 to 1000 (every call goes through the proxy)', minReplicas, example);
  }
  if (!Number.isInteger(autoscaling.maxReplicas) || autoscaling.maxReplicas < minReplicas || autoscaling.maxReplicas > 1000) {
    throw new ValidationError('INVALID_REPLICAS', path,
      `autoscaling.maxReplicas must be an integer from minReplicas (${minReplicas}) to 1000`, autoscaling.maxReplicas, example);
  }
  const targetCpuUtilization = autoscaling.targetCpuUtilization ?? 70;
  if (!Number.isInteger(targetCpuUtilization) || targetCpuUtilization < 10 || targetCpuUtilization > 100) {
    throw new ValidationError('INVALID_REPLICAS', path,
      'autoscaling.targetCpuUtilization must be an integer percentage from 10 to 100', targetCpuUtilization, example);
  }
  return { minReplicas, maxReplicas: autoscaling.maxReplicas, targetCpuUtilization };
}
