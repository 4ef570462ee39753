/**
 * End-to-end: the synthesized manifests run a real Temporal server with the synthesized mTLS: every
 * certificate is issued to the spec of the synthesized cert-manager objects (certificates.ts) and reaches
 * the processes only through the pods' volume definitions. See harness.ts for the few rewrites.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findComponent, onlyContainer, Secrets } from './manifests';
import { isPortFree, waitUntil } from './net';
import { registerApiKeyTests } from './api-keys';
import { registerAuthorizationTests } from './authorization';
import { registerCaRolloverTests } from './ca-rollover';
import { registerDataPathTests } from './data-path';
import {
  context, currentSecrets, MINUTE, NAMESPACE_B, platformFiles, pod, ROGUE_DATABASE_CLIENT, runJob, server, serverDeployments,
  serverRewriter, setUp, startCluster, TASK_WORKER, tearDown, withLogs, workloadFiles,
} from './harness';
import { registerMonitoringTests } from './monitoring';
import { registerMtlsTests } from './mtls';
import { tail } from './processes';
import { registerRotationTests } from './rotation';
import { registerWebUiTests } from './web-ui';
import { client, connectWorkload, createWorker, workloadTls } from './workload';
import { greet } from './workflows/greeting';

/** What the tier declares: namespace `default` with 3 days retention (the chart's default) and namespace B. */
const DECLARED_NAMESPACE = { name: 'default', retentionSeconds: 3 * 24 * 3600 };
const DECLARED_B = { name: NAMESPACE_B, retentionSeconds: 24 * 3600 };
const SERVER_COMPONENTS = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];

beforeAll(setUp, 2 * MINUTE);
afterAll(tearDown, 2 * MINUTE);

describe('schema Jobs', () => {
  test.each(['schema-default', 'schema-visibility'])('%s runs to completion, and again (idempotent)', (component) =>
    withLogs(async () => {
      const job = findComponent(context().manifests.objects, 'Job', component);
      await runJob(job, `${component}-1`, 2 * MINUTE);
      await runJob(job, `${component}-2`, 2 * MINUTE);
    }), 5 * MINUTE);
});

