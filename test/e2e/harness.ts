/**
 * The end-to-end harness: synthesizes the chart, issues its certificates (certificates.ts), starts a
 * throwaway PostgreSQL and runs pods as local processes (pods.ts). Every command, argument, env var,
 * config file and mounted file comes from the synthesized objects; the harness only rewrites in-cluster
 * host names to 127.0.0.1, the database port to the throwaway PostgreSQL's, container paths to temp
 * directories and each server's metrics port. Needs the peers of scripts/install-peers.sh; loopback only.
 */
import { createPrivateKey, createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { calculateJwkThumbprint, exportJWK, SignJWT } from 'jose';
import { parse } from 'yaml';
import { App, Duration } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import type { ClientIdentity, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { API_KEYS_FILE, createApiKey } from '../../lib/authorizer/api-keys';
import { PROXY_ENV } from '../../lib/authorizer/proxy-env';
import { Peer } from '../../lib/core/peers';
import { CLI_TLS_ENV, WEB_UI_TLS_ENV } from '../../lib/tls/consumers';
import { CertificateStore, SecretFiles } from './certificates';
import {
  COMPONENT_LABEL, containerPort, evaluationDatabase, findAllByLabels, findComponent, KubeObject, Manifests, onlyContainer,
  podSpec, Secrets, serviceHost, servicePorts, synthesize,
} from './manifests';
import { freePort, waitUntil } from './net';
import { IDP_AUDIENCE, IdentityProvider, startIdentityProvider, TEAM_B_GROUP } from './identity-provider';
import { findPeers, Peers, releaseBinDir } from './peers';
import { LocalPod, localPod } from './pods';
import { RunningPostgres, startPostgres } from './postgres';
import { ProcessRunner, Running, tail } from './processes';
import { Rewriter } from './rewrite';

export const MINUTE = 60_000;
/** A workload identity declared like a user would, so that the workload CA issues it a certificate: `write` on `default`. */
export const WORKLOAD: ClientIdentity = { name: 'e2e-worker', namespace: 'workers', temporalNamespaces: ['default'] };
/** An identity that may only run tasks (`worker` on `default`). */
export const TASK_WORKER: ClientIdentity = { name: 'e2e-task-worker', namespace: 'workers', temporalNamespaces: ['default'],
  role: 'worker' };
/** An identity that may only read (`read` on `default`). */
export const READER: ClientIdentity = { name: 'e2e-reader', namespace: 'workers', temporalNamespaces: ['default'], role: 'read' };
/** A second Temporal namespace, granted to no certificate; the IdP's `team-b` group gets `write` on it. */
export const NAMESPACE_B = 'e2e-b';

/**
 * The chart props of the tier: the identities above, their namespace admitted as a client namespace, namespaces
 * `default` and B, and the authorizer proxy trusting the identity provider's tokens.
 */
/**
 * Task queues of `default` with one partition (the server's default is 4): a poll and a task of such a queue always
 * meet in the same partition, so a poll the frontend still holds is sure to take the next task (test/e2e/data-path.ts).
 */
export const SINGLE_PARTITION_QUEUES = ['e2e-one-partition-0', 'e2e-one-partition-1', 'e2e-one-partition-2', 'e2e-one-partition-3'];
/**
 * A queue of `default` with one partition that no worker ever polls (test/e2e/monitoring.ts): matching counts a task
 * added to it (`no_poller_tasks`) only on its root partition, so it has that one alone.
 */
export const NO_POLLER_QUEUE = 'e2e-one-partition-no-pollers';

export function chartProps(idp: IdentityProvider, ui: UiAddresses = UI_ADDRESSES_UNUSED): SecureTemporalChartProps {
  const onePartition = [...SINGLE_PARTITION_QUEUES, NO_POLLER_QUEUE].map((taskQueueName) => ({ value: 1, constraints: { namespace: 'default', taskQueueName } }));
  return {
    dynamicConfig: { 'matching.numTaskqueueReadPartitions': onePartition, 'matching.numTaskqueueWritePartitions': onePartition,
      // The no-poller queue stays loaded (matching unloads a queue idle for 5 minutes, and a reload restarts its 2 minutes).
      'matching.maxTaskQueueIdleTime': [{ value: '30m', constraints: { namespace: 'default', taskQueueName: NO_POLLER_QUEUE } }] },
    // The PodMonitors, the PrometheusRule and the dashboard, which a real Prometheus and promtool check (monitoring.ts).
    monitors: { podMonitors: true, alertRules: true, dashboards: true },
    // The Web UI signs users in at the identity provider (as a port-forwarded UI at localhost would), and hands the
    // browser the codec server's URL.
    webUi: { sso: { clientId: UI_CLIENT_ID, clientSecret: { name: UI_CLIENT_SECRET }, callbackUrl: ui.callbackUrl } },
    codecServer: { publicUrl: ui.codecUrl },
    clientIdentities: [WORKLOAD, TASK_WORKER, READER],
    clientNamespaces: [Peer.namespace(WORKLOAD.namespace)],
    namespaces: [{ name: 'default', retention: Duration.days(3) }, { name: NAMESPACE_B, retention: Duration.days(1) }],
    authorizerProxy: {
      oidc: { issuer: idp.oidc.issuer, audience: IDP_AUDIENCE, jwksUri: idp.oidc.jwksUri, peers: [Peer.cidr('127.0.0.1/32')],
        caBundle: idp.caPem },
      rules: [{ name: 'team-b', jwt: { group: TEAM_B_GROUP }, grants: { [NAMESPACE_B]: 'write' } },
        { name: 'ci-keys', apiKey: { owner: API_KEY_OWNER }, grants: { default: 'write' } }],
      // A reference by name, as the values file makes it: the Secret is the user's (created in setUp's userSecrets).
      apiKeySecret: Secret.fromSecretName(new App(), 'ApiKeys', API_KEYS_SECRET),
      // The tier's identity provider is the administrators' own: its `permissions` claim is trusted (opt-in).
      jwtPermissionsClaim: 'permissions',
    },
  };
}
/** The Web UI's client at the identity provider, and the Secret with its client secret. */
export const UI_CLIENT_ID = 'temporal-ui';
export const UI_CLIENT_SECRET = 'temporal-ui-oidc';
/** The codec key ring Secret of a Temporal namespace (the chart's default name). */
export const codecKeysSecret = (namespace: string): string => `temporal-codec-keys-${namespace}`;
/** The Secret of the API key records (`authorizerProxy.apiKeySecret`). */
export const API_KEYS_SECRET = 'temporal-api-keys';
/** The owner of the tier's API keys, granted write on `default`. */
export const API_KEY_OWNER = 'e2e-ci';

/** Where the browser finds the Web UI and the codec server on this host (their ports are chosen at setup). */
export interface UiAddresses {
  readonly uiPort: number;
  readonly codecPort: number;
  /** `http://localhost:<uiPort>/auth/sso/callback`. */
  readonly callbackUrl: string;
  /** `https://127.0.0.1:<codecPort>`. */
  readonly codecUrl: string;
}

export function uiAddresses(uiPort: number, codecPort: number): UiAddresses {
  return { uiPort, codecPort, callbackUrl: `http://localhost:${uiPort}/auth/sso/callback`, codecUrl: `https://127.0.0.1:${codecPort}` };
}

const UI_ADDRESSES_UNUSED = uiAddresses(8080, 8443);

/** Listen on every interface: in a pod, its own IP; here, loopback only. */
const ANY_IP = '0.0.0.0';

export interface Context {
  readonly work: string;
  readonly peers: Peers;
  readonly manifests: Manifests;
  /** Namespace of the Temporal objects (their pods read Secrets from there). */
  readonly namespace: string;
  readonly certificates: CertificateStore;
  readonly rewriter: Rewriter;
  readonly runner: ProcessRunner;
  readonly postgres: RunningPostgres;
  /** The loopback port of the authorizer proxy's gRPC listener (its Service address is rewritten to it). */
  readonly proxyPort: number;
  /** The props the chart was synthesized with. */
  readonly chartProps: SecureTemporalChartProps;
  readonly idp: IdentityProvider;
  readonly ui: UiAddresses;
  /** Secrets a user creates by hand (the UI's client secret, the codec key ring), by name. */
  readonly userSecrets: Record<string, Record<string, string>>;
}

/** The running authorizer proxy: its pod, process and (rewritten) ports. */
export interface ProxyProcess {
  readonly pod: LocalPod;
  readonly running: Running;
  readonly grpcPort: number;
  readonly jwksPort: number;
  readonly metricsPort: number;
}

/** A running server process with its pod, (rewritten) metrics port and ports from its container spec. */
export interface Server {
  readonly component: string;
  readonly pod: LocalPod;
  readonly running: Running;
  readonly metricsPort: number;
  readonly grpcPort: number;
  readonly membershipPort: number;
}

let ctx: Context | undefined;
let apiKeys: { valid: string; expired: string; disabled: string } | undefined;

/** The tier's API keys (as their owner keeps them): one valid, one expired, one disabled. */
export function tierApiKeys(): { valid: string; expired: string; disabled: string } {
  if (apiKeys === undefined) {
    throw new Error('the tier is not set up');
  }
  return apiKeys;
}
/** Pods whose volumes follow Secret changes (the kubelet's sync), i.e. those made with the current Secrets. */
const syncedPods: LocalPod[] = [];
/** Running server processes, by component. */
export const servers = new Map<string, Server>();

export function context(): Context {
  if (ctx === undefined) {
    throw new Error('the end-to-end setup failed (see the first error)');
  }
  return ctx;
}

/** The Secrets of the Temporal namespace as they are now: the issued certificates (there is no password). */
export function currentSecrets(): Secrets {
  const c = context();
  return { ...c.certificates.secrets(c.namespace), ...c.userSecrets };
}

/** The kubelet's Secret sync: every pod made with the current Secrets gets their new content. */
export function syncSecretVolumes(): void {
  const secrets = currentSecrets();
  for (const p of syncedPods) {
    p.syncVolumes(secrets);
  }
}

/** Runs `fn`; on failure appends the tail of every process log to the error. */
export async function withLogs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const logs = ctx ? `${ctx.runner.tails()}\n--- postgres ---\n${tail(ctx.postgres.logFile, 20)}` : '';
    const e = err as Error;
    e.message = `${e.message}\n${logs}`;
    throw e;
  }
}

