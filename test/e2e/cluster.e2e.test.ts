/**
 * End-to-end: the synthesized manifests run a real Temporal server. Every command, argument, env var
 * and config file comes from the synthesized objects; the harness only rewrites in-cluster host names
 * to 127.0.0.1, the database port to a throwaway PostgreSQL's, container paths to temp directories and
 * each server's metrics port (below). Needs the peers of scripts/install-peers.sh; loopback only.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import {
  COMPONENT_LABEL, containerPort, evaluationDatabase, findAllByLabels, findComponent, KubeObject, Manifests, onlyContainer,
  Secrets, serviceHost, servicePorts, synthesize,
} from './manifests';
import { freePort, isPortFree, waitUntil } from './net';
import { findPeers, Peers } from './peers';
import { LocalPod, localPod } from './pods';
import { RunningPostgres, startPostgres } from './postgres';
import { ProcessRunner, Running, tail } from './processes';
import { Rewriter } from './rewrite';
import * as activities from './workflows/activities';
import { greet } from './workflows/greeting';

const MINUTE = 60_000;
/** The Secret users create before deploying (README; SecureTemporalChart's default password source). */
const DB_SECRET = 'temporal-db-password';
/** What SecureTemporalChart declares by default: namespace `default` with 3 days retention. */
const DECLARED_NAMESPACE = { name: 'default', retentionSeconds: 3 * 24 * 3600 };
const SERVER_COMPONENTS = ['frontend', 'history', 'matching', 'worker'];
/** Listen on every interface: in a pod, its own IP; here, loopback only. */
const ANY_IP = '0.0.0.0';

interface Context {
  readonly work: string;
  readonly peers: Peers;
  readonly manifests: Manifests;
  readonly secrets: Secrets;
  readonly rewriter: Rewriter;
  readonly runner: ProcessRunner;
  readonly postgres: RunningPostgres;
}

let ctx: Context | undefined;
/** Running server processes and their (rewritten) metrics ports, by component. */
const servers = new Map<string, { running: Running; metricsPort: number }>();

function context(): Context {
  if (ctx === undefined) {
    throw new Error('the end-to-end setup failed (see the first error)');
  }
  return ctx;
}

/** Runs `fn`; on failure appends the tail of every process log to the error. */
async function withLogs<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const logs = ctx ? `${ctx.runner.tails()}\n--- postgres ---\n${tail(ctx.postgres.logFile, 20)}` : '';
    const e = err as Error;
    e.message = `${e.message}\n${logs}`;
    throw e;
  }
}

function pod(workload: KubeObject, podName: string, opts: { rewriter?: Rewriter; secrets?: Secrets } = {}): LocalPod {
  const c = context();
  return localPod({
    objects: c.manifests.objects,
    workload,
    podName,
    root: join(c.work, 'pods'),
    secrets: opts.secrets ?? c.secrets,
    rewriter: opts.rewriter ?? c.rewriter,
  });
}

