import { createHash } from 'node:crypto';
import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { API_KEYS_FILE } from '../authorizer/api-keys';
import { API_KEYS_DIR, apiKeyVolume, identityProviderCall, OIDC_CA_FILE, POLICY_FILE } from '../authorizer/proxy';
import { bundledProgram } from '../authorizer/program';
import {
  CODEC_BASELINE_BYTES, CODEC_ENV, CODEC_LIMITS, CODEC_MEMORY_PER_BODY_BYTE, CODEC_PORTS, codecInFlightBudget,
} from '../codec/server-env';
import {
  Admission, Call, ComponentDescription, Components, Endpoint, HealthEndpoints, healthProbe, IComponent, MetricsEndpoint, NamedPort,
  scrapeAnnotations,
} from '../core/component';
import { serviceDnsOf } from '../core/dns';
import { ValidationError } from '../core/errors';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from '../core/images';
import { CONFIG_CHECKSUM_ANNOTATION, componentLabels, selectorLabels } from '../core/labels';
import { isDnsLabel, isDnsName, requireDns1035Label, requireDnsName, requireReplicas, requireTemporalNamespaceName } from '../core/names';
import {
  ComputeResources, disruptionBudget, memoryBytes, restrictedContainerSecurityContext, restrictedPodBasics, spreadConstraints, TMP_MOUNT,
  TMP_VOLUME, toResourceRequirements,
} from '../core/pod-security';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { TlsIdentity } from '../tls/identity';
import { TLS_DIR, TRUST_DIR } from '../tls/layout';
import { TemporalCluster } from './cluster';

/** An Ingress in front of the codec server, for browsers (the Web UI calls it from the user's browser). */
export interface CodecServerIngressProps {
  /** Host name browsers call, e.g. `codec.temporal.example.com`. */
  readonly host: string;
  /** A `kubernetes.io/tls` Secret for HTTPS at the ingress. */
  readonly tlsSecretName: string;
  /** @default - the cluster's default IngressClass */
  readonly className?: string;
  /**
   * Annotations, added to `nginx.ingress.kubernetes.io/backend-protocol: HTTPS` (the codec server speaks HTTPS
   * only; other controllers need their own equivalent). Never let the controller present a client certificate to
   * the codec server: requests without a token would act with it.
   * @default - backend-protocol HTTPS only
   */
  readonly annotations?: { readonly [key: string]: string };
}

