/**
 * End-to-end: an upgrade one minor up on the real server (docs/OPERATIONS.md "Upgrades"). A cluster synthesized at the
 * previous minor (PREVIOUS, its server and sql tool built from that release's Go module by scripts/install-peers.sh)
 * runs a worker, workflows waiting on a signal and a steady client through the authorizer proxy; the synthesis of the
 * current release (`serverVersion` TEMPORAL_VERSION, `runningServerVersion` PREVIOUS) is then applied as Kubernetes
 * would: its schema Jobs first (a server of the new release started before them refuses to start), then each server
 * Deployment's pods replaced by the new release's. The workflows started before complete after, and the steady client
 * sees no failed call with the SDK's default retry policy. Then the rollback the docs allow: back one minor, on the
 * upgraded schema.
 */
import { readlinkSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Connection } from '@temporalio/client';
import { TEMPORAL_VERSION } from '../../lib/core/images';
import { SCHEMA_VERSION_ANNOTATION } from '../../lib/core/labels';
import { SERVER_RELEASES } from '../../lib/temporal/versions';
import {
  context, MINUTE, pod, runJob, serverDeployments, servers, serverRewriter, setUp, startCluster, startServer, tearDown, withLogs,
} from './harness';
import { containerPort, findComponent, KubeObject, Manifests, onlyContainer, synthesize } from './manifests';
import { isPortFree, sleep, waitUntil } from './net';
import { peersBinDir } from './peers';
import { tail } from './processes';
import { client, connectWorkload, createWorker } from './workload';
import { greet, greetWhenReleased, release } from './workflows/greeting';

/** The previous minor, as scripts/install-peers.sh builds it (PREVIOUS_SERVER_VERSION). */
const PREVIOUS = '1.30.8';
/** The order the harness replaces the services in (one process each; Kubernetes rolls them all at once, new pod first). */
const ROLL_ORDER = ['history', 'matching', 'internal-frontend', 'frontend', 'worker'];
const NAMESPACE = 'default';

beforeAll(() => setUp({ serverVersion: PREVIOUS }), 2 * MINUTE);
afterAll(tearDown, 2 * MINUTE);

function schemaJobsOf(manifests: Manifests): KubeObject[] {
  return manifests.objects.filter((o) => o.kind === 'Job' && o.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION] !== undefined);
}

/** Every running server's binary (`/proc/<pid>/exe`) is in `dir`, by component. */
function expectServersFrom(dir: string): void {
  const from = [...servers].map(([component, s]) => [component, dirname(readlinkSync(`/proc/${s.running.child.pid}/exe`))]);
  expect(from).toEqual([...servers.keys()].map((component) => [component, dir]));
}

/** What a steady caller saw: calls, failures after the SDK's retries, the longest call (its retries included). */
interface Steady {
  calls: number;
  readonly failures: string[];
  longestMs: number;
  longestAt: string;
  stop(): Promise<void>;
}

/**
 * DescribeNamespace through the proxy every `intervalMs` on one long-lived SDK connection, with the SDK's default retry
 * policy (@temporalio/client `defaultGrpcRetryOptions`: up to 10 attempts on UNAVAILABLE, UNKNOWN, RESOURCE_EXHAUSTED,
 * ABORTED ..., 100 ms doubling by 1.7 up to 5 s, about 20 s in all).
 */
function steadyClient(connection: Connection, intervalMs: number): Steady {
  let running = true;
  const state: Steady = { calls: 0, failures: [], longestMs: 0, longestAt: '', stop: async () => {
    running = false;
    await loop;
  } };
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      } catch (e) {
        state.failures.push(`${new Date().toISOString()} DescribeNamespace: ${(e as Error).message}`);
      }
      const took = Date.now() - started;
      state.calls += 1;
      if (took > state.longestMs) {
        state.longestMs = took;
        state.longestAt = new Date(started).toISOString();
      }
      await sleep(intervalMs);
    }
  })();
  return state;
}

/**
 * Applies a synthesis as Kubernetes would: its schema Jobs to completion, then each server Deployment's pod replaced
 * (stopped with the container's grace period, then started from the new Deployment), in ROLL_ORDER. Returns how long
 * each service had no process serving.
 */
async function apply(manifests: Manifests, label: string): Promise<Record<string, number>> {
  for (const job of schemaJobsOf(manifests)) {
    await runJob(job, `${job.metadata.name}-${label}`, 3 * MINUTE);
  }
  const deployments = serverDeployments(manifests);
  const gaps: Record<string, number> = {};
  for (const component of ROLL_ORDER) {
    const deployment = deployments.get(component);
    const old = servers.get(component);
    if (deployment === undefined || old === undefined) {
      throw new Error(`no ${component} Deployment or running server`);
    }
    const stopped = Date.now();
    await context().runner.stop(old.running, 60_000);
    const started = await startServer(component, deployment);
    // Ready as the kubelet sees it: the port of the Deployment's readiness probe (tcpSocket) accepts connections.
    const container = onlyContainer(deployment);
    const probed = containerPort(container, String(container.readinessProbe?.tcpSocket?.port));
    await waitUntil(`the ${component} of ${label} to be ready (port ${probed})`, async () => {
      if (started.running.exit !== undefined) {
        throw new Error(`${component} exited ${started.running.exit.code}:\n${tail(started.running.logFile, 40)}`);
      }
      return !(await isPortFree(probed));
    }, { timeoutMs: 2 * MINUTE, intervalMs: 200 });
    gaps[component] = Date.now() - stopped;
    // Like a Deployment's rollout waiting for the new pod to be Ready before the next change.
    await sleep(3000);
  }
  return gaps;
}