export function pod(workload: KubeObject, podName: string, opts: { rewriter?: Rewriter; secrets?: Secrets } = {}): LocalPod {
  const c = context();
  const local = localPod({
    objects: c.manifests.objects,
    workload,
    podName,
    root: join(c.work, 'pods'),
    secrets: opts.secrets ?? currentSecrets(),
    rewriter: opts.rewriter ?? c.rewriter,
  });
  if (opts.secrets === undefined) {
    syncedPods.push(local);
  }
  return local;
}

/** Runs a Job's pod like the kubelet: init containers in order, then the containers; each must exit 0. */
export async function runJob(job: KubeObject, podName: string, timeoutMs: number): Promise<void> {
  const local = pod(job, podName);
  for (const spec of [...local.initContainers, ...local.containers]) {
    const exit = await context().runner.run(spec, timeoutMs);
    if (exit.code !== 0) {
      throw new Error(`${spec.name} exited ${exit.code ?? exit.signal}:\n${tail(exit.logFile)}`);
    }
  }
}

/**
 * Every server pod reads the same config, whose metrics listener is `0.0.0.0:<metrics port>` (fine in
 * Kubernetes, one pod per IP). On one host they would clash, so each process gets its own free port:
 * the one port rewrite beyond the database's.
 */
export async function serverRewriter(server: KubeObject, port?: number): Promise<{ rewriter: Rewriter; metricsPort: number }> {
  const metricsPort = port ?? await freePort();
  const declared = containerPort(onlyContainer(server), 'metrics');
  return { rewriter: context().rewriter.endpoint(ANY_IP, declared, '127.0.0.1', metricsPort), metricsPort };
}