/** Runs a Job's pod like the kubelet: init containers in order, then the containers; each must exit 0. */
async function runJob(job: KubeObject, podName: string, timeoutMs: number): Promise<void> {
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
async function serverRewriter(server: KubeObject): Promise<{ rewriter: Rewriter; metricsPort: number }> {
  const metricsPort = await freePort();
  const declared = containerPort(onlyContainer(server), 'metrics');
  return { rewriter: context().rewriter.endpoint(ANY_IP, declared, '127.0.0.1', metricsPort), metricsPort };
}

/** Deployments whose container runs `temporal-server`, by component label. */
function serverDeployments(): Map<string, KubeObject> {
  const deployments = findAllByLabels(context().manifests.objects, 'Deployment', {})
    .filter((d) => onlyContainer(d).command?.[0] === 'temporal-server');
  return new Map(deployments.map((d) => [d.metadata.labels?.[COMPONENT_LABEL] ?? d.metadata.name, d]));
}

/** `host:port` of the frontend Service's gRPC port, rewritten for this host. */
function frontendAddress(): string {
  const c = context();
  const service = findAllByLabels(c.manifests.objects, 'Service', { [COMPONENT_LABEL]: 'frontend' })
    .find((s) => (s.spec as { clusterIP?: string }).clusterIP !== 'None');
  const port = service && servicePorts(service).find((p) => p.name === 'grpc-rpc')?.port;
  if (service === undefined || port === undefined) {
    throw new Error('no frontend ClusterIP Service with a grpc-rpc port');
  }
  return c.rewriter.text(`${serviceHost(service, c.manifests.clusterDomain)}:${port}`);
}

beforeAll(async () => {
  const peers = findPeers();
  const work = mkdtempSync(join(tmpdir(), 'secure-temporal-e2e-'));
  chmodSync(work, 0o711); // PostgreSQL runs as an unprivileged user when the tests run as root
  mkdirSync(join(work, 'logs'));
  const manifests = synthesize();
  const secrets: Secrets = { [DB_SECRET]: { password: `e2e-${randomBytes(12).toString('hex')}` } };
  const db = evaluationDatabase(manifests, secrets);
  const port = await freePort();
  const postgres = startPostgres({
    binDir: peers.postgresBinDir, dir: join(work, 'postgres'), port,
    user: db.user, password: db.password, database: db.database,
  });
  let rewriter = Rewriter.empty().endpoint(db.host, db.port, postgres.host, postgres.port);
  for (const service of manifests.objects.filter((o) => o.kind === 'Service')) {
    rewriter = rewriter.host(serviceHost(service, manifests.clusterDomain), '127.0.0.1');
  }
  rewriter = rewriter.host(ANY_IP, '127.0.0.1');
  ctx = { work, peers, manifests, secrets, rewriter, postgres, runner: new ProcessRunner(join(work, 'logs'), [peers.binDir]) };
}, 2 * MINUTE);

afterAll(async () => {
  if (ctx !== undefined) {
    await ctx.runner.stopAll();
    ctx.postgres.stop();
    if (process.env.SECURE_TEMPORAL_E2E_KEEP) {
      process.stderr.write(`kept ${ctx.work} (SECURE_TEMPORAL_E2E_KEEP)\n`);
    } else {
      rmSync(ctx.work, { recursive: true, force: true });
    }
  }
}, 2 * MINUTE);

describe('schema Jobs', () => {
  test.each(['schema-default', 'schema-visibility'])('%s runs to completion, and again (idempotent)', (component) =>
    withLogs(async () => {
      const job = findComponent(context().manifests.objects, 'Job', component);
      await runJob(job, `${component}-1`, 2 * MINUTE);
      await runJob(job, `${component}-2`, 2 * MINUTE);
    }), 5 * MINUTE);
});

describe('a wrong database password', () => {
  test('keeps the server from starting (the password flows from the Secret into the config)', () => withLogs(async () => {
    const frontend = findComponent(context().manifests.objects, 'Deployment', 'frontend');
    const { rewriter } = await serverRewriter(frontend);
    const secrets: Secrets = { [DB_SECRET]: { password: 'not-the-password' } };
    const local = pod(frontend, 'frontend-wrong-password', { rewriter, secrets });
    const exit = await context().runner.run(local.containers[0], 3 * MINUTE);
    expect(exit.signal).toBeNull(); // it exited by itself, not killed at the timeout
    expect(exit.code).not.toBe(0);
    expect(tail(exit.logFile, 200)).toMatch(/password authentication failed/);
  }), 4 * MINUTE);
});

describe('the server config', () => {
  test('points at the mounted dynamic config, whose every key and value the server accepts', () => withLogs(async () => {
    const frontend = findComponent(context().manifests.objects, 'Deployment', 'frontend');
    const server = pod(frontend, 'frontend-dynamic-config').containers[0];
    const configFile = server.env.TEMPORAL_SERVER_CONFIG_FILE_PATH;
    expect(configFile).toBeDefined();
    const dynamicConfigFile = /^dynamicConfigClient:\n\s+filepath:\s*"?([^"\s]+)"?$/m.exec(readFileSync(configFile, 'utf8'))?.[1];
    expect(dynamicConfigFile).toBeDefined();
    expect(existsSync(dynamicConfigFile ?? '')).toBe(true);
    const validate = { ...server, name: 'frontend-dynamic-config/validate', argv: [server.argv[0], 'validate-dynamic-config',
      dynamicConfigFile ?? ''] };
    const exit = await context().runner.run(validate, MINUTE);
    expect(exit.code).toBe(0);
    // validate-dynamic-config exits 0 but prints `error:` / `warning:` lines for unknown keys, bad values or constraints.
    expect(tail(exit.logFile, 200)).not.toMatch(/^\s*(error|warning):/m);
  }), 2 * MINUTE);
});

