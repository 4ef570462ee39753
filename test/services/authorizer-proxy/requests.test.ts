/**
 * What the proxy answers to HTTP/2 requests that are not gRPC calls it serves, before any authentication: the wrong
 * method (405), another content type (415), a method Temporal does not have (gRPC UNIMPLEMENTED, named); who may
 * connect without a certificate; and a deadline the proxy keeps itself when the frontend does not.
 */
import { connect, ClientHttp2Session, createSecureServer, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AddressInfo } from 'node:net';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { WORKFLOW_SERVICE } from '../../../lib/authorizer/api';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { proxy, standInFrontend } from './harness';
import { testPki, TestPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };

let pki: TestPki;
let frontend: Awaited<ReturnType<typeof standInFrontend>>;
let running: RunningProxy;
let session: ClientHttp2Session;

beforeAll(async () => {
  pki = await testPki();
  frontend = await standInFrontend(pki);
  running = (await proxy(pki, frontend.port, POLICY)).proxy;
  session = connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert,
    key: pki.worker.key, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
});

afterAll(async () => {
  session?.destroy();
  await running?.close();
  await frontend?.stop();
});

/** One request: the response headers, merged with the trailers, and whether the answer ended at its headers. */
function request(headers: Record<string, string>, body?: Buffer): Promise<{ headers: IncomingHttpHeaders; headersOnly: boolean }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let answer: IncomingHttpHeaders = {};
    let headersOnly = false;
    stream.on('response', (h, flags) => {
      answer = h;
      // END_STREAM (flag 0x1) on the HEADERS frame: nothing follows.
      headersOnly = (flags & 0x1) === 0x1;
    });
    stream.on('trailers', (t) => {
      answer = { ...answer, ...t };
    });
    stream.on('error', reject);
    stream.resume();
    stream.on('end', () => resolve({ headers: answer, headersOnly }));
    stream.end(body);
  });
}

const GRPC = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };
const frame = Buffer.from([0, 0, 0, 0, 0]);

describe('requests that are not calls the proxy serves', () => {
  it('does answer another method 405 and another content type 415, with no body', async () => {
    const path = `/${WORKFLOW_SERVICE}/DescribeNamespace`;
    for (const [headers, status] of [
      [{ ...GRPC, ':method': 'PUT', ':path': path }, 405],
      [{ ...GRPC, ':path': path, 'content-type': 'application/grpc+json' }, 415],
      [{ ':method': 'POST', ':path': path, 'content-type': 'text/plain' }, 415],
    ] as const) {
      const answer = await request(headers, frame);
      expect([headers[':method'], headers['content-type'], answer.headers[':status'], answer.headersOnly])
        .toEqual([headers[':method'], headers['content-type'], status, true]);
    }
  });

  it('does take application/grpc+proto and a content type with parameters as gRPC', async () => {
    for (const type of ['application/grpc+proto', 'application/grpc; charset=binary', 'application/grpc ;charset=binary']) {
      const answer = await request({ ...GRPC, 'content-type': type, ':path': `/${WORKFLOW_SERVICE}/NoSuchMethod` }, frame);
      expect([type, answer.headers[':status'], answer.headers['grpc-status']]).toEqual([type, 200, '12']);
    }
  });

  it('does answer a method Temporal does not have UNIMPLEMENTED, naming it (cut at 200 characters)', async () => {
    const long = `/${WORKFLOW_SERVICE}/${'N'.repeat(300)}`;
    const answer = await request({ ...GRPC, ':path': long }, frame);
    expect(answer.headers['grpc-status']).toBe('12');
    expect(decodeURIComponent(String(answer.headers['grpc-message']))).toBe(`The server does not implement the method ${long.slice(0, 200)}`);
    expect(frontend.received).toEqual([]);
  });
});

describe('a connection without a client certificate', () => {
  /** One call over a new connection that presents no certificate: its grpc-status, or how the connection failed. */
  async function withoutCertificate(port: number): Promise<string> {
    const bare = connect(`https://127.0.0.1:${port}`, { ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
    bare.on('error', () => undefined);
    try {
      return await new Promise<string>((resolve) => {
        const stream = bare.request({ ...GRPC, ':path': `/${WORKFLOW_SERVICE}/DescribeNamespace`, authorization: 'Bearer stk_nobody_x' });
        stream.on('response', (h) => {
          if (h['grpc-status'] !== undefined) {
            resolve(`grpc-status ${String(h['grpc-status'])}`);
          }
        });
        stream.on('trailers', (t) => resolve(`grpc-status ${String(t['grpc-status'])}`));
        stream.on('error', (e: NodeJS.ErrnoException) => resolve(`failed ${e.code ?? e.message}`));
        stream.on('close', () => resolve('closed'));
        stream.resume();
        stream.end(frame);
      });
    } finally {
      bare.destroy();
    }
  }

  it('does not get a call through when only certificates authenticate: TLS refuses it', async () => {
    expect(await withoutCertificate(running.grpcPort)).not.toMatch(/^grpc-status/);
  });

  it('does get its call answered when API keys may authenticate too (here: refused, the key is unknown)', async () => {
    const withKeys = (await proxy(pki, frontend.port, POLICY, undefined, undefined,
      { apiKeysFile: pki.file('api-keys.json', JSON.stringify({ keys: [] })) })).proxy;
    try {
      expect(await withoutCertificate(withKeys.grpcPort)).toBe('grpc-status 16');
    } finally {
      await withKeys.close();
    }
  });
});

describe('a frontend that does not keep the caller\'s deadline', () => {
  it('does end the call at the deadline itself, DEADLINE_EXCEEDED, and reset the frontend\'s stream', async () => {
    // A frontend that takes the call and never answers, whatever grpc-timeout says.
    const held: ServerHttp2Stream[] = [];
    const silent = createSecureServer({ cert: pki.frontendServer.cert + pki.frontendCa.cert, key: pki.frontendServer.key, ca: pki.root.cert,
      requestCert: true, rejectUnauthorized: true });
    silent.on('stream', (stream) => {
      held.push(stream);
      stream.on('error', () => undefined);
      stream.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const slow = (await proxy(pki, (silent.address() as AddressInfo).port, POLICY)).proxy;
    const client = connect(`https://127.0.0.1:${slow.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert,
      key: pki.worker.key, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
    try {
      const started = Date.now();
      const outcome = await new Promise<string>((resolve, reject) => {
        const stream = client.request({ ...GRPC, ':path': `/${WORKFLOW_SERVICE}/PollWorkflowTaskQueue`, 'grpc-timeout': '300m' });
        let answer: IncomingHttpHeaders = {};
        stream.on('response', (h) => {
          answer = h;
        });
        stream.on('trailers', (t) => {
          answer = { ...answer, ...t };
        });
        stream.on('error', reject);
        // Far past the deadline: the proxy did not keep it.
        stream.setTimeout(5_000, () => resolve('no answer within 5 s'));
        stream.resume();
        stream.on('end', () => resolve(`${String(answer['grpc-status'])} ${decodeURIComponent(String(answer['grpc-message']))}`));
        // PollWorkflowTaskQueueRequest { namespace: "orders" }
        const message = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from('orders')]);
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(message.length, 1);
        stream.end(Buffer.concat([prefix, message]));
      });
      const took = Date.now() - started;
      expect(outcome).toBe('4 Deadline exceeded');
      expect(took).toBeGreaterThanOrEqual(250);
      await new Promise((r) => setTimeout(r, 100));
      expect(held).toHaveLength(1);
      expect(held[0].closed).toBe(true);
    } finally {
      client.destroy();
      await slow.close();
      silent.close();
    }
  });
});