/** Deployments whose container runs `temporal-server`, by component label. */
export function serverDeployments(manifests: Manifests = context().manifests): Map<string, KubeObject> {
  const deployments = findAllByLabels(manifests.objects, 'Deployment', {})
    .filter((d) => onlyContainer(d).command?.[0] === 'temporal-server');
  return new Map(deployments.map((d) => [d.metadata.labels?.[COMPONENT_LABEL] ?? d.metadata.name, d]));
}

/**
 * Starts the server of `deployment` in pod `<name>-0`. `metricsPort` keeps a restarted server where Prometheus scrapes
 * it; `secrets` replaces the pod's Secrets (a certificate of its own; such a pod is not synced with the tier's).
 */
export async function startServer(component: string, deployment: KubeObject, opts: { metricsPort?: number; secrets?: Secrets } = {}):
  Promise<Server> {
  const { rewriter, metricsPort } = await serverRewriter(deployment, opts.metricsPort);
  const local = pod(deployment, `${deployment.metadata.name}-0`, { rewriter, ...(opts.secrets ? { secrets: opts.secrets } : {}) });
  const container = onlyContainer(deployment);
  const server: Server = {
    component, pod: local, running: context().runner.start(local.containers[0]), metricsPort,
    grpcPort: containerPort(container, 'grpc-rpc'), membershipPort: containerPort(container, 'grpc-membership'),
  };
  servers.set(component, server);
  return server;
}

