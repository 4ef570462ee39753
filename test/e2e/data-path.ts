/**
 * The proxy's data path against the real frontend: a long poll, a server stream and a cancelled call behave through
 * the proxy exactly as they do straight to the frontend. Each scenario runs on both paths in the same test; the
 * direct path carries what the proxy itself would send (its platform certificate and a token it signed with the
 * same permissions), so the only difference is the proxy. Registered inside the cluster's describe block of
 * cluster.e2e.test.ts, after the namespace Job has registered `default`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@grpc/grpc-js';
import { CallCredentials, decode, encode, grpcCall, grpcClient, startServerStream, startUnary } from './grpc-call';
import {
  asTheProxy, clientAddress, frontendAddress, MINUTE, platformFiles, SINGLE_PARTITION_QUEUES, TASK_WORKER, withLogs, workloadFiles,
} from './harness';
import { sleep } from './net';
import { frontendTrust, proxyTrust } from './workload';

const OK = 0;
const CANCELLED = 1;
const UNKNOWN = 2;
const HEALTH_WATCH = '/grpc.health.v1.Health/Watch';

interface PollResponse {
  taskToken?: Uint8Array;
  attempt?: number;
  workflowExecution?: { workflowId?: string };
}

interface HistoryResponse {
  history?: { events?: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: Uint8Array }[] } } }[] };
}

/** A caller on one path: a client of its own and the credentials it presents. */
interface Path {
  readonly name: 'through the proxy' | 'straight to the frontend';
  readonly client: Client;
  readonly creds: CallCredentials;
}

const cert = (files: { cert: string; key: string }): CallCredentials => ({ certFile: files.cert, keyFile: files.key });

const pollRequest = (taskQueue: string): Buffer => encode('PollWorkflowTaskQueueRequest', {
  namespace: 'default', taskQueue: { name: taskQueue, kind: 1 }, identity: 'e2e-data-path',
});

/** A workflow started on `taskQueue` whose first task times out only after a minute (a task lost to a poller stays lost). */
const startRequest = (taskQueue: string, workflowId: string): Buffer => encode('StartWorkflowExecutionRequest', {
  namespace: 'default', workflowId, workflowType: { name: 'greet' }, taskQueue: { name: taskQueue, kind: 1 }, requestId: randomUUID(),
  input: { payloads: [] }, identity: 'e2e-data-path', workflowTaskTimeout: { seconds: 60 },
});

const poll = (path: Path, taskQueue: string, deadlineMs: number) =>
  startUnary(path.client, path.creds, 'PollWorkflowTaskQueue', pollRequest(taskQueue), deadlineMs);

/** What a poll got: its status, and for a task, the workflow and the attempt. */
async function pollOutcome(call: ReturnType<typeof poll>): Promise<{ code: number; task?: { workflowId?: string; attempt?: number };
  elapsedMs: number; }> {
  const outcome = await call.outcome;
  const response = outcome.response ? decode<PollResponse>('PollWorkflowTaskQueueResponse', outcome.response) : undefined;
  const task = response?.taskToken?.length ? { workflowId: response.workflowExecution?.workflowId, attempt: response.attempt } : undefined;
  return { code: outcome.code, ...(task ? { task } : {}), elapsedMs: outcome.elapsedMs };
}

