/**
 * API keys and the proxy's narrowing on the running cluster (docs/SECURITY.md "API keys"): the SDK's own `apiKey`
 * option through the proxy to the real frontend, refusals with their reasons, rotation without a restart; requests that
 * name a namespace by id; and GetClusterInfo as the real server fills it. Registered inside the cluster's describe
 * block of cluster.e2e.test.ts, after the cluster is up.
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { API_KEYS_FILE, createApiKey } from '../../lib/authorizer/api-keys';
import { CallCredentials, CallOutcome, encode, grpcCall } from './grpc-call';
import {
  API_KEY_OWNER, API_KEYS_SECRET, clientAddress, context, MINUTE, NAMESPACE_B, platformFiles, proxy, READER, syncSecretVolumes,
  tierApiKeys, withLogs, workloadFiles,
} from './harness';
import { waitUntil } from './net';
import { tail } from './processes';
import { client, connectWorkload, createWorker, proxyTrust, workloadTls } from './workload';
import { greet } from './workflows/greeting';

const OK = 0;
const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;

const viaProxy = (creds: CallCredentials, method: string, request: Buffer): Promise<CallOutcome> =>
  grpcCall({ address: clientAddress(), ...proxyTrust() }, creds, method, request);
const describeNamespace = (fields: object): Buffer => encode('DescribeNamespaceRequest', fields);
const start = (namespace: string): Buffer => encode('StartWorkflowExecutionRequest', {
  namespace, workflowId: `api-key-${randomUUID()}`, workflowType: { name: 'greet' }, taskQueue: { name: 'api-key-no-worker' },
  requestId: randomUUID(), input: { payloads: [] }, identity: 'e2e',
});

export function registerApiKeyTests(): void {
  describe('API keys', () => {
    test('the SDK\'s apiKey option runs a worker and a workflow through the proxy with the key\'s rules: write on default, nothing on B', () =>
      withLogs(async () => {
        // No certificate: the worker (the SDK's apiKey option on its native connection) and the client act as the key.
        const keyed = await connectWorkload(workloadTls(undefined, { clientCertPair: undefined }), { apiKey: tierApiKeys().valid });
        try {
          const { worker, taskQueue } = await createWorker(keyed.native, 'default');
          const result = await worker.runUntil(client(keyed.client, 'default').workflow.execute(greet, {
            taskQueue, workflowId: `api-key-greet-${taskQueue}`, args: ['API key'], workflowExecutionTimeout: '2 minutes',
          }));
          expect(result).toBe('Hello, API key!');
          await expect(keyed.client.workflowService.describeNamespace({ namespace: NAMESPACE_B }))
            .rejects.toMatchObject({ code: PERMISSION_DENIED, details: `no role on ${NAMESPACE_B} permits DescribeNamespace` });
        } finally {
          await keyed.close();
        }
        // The audit line names the key by its id; the key itself is in no log line.
        // (Audit lines are written off the call's path: wait for the line rather than read once.)
        await waitUntil('the API key\'s audit line', async () =>
          /"identity":"apikey:e2e-ci-1","auth":"apikey"/.test(tail(proxy().running.logFile, 400)), { timeoutMs: 10_000, intervalMs: 100 });
        const log = tail(proxy().running.logFile, 400);
        expect(log).toMatch(/"identity":"apikey:e2e-ci-1","auth":"apikey"/);
        expect(log).not.toContain(tierApiKeys().valid.slice(4));
      }), 3 * MINUTE);

    test('an expired key and a disabled key are UNAUTHENTICATED with their reasons; a forged one without any', () => withLogs(async () => {
      const forged = `stk_e2e-ci-1_${'A'.repeat(43)}`;
      const outcomes = {
        expired: await viaProxy({ token: tierApiKeys().expired }, 'StartWorkflowExecution', start('default')),
        disabled: await viaProxy({ token: tierApiKeys().disabled }, 'StartWorkflowExecution', start('default')),
        forged: await viaProxy({ token: forged }, 'StartWorkflowExecution', start('default')),
      };
      expect(outcomes.expired.code).toBe(UNAUTHENTICATED);
      expect(outcomes.expired.details).toMatch(/^the API key e2e-ci-old expired at \d{4}-\d{2}-\d{2}T/);
      expect(outcomes.disabled).toEqual({ code: UNAUTHENTICATED, details: 'the API key e2e-ci-off is disabled' });
      expect(outcomes.forged).toEqual({ code: UNAUTHENTICATED, details: 'the API key is not valid' });
    }), MINUTE);

    test('a key is rotated without a restart: the new one works once the Secret changes, and the old one is refused', () =>
      withLogs(async () => {
        const c = context();
        const secret = c.userSecrets[API_KEYS_SECRET];
        const original = secret[API_KEYS_FILE];
        const pid = proxy().running.child.pid;
        const next = createApiKey('e2e-ci-2', API_KEY_OWNER, new Date(Date.now() + 30 * 86_400_000));
        const records = JSON.parse(original) as { keys: { id: string }[] };
        try {
          // Rotation: the new key is added and the old one removed in one update of the Secret.
          secret[API_KEYS_FILE] = JSON.stringify({ keys: [...records.keys.filter((k) => k.id !== 'e2e-ci-1'), next.record] });
          syncSecretVolumes();
          await waitUntil('the new key to be accepted', async () =>
            (await viaProxy({ token: next.key }, 'StartWorkflowExecution', start('default'))).code === OK, { timeoutMs: 40_000, intervalMs: 1000 });
          expect(await viaProxy({ token: tierApiKeys().valid }, 'StartWorkflowExecution', start('default')))
            .toEqual({ code: UNAUTHENTICATED, details: 'the API key is not valid' });
          expect(proxy().running.child.pid).toBe(pid);
          expect(tail(proxy().running.logFile, 400)).toMatch(/"msg":"API keys reloaded"/);
        } finally {
          secret[API_KEYS_FILE] = original;
          syncSecretVolumes();
        }
        await waitUntil('the original keys back', async () =>
          (await viaProxy({ token: tierApiKeys().valid }, 'StartWorkflowExecution', start('default'))).code === OK,
        { timeoutMs: 40_000, intervalMs: 1000 });
      }), 2 * MINUTE);
  });

  describe('what the proxy narrows', () => {
    const reader = (): CallCredentials => ({ certFile: workloadFiles(READER).cert, keyFile: workloadFiles(READER).key });
    const admin = (): CallCredentials => ({ certFile: platformFiles('admintools').cert, keyFile: platformFiles('admintools').key });

    test('a namespace named by id is refused before the frontend, alone or next to a name the caller may read', () => withLogs(async () => {
      // B's id, as an administrator sees it.
      const described = await viaProxy(admin(), 'DescribeNamespace', describeNamespace({ namespace: NAMESPACE_B }));
      expect(described.code).toBe(OK);
      const idOfB = temporal.api.workflowservice.v1.DescribeNamespaceResponse.decode(described.response as Buffer).namespaceInfo?.id;
      expect(idOfB).toMatch(/^[0-9a-f-]{36}$/);
      const refused = 'DescribeNamespace through the proxy names its namespace by name only: leave the namespace id empty';
      expect(await viaProxy(reader(), 'DescribeNamespace', describeNamespace({ id: idOfB })))
        .toEqual({ code: INVALID_ARGUMENT, details: refused });
      expect(await viaProxy(reader(), 'DescribeNamespace', describeNamespace({ namespace: 'default', id: idOfB })))
        .toEqual({ code: INVALID_ARGUMENT, details: refused });
      // An administrator is held to names too; by name, the same call works.
      expect(await viaProxy(admin(), 'DescribeNamespace', describeNamespace({ id: idOfB })))
        .toEqual({ code: INVALID_ARGUMENT, details: refused });
      expect((await viaProxy(reader(), 'DescribeNamespace', describeNamespace({ namespace: 'default' }))).code).toBe(OK);
    }), MINUTE);

    test('GetClusterInfo shows a caller without a temporal-system role the versions and the cluster\'s name only', () => withLogs(async () => {
      const { GetClusterInfoResponse } = temporal.api.workflowservice.v1;
      const info = async (creds: CallCredentials) => {
        const outcome = await viaProxy(creds, 'GetClusterInfo', encode('GetClusterInfoRequest', {}));
        expect(outcome.code).toBe(OK);
        const decoded = GetClusterInfoResponse.decode(outcome.response as Buffer);
        return GetClusterInfoResponse.toObject(decoded, { longs: Number, defaults: false });
      };
      const whole = await info(admin());
      // What the real server fills (versionInfo only when its version check has run): the cluster's id, shard count,
      // stores and failover settings among them.
      const hidden = ['clusterId', 'failoverVersionIncrement', 'historyShardCount', 'initialFailoverVersion', 'persistenceStore',
        'visibilityStore'];
      expect(Object.keys(whole)).toEqual(expect.arrayContaining([...hidden, 'clusterName', 'serverVersion', 'supportedClients']));
      const narrowed = await info(reader());
      expect(Object.keys(narrowed).sort()).toEqual(['clusterName', 'serverVersion', 'supportedClients', 'versionInfo']
        .filter((k) => k in whole).sort());
      expect(narrowed.serverVersion).toBe(whole.serverVersion);
      expect(narrowed.clusterName).toBe(whole.clusterName);
    }), MINUTE);
  });
}