/** Secret of the rogue database client certificate (see setUp). */
export const ROGUE_DATABASE_CLIENT = 'e2e-rogue-database-client-tls';

/** A Certificate from the platform-clients CA with the database user's CN: what a rogue namespace member could ask for. */
function rogueDatabaseClient(manifests: Manifests, namespace: string): KubeObject {
  const platformIssuer = manifests.objects.find((o) => o.kind === 'Issuer' && o.metadata.name.endsWith('-platform-clients-ca'));
  if (platformIssuer === undefined) {
    throw new Error('no platform-clients Issuer in the manifests');
  }
  return {
    apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'e2e-rogue-database-client', namespace },
    spec: { secretName: ROGUE_DATABASE_CLIENT, commonName: evaluationDatabase(manifests).user, duration: '2160h', renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
      usages: ['digital signature', 'client auth'], issuerRef: { name: platformIssuer.metadata.name, kind: 'Issuer', group: 'cert-manager.io' } },
  };
}

/** The authorizer proxy's Deployment. */
export function proxyDeployment(manifests: Manifests = context().manifests): KubeObject {
  return findComponent(manifests.objects, 'Deployment', 'authorizer-proxy');
}

let proxyProcess: ProxyProcess | undefined;

/**
 * Starts the authorizer proxy's pod (pod `<name>-0`): `node` runs the program from the synthesized ConfigMap with the
 * synthesized env, volumes and policy. Its gRPC listener moves to the context's proxy port, its metrics to a free one.
 */
export async function startProxy(podName = `${proxyDeployment().metadata.name}-0`): Promise<ProxyProcess> {
  const c = context();
  const deployment = proxyDeployment();
  const container = onlyContainer(deployment);
  const metricsPort = await freePort();
  const rewriter = c.rewriter.endpoint(ANY_IP, containerPort(container, 'grpc-rpc'), '127.0.0.1', c.proxyPort)
    .endpoint(ANY_IP, containerPort(container, 'metrics'), '127.0.0.1', metricsPort);
  const local = pod(deployment, podName, { rewriter });
  // E2E_PROXY_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) go to `node` before the program: profiling.
  // A relative profile folder is the caller's (the pod's working directory goes with the tier's temporary files).
  const nodeArgs = (process.env.E2E_PROXY_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
    .map((a) => a.startsWith('--cpu-prof-dir=') ? `--cpu-prof-dir=${resolve(a.slice('--cpu-prof-dir='.length))}` : a);
  const spec = local.containers[0];
  const running = c.runner.start({ ...spec, argv: [spec.argv[0], ...nodeArgs, ...spec.argv.slice(1)] });
  proxyProcess = { pod: local, running, grpcPort: c.proxyPort, jwksPort: containerPort(container, 'https-jwks'), metricsPort };
  await waitUntil('the authorizer proxy to be healthy', async () => {
    if (running.exit !== undefined) {
      throw new Error(`the authorizer proxy exited ${running.exit.code ?? running.exit.signal}:\n${tail(running.logFile)}`);
    }
    return fetch(`http://127.0.0.1:${metricsPort}/healthz`).then((r) => r.ok, () => false);
  }, { timeoutMs: 30_000, intervalMs: 250 });
  return proxyProcess;
}

/** The proxy's own signing key, from its Secret as the proxy pod mounts it, and its `kid`. */
export async function proxySigningKey(): Promise<{ key: KeyObject; kid: string }> {
  const key = createPrivateKey(readFileSync(proxy().running.spec.env.PROXY_SIGNING_KEY_FILE, 'utf8'));
  return { key, kid: await calculateJwkThumbprint(await exportJWK(createPublicKey(key))) };
}

/**
 * What the proxy sends the frontend for a caller: its own platform certificate and a token it signed, with
 * `permissions` (`default:read` ...). Calls made with it go straight to the frontend as the proxy's would.
 */
export async function asTheProxy(permissions: readonly string[], subject: string):
  Promise<{ certFile: string; keyFile: string; token: string }> {
  const env = proxy().running.spec.env;
  const { key, kid } = await proxySigningKey();
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ permissions: [...permissions] }).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setSubject(subject).setIssuer(env.PROXY_ISSUER).setAudience(env.PROXY_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 3600)
    .sign(key);
  const files = platformFiles('authorizer-proxy');
  return { certFile: files.cert, keyFile: files.key, token };
}