describe(`an upgrade from ${PREVIOUS} to ${TEMPORAL_VERSION}`, () => {
  test('the schema first (a new server refuses the old schema), then every service: workflows started before complete after, ' +
    'no failed call; then a rollback one minor back on the new schema', () => withLogs(async () => {
    const c = context();
    // Where each release's temporal-server really is (a process's /proc/<pid>/exe names the file, links resolved).
    const previousDir = dirname(realpathSync(join(dirname(peersBinDir()), 'releases', PREVIOUS, 'bin', 'temporal-server')));
    const currentDir = dirname(realpathSync(join(peersBinDir(), 'temporal-server')));
    // The cluster of the previous minor.
    for (const job of schemaJobsOf(c.manifests)) {
      await runJob(job, `${job.metadata.name}-install`, 3 * MINUTE);
    }
    await startCluster();
    await runJob(findComponent(c.manifests.objects, 'Job', 'namespaces'), 'namespaces-1', 6 * MINUTE);
    expectServersFrom(previousDir);
    const connections = await connectWorkload();
    let steady: Steady | undefined;
    const workerConnections = await connectWorkload();
    try {
      const before = await connections.client.workflowService.getSystemInfo({});
      expect(before.serverVersion).toBe(PREVIOUS);
      const { worker, taskQueue } = await createWorker(workerConnections.native, NAMESPACE);
      const temporal = client(connections.client, NAMESPACE);
      const running = worker.run();
      try {
        const waiting = await Promise.all([1, 2, 3].map((n) => temporal.workflow.start(greetWhenReleased, {
          taskQueue, workflowId: `upgrade-waiting-${n}-${taskQueue}`, args: [`before ${n}`], workflowExecutionTimeout: '15 minutes' })));
        expect(await temporal.workflow.execute(greet, { taskQueue, workflowId: `upgrade-before-${taskQueue}`, args: ['before'],
          workflowExecutionTimeout: '2 minutes' })).toBe('Hello, before!');
        steady = steadyClient(connections.client, 250);

        // The synthesis of the current release, told the running version.
        const upgraded = synthesize({ ...c.chartProps, serverVersion: TEMPORAL_VERSION, runningServerVersion: PREVIOUS });
        const current = SERVER_RELEASES.find((r) => TEMPORAL_VERSION.startsWith(`${r.minor}.`));
        const previous = SERVER_RELEASES.find((r) => PREVIOUS.startsWith(`${r.minor}.`));
        expect(schemaJobsOf(upgraded).map((j) => j.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION]).sort())
          .toEqual([current?.schema.default, current?.schema.visibility].sort());
        // A pod of the new release that starts before its schema Jobs have run refuses to serve: the server's own check.
        const early = serverDeployments(upgraded).get('frontend');
        if (early === undefined) {
          throw new Error('no frontend Deployment');
        }
        const { rewriter } = await serverRewriter(early);
        const earlyPod = pod(early, 'frontend-before-schema', { rewriter });
        const refused = await c.runner.run(earlyPod.containers[0], 2 * MINUTE);
        expect(refused.signal).toBeNull();
        expect(refused.code).not.toBe(0);
        expect(tail(refused.logFile, 60)).toMatch(new RegExp('sql schema version compatibility check failed: version mismatch for ' +
          `keyspace/database: "temporal". Expected version: ${current?.schema.default.replace('.', '\\.')} cannot be greater than ` +
          `Actual version: ${previous?.schema.default.replace('.', '\\.')}`));

        const gaps = await apply(upgraded, 'upgrade');
        expectServersFrom(currentDir);
        expect((await connections.client.workflowService.getSystemInfo({})).serverVersion).toBe(TEMPORAL_VERSION);
        expect(await temporal.workflow.execute(greet, { taskQueue, workflowId: `upgrade-after-${taskQueue}`, args: ['after'],
          workflowExecutionTimeout: '2 minutes' })).toBe('Hello, after!');
        for (const handle of waiting) {
          await handle.signal(release);
        }
        expect(await Promise.all(waiting.map((h) => h.result()))).toEqual(['Hello again, before 1!', 'Hello again, before 2!',
          'Hello again, before 3!']);

        // The rollback window: back to the previous minor on the upgraded schema (its schema Jobs change nothing).
        const rolledBack = synthesize({ ...c.chartProps, serverVersion: PREVIOUS, runningServerVersion: TEMPORAL_VERSION });
        const rollbackGaps = await apply(rolledBack, 'rollback');
        expectServersFrom(previousDir);
        expect((await connections.client.workflowService.getSystemInfo({})).serverVersion).toBe(PREVIOUS);
        expect(await temporal.workflow.execute(greet, { taskQueue, workflowId: `rollback-after-${taskQueue}`, args: ['rolled back'],
          workflowExecutionTimeout: '2 minutes' })).toBe('Hello, rolled back!');
        await steady.stop();
        process.stdout.write(`upgrade: ${steady.calls} steady calls, longest ${steady.longestMs} ms at ${steady.longestAt}; ` +
          `no process serving (ms): upgrade ${JSON.stringify(gaps)}, rollback ${JSON.stringify(rollbackGaps)}\n`);
        expect(steady.failures).toEqual([]);
        expect(steady.calls).toBeGreaterThan(50);
      } finally {
        await steady?.stop();
        worker.shutdown();
        // A worker that failed is reported by the test's own failure, not in its place.
        await running.catch((e: Error) => process.stderr.write(`the worker stopped with: ${e.message}\n`));
      }
    } finally {
      await workerConnections.close();
      await connections.close();
    }
  }), 25 * MINUTE);
});
