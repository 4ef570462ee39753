/**
 * Authorization on the running cluster (docs/SECURITY.md "Authorization"): the authorizer proxy authenticates every
 * caller (a workload or platform certificate, or a bearer JWT of the real OpenID Connect provider), decides with the
 * policy synthesized from the chart's props, and the frontend enforces the same grants from the token the proxy
 * signs. Every denial is asserted on its exact status and details. Registered inside the cluster's describe block of
 * cluster.e2e.test.ts, after the cluster is up.
 */
import { createPublicKey, KeyObject, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { get as httpsGet, RequestOptions } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Client as GrpcClient } from '@grpc/grpc-js';
import { generateKeyPair, KeyLike, SignJWT } from 'jose';
import { KEY_PUBLISH_DELAY_SECONDS } from '../../lib/authorizer/proxy';
import { IDP_AUDIENCE } from './identity-provider';
import { CallCredentials, CallOutcome, encode, grpcCall, grpcClient } from './grpc-call';
import {
  clientAddress, context, currentSecrets, frontendAddress, MINUTE, NAMESPACE_B, platformFiles, proxy, proxyDeployment, proxySigningKey,
  READER, server, serverDeployments, startServer, syncSecretVolumes, TASK_WORKER, withLogs, workloadFiles,
} from './harness';
import { podSpec } from './manifests';
import { sleep, waitUntil } from './net';
import { tail } from './processes';
import { client, connectWorkload, createWorker, frontendTrust, proxyTrust, workloadTls } from './workload';
import { greet, greetWhenReleased, release } from './workflows/greeting';

const OK = 0;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const NO_CREDENTIALS = 'the call carries neither a valid client certificate nor a bearer token';

/** Credentials of a certificate's Secret files. */
const cert = (files: { cert: string; key: string }): CallCredentials => ({ certFile: files.cert, keyFile: files.key });

/** One call through the proxy. */
function viaProxy(creds: CallCredentials, method: string, request: Buffer, deadlineMs?: number): Promise<CallOutcome> {
  return grpcCall({ address: clientAddress(), ...proxyTrust() }, creds, method, request, deadlineMs);
}

/** One call straight to the frontend. */
function toFrontend(creds: CallCredentials, method: string, request: Buffer): Promise<CallOutcome> {
  return grpcCall({ address: frontendAddress(), ...frontendTrust() }, creds, method, request);
}

const startRequest = (namespace: string, workflowId = `authz-${randomUUID()}`): Buffer => encode('StartWorkflowExecutionRequest', {
  namespace, workflowId, workflowType: { name: 'greet' }, taskQueue: { name: 'authz-no-worker' }, requestId: randomUUID(),
  input: { payloads: [] }, identity: 'e2e',
});
const describeNamespace = (namespace: string): Buffer => encode('DescribeNamespaceRequest', { namespace });
const listWorkflows = (namespace: string): Buffer => encode('ListWorkflowExecutionsRequest', { namespace, pageSize: 10 });
const describeWorkflow = (namespace: string, workflowId: string): Buffer =>
  encode('DescribeWorkflowExecutionRequest', { namespace, execution: { workflowId } });
const signal = (namespace: string, workflowId: string): Buffer =>
  encode('SignalWorkflowExecutionRequest', { namespace, workflowExecution: { workflowId }, signalName: 'release', requestId: randomUUID() });
const listClusters = (): Buffer => encode('ListClustersRequest', {}, 'operatorservice');
const listNamespaces = (): Buffer => encode('ListNamespacesRequest', { pageSize: 10 });

const denied = (details: string): CallOutcome => ({ code: PERMISSION_DENIED, details });
const noRole = (namespace: string, api: string): CallOutcome => denied(`no role on ${namespace} permits ${api}`);

/** The proxy's audit lines so far (pino JSON lines with an `audit` object). */
function auditLines(): Record<string, unknown>[] {
  return readFileSync(proxy().running.logFile, 'utf8').split('\n').filter((l) => l.includes('"audit"'))
    .map((l) => (JSON.parse(l) as { audit: Record<string, unknown> }).audit);
}

/**
 * The last audit line that `matches`, waited for: the proxy writes audit lines off the call's path, so a line
 * can reach the log file a moment after the answer. Undefined when none appears within 10 s.
 */
