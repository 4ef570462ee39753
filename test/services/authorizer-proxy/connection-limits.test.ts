/**
 * The proxy's connection limits in time, with short settings: a connection idle for connectionIdleSeconds is closed,
 * one carrying a call is not (its idle time starts when the last call ends), and every connection is closed at
 * connectionMaxAgeSeconds however busy (its calls in flight cut after connectionMaxAgeGraceSeconds), and the open
 * connections are counted as they come and go.
 */
import { ClientHttp2Session, connect } from 'node:http2';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { proxy, request, standInFrontend, WORKFLOW } from './harness';
import { testPki, TestPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };

let pki: TestPki;
let frontend: Awaited<ReturnType<typeof standInFrontend>>;
let running: RunningProxy;

beforeAll(async () => {
  pki = await testPki();
  frontend = await standInFrontend(pki, { pollMs: 2_500 });
  ({ proxy: running } = await proxy(pki, frontend.port, POLICY, undefined, undefined,
    { limits: { connectionIdleSeconds: 1, connectionMaxAgeSeconds: 10 } as never }));
});

afterAll(async () => {
  await running?.close();
  await frontend?.stop();
});

/** A connection of a worker, and when (ms after it opened) the proxy closed it. */
function open(): { session: ClientHttp2Session; closedAfter: Promise<number> } {
  const opened = Date.now();
  const session = connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
    servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
  session.on('error', () => undefined);
  const closedAfter = new Promise<number>((resolve) => session.once('goaway', () => resolve(Date.now() - opened)));
  return { session, closedAfter };
}

function unary(session: ClientHttp2Session, method: string, body: Buffer): Promise<string | undefined> {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': WORKFLOW(method), 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    stream.on('response', (h) => {
      status = h['grpc-status'] as string | undefined;
    });
    stream.on('trailers', (t) => {
      status = t['grpc-status'] as string | undefined;
    });
    stream.on('close', () => resolve(status));
    stream.on('error', reject);
    stream.resume();
    stream.end(Buffer.concat([prefix, body]));
  });
}

const start = () => request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w' });
const poll = () => request('PollWorkflowTaskQueueRequest', { namespace: 'orders' });

describe('connection limits in time', () => {
  jest.setTimeout(60_000);

  it('does close a connection idle for connectionIdleSeconds after its last call', async () => {
    const { session, closedAfter } = open();
    expect(await unary(session, 'StartWorkflowExecution', start())).toBe('0');
    const after = await closedAfter;
    expect(after).toBeGreaterThanOrEqual(900);
    // Well before the connection's age (10 s) would close it.
    expect(after).toBeLessThan(8_000);
    session.destroy();
  });

  it('does not close a connection while a call is in flight, and starts its idle time when the call ends', async () => {
    const { session, closedAfter } = open();
    const polled = unary(session, 'PollWorkflowTaskQueue', poll());
    expect(await polled).toBe('0');
    const ended = Date.now();
    const after = await closedAfter;
    // The poll took 2.5 s, longer than the idle time: the connection was kept, and closed about 1 s after it ended.
    expect(after).toBeGreaterThanOrEqual(2_500 + 900);
    expect(after).toBeLessThan(9_500);
    expect(Date.now() - ended).toBeLessThan(9_500);
    session.destroy();
  });

  it('does close a busy connection at connectionMaxAgeSeconds', async () => {
    const { session, closedAfter } = open();
    let closed = false;
    void closedAfter.then(() => {
      closed = true;
    });
    while (!closed) {
      await unary(session, 'StartWorkflowExecution', start()).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
    }
    const after = await closedAfter;
    expect(after).toBeGreaterThanOrEqual(9_900);
    expect(after).toBeLessThan(30_000);
    session.destroy();
  });

  it('does not start a connection\'s idle time when one of its calls ends while another goes on', async () => {
    const { session, closedAfter } = open();
    const polled = unary(session, 'PollWorkflowTaskQueue', poll());
    expect(await unary(session, 'StartWorkflowExecution', start())).toBe('0');
    expect(await polled).toBe('0');
    // Not 1 s after the short call ended: 1 s after the poll (2.5 s) ended.
    expect(await closedAfter).toBeGreaterThanOrEqual(2_500 + 900);
    session.destroy();
  });

  it('does cut the calls still in flight connectionMaxAgeGraceSeconds after the connection reached its age', async () => {
    const { proxy: aging } = await proxy(pki, frontend.port, POLICY, undefined, undefined,
      { limits: { connectionMaxAgeSeconds: 1, connectionMaxAgeGraceSeconds: 1 } as never });
    const session = connect(`https://127.0.0.1:${aging.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
    session.on('error', () => undefined);
    try {
      // The poll takes 2.5 s: past the age (1 s) and its grace (1 s more).
      const went = Date.now();
      const polled = await unary(session, 'PollWorkflowTaskQueue', poll()).catch((e: NodeJS.ErrnoException) => `failed: ${e.code ?? ''}`);
      expect(polled).not.toBe('0');
      expect(session.destroyed || session.closed).toBe(true);
      // Not before the grace ran out (the connection opened after `went`; a timer never fires early).
      expect(Date.now() - went).toBeGreaterThanOrEqual(1_950);
    } finally {
      session.destroy();
      await aging.close();
    }
  });

  it('does count the connections open, and each one closed', async () => {
    const count = async () => Number(/ (\d+)$/.exec(await running.metrics.registry.getSingleMetricAsString('authorizer_proxy_connections'))?.[1]);
    const settled = async (n: number) => {
      while ((await count()) !== n) {
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await settled(0);
    const both = [open(), open()];
    await Promise.all(both.map(({ session }) => unary(session, 'StartWorkflowExecution', start())));
    expect(await count()).toBe(2);
    both[0].session.destroy();
    await settled(1);
    both[1].session.destroy();
    await settled(0);
  });
});