/** What a deployment chooses about its codec server. */
export interface CodecServerOptions {
  /** Component name: objects are `<installation>-<name>`. @default 'codec' */
  readonly name?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** @default { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi' } */
  readonly resources?: ComputeResources;
  /** The Node image that runs the bundled program (pinned). @default DEFAULT_IMAGES.node */
  readonly image?: string;
  /**
   * Temporal namespaces it decodes for besides the cluster's declared ones (`namespaces`), e.g. namespaces registered
   * outside this package. Each has its own key ring Secret (`keySecrets`).
   * @default - the cluster's declared namespaces only
   */
  readonly extraNamespaces?: readonly string[];
  /**
   * The key ring Secret of a namespace, by Temporal namespace, where it is not the default name. Each is created by
   * you, never by this package: `<id>.key` entries holding a 32-byte AES key in base64, and `active` with the id of the
   * key that encrypts (docs/SECURITY.md "Payload encryption"). It is mounted at `<keys folder>/<namespace>`, and
   * only that namespace's payloads decrypt with it.
   * @default - `<installation>-codec-keys-<namespace>` for each namespace
   */
  readonly keySecrets?: { readonly [namespace: string]: string };
  /**
   * Removed: one key ring for every namespace let whoever reads one namespace decrypt another's payloads. Setting it
   * fails; give each namespace its own ring (`keySecrets`; docs/SECURITY.md "Migrating from one shared key ring").
   * @deprecated use `keySecrets`
   */
  readonly keySecretName?: never;
  /**
   * Origins whose pages may call it from a browser (CORS), e.g. `https://temporal.example.com`.
   * @default - the Web UI's origin when it signs users in (from its callback URL), else none
   */
  readonly corsOrigins?: readonly string[];
  /** @default - none: reached with `kubectl port-forward`, or from the client namespaces */
  readonly ingress?: CodecServerIngressProps;
  /**
   * The URL browsers use (the Web UI hands it to them). @default - `https://<ingress.host>` with an Ingress
   */
  readonly publicUrl?: string;
  /** Largest request body. @default 4 MiB */
  readonly maxBodyBytes?: number;
  /** Most payloads in one request. @default 1000 */
  readonly maxPayloads?: number;
  /** @default Duration.seconds(30) */
  readonly requestTimeout?: Duration;
  /** Compress payloads of at least this many bytes (gzip) before encrypting them on encode. @default - never */
  readonly compressAtBytes?: number;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface CodecServerProps extends CodecServerOptions {
  /** The cluster: its PKI, and its authorizer proxy (whose policy and identity provider the codec server shares). */
  readonly cluster: TemporalCluster;
}

const PROGRAM_DIR = '/opt/codec-server';
const KEYS_DIR = '/etc/codec-server/keys';
const POLICY_DIR = '/etc/codec-server/policy';
const OIDC_CA_DIR = '/etc/codec-server/oidc-ca';
const SERVER_DIR = `${TLS_DIR}/server`;

/**
 * The codec server: decrypts payloads for people allowed to see them (decode needs `read`, encode `write` in the
 * namespace of the `X-Namespace` header, under the authorizer proxy's policy), for the Web UI (the browser sends the
 * signed-in user's token) and the CLI (a workload client certificate). Objects: ServiceAccount, Deployment (a pinned
 * Node image running the bundled program from a ConfigMap), Service, PodDisruptionBudget, its server certificate,
 * an optional Ingress; it mounts one key ring Secret per Temporal namespace, which you create, at
 * `<keys folder>/<namespace>` (the program picks the ring of the namespace a request names). A component.
 */
export class CodecServer extends Construct implements IComponent {
  public readonly name: string;
  public readonly component: string;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service: k8s.KubeService;
  public readonly ingress?: k8s.KubeIngress;
  public readonly selector: Record<string, string>;
  public readonly serverIdentity: TlsIdentity;
  /** The HTTPS endpoint (encode, decode). */
  public readonly https: Endpoint;
  /** The Temporal namespaces it decodes for (sorted), each with its own key ring. */
  public readonly namespaces: readonly string[];
  /** The key ring Secret of each namespace it decodes for. */
  public readonly keySecrets: Readonly<Record<string, string>>;
  /** The URL browsers call, when known (`publicUrl`, or the Ingress). */
  public readonly publicUrl?: string;
  public readonly corsOrigins: readonly string[];
  private readonly cluster: TemporalCluster;
  private readonly ports: { readonly https: NamedPort; readonly metrics: NamedPort };

  /** Where Prometheus scrapes it (plain HTTP, next to /healthz). */
  private get metricsEndpoint(): MetricsEndpoint {
    return { port: this.ports.metrics, path: '/metrics' };
  }

  /** `/healthz` on the metrics port: ready and alive. */
  private get health(): HealthEndpoints {
    return { readiness: { port: this.ports.metrics, path: '/healthz' } };
  }

  constructor(scope: Construct, id: string, props: CodecServerProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const { cluster } = props;
      this.cluster = cluster;
      const proxy = cluster.authorizerProxy;
      const pki = cluster.tls?.pki;
      if (proxy === undefined || pki === undefined) {
        throw new ValidationError('INVALID_POLICY', path, 'the codec server authorizes with the authorizer proxy\'s policy, and the cluster has ' +
          'no proxy', 'codecServer', 'turn the authorizer proxy on, or leave the codec server out (codecServer: false)');
      }
      this.component = requireDns1035Label(path, 'name', props.name ?? 'codec', { maxLength: 24, example: 'codec' });
      this.name = `${cluster.name}-${this.component}`;
      const replicas = requireReplicas(path, props.replicas ?? 2, 'set replicas to 1 or more');
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.node, DEFAULT_IMAGES.node);
      const compute = props.resources ?? { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi' };
      const resources = toResourceRequirements(path, compute);
      const memoryLimit = memoryBytes(compute.memoryLimit);
      const rings = resolveKeyRings(path, cluster, props);
      this.namespaces = rings.map((r) => r.namespace);
      this.keySecrets = Object.freeze(Object.fromEntries(rings.map((r) => [r.namespace, r.secretName])));
      this.corsOrigins = (props.corsOrigins ?? []).map((origin, i) => requireOrigin(path, `corsOrigins[${i}]`, origin));
      const limit = (field: 'maxBodyBytes' | 'maxPayloads', min: number, max: number): number => {
        const value = props[field] ?? CODEC_LIMITS[field];
        if (!Number.isInteger(value) || value < min || value > max) {
          throw new ValidationError('INVALID_RESOURCES', path, `${field} must be an integer from ${min} to ${max}`, value,
            `e.g. ${field}: ${CODEC_LIMITS[field]} (the default)`);
        }
        return value;
      };
      const maxBodyBytes = limit('maxBodyBytes', 1024, 256 * 1024 * 1024);
      const maxPayloads = limit('maxPayloads', 1, 100_000);
      const needed = CODEC_BASELINE_BYTES + CODEC_MEMORY_PER_BODY_BYTE * maxBodyBytes;
      if (memoryLimit < needed) {
        throw new ValidationError('INVALID_RESOURCES', path, 'resources.memoryLimit leaves no room for one request of maxBodyBytes ' +
          `(${maxBodyBytes} bytes cost about ${CODEC_MEMORY_PER_BODY_BYTE} times that while served, over a ${CODEC_BASELINE_BYTES / 1048576} MiB ` +
          'baseline)', compute.memoryLimit, `raise memoryLimit to at least ${Math.ceil(needed / 1048576)}Mi, or lower maxBodyBytes`);
      }
      const timeoutMs = props.requestTimeout ? props.requestTimeout.toMilliseconds() : CODEC_LIMITS.requestTimeoutMs;
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1000 || timeoutMs > 600_000) {
        throw new ValidationError('INVALID_DURATION', path, 'requestTimeout must be from 1 second to 10 minutes',
          props.requestTimeout?.toHumanString(), 'e.g. Duration.seconds(30)');
      }
      if (props.compressAtBytes !== undefined && (!Number.isInteger(props.compressAtBytes) || props.compressAtBytes < 1)) {
        throw new ValidationError('INVALID_RESOURCES', path, 'compressAtBytes must be a positive integer', props.compressAtBytes,
          'e.g. compressAtBytes: 4096, or leave it out (no compression)');
      }
      if (props.ingress) {
        requireDnsName(`${path}/Ingress`, 'ingress.host', props.ingress.host, { example: 'codec.temporal.example.com' });
        if (typeof props.ingress.tlsSecretName !== 'string') {
          throw new ValidationError('INVALID_INGRESS', `${path}/Ingress`, 'the codec server\'s Ingress needs TLS: it carries tokens and plaintext',
            props.ingress, 'set ingress.tlsSecretName to a kubernetes.io/tls Secret for the host');
        }
        requireDnsName(`${path}/Ingress`, 'ingress.tlsSecretName', props.ingress.tlsSecretName, { example: 'temporal-codec-tls' });
      }
      this.publicUrl = props.publicUrl !== undefined ? requireHttpsUrl(path, 'publicUrl', props.publicUrl)
        : props.ingress ? `https://${props.ingress.host}` : undefined;
      requireUnusedNames(this, [{ kind: 'Deployment', name: this.name }, { kind: 'Service', name: this.name }],
        `give the second codec server its own name, e.g. { name: "${this.component}-2" }`);
      const program = bundledProgram('codec-server');

      const labels = componentLabels(cluster.name, this.component);
      this.selector = selectorLabels(cluster.name, this.component);
      this.ports = {
        https: { name: 'https', port: CODEC_PORTS.https, protocol: 'TCP' },
        metrics: { name: 'metrics', port: CODEC_PORTS.http, protocol: 'TCP' },
      };
      this.service = new k8s.KubeService(this, 'Service', {
        metadata: { name: this.name, labels },
        spec: {
          type: 'ClusterIP',
          selector: this.selector,
          ports: [{ name: this.ports.https.name, port: this.ports.https.port, targetPort: k8s.IntOrString.fromString(this.ports.https.name),
            protocol: 'TCP', appProtocol: 'https' }],
        },
      });
      const dns = serviceDnsOf(this.service, cluster.clusterDomain);
      this.https = { component: this, port: this.ports.https, service: dns };
      // Browsers reach it through the Ingress (which verifies nothing of it); the CLI presents workload certificates.
      this.serverIdentity = pki.issueServerCertificate(this, 'ServerTls', {
        service: dns, extraHosts: props.ingress ? [props.ingress.host] : undefined, acceptsClientsFrom: ['workload'],
      });
      const programKey = 'codec-server.js';
      const checksum = createHash('sha256').update(program).digest('hex');
      const programConfigMap = new k8s.KubeConfigMap(this, 'Program', {
        metadata: { name: `${this.name}-program-${checksum.slice(0, 8)}`, labels },
        immutable: true,
        data: { [programKey]: program },
      });
      const oidc = proxy.oidc;
      const oidcCa = proxy.oidcCaConfigMap;
      const mount = this.serverIdentity.mount(SERVER_DIR);
      const env: k8s.EnvVar[] = [
        { name: CODEC_ENV.listen, value: `0.0.0.0:${CODEC_PORTS.https}` },
        { name: CODEC_ENV.httpListen, value: `0.0.0.0:${CODEC_PORTS.http}` },
        { name: CODEC_ENV.certFile, value: mount.certFile },
        { name: CODEC_ENV.keyFile, value: mount.keyFile },
        // Workload certificates only: a platform component's certificate (the admin tools', the namespace Job's) is
        // no decryption credential.
        { name: CODEC_ENV.clientCaFiles, value: pki.trustAnchorFiles('workload').join(',') },
        { name: CODEC_ENV.trustDomain, value: cluster.clusterDomain },
        { name: CODEC_ENV.keysDir, value: KEYS_DIR },
        { name: CODEC_ENV.policyFile, value: `${POLICY_DIR}/${POLICY_FILE}` },
        ...(oidc ? [
          { name: CODEC_ENV.oidcIssuer, value: oidc.issuer },
          { name: CODEC_ENV.oidcAudience, value: oidc.audience },
          { name: CODEC_ENV.oidcJwksUri, value: oidc.jwksUri },
          { name: CODEC_ENV.oidcMaxStale, value: String(oidc.keysMaxStale?.toSeconds() ?? CODEC_LIMITS.oidcMaxStaleSeconds) },
        ] : []),
        ...(proxy.apiKeySecret ? [{ name: CODEC_ENV.apiKeysFile, value: `${API_KEYS_DIR}/${API_KEYS_FILE}` }] : []),
        { name: CODEC_ENV.maxInFlightBytes, value: String(codecInFlightBudget(memoryLimit, maxBodyBytes)) },
        // The JavaScript heap under the container's limit, so that the collector works before the kernel kills.
        { name: 'NODE_OPTIONS', value: `--max-old-space-size=${Math.floor((memoryLimit * 0.75) / (1024 * 1024))}` },
        ...(oidcCa ? [{ name: 'NODE_EXTRA_CA_CERTS', value: `${OIDC_CA_DIR}/${OIDC_CA_FILE}` }] : []),
        ...(this.corsOrigins.length > 0 ? [{ name: CODEC_ENV.corsOrigins, value: this.corsOrigins.join(',') }] : []),
        { name: CODEC_ENV.maxBodyBytes, value: String(maxBodyBytes) },
        { name: CODEC_ENV.maxPayloads, value: String(maxPayloads) },
        { name: CODEC_ENV.requestTimeoutMs, value: String(timeoutMs) },
        ...(props.compressAtBytes ? [{ name: CODEC_ENV.compressAtBytes, value: String(props.compressAtBytes) }] : []),
        { name: CODEC_ENV.reloadSeconds, value: '10' },
        { name: CODEC_ENV.logLevel, value: props.logLevel ?? 'info' },
      ];
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });
      const probe = (extra: Partial<k8s.Probe>): k8s.Probe => healthProbe(this.health.readiness, { periodSeconds: 10, timeoutSeconds: 5,
        ...extra });
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels },
        spec: {
          replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: this.selector },
          template: {
            metadata: {
              labels,
              annotations: {
                [CONFIG_CHECKSUM_ANNOTATION]: checksum,
                ...scrapeAnnotations(this.metricsEndpoint),
              },
            },
            spec: {
              ...restrictedPodBasics(account.name, IMAGE_USERS.node),
              topologySpreadConstraints: spreadConstraints(this.selector),
              containers: [{
                name: 'codec-server',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['node', `${PROGRAM_DIR}/${programKey}`],
                env,
                ports: Object.values(this.ports).map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
                readinessProbe: probe({ failureThreshold: 3 }),
                livenessProbe: probe({ failureThreshold: 6, periodSeconds: 20 }),
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [
                  TMP_MOUNT,
                  { name: 'server-tls', mountPath: mount.dir, readOnly: true },
                  { name: 'tls-trust', mountPath: TRUST_DIR, readOnly: true },
                  ...rings.map((r) => ({ name: r.volume, mountPath: `${KEYS_DIR}/${r.namespace}`, readOnly: true })),
                  { name: 'policy', mountPath: POLICY_DIR, readOnly: true },
                  { name: 'program', mountPath: PROGRAM_DIR, readOnly: true },
                  ...(oidcCa ? [{ name: 'oidc-ca', mountPath: OIDC_CA_DIR, readOnly: true }] : []),
                  ...(proxy.apiKeySecret ? [{ name: 'api-keys', mountPath: API_KEYS_DIR, readOnly: true }] : []),
                ],
              }],
              volumes: [
                TMP_VOLUME,
                this.serverIdentity.volume('server-tls'),
                pki.trustVolume('tls-trust', ['workload']),
                ...rings.map((r) => ({ name: r.volume, secret: { secretName: r.secretName, defaultMode: 0o440, optional: false } })),
                { name: 'policy', configMap: { name: proxy.policyConfigMap.name } },
                { name: 'program', configMap: { name: programConfigMap.name } },
                ...(oidcCa ? [{ name: 'oidc-ca', configMap: { name: oidcCa.name } }] : []),
                ...(proxy.apiKeySecret ? [apiKeyVolume(proxy.apiKeySecret)] : []),
              ],
            },
          },
        },
      });
      disruptionBudget(this, this.name, labels, this.selector);
      if (props.ingress) {
        this.ingress = new k8s.KubeIngress(this, 'Ingress', {
          metadata: { name: this.name, labels,
            annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', ...(props.ingress.annotations ?? {}) } },
          spec: {
            ingressClassName: props.ingress.className,
            tls: [{ hosts: [props.ingress.host], secretName: props.ingress.tlsSecretName }],
            rules: [{ host: props.ingress.host, http: { paths: [{ path: '/', pathType: 'Prefix',
              backend: { service: { name: this.service.name, port: { name: this.ports.https.name } } } }] } }],
          },
        });
      }
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }

  public get description(): ComponentDescription {
    const oidc = this.cluster.authorizerProxy?.oidc;
    const calls: Call[] = oidc ? [identityProviderCall(this.component, oidc.peers, oidc.jwksUri, 'fetches the identity provider\'s signing keys')] : [];
    const admits: Admission[] = [
      { from: { outside: { role: 'clients' } }, port: this.ports.https, category: 'client',
        purpose: 'the CLI and tools of the client namespaces decode payloads (client certificates)' },
      ...(this.ingress ? [{ from: { outside: { role: 'ingress-controller' as const } }, port: this.ports.https, category: 'ingress' as const,
        purpose: 'browsers of the Web UI decode payloads through the Ingress' }] : []),
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
    };
  }
}