describe('the database', () => {
  // The evaluation PostgreSQL has no password: it admits only TLS clients whose certificate (CN = user) its
  // client CA issued. A frontend whose database client certificate has expired must be refused.
  test('refuses a server whose database client certificate has expired (certificate authentication)', () => withLogs(async () => {
    const c = context();
    const frontend = findComponent(c.manifests.objects, 'Deployment', 'frontend');
    const dbClientSecret = c.certificates.secretNameOf(c.namespace,
      (cert) => (cert.spec as { commonName?: string }).commonName === 'temporal' && cert.metadata.name !== 'e2e-rogue-database-client');
    const past = Date.now() - 48 * 3600_000;
    const expired = await c.certificates.variant(c.namespace, dbClientSecret, 'expired-db-client',
      { notBefore: new Date(past - 24 * 3600_000), notAfter: new Date(past) });
    const secrets: Secrets = { ...currentSecrets(), [dbClientSecret]: {
      ...currentSecrets()[dbClientSecret], 'tls.crt': readFileSync(expired.cert, 'utf8'), 'tls.key': readFileSync(expired.key, 'utf8'),
    } };
    const { rewriter } = await serverRewriter(frontend);
    const local = pod(frontend, 'frontend-expired-db-certificate', { rewriter, secrets });
    const exit = await c.runner.run(local.containers[0], 3 * MINUTE);
    expect(exit.signal).toBeNull(); // it exited by itself, not killed at the timeout
    expect(exit.code).not.toBe(0);
    // The cause, from both ends: PostgreSQL's verifier rejects the certificate, and the server reports the
    // certificate_expired alert it received (Go's crypto/tls wording). On a busy machine PostgreSQL may close the
    // connection before the client reads the alert: then every attempt the server logged ends in a reset, and
    // PostgreSQL's own line is the evidence.
    const serverLog = tail(exit.logFile, 200);
    const refused = 'failed to connect to `user=temporal database=temporal`: ';
    expect(serverLog).toMatch(new RegExp(`${refused}.*(remote error: tls: expired certificate|connection reset by peer)`));
    expect(serverLog).not.toMatch(new RegExp(`${refused}.*(password authentication|no pg_hba\\.conf entry)`));
    expect(tail(c.postgres.logFile, 50)).toMatch(/could not accept SSL connection: certificate verify failed/);
  }), 4 * MINUTE);

  test('admits its own client certificate, and refuses one of another CA of the PKI with the same CN', () => {
    const c = context();
    const psql = join(c.peers.postgresBinDir, 'psql');
    const dbClient = c.certificates.files(c.namespace, c.certificates.secretNameOf(c.namespace,
      (cert) => (cert.spec as { commonName?: string }).commonName === 'temporal' && cert.metadata.name !== 'e2e-rogue-database-client'));
    const rogue = c.certificates.files(c.namespace, ROGUE_DATABASE_CLIENT);
    const attempt = (files: { cert: string; key: string }) => spawnSync(psql, [
      `host=127.0.0.1 port=${c.postgres.port} user=temporal dbname=temporal sslmode=require connect_timeout=5 ` +
        `sslcert=${files.cert} sslkey=${files.key}`, '-tAc', 'select 1',
    ], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    const own = attempt(dbClient);
    expect({ status: own.status, out: own.stdout.trim() }).toEqual({ status: 0, out: '1' });
    expect(new X509Certificate(readFileSync(rogue.cert)).subject).toBe(new X509Certificate(readFileSync(dbClient.cert)).subject);
    const refused = attempt(rogue);
    expect(refused.status).not.toBe(0);
    expect(tail(c.postgres.logFile, 50)).toMatch(/could not accept SSL connection: certificate verify failed/);
  });

  test('refuses plaintext, and TLS without a client certificate', () => {
    const c = context();
    const psql = join(c.peers.postgresBinDir, 'psql');
    const attempt = (sslmode: string) => spawnSync(psql, [
      `host=127.0.0.1 port=${c.postgres.port} user=temporal dbname=temporal sslmode=${sslmode} connect_timeout=5`, '-c', 'select 1',
    ], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', PGSSLCERT: '/nonexistent', PGSSLKEY: '/nonexistent' } });
    const plain = attempt('disable');
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/no pg_hba\.conf entry .*no encryption/);
    const noCert = attempt('require');
    expect(noCert.status).not.toBe(0);
    expect(noCert.stderr).toMatch(/certificate/i);
  });
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
    await startCluster();
  }), 5 * MINUTE);

  test('the namespace Job registers the declared namespaces through the proxy, and again (idempotent)', () => withLogs(async () => {
    const c = context();
    const job = findComponent(c.manifests.objects, 'Job', 'namespaces');
    // Described with the admin tools' certificate (temporal-system admin through the proxy): B is granted to no workload.
    const connections = await connectWorkload(workloadTls(platformFiles('admintools')));
    try {
      for (const round of [1, 2]) {
        await runJob(job, `namespaces-${round}`, 6 * MINUTE);
        for (const declared of [DECLARED_NAMESPACE, DECLARED_B]) {
          const described = await connections.client.workflowService.describeNamespace({ namespace: declared.name });
          expect(described.namespaceInfo?.name).toBe(declared.name);
          expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(declared.retentionSeconds);
        }
      }
    } finally {
      await connections.close();
    }
  }), 13 * MINUTE);

  test('a workflow with an activity completes through the proxy: a `worker` identity runs it, a `write` identity starts it', () =>
    withLogs(async () => {
      const starter = await connectWorkload();
      const runner = await connectWorkload(workloadTls(workloadFiles(TASK_WORKER)));
      try {
        const { worker, taskQueue } = await createWorker(runner.native, DECLARED_NAMESPACE.name);
        const result = await worker.runUntil(client(starter.client, DECLARED_NAMESPACE.name).workflow.execute(greet, {
          taskQueue,
          workflowId: `greet-${taskQueue}`,
          args: ['end-to-end'],
          workflowExecutionTimeout: '2 minutes',
        }));
        expect(result).toBe('Hello, end-to-end!');
      } finally {
        await runner.close();
        await starter.close();
      }
    }), 5 * MINUTE);

  test('the frontend serves Prometheus metrics', () => withLogs(async () => {
    const frontend = server('frontend');
    const template = (findComponent(context().manifests.objects, 'Deployment', 'frontend').spec as {
      template: { metadata?: { annotations?: Record<string, string> } };
    }).template;
    const path = template.metadata?.annotations?.['prometheus.io/path'] ?? '/metrics';
    let body = '';
    // The server reports its counters on a flush interval: the start of the workflow test shows up within seconds.
    await waitUntil('the frontend to count StartWorkflowExecution', async () => {
      const response = await fetch(`http://127.0.0.1:${frontend.metricsPort}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      body = await response.text();
      return /^service_requests\{.*operation="StartWorkflowExecution".*\} [1-9]/m.test(body);
    }, { timeoutMs: 30_000, intervalMs: 1000 }).catch((e: Error) => {
      throw new Error(`${e.message}: ${body.split('\n').filter((l) => l.startsWith('service_requests{')).join('\n')}`);
    });
    expect(body).toMatch(/^# TYPE \w+ (counter|gauge|histogram|summary)$/m);
  }), MINUTE);

  registerDataPathTests();
  registerMtlsTests();
  registerAuthorizationTests();
  registerApiKeyTests();
  registerWebUiTests();
  // After the calls the metrics count (denials, workflows), before the certificates are replaced.
  registerMonitoringTests();
  // Last: it replaces the certificates every other test reads.
  registerRotationTests();
  registerCaRolloverTests();
});