describe('the Temporal cluster', () => {
  beforeAll(() => withLogs(async () => {
    const c = context();
    const deployments = serverDeployments();
    expect([...deployments.keys()].sort()).toEqual([...SERVER_COMPONENTS].sort());
    for (const deployment of deployments.values()) {
      const container = onlyContainer(deployment);
      for (const p of container.ports ?? []) {
        if (p.name !== 'metrics' && !(await isPortFree(p.containerPort))) {
          throw new Error(`port ${p.containerPort} (${deployment.metadata.name} ${p.name}) is in use on 127.0.0.1`);
        }
      }
    }
    for (const [component, deployment] of deployments) {
      const { rewriter, metricsPort } = await serverRewriter(deployment);
      const local = pod(deployment, `${deployment.metadata.name}-0`, { rewriter });
      servers.set(component, { running: c.runner.start(local.containers[0]), metricsPort });
    }
    // `kubectl exec deploy/<name>-admintools -- temporal operator cluster health`
    const admin = pod(findComponent(c.manifests.objects, 'Deployment', 'admintools'), 'admintools-0').containers[0];
    const health = { ...admin, name: 'admintools-0/health', argv: ['temporal', 'operator', 'cluster', 'health'] };
    await waitUntil('the frontend to report SERVING', async () => (await c.runner.run(health, 30_000)).code === 0, {
      timeoutMs: 3 * MINUTE,
      intervalMs: 2000,
      abort: () => [...servers].filter(([, s]) => s.running.exit !== undefined).map(([n]) => `${n} exited`).join(', ') ||
        undefined,
    });
  }), 5 * MINUTE);

  test('the namespace Job registers the declared namespace, and again (idempotent)', () => withLogs(async () => {
    const c = context();
    const job = findComponent(c.manifests.objects, 'Job', 'namespaces');
    const connection = await Connection.connect({ address: frontendAddress() });
    try {
      for (const round of [1, 2]) {
        await runJob(job, `namespaces-${round}`, 6 * MINUTE);
        const described = await connection.workflowService.describeNamespace({ namespace: DECLARED_NAMESPACE.name });
        expect(described.namespaceInfo?.name).toBe(DECLARED_NAMESPACE.name);
        expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(DECLARED_NAMESPACE.retentionSeconds);
      }
    } finally {
      await connection.close();
    }
  }), 13 * MINUTE);

  test('a workflow with an activity runs to completion', () => withLogs(async () => {
    const address = frontendAddress();
    const taskQueue = `e2e-${randomBytes(4).toString('hex')}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      const worker = await Worker.create({
        connection: nativeConnection,
        namespace: DECLARED_NAMESPACE.name,
        taskQueue,
        workflowsPath: require.resolve('./workflows/greeting'),
        activities,
      });
      const client = new Client({ connection, namespace: DECLARED_NAMESPACE.name });
      const result = await worker.runUntil(client.workflow.execute(greet, {
        taskQueue,
        workflowId: `greet-${taskQueue}`,
        args: ['end-to-end'],
        workflowExecutionTimeout: '2 minutes',
      }));
      expect(result).toBe('Hello, end-to-end!');
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  }), 5 * MINUTE);

  test('the frontend serves Prometheus metrics', () => withLogs(async () => {
    const frontend = servers.get('frontend');
    if (frontend === undefined) {
      throw new Error('the frontend is not running');
    }
    const template = (findComponent(context().manifests.objects, 'Deployment', 'frontend').spec as {
      template: { metadata?: { annotations?: Record<string, string> } };
    }).template;
    const path = template.metadata?.annotations?.['prometheus.io/path'] ?? '/metrics';
    const response = await fetch(`http://127.0.0.1:${frontend.metricsPort}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const body = await response.text();
    expect(body).toMatch(/^# TYPE \w+ (counter|gauge|histogram|summary)$/m);
    expect(body).toMatch(/^service_requests\{.*operation="StartWorkflowExecution".*\} [1-9]/m);
  }), MINUTE);
});