/** One namespace's key ring: the Secret you create, and the volume that mounts it at `<keys folder>/<namespace>`. */
interface KeyRingMount {
  readonly namespace: string;
  readonly secretName: string;
  readonly volume: string;
}

/**
 * The key ring of each namespace the codec server decodes for (the cluster's declared namespaces and
 * `extraNamespaces`), sorted by namespace: its Secret (`keySecrets`, else `<installation>-codec-keys-<namespace>`) and
 * a volume name. ValidationError for the removed single ring, a bad name, a Secret shared by two namespaces, an entry
 * of `keySecrets` for a namespace it does not serve, and no namespace at all. Pure.
 */
function resolveKeyRings(path: string, cluster: TemporalCluster, props: CodecServerOptions): KeyRingMount[] {
  const removed = (props as { readonly keySecretName?: unknown }).keySecretName;
  if (removed !== undefined) {
    throw new ValidationError('INVALID_POLICY', path, 'keySecretName is removed: one key ring for every namespace let whoever may read one ' +
      'namespace decrypt the payloads of all', removed, 'give each Temporal namespace its own key ring Secret, ' +
      `${cluster.name}-codec-keys-<namespace> (or name it in keySecrets: { orders: "orders-codec-keys" }); copy the shared keys into each ` +
      'so old payloads keep decoding, then add a key per namespace and make it active (docs/SECURITY.md "Migrating from one shared key ring")');
  }
  const declared = (cluster.namespaceRegistration?.namespaces ?? []).map((n) => n.name);
  const extra = (props.extraNamespaces ?? []).map((n, i) => requireTemporalNamespaceName(`${path}/extraNamespaces[${i}]`, n));
  const namespaces = [...new Set([...declared, ...extra])].sort();
  if (namespaces.length === 0) {
    throw new ValidationError('INVALID_NAMESPACE', path, 'the codec server decodes for no namespace: the cluster declares none and ' +
      'extraNamespaces is empty', props.extraNamespaces, 'declare the namespaces (namespaces), name them in codecServer.extraNamespaces, ' +
      'or leave the codec server out (codecServer: false)');
  }
  const given = new Map(Object.entries(props.keySecrets ?? {}));
  for (const namespace of given.keys()) {
    if (!namespaces.includes(namespace)) {
      throw new ValidationError('INVALID_NAMESPACE', path, `keySecrets names namespace "${namespace}", which the codec server does not ` +
        `decode for (it serves ${namespaces.join(', ')})`, namespace, 'add it to extraNamespaces (or declare it), or remove the entry');
    }
  }
  const owners = new Map<string, string>();
  return namespaces.map((namespace) => {
    const field = `keySecrets[${JSON.stringify(namespace)}]`;
    let secretName: string;
    if (given.has(namespace)) {
      secretName = requireDnsName(path, field, given.get(namespace), { example: `${cluster.name}-codec-keys-orders` });
    } else {
      secretName = `${cluster.name}-codec-keys-${namespace}`;
      if (!isDnsName(secretName)) {
        throw new ValidationError('INVALID_NAME', path, `the key ring Secret of namespace "${namespace}" cannot be named after it: ` +
          `${secretName} is not a lower-case DNS name of labels of at most 63 characters`, namespace,
        `name its Secret in ${field}, e.g. keySecrets: { ${JSON.stringify(namespace)}: "${cluster.name}-codec-keys-1" }`);
      }
    }
    const other = owners.get(secretName);
    if (other !== undefined) {
      throw new ValidationError('INVALID_POLICY', path, `namespaces "${other}" and "${namespace}" share the key ring Secret ${secretName}: ` +
        'each could decrypt the other\'s payloads', secretName, 'give each namespace its own key ring Secret (keySecrets)');
    }
    owners.set(secretName, namespace);
    const readable = `keys-${namespace}`;
    const volume = isDnsLabel(readable) ? readable : `keys-${createHash('sha256').update(namespace).digest('hex').slice(0, 10)}`;
    return { namespace, secretName, volume };
  });
}

/** `value` as an origin (`scheme://host[:port]`), or ValidationError naming `field`. */
export function requireOrigin(path: string, field: string, value: string): string {
  let origin: string | undefined;
  try {
    const url = new URL(value);
    origin = (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? url.origin : undefined;
  } catch {
    origin = undefined;
  }
  if (origin === undefined) {
    throw new ValidationError('INVALID_INGRESS', path, `${field} must be an origin: scheme://host[:port], no path or trailing slash`, value,
      'e.g. "https://temporal.example.com"');
  }
  return origin;
}

/** `value` as an https URL (http only for localhost and 127.0.0.1: a port-forward), or ValidationError naming `field`. */
export function requireHttpsUrl(path: string, field: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const local = url !== undefined && (url.hostname === 'localhost' || url.hostname === '127.0.0.1');
  if (url === undefined || !(url.protocol === 'https:' || (url.protocol === 'http:' && local)) || url.username !== '' || url.password !== '') {
    throw new ValidationError('INVALID_INGRESS', path, `${field} must be an https URL (http only for localhost)`, value,
      'e.g. "https://temporal.example.com/..."');
  }
  return value;
}