/** The running authorizer proxy. */
export function proxy(): ProxyProcess {
  if (proxyProcess === undefined) {
    throw new Error('the authorizer proxy is not running');
  }
  return proxyProcess;
}

/**
 * Starts the authorizer proxy, then every server service, and waits until `temporal operator cluster health` (run
 * as `kubectl exec deploy/<name>-admintools -- ...` would: the admin tools' own TLS env, through the proxy)
 * succeeds. Like the kubelet (restartPolicy: Always), a server container that exits is restarted: services
 * started at once on an empty database race to write the cluster metadata, and the losers exit and come back.
 */
export async function startCluster(): Promise<void> {
  const c = context();
  const deployments = serverDeployments();
  // The proxy first: the frontend fetches its JWKS at start (and then every refreshInterval).
  await startProxy();
  for (const [component, deployment] of deployments) {
    await startServer(component, deployment);
  }
  const admin = pod(findComponent(c.manifests.objects, 'Deployment', 'admintools'), 'admintools-0').containers[0];
  const health = { ...admin, name: 'admintools-0/health', argv: ['temporal', 'operator', 'cluster', 'health'] };
  const MAX_RESTARTS = 3;
  const restarts = new Map<string, number>();
  const exited = () => [...servers].filter(([, s]) => s.running.exit !== undefined);
  await waitUntil('the frontend to report SERVING', async () => {
    for (const [component] of exited()) {
      const count = (restarts.get(component) ?? 0) + 1;
      if (count > MAX_RESTARTS) {
        return false;
      }
      restarts.set(component, count);
      const deployment = deployments.get(component);
      if (deployment !== undefined) {
        await startServer(component, deployment);
      }
    }
    return (await c.runner.run(health, 30_000)).code === 0;
  }, {
    timeoutMs: 3 * MINUTE,
    intervalMs: 2000,
    abort: () => exited().filter(([n]) => (restarts.get(n) ?? 0) >= MAX_RESTARTS)
      .map(([n]) => `${n} exited ${MAX_RESTARTS + 1} times`).join(', ') || undefined,
  });
}

/** `host:port` clients use: the authorizer proxy's Service address, rewritten for this host. */
export function clientAddress(): string {
  return `127.0.0.1:${context().proxyPort}`;
}

/** `host:port` of the frontend Service's gRPC port, rewritten for this host. */
export function frontendAddress(): string {
  const c = context();
  const service = findAllByLabels(c.manifests.objects, 'Service', { [COMPONENT_LABEL]: 'frontend' })
    .find((s) => (s.spec as { clusterIP?: string }).clusterIP !== 'None');
  const port = service && servicePorts(service).find((p) => p.name === 'grpc-rpc')?.port;
  if (service === undefined || port === undefined) {
    throw new Error('no frontend ClusterIP Service with a grpc-rpc port');
  }
  return c.rewriter.text(`${serviceHost(service, c.manifests.clusterDomain)}:${port}`);
}

interface ClientTlsConfig { serverName: string; rootCaFiles: string[] }
interface ServerTlsConfig { certFile: string; keyFile: string; clientCaFiles: string[] }
/** The part of a running server's rendered `global.tls` the tests read (paths already local). */
export interface GlobalTls {
  readonly refreshInterval: string;
  readonly expirationChecks: { warningWindow: string; errorWindow: string; checkInterval: string };
  readonly internode: { server: ServerTlsConfig; client: ClientTlsConfig };
  readonly frontend: { server: ServerTlsConfig; client: ClientTlsConfig };
}

/** `global.tls` of the config file a running server reads (its `{{ ... }}` template actions blanked out). */
export function globalTlsOf(server: Server): GlobalTls {
  const file = server.running.spec.env.TEMPORAL_SERVER_CONFIG_FILE_PATH;
  const config = parse(readFileSync(file, 'utf8').replace(/\{\{.*?\}\}/g, '""')) as { global?: { tls?: GlobalTls } };
  if (config.global?.tls === undefined) {
    throw new Error(`${file} has no global.tls`);
  }
  return config.global.tls;
}