export function registerDataPathTests(): void {
  describe('the data path: long polls, streams and cancellation behave as straight to the frontend', () => {
    let workers: Path[] = [];
    let writers: Path[] = [];
    let watchers: Path[] = [];
    let starter: Client;

    beforeAll(async () => {
      const proxyTarget = { address: clientAddress(), ...proxyTrust() };
      const frontendTarget = { address: frontendAddress(), ...frontendTrust() };
      const path = (name: Path['name'], creds: CallCredentials): Path =>
        ({ name, creds, client: grpcClient(name === 'through the proxy' ? proxyTarget : frontendTarget, creds) });
      // A `worker` identity polls (the proxy grants it as `write` on the server); the admin tools' (temporal-system
      // admin) watch the server's health.
      workers = [path('through the proxy', cert(workloadFiles(TASK_WORKER))),
        path('straight to the frontend', await asTheProxy(['default:write'], 'e2e-data-path-worker'))];
      writers = [path('through the proxy', cert(workloadFiles())),
        path('straight to the frontend', await asTheProxy(['default:write'], 'e2e-data-path-writer'))];
      watchers = [path('through the proxy', cert(platformFiles('admintools'))),
        path('straight to the frontend', await asTheProxy(['temporal-system:admin'], 'e2e-data-path-admin'))];
      starter = grpcClient(proxyTarget, cert(workloadFiles()));
    });

    afterAll(() => {
      [...workers, ...writers, ...watchers].forEach((p) => p.client.close());
      starter?.close();
    });

    const start = async (taskQueue: string, workflowId: string): Promise<void> => {
      expect(await grpcCall(starter, cert(workloadFiles()), 'StartWorkflowExecution', startRequest(taskQueue, workflowId)))
        .toMatchObject({ code: OK });
    };

    test('a long poll on an empty task queue is held by the server and answered empty before the caller\'s deadline', () =>
      withLogs(async () => {
        // Above the server's own floor for a long poll's deadline (it warns below 6 s), and a second's margin for a shared machine.
        const deadlineMs = 10_000;
        const outcomes = await Promise.all(workers.map((p) => pollOutcome(poll(p, `e2e-empty-${randomUUID()}`, deadlineMs))));
        for (const [i, outcome] of outcomes.entries()) {
          // The server answers OK with no task a moment before the deadline the caller gave (which the proxy passed on,
          // less the time it took): not at once (the poll was held), and not DEADLINE_EXCEEDED.
          expect({ path: workers[i].name, code: outcome.code, task: outcome.task })
            .toEqual({ path: workers[i].name, code: OK, task: undefined });
          expect(outcome.elapsedMs).toBeGreaterThan(deadlineMs / 2);
        }
      }), MINUTE);

    test('a long poll waiting when a workflow starts is answered with the workflow\'s first task', () => withLogs(async () => {
      for (const path of workers) {
        const taskQueue = `e2e-wake-${randomUUID()}`;
        const waiting = poll(path, taskQueue, 30_000);
        // The poll reaches matching before the workflow starts (a task that finds no poller would be stored and
        // handed out all the same: this only makes the wake-up the likely way).
        await sleep(1000);
        const workflowId = `data-path-wake-${randomUUID()}`;
        await start(taskQueue, workflowId);
        expect({ path: path.name, ...(await pollOutcome(waiting)), elapsedMs: undefined })
          .toEqual({ path: path.name, code: OK, task: { workflowId, attempt: 1 }, elapsedMs: undefined });
      }
    }), MINUTE);

    test('a cancelled long poll is cancelled at the frontend too: the next task goes to the next poll, not to the cancelled one', () =>
      withLogs(async () => {
        for (const [i, path] of workers.entries()) {
          // One partition: the cancelled poll, were it still waiting at the frontend, would be where the task lands.
          const taskQueue = SINGLE_PARTITION_QUEUES[i];
          const cancelled = poll(path, taskQueue, 60_000);
          await sleep(1000);
          cancelled.cancel();
          expect({ path: path.name, code: (await cancelled.outcome).code }).toEqual({ path: path.name, code: CANCELLED });
          // Were the poll still waiting at the frontend, matching would hand it this workflow's task, and the next
          // poll would get nothing until the task times out (a minute): it gets the first attempt at once.
          await sleep(500);
          const workflowId = `data-path-cancel-${randomUUID()}`;
          await start(taskQueue, workflowId);
          const next = await pollOutcome(poll(path, taskQueue, 20_000));
          expect({ path: path.name, code: next.code, task: next.task })
            .toEqual({ path: path.name, code: OK, task: { workflowId, attempt: 1 } });
        }
      }), 2 * MINUTE);

    test('a large request and a large answer (1.5 MiB, many flow-control windows) cross the proxy byte for byte', () =>
      withLogs(async () => {
        const data = randomBytes(1536 * 1024);
        const workflowId = `data-path-large-${randomUUID()}`;
        const request = encode('StartWorkflowExecutionRequest', {
          namespace: 'default', workflowId, workflowType: { name: 'greet' }, taskQueue: { name: `e2e-large-${randomUUID()}`, kind: 1 },
          requestId: randomUUID(), input: { payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data }] }, identity: 'e2e-data-path',
        });
        expect(await grpcCall(writers[0].client, writers[0].creds, 'StartWorkflowExecution', request, 30_000)).toMatchObject({ code: OK });
        const history = encode('GetWorkflowExecutionHistoryRequest', { namespace: 'default', execution: { workflowId } });
        const answers = await Promise.all(writers.map((p) => grpcCall(p.client, p.creds, 'GetWorkflowExecutionHistory', history, 30_000)));
        expect(answers.map((a) => a.code)).toEqual([OK, OK]);
        const [viaProxy, direct] = answers.map((a) => a.response as Buffer);
        expect(viaProxy.length).toBeGreaterThan(data.length);
        expect(viaProxy.equals(direct)).toBe(true);
        const events = decode<HistoryResponse>('GetWorkflowExecutionHistoryResponse', viaProxy).history?.events ?? [];
        const sent = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
        expect(Buffer.from(sent ?? []).equals(data)).toBe(true);
      }), MINUTE);

    test('Health/Watch, the server stream the proxy serves, gets the frontend\'s own answer through the proxy, as straight', () =>
      withLogs(async () => {
        // Server v1.31's authorizer knows no scope for it and refuses it to every caller, whatever its claims; the proxy
        // (which allows it as a cluster read) passes that answer on as it came: the same status, details and messages.
        const outcomes = await Promise.all(watchers.map(async (p) => {
          const stream = startServerStream(p.client, p.creds, HEALTH_WATCH, Buffer.alloc(0), 10_000);
          const outcome = await stream.outcome;
          return { code: outcome.code, details: outcome.details, messages: stream.messages.length };
        }));
        // As server v1.31.2 answers a stream its authorizer refuses: UNKNOWN (its stream interceptor's error carries no
        // gRPC status), `Request unauthorized.`
        expect(outcomes).toEqual([{ code: UNKNOWN, details: 'Request unauthorized.', messages: 0 },
          { code: UNKNOWN, details: 'Request unauthorized.', messages: 0 }]);
      }), MINUTE);
  });
}