async function auditLine(matches: (a: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  let found: Record<string, unknown> | undefined;
  await waitUntil('the audit line', async () => {
    found = auditLines().reverse().find(matches);
    return found !== undefined;
  }, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
  return found;
}

/** A token signed by `key` (with header `kid`), claims as given, `iat` now unless set. */
async function signed(key: KeyLike, kid: string, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, ...claims }).setProtectedHeader({ alg: 'ES256', kid, ...header }).sign(key);
}

/** An unsigned token (`alg: none`) or one MACed with HS256: forms a verifier must never take. */
function unsignedToken(kid: string, claims: Record<string, unknown>): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(claims)}.`;
}

/** Current value of a proxy metric (summed over its label sets matching `labels`). */
async function proxyMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${proxy().metricsPort}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(name) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .filter((line) => /^[a-z_]+(\{[^}]*\})? /.test(line) && line.split(/[{ ]/)[0] === name)
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Open file descriptors and resident memory of the proxy process. */
function proxyResources(): { fds: number; rssKiB: number } {
  const pid = proxy().running.child.pid;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) };
}

export function registerAuthorizationTests(): void {
  describe('authorization', authorizationTests);
}

function authorizationTests(): void {
  let startedId: string;

  beforeAll(() => withLogs(async () => {
    // A workflow in `default` for the read and signal cases (no worker: it stays open).
    startedId = `authz-open-${randomUUID()}`;
    expect(await viaProxy(cert(workloadFiles()), 'StartWorkflowExecution', startRequest('default', startedId))).toMatchObject({ code: OK });
  }), MINUTE);

  describe('certificate identities', () => {
    test('`write` on A: starts in A, is denied in B; the audit line says who, how, where, what and why', () => withLogs(async () => {
      expect(await viaProxy(cert(workloadFiles()), 'StartWorkflowExecution', startRequest('default'))).toMatchObject({ code: OK });
      expect(await viaProxy(cert(workloadFiles()), 'StartWorkflowExecution', startRequest(NAMESPACE_B)))
        .toEqual(noRole(NAMESPACE_B, 'StartWorkflowExecution'));
      const line = await auditLine((a) => a.api === 'StartWorkflowExecution' && a.namespace === NAMESPACE_B);
      expect(line).toMatchObject({
        identity: 'spiffe://cluster.local/ns/workers/temporal-client/e2e-worker', auth: 'mtls', namespace: NAMESPACE_B,
        api: 'StartWorkflowExecution', decision: 'deny', reason: `no role on ${NAMESPACE_B} permits StartWorkflowExecution`,
        status: 'PERMISSION_DENIED', rules: ['workers/e2e-worker'],
      });
      expect(typeof line?.latencyMs).toBe('number');
      expect(await proxyMetric('authorizer_proxy_calls_total', { api: 'StartWorkflowExecution', decision: 'deny' })).toBeGreaterThan(0);
    }), MINUTE);

    test('`read` lists and describes, but can neither start nor signal', () => withLogs(async () => {
      const reader = cert(workloadFiles(READER));
      expect(await viaProxy(reader, 'ListWorkflowExecutions', listWorkflows('default'))).toMatchObject({ code: OK });
      expect(await viaProxy(reader, 'DescribeWorkflowExecution', describeWorkflow('default', startedId))).toMatchObject({ code: OK });
      expect(await viaProxy(reader, 'StartWorkflowExecution', startRequest('default'))).toEqual(noRole('default', 'StartWorkflowExecution'));
      expect(await viaProxy(reader, 'SignalWorkflowExecution', signal('default', startedId)))
        .toEqual(noRole('default', 'SignalWorkflowExecution'));
    }), MINUTE);

    test('`worker` runs tasks (see the workflow test) but starts nothing', () => withLogs(async () => {
      expect(await viaProxy(cert(workloadFiles(TASK_WORKER)), 'StartWorkflowExecution', startRequest('default')))
        .toEqual(noRole('default', 'StartWorkflowExecution'));
      expect(await viaProxy(cert(workloadFiles(TASK_WORKER)), 'DescribeNamespace', describeNamespace('default')))
        .toMatchObject({ code: OK });
    }), MINUTE);

    test('cluster APIs need a temporal-system role', () => withLogs(async () => {
      expect(await viaProxy(cert(workloadFiles()), 'OperatorService/ListClusters', listClusters()))
        .toEqual(denied('ListClusters needs a temporal-system role of admin access'));
      expect(await viaProxy(cert(workloadFiles()), 'GetSearchAttributes', encode('GetSearchAttributesRequest', {})))
        .toEqual(denied('GetSearchAttributes needs a temporal-system role of read access'));
      // ListNamespaces and GetClusterInfo: any caller with a role somewhere (web-ui.ts checks the narrowed answer).
      expect(await viaProxy(cert(workloadFiles()), 'ListNamespaces', listNamespaces())).toMatchObject({ code: OK });
      // The Web UI signs people in (the tier's chart has sso): its own certificate grants nothing. The admin tools
      // have temporal-system admin.
      expect(await viaProxy(cert(platformFiles('web')), 'ListNamespaces', listNamespaces()))
        .toEqual(denied('ListNamespaces needs a temporal-system role of read access'));
      expect(await viaProxy(cert(platformFiles('admintools')), 'ListNamespaces', listNamespaces())).toMatchObject({ code: OK });
      expect(await viaProxy(cert(platformFiles('admintools')), 'OperatorService/ListClusters', listClusters())).toMatchObject({ code: OK });
    }), MINUTE);

    test('a temporal-namespace header that disagrees with the message is denied', () => withLogs(async () => {
      const mismatch = denied('the temporal-namespace header and the request name different namespaces');
      expect(await viaProxy({ ...cert(workloadFiles()), metadata: { 'temporal-namespace': NAMESPACE_B } }, 'StartWorkflowExecution',
        startRequest('default'))).toEqual(mismatch);
      expect(await viaProxy({ ...cert(workloadFiles()), metadata: { 'temporal-namespace': 'default' } }, 'StartWorkflowExecution',
        startRequest(NAMESPACE_B))).toEqual(mismatch);
      expect(await viaProxy({ ...cert(workloadFiles()), metadata: { 'temporal-namespace': 'default' } }, 'StartWorkflowExecution',
        startRequest('default'))).toMatchObject({ code: OK });
    }), MINUTE);

    test('no certificate and no token is UNAUTHENTICATED', () => withLogs(async () => {
      expect(await viaProxy({}, 'DescribeNamespace', describeNamespace('default'))).toEqual({ code: UNAUTHENTICATED, details: NO_CREDENTIALS });
    }), MINUTE);
  });

  describe('the server enforces the grants of the token the proxy signs', () => {
    /** The proxy's own signing key, from its Secret (as the proxy pod mounts it), and its `kid`. */
    async function proxyKey(): Promise<{ key: KeyLike; kid: string; audience: string }> {
      return { ...await proxySigningKey(), audience: proxy().running.spec.env.PROXY_AUDIENCE };
    }

    test('a platform certificate with a proxy token of `read` on default: describe passes, start is refused by the server', () =>
      withLogs(async () => {
        const { key, kid, audience } = await proxyKey();
        const exp = Math.floor(Date.now() / 1000) + 120;
        const token = await signed(key, kid, { sub: 'e2e-direct', aud: audience, exp, permissions: ['default:read'] });
        const admin = { ...cert(platformFiles('admintools')), token };
        expect(await toFrontend(admin, 'DescribeNamespace', describeNamespace('default'))).toMatchObject({ code: OK });
        expect(await toFrontend(admin, 'StartWorkflowExecution', startRequest('default'))).toEqual(denied('Request unauthorized.'));
        expect(await toFrontend(admin, 'DescribeNamespace', describeNamespace(NAMESPACE_B))).toEqual(denied('Request unauthorized.'));
        // Without a token, or with one the proxy did not sign, the same certificate gets nothing.
        expect(await toFrontend(cert(platformFiles('admintools')), 'DescribeNamespace', describeNamespace('default')))
          .toEqual(denied('Request unauthorized.'));
        const { privateKey: other } = await generateKeyPair('ES256');
        const forged = await signed(other, kid, { sub: 'e2e-direct', aud: audience, exp, permissions: ['temporal-system:admin'] });
        const refused = await toFrontend({ ...cert(platformFiles('admintools')), token: forged }, 'DescribeNamespace',
          describeNamespace('default'));
        expect([PERMISSION_DENIED, UNAUTHENTICATED]).toContain(refused.code);
      }), MINUTE);
  });

  describe('JWT identities (the real OpenID Connect provider)', () => {
    test('a `permissions` claim grants as it says; a group is granted by a policy rule; a token without either gets nothing', () =>
      withLogs(async () => {
        const { oidc } = context().idp;
        const [alice, bob, eve] = await Promise.all(['alice', 'bob', 'eve'].map((a) => oidc.token(a)));
        expect(await viaProxy({ token: alice }, 'StartWorkflowExecution', startRequest('default'))).toMatchObject({ code: OK });
        expect(await viaProxy({ token: alice }, 'StartWorkflowExecution', startRequest(NAMESPACE_B)))
          .toEqual(noRole(NAMESPACE_B, 'StartWorkflowExecution'));
        expect(await viaProxy({ token: bob }, 'StartWorkflowExecution', startRequest(NAMESPACE_B))).toMatchObject({ code: OK });
        expect(await viaProxy({ token: bob }, 'StartWorkflowExecution', startRequest('default')))
          .toEqual(noRole('default', 'StartWorkflowExecution'));
        expect(await viaProxy({ token: eve }, 'DescribeNamespace', describeNamespace('default')))
          .toEqual(noRole('default', 'DescribeNamespace'));
        const line = await auditLine((a) => a.api === 'StartWorkflowExecution' && a.namespace === NAMESPACE_B && a.decision === 'allow');
        expect(line).toMatchObject({ identity: `jwt:${oidc.issuer}#bob`, auth: 'jwt', rules: ['team-b'] });
      }), MINUTE);

    test('the SDK with a bearer token and no client certificate works through the proxy', () => withLogs(async () => {
      const token = await context().idp.oidc.token('alice');
      const connections = await connectWorkload(workloadTls(undefined, { clientCertPair: undefined }), { token });
      try {
        const described = await connections.client.workflowService.describeNamespace({ namespace: 'default' });
        expect(described.namespaceInfo?.name).toBe('default');
      } finally {
        await connections.close();
      }
    }), MINUTE);

    test('every forged, stale or misdirected token is UNAUTHENTICATED, with the reason', () => withLogs(async () => {
      const { idp } = context();
      const now = Math.floor(Date.now() / 1000);
      const good = { sub: 'alice', iss: idp.oidc.issuer, aud: IDP_AUDIENCE, exp: now + 600, permissions: ['default:write'] };
      const { privateKey: stranger } = await generateKeyPair('ES256');
      // The classic confusion attack: HMAC keyed with the provider's public key (which anyone can fetch).
      const publicPem = createPublicKey(idp.privateKey as KeyObject).export({ type: 'spki', format: 'pem' }).toString();
      const hmacKey = new TextEncoder().encode(publicPem);
      const cases: [string, string, string][] = [
        ['expired', await signed(idp.privateKey, idp.kid, { ...good, exp: now - 600, iat: now - 1200 }), 'the token is expired'],
        ['not yet valid', await signed(idp.privateKey, idp.kid, { ...good, nbf: now + 600 }), 'the token\'s nbf claim is not acceptable'],
        ['forged signature (another key, the provider\'s kid)', await signed(stranger, idp.kid, good),
          'the token\'s signature does not verify'],
        ['alg none', unsignedToken(idp.kid, good), 'the token\'s algorithm is not accepted'],
        ['HS256 keyed with the provider\'s public key', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: idp.kid })
          .sign(hmacKey), 'the token\'s algorithm is not accepted'],
        ['wrong audience', await signed(idp.privateKey, idp.kid, { ...good, aud: 'another-api' }), 'the token\'s aud claim is not acceptable'],
        ['wrong issuer', await signed(idp.privateKey, idp.kid, { ...good, iss: 'https://idp.invalid' }),
          'the token\'s iss claim is not acceptable'],
        ['unknown kid', await signed(stranger, 'no-such-key', good), 'no key of the identity provider matches the token'],
      ];
      const outcomes: Record<string, CallOutcome> = {};
      for (const [what, token] of cases) {
        outcomes[what] = await viaProxy({ token }, 'DescribeNamespace', describeNamespace('default'));
      }
      expect(outcomes).toEqual(Object.fromEntries(cases.map(([what, , details]) => [what, { code: UNAUTHENTICATED, details }])));
      // The provider's own token passes (the same claims, its key): the refusals are about the attack, not the setup.
      expect(await viaProxy({ token: await signed(idp.privateKey, idp.kid, good) }, 'DescribeNamespace', describeNamespace('default')))
        .toMatchObject({ code: OK });
    }), MINUTE);
  });

  describe('the policy', () => {
    test('is reloaded when its ConfigMap changes: a new grant takes effect without a restart, and its removal too', () =>
      withLogs(async () => {
        const c = context();
        const policyMap = c.manifests.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-authorizer-proxy-policy'));
        const data = policyMap?.data as Record<string, string>;
        const original = data['policy.json'];
        const pid = proxy().running.child.pid;
        const reader = cert(workloadFiles(READER));
        expect(await viaProxy(reader, 'DescribeNamespace', describeNamespace(NAMESPACE_B))).toEqual(noRole(NAMESPACE_B, 'DescribeNamespace'));
        const policy = JSON.parse(original) as { rules: object[] };
        policy.rules.push({ name: 'reader-on-b', certificate: { uri: 'spiffe://cluster.local/ns/workers/temporal-client/e2e-reader' },
          grants: { [NAMESPACE_B]: 'read' } });
        try {
          data['policy.json'] = JSON.stringify(policy);
          proxy().pod.syncVolumes(currentSecrets());
          await waitUntil('the new grant', async () =>
            (await viaProxy(reader, 'DescribeNamespace', describeNamespace(NAMESPACE_B))).code === OK, { timeoutMs: 30_000, intervalMs: 1000 });
        } finally {
          data['policy.json'] = original;
          proxy().pod.syncVolumes(currentSecrets());
        }
        await waitUntil('the grant to be gone', async () =>
          (await viaProxy(reader, 'DescribeNamespace', describeNamespace(NAMESPACE_B))).code === PERMISSION_DENIED,
        { timeoutMs: 30_000, intervalMs: 1000 });
        expect(proxy().running.child.pid).toBe(pid);
        expect(tail(proxy().running.logFile, 400)).toMatch(/"msg":"policy reloaded"/);
      }), 2 * MINUTE);
  });

  describe('the signing key', () => {
    /** The proxy's JWKS, fetched as the frontend does (HTTPS, the frontend CA, the proxy's name). */
    function jwksKids(): Promise<string[]> {
      return new Promise((resolve, reject) => {
        const req = httpsGet({ host: '127.0.0.1', port: proxy().jwksPort, path: '/.well-known/jwks.json', ca: readFileSync(proxyTrust().caFile),
          servername: proxyTrust().serverName, allowPartialTrustChain: true } as RequestOptions, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve((JSON.parse(body) as { keys: { kid: string }[] }).keys.map((k) => k.kid)));
        });
        req.on('error', reject);
      });
    }
    const signingKid = async (): Promise<string> =>
      ((await (await fetch(`http://127.0.0.1:${proxy().metricsPort}/healthz`)).json()) as { kid: string }).kid;

    test('rotates with no denied call: the new key is published at once and signs after the publish delay', () => withLogs(async () => {
      const c = context();
      const [before] = await jwksKids();
      expect(await signingKid()).toBe(before);
      const secret = podSpec(proxyDeployment()).volumes?.find((v) => v.name === 'signing-key')?.secret?.secretName ?? '';
      // cert-manager re-keys it (renewal, or `cmctl renew`); the kubelet updates the proxy's volume.
      await c.certificates.renew(c.namespace, secret);
      syncSecretVolumes();
      const rotatedAt = Date.now();
      let published: string[] = [];
      await waitUntil('the new key to be published next to the old one', async () => {
        published = await jwksKids();
        return published.length === 2;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      const after = published.find((kid) => kid !== before) as string;
      expect(published).toEqual(expect.arrayContaining([before, after]));
      expect(await signingKid()).toBe(before);
      // Calls keep working all along: before the switch (old key), and after it (the frontend has fetched the new one).
      const outcomes: number[] = [];
      while (Date.now() - rotatedAt < (KEY_PUBLISH_DELAY_SECONDS + 20) * 1000) {
        outcomes.push((await viaProxy(cert(workloadFiles()), 'DescribeNamespace', describeNamespace('default'))).code);
        await sleep(2000);
      }
      expect(await signingKid()).toBe(after);
      expect(outcomes.filter((code) => code !== OK)).toEqual([]);
      expect(await viaProxy(cert(workloadFiles()), 'StartWorkflowExecution', startRequest('default'))).toMatchObject({ code: OK });
      expect(tail(proxy().running.logFile, 400)).toMatch(/"msg":"signing key rotated"/);
    }), 5 * MINUTE);
  });

  describe('the system worker (through the internal-frontend)', () => {
    test('a schedule fires: the scheduler workflow runs on the system worker, which the server authorizes', () => withLogs(async () => {
      const connections = await connectWorkload();
      try {
        const schedules = client(connections.client, 'default').schedule;
        const handle = await schedules.create({
          scheduleId: `authz-schedule-${randomUUID()}`,
          spec: { intervals: [{ every: '2s' }] },
          action: { type: 'startWorkflow', workflowType: greet, taskQueue: 'authz-schedule', args: ['schedule'] },
        });
        try {
          await waitUntil('the schedule to start a workflow', async () => (await handle.describe()).info.recentActions.length > 0,
            { timeoutMs: 90_000, intervalMs: 2000 });
        } finally {
          await handle.delete();
        }
      } finally {
        await connections.close();
      }
    }), 3 * MINUTE);
  });

  describe('faults', () => {
    test('the frontend is killed and restarted mid-run: clients recover through the same proxy, with no proxy restart', () =>
      withLogs(async () => {
        const starter = await connectWorkload();
        const runner = await connectWorkload(workloadTls(workloadFiles(TASK_WORKER)));
        const proxyPid = proxy().running.child.pid;
        try {
          const { worker, taskQueue } = await createWorker(runner.native, 'default');
          await worker.runUntil(async () => {
            const workflows = client(starter.client, 'default').workflow;
            const handle = await workflows.start(greetWhenReleased, {
              taskQueue, workflowId: `restart-${taskQueue}`, args: ['restart'], workflowExecutionTimeout: '5 minutes',
            });
            const frontend = server('frontend');
            frontend.running.child.kill('SIGKILL');
            await frontend.running.exited;
            const deployment = serverDeployments().get('frontend');
            if (deployment === undefined) {
              throw new Error('no frontend Deployment');
            }
            await startServer('frontend', deployment);
            await waitUntil('the frontend to answer through the proxy again', async () =>
              (await viaProxy(cert(workloadFiles()), 'DescribeNamespace', describeNamespace('default'))).code === OK,
            { timeoutMs: 2 * MINUTE, intervalMs: 2000 });
            await handle.signal(release);
            expect(await handle.result()).toBe('Hello again, restart!');
          });
        } finally {
          await runner.close();
          await starter.close();
        }
        expect(proxy().running.child.pid).toBe(proxyPid);
      }), 5 * MINUTE);

    test('1,000 concurrent long polls are held and released with no leak (descriptors, memory, in-flight calls)', () =>
      withLogs(async () => {
        const creds = cert(workloadFiles(TASK_WORKER));
        const clients: GrpcClient[] = Array.from({ length: 10 }, () => grpcClient({ address: clientAddress(), ...proxyTrust() }, creds));
        const poll = (i: number) => encode('PollWorkflowTaskQueueRequest', {
          namespace: 'default', taskQueue: { name: `authz-longpoll-${i % 50}`, kind: 1 }, identity: `longpoll-${i}`,
        });
        try {
          // Warm up (connections, code paths), then measure.
          await Promise.all(clients.map((c, i) => grpcCall(c, creds, 'PollWorkflowTaskQueue', poll(i), 2_000)));
          await sleep(1000);
          const before = proxyResources();
          const calls = Array.from({ length: 1000 }, (_, i) => grpcCall(clients[i % clients.length], creds, 'PollWorkflowTaskQueue', poll(i),
            20_000));
          await waitUntil('1,000 polls in flight at the proxy', async () =>
            (await proxyMetric('authorizer_proxy_calls_in_flight')) >= 1000, { timeoutMs: 30_000, intervalMs: 500 });
          const during = proxyResources();
          const outcomes = await Promise.all(calls);
          const codes = [...new Set(outcomes.map((o) => o.code))];
          // An empty poll ends OK (the server answers before the deadline) or DEADLINE_EXCEEDED, never denied.
          expect(codes.every((code) => code === OK || code === 4)).toBe(true);
          await waitUntil('no call in flight', async () => (await proxyMetric('authorizer_proxy_calls_in_flight')) === 0,
            { timeoutMs: 30_000, intervalMs: 500 });
          await sleep(2000);
          const after = proxyResources();
          process.stderr.write(`[e2e] 1,000 long polls: proxy fds ${before.fds} -> ${during.fds} -> ${after.fds}, ` +
            `RSS ${Math.round(before.rssKiB / 1024)} -> ${Math.round(during.rssKiB / 1024)} -> ${Math.round(after.rssKiB / 1024)} MiB\n`);
          expect(after.fds).toBeLessThanOrEqual(before.fds + 5);
          expect(after.rssKiB - before.rssKiB).toBeLessThan(96 * 1024);
        } finally {
          clients.forEach((c) => c.close());
        }
      }), 3 * MINUTE);

    test('a fuzz run of random bytes and malformed HTTP/2 frames never crashes it', () => withLogs(async () => {
      const port = proxy().grpcPort;
      const seedRandom = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
        const head = Buffer.alloc(9);
        head.writeUIntBE(payload.length, 0, 3);
        head.writeUInt8(type, 3);
        head.writeUInt8(flags, 4);
        head.writeUInt32BE(stream, 5);
        return Buffer.concat([head, payload]);
      };
      const send = (bytes: Buffer, tls: boolean): Promise<void> => new Promise((resolve) => {
        const socket = tls
          ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => socket.end(bytes))
          : tcpConnect({ port, host: '127.0.0.1' }, () => socket.end(bytes));
        socket.setTimeout(3000, () => socket.destroy());
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
      const inputs: [Buffer, boolean][] = [];
      for (let i = 0; i < 100; i++) {
        inputs.push([seedRandom(1 + Math.floor(Math.random() * 2048)), false]);
        inputs.push([seedRandom(1 + Math.floor(Math.random() * 2048)), true]);
        // A valid preface, then frames of random types, flags, streams and payloads (headers with random HPACK bytes ...).
        const frames = Array.from({ length: 1 + (i % 8) }, () => frame(Math.floor(Math.random() * 12), Math.floor(Math.random() * 256),
          Math.floor(Math.random() * 8), seedRandom(Math.floor(Math.random() * 300))));
        inputs.push([Buffer.concat([preface, frame(4, 0, 0, Buffer.alloc(0)), ...frames]), true]);
      }
      for (let i = 0; i < inputs.length; i += 20) {
        await Promise.all(inputs.slice(i, i + 20).map(([bytes, tls]) => send(bytes, tls)));
      }
      // Well-formed gRPC with random message bytes, to every kind of API.
      const creds = cert(workloadFiles());
      const client = grpcClient({ address: clientAddress(), ...proxyTrust() }, creds);
      try {
        const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => grpcCall(client, creds,
          ['StartWorkflowExecution', 'DescribeNamespace', 'OperatorService/ListClusters', 'PollWorkflowTaskQueue'][i % 4],
          seedRandom(Math.floor(Math.random() * 64)), 5_000)));
        // Malformed messages are refused (INVALID_ARGUMENT) or answered by the frontend; never an internal error of the proxy.
        expect(outcomes.filter((o) => o.details === 'the proxy could not serve the call')).toEqual([]);
        expect(outcomes.some((o) => o.code === 3)).toBe(true);
      } finally {
        client.close();
      }
      expect(proxy().running.exit).toBeUndefined();
      expect((await fetch(`http://127.0.0.1:${proxy().metricsPort}/healthz`)).status).toBe(200);
      expect(await viaProxy(creds, 'DescribeNamespace', describeNamespace('default'))).toMatchObject({ code: OK });
    }), 3 * MINUTE);
  });
}