/** The running server of a component. */
export function server(component: string): Server {
  const s = servers.get(component);
  if (s === undefined) {
    throw new Error(`the ${component} server is not running`);
  }
  return s;
}

/** Files of a declared workload identity's Secret (in its own namespace, as its worker would mount it); default WORKLOAD. */
export function workloadFiles(identity: ClientIdentity = WORKLOAD): SecretFiles {
  const { certificates } = context();
  return certificates.files(identity.namespace, certificates.secretNameOf(identity.namespace,
    (cert) => (cert.spec as { commonName?: string }).commonName === identity.name));
}

/** Files of a platform component's client certificate (`admintools`, `web`, `jobs`) in the Temporal namespace. */
export function platformFiles(name: string): SecretFiles {
  const c = context();
  return c.certificates.files(c.namespace, c.certificates.secretNameOf(c.namespace,
    (cert) => (cert.spec as { commonName?: string }).commonName === name));
}

/** Sets up the tier; `extraProps` are added to the chart props (the proxy benchmark raises the server's rate limits). */
export async function setUp(extraProps: SecureTemporalChartProps = {}): Promise<void> {
  const peers = findPeers();
  const work = mkdtempSync(join(tmpdir(), 'secure-temporal-e2e-'));
  chmodSync(work, 0o711); // PostgreSQL runs as an unprivileged user when the tests run as root
  mkdirSync(join(work, 'logs'));
  const ui = uiAddresses(await freePort(), await freePort());
  const uiClientSecret = randomBytes(24).toString('base64url');
  const idp = await startIdentityProvider(work, [
    { client_id: UI_CLIENT_ID, client_secret: uiClientSecret, redirect_uris: [ui.callbackUrl] },
  ]);
  const props = { ...chartProps(idp, ui), ...extraProps };
  const manifests = synthesize(props);
  const namespace = findComponent(manifests.objects, 'Deployment', 'frontend').metadata.namespace ?? 'default';
  const db = evaluationDatabase(manifests);
  // Host rewrite, certificate side: the stores verify the database with sslmode=verify-full against the
  // host they dial, which here is 127.0.0.1 instead of the Service name; so the server certificate also
  // carries that address. Everything else about it is the synthesized spec.
  for (const cert of manifests.objects.filter((o) => o.kind === 'Certificate')) {
    const spec = cert.spec as { secretName?: string; ipAddresses?: string[] };
    if (spec.secretName === db.serverCertificateSecret) {
      spec.ipAddresses = [...(spec.ipAddresses ?? []), '127.0.0.1'];
    }
  }
  // The same for the authorizer proxy: the frontend fetches its JWKS over HTTPS with host verification, from
  // the Service name rewritten to 127.0.0.1.
  // The codec server too: the browser calls it at 127.0.0.1.
  const serverTlsOf = (component: string) => {
    const deployment = manifests.objects.find((o) => o.kind === 'Deployment' && o.metadata.labels?.[COMPONENT_LABEL] === component);
    return deployment ? podSpec(deployment).volumes?.find((v) => v.name === 'server-tls')?.secret?.secretName : undefined;
  };
  const loopbackServers = [serverTlsOf('authorizer-proxy'), serverTlsOf('codec')];
  for (const cert of manifests.objects.filter((o) => o.kind === 'Certificate')) {
    const spec = cert.spec as { secretName?: string; ipAddresses?: string[] };
    if (loopbackServers.includes(spec.secretName)) {
      spec.ipAddresses = [...(spec.ipAddresses ?? []), '127.0.0.1'];
    }
  }
  // Someone allowed to create Certificates in the Temporal namespace asks the platform-clients CA for the database
  // user's CN: the database must refuse it (it trusts its own database-clients CA only).
  (manifests.objects as KubeObject[]).push(rogueDatabaseClient(manifests, namespace));
  const certificates = await CertificateStore.issue(manifests, join(work, 'pki'));
  const port = await freePort();
  // The proxy's gRPC port is the frontend's (7233), each in its own pod; here the proxy moves to a free port.
  const proxyPort = await freePort();
  const proxyService = findAllByLabels(manifests.objects, 'Service', { [COMPONENT_LABEL]: 'authorizer-proxy' })[0];
  const proxyGrpc = servicePorts(proxyService).find((p) => p.name === 'grpc-rpc')?.port ?? 0;
  let rewriter = Rewriter.empty().endpoint(db.host, db.port, '127.0.0.1', port)
    .endpoint(serviceHost(proxyService, manifests.clusterDomain), proxyGrpc, '127.0.0.1', proxyPort);
  for (const service of manifests.objects.filter((o) => o.kind === 'Service')) {
    rewriter = rewriter.host(serviceHost(service, manifests.clusterDomain), '127.0.0.1');
  }
  // A TLS server name is verified in the server's certificate, not connected to: never rewritten.
  rewriter = rewriter.host(ANY_IP, '127.0.0.1')
    .keep('\\bserverName:[ \\t]*["\']?[^\\s"\']*')
    .keepEnv(CLI_TLS_ENV.serverName)
    .keepEnv(WEB_UI_TLS_ENV.serverName)
    .keepEnv(PROXY_ENV.upstreamServerName)
    // The audience of the proxy's tokens is a name the frontend compares, not an address.
    .keepEnv(PROXY_ENV.tokenAudience)
    .keep('\\baudience:[ \\t]*["\']?[^\\s"\']*');
  // The StatefulSet's pod, materialized like any other: its TLS key, client CA and pg_hba.conf come from
  // its volumes, its server arguments from its container (the image runs `postgres <args>`).
  const dbWorkload = structuredClone(db.statefulSet);
  const dbContainer = (dbWorkload.spec as { template: { spec: { containers: { command?: string[] }[] } } })
    .template.spec.containers[0];
  dbContainer.command = ['postgres'];
  const dbPod = localPod({
    objects: manifests.objects, workload: dbWorkload, podName: 'postgres-0', root: join(work, 'pods'),
    secrets: certificates.secrets(namespace), rewriter,
  });
  const serverArgs = dbPod.containers[0].argv.slice(1);
  // The kubelet gives the Secret's files to the pod's fsGroup (the postgres group); here the user must own them.
  const ownFiles = ['ssl_cert_file=', 'ssl_key_file='].flatMap((key) =>
    serverArgs.filter((a) => a.startsWith(key)).map((a) => a.slice(key.length)));
  const postgres = startPostgres({
    binDir: peers.postgresBinDir, dir: join(work, 'postgres'), port,
    user: db.user, database: db.database, serverArgs, ownFiles,
  });
  // What the user creates with kubectl: the UI's client secret, a codec key ring per namespace (two keys, the second
  // active), and the API key records (made with `secure-temporal api-key create`; the keys themselves in apiKeys).
  const ring = () => ({ 'e2e-2026-10.key': randomBytes(32).toString('base64'), 'e2e-2026-11.key': randomBytes(32).toString('base64'),
    active: 'e2e-2026-11' });
  const keys = {
    valid: createApiKey('e2e-ci-1', API_KEY_OWNER, new Date(Date.now() + 30 * 86_400_000)),
    expired: createApiKey('e2e-ci-old', API_KEY_OWNER, new Date(Date.now() - 86_400_000)),
    disabled: createApiKey('e2e-ci-off', API_KEY_OWNER, new Date(Date.now() + 30 * 86_400_000)),
  };
  const userSecrets: Record<string, Record<string, string>> = {
    [UI_CLIENT_SECRET]: { 'client-secret': uiClientSecret },
    [codecKeysSecret('default')]: ring(),
    [codecKeysSecret(NAMESPACE_B)]: ring(),
    [API_KEYS_SECRET]: { [API_KEYS_FILE]: JSON.stringify({ keys: [keys.valid.record, keys.expired.record,
      { ...keys.disabled.record, disabled: true }] }) },
  };
  apiKeys = { valid: keys.valid.key, expired: keys.expired.key, disabled: keys.disabled.key };
  ctx = {
    work, peers, manifests, namespace, certificates, rewriter, postgres, proxyPort, chartProps: props, idp, ui, userSecrets,
    runner: new ProcessRunner(join(work, 'logs'), [peers.binDir], releaseBinDir),
  };
}

export async function tearDown(): Promise<void> {
  if (ctx !== undefined) {
    try {
      await ctx.runner.stopAll();
    } finally {
      await ctx.idp.oidc.stop();
      ctx.postgres.stop();
      if (process.env.SECURE_TEMPORAL_E2E_KEEP) {
        process.stderr.write(`kept ${ctx.work} (SECURE_TEMPORAL_E2E_KEEP)\n`);
      } else {
        rmSync(ctx.work, { recursive: true, force: true });
      }
    }
  }
}
