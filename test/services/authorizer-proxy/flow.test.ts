/**
 * A call's flow through the proxy when one side does not keep up or goes away: back-pressure both ways (the proxy holds
 * no more of a slow side's bytes than the HTTP/2 windows), a caller who cancels before and after the decision, a
 * frontend whose connection breaks, an answer past the size the proxy narrows, a malformed request and a fault of the
 * proxy's own, each with the status the caller gets and the audit line it leaves.
 */
import { createServer, Server as HttpServer, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ClientHttp2Session, ClientHttp2Stream, connect, constants, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { Upstream } from '../../../services/authorizer-proxy/upstream';
import { call, clientOf, collectedLog, framed, holdingFrontend, identityProvider, ok, proxy, rawFrontend, request, WORKFLOW } from './harness';
import { issue, TestPki, testPki } from './test-pki';

const POLICY: AuthorizerPolicy = { rules: [
  { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
] };
const MiB = 1024 * 1024;
const WORKER_ID = 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker';

let pki: TestPki;
let answering: Awaited<ReturnType<typeof rawFrontend>>;
let holding: Awaited<ReturnType<typeof holdingFrontend>>;
let toAnswering: RunningProxy;
let toHolding: RunningProxy;
const log = collectedLog();
let fault = false;
const sessions: ClientHttp2Session[] = [];
let idp: Awaited<ReturnType<typeof identityProvider>>;
let jwks: HttpServer;
const keyRequests: ServerResponse[] = [];

beforeAll(async () => {
  pki = await testPki();
  answering = await rawFrontend(pki);
  holding = await holdingFrontend(pki);
  const clock = () => {
    if (fault) {
      throw new Error('a fault inside the proxy, with a detail that must stay in its log');
    }
    return Date.now();
  };
  toAnswering = (await proxy(pki, answering.port, POLICY, undefined, log.destination, { clock })).proxy;
  idp = await identityProvider();
  // An identity provider that answers for its keys only when the test lets it.
  jwks = createServer((_req, res) => keyRequests.push(res));
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  // Without a log level: the proxy's default (info) applies.
  toHolding = (await proxy(pki, holding.port, POLICY, `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`, log.destination,
    { logLevel: undefined })).proxy;
});

afterAll(async () => {
  sessions.forEach((s) => s.destroy());
  await toAnswering?.close();
  await toHolding?.close();
  await new Promise<void>((resolve) => answering.server.close(() => resolve()));
  await holding?.stop();
  await idp?.stop();
  jwks?.closeAllConnections();
  jwks?.close();
});

afterEach(() => {
  fault = false;
  answering.answer.next = ok;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const start = () => framed(request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w-1' }));

/** A call to `proxy` as the orders worker, on a connection of its own (HTTP/2's default windows unless `window` is given). */
function open(proxy: RunningProxy, path = WORKFLOW('StartWorkflowExecution'), window?: number): ClientHttp2Stream {
  const session = connect(`https://127.0.0.1:${proxy.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert,
    key: pki.worker.key, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local',
    ...(window === undefined ? {} : { settings: { initialWindowSize: window } }) });
  session.on('error', () => undefined);
  sessions.push(session);
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  return stream;
}

/** A call to the holding frontend, once the frontend holds it: the caller's stream and the frontend's. */
async function heldCall(): Promise<{ call: ClientHttp2Stream; upstream: ServerHttp2Stream }> {
  const call = open(toHolding);
  const before = holding.held.length;
  call.end(start());
  await until(() => holding.held.length > before);
  return { call, upstream: holding.held[before] };
}

/** The call's grpc-status and decoded grpc-message (from its headers or trailers), and the bytes of its answer. */
function outcome(stream: ClientHttp2Stream): Promise<{ status: string; message: string; body: Buffer }> {
  return new Promise((resolve) => {
    let answer: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      answer = h;
    });
    stream.on('trailers', (t) => {
      answer = { ...answer, ...t };
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => resolve({ status: String(answer['grpc-status']), message: decodeURIComponent(String(answer['grpc-message'] ?? '')),
      body: Buffer.concat(chunks) }));
  });
}

/** The audit line of the last call `what` says it is, after the proxy had time to write it. */
async function lastAudit(what: (a: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  await sleep(150);
  return log.audit.filter(what).at(-1);
}

async function until(what: () => boolean): Promise<void> {
  while (!what()) {
    await sleep(20);
  }
}

describe('back-pressure', () => {
  it('does hold no more of an answer than the windows while the caller does not read, and deliver all of it once it does', async () => {
    const size = 24 * MiB;
    let flushed = false;
    answering.answer.next = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed(Buffer.alloc(size, 7)), () => {
        flushed = true;
      });
    };
    const call = open(toAnswering);
    call.pause();
    const seen = answering.seen.length;
    call.end(start());
    await until(() => answering.seen.length > seen);
    await sleep(1_000);
    // The proxy stopped reading the frontend's answer: the frontend could not hand over most of it.
    expect(flushed).toBe(false);
    const result = outcome(call);
    call.resume();
    const { status: code, body } = await result;
    expect([code, body.length, flushed]).toEqual(['0', size + 5, true]);
    expect(body.subarray(5).every((b) => b === 7)).toBe(true);
  });

  it('does hold no more of a request than the windows while the frontend does not read it, and pass all of it once it does', async () => {
    const call = open(toHolding);
    const before = holding.held.length;
    let written = false;
    const first = start();
    call.write(first);
    call.write(Buffer.alloc(24 * MiB, 1), () => {
      written = true;
    });
    await until(() => holding.held.length > before);
    await sleep(1_000);
    expect(written).toBe(false);
    // The frontend reads: the proxy takes the caller's bytes again as the frontend's window opens.
    let received = 0;
    holding.held[before].on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    await until(() => received === first.length + 24 * MiB);
    expect(written).toBe(true);
    call.close(constants.NGHTTP2_CANCEL);
  });
});

describe('the bytes a call holds', () => {
  const buffered = async (p: RunningProxy) => Number(/ (\d+)$/.exec(await p.metrics.registry.getSingleMetricAsString('authorizer_proxy_buffered_request_bytes'))?.[1]);

  it.each([['as it came', false], ['compressed, forwarded in the clear', true]])(
    'does release a message once it is handed to the frontend (%s), not when the call ends', async (_what, compressed) => {
      const message = request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w'.repeat(1000) });
      const session = connect(`https://127.0.0.1:${toHolding.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert,
        key: pki.worker.key, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
      session.on('error', () => undefined);
      sessions.push(session);
      const call = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
        te: 'trailers', ...(compressed ? { 'grpc-encoding': 'gzip' } : {}) });
      call.on('error', () => undefined);
      const before = holding.held.length;
      call.end(compressed ? framed(gzipSync(message), true) : framed(message));
      await until(() => holding.held.length > before);
      await sleep(100);
      // The frontend holds the call open: its bytes are the connection's now, not the proxy's budget's.
      expect(await buffered(toHolding)).toBe(0);
      call.close(constants.NGHTTP2_CANCEL);
    });
});

describe('an identity provider that fails', () => {
  it('does refuse its tokens UNAUTHENTICATED, count each failed fetch of its keys and log it', async () => {
    const failing = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const out = collectedLog();
    const { proxy: p } = await proxy(pki, holding.port, POLICY, `http://127.0.0.1:${(failing.address() as AddressInfo).port}/jwks`, out.destination);
    try {
      const session = connect(`https://127.0.0.1:${p.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
      session.on('error', () => undefined);
      sessions.push(session);
      const call = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
        te: 'trailers', authorization: `Bearer ${await idp.sign({ sub: 'alice' })}` });
      call.on('error', () => undefined);
      const result = outcome(call);
      call.end(start());
      expect((await result).status).toBe(String(status.UNAUTHENTICATED));
      expect(await p.metrics.registry.getSingleMetricAsString('authorizer_proxy_identity_provider_key_fetch_failures_total'))
        .toMatch(/^authorizer_proxy_identity_provider_key_fetch_failures_total 1$/m);
      await sleep(100);
      expect(out.lines.filter((l) => l.msg === 'the identity provider\'s keys were not fetched; the last keys fetched stay in use'))
        .toEqual([expect.objectContaining({ level: 'warn', err: expect.any(String) })]);
    } finally {
      await p.close();
      failing.close();
    }
  });
});

describe('the health port', () => {
  it('does say not ready, and why, while its signing key is not yet published long enough; and nothing at other paths', async () => {
    // A P-256 key whose certificate was made just now: published for less than the hour it must be.
    const key = await issue({ commonName: 'signing key' }, undefined, { notBefore: new Date() });
    const { proxy: young } = await proxy(pki, holding.port, POLICY, undefined, undefined, { signer: { keyFile: pki.file('young.key', key.key),
      certFile: pki.file('young.crt', key.cert), issuer: 'temporal-authorizer-proxy', audience: 'temporal-frontend', ttlSeconds: 300,
      publishDelaySeconds: 3600 } });
    try {
      const ready = await fetch(`http://127.0.0.1:${young.httpPort}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([503, { status: 'signing key not yet published long enough', kid: young.signer.kid }]);
      expect((await fetch(`http://127.0.0.1:${young.httpPort}/other`)).status).toBe(404);
      const jwksStatus = (path: string, method = 'GET') => new Promise<number>((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port: young.jwksPort, path, method, ca: pki.frontendCa.cert + pki.root.cert,
          servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      expect(await Promise.all([jwksStatus('/.well-known/jwks.json'), jwksStatus('/other'), jwksStatus('/.well-known/jwks.json', 'POST')]))
        .toEqual([200, 404, 404]);
    } finally {
      await young.close();
    }
  });
});

describe('a caller that goes away', () => {
  it('does end a call whose caller\'s connection breaks inside its message, CANCELLED, audited so, and forward nothing', async () => {
    const call = open(toAnswering);
    const seen = answering.seen.length;
    // A message's prefix and part of it: the proxy is still reading it when the connection goes.
    call.write(start().subarray(0, 8));
    await sleep(200);
    call.session?.destroy();
    expect(await lastAudit((a) => a.status === 'CANCELLED')).toMatchObject({ identity: WORKER_ID, auth: 'mtls',
      api: 'StartWorkflowExecution', decision: 'deny', reason: 'cancelled by the caller' });
    expect(answering.seen.length).toBe(seen);
  });

  it('does end a call cancelled while its token is verified, CANCELLED, audited so, and forward nothing', async () => {
    const token = await idp.sign({ sub: 'alice' });
    const session = connect(`https://127.0.0.1:${toHolding.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
    session.on('error', () => undefined);
    sessions.push(session);
    const before = holding.held.length;
    const asked = keyRequests.length;
    const call = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
      te: 'trailers', authorization: `Bearer ${token}` });
    call.on('error', () => undefined);
    call.end(start());
    // The identity provider has been asked for its keys and does not answer yet.
    await until(() => keyRequests.length > asked);
    call.close(constants.NGHTTP2_CANCEL);
    expect(await lastAudit((a) => a.status === 'CANCELLED')).toMatchObject({ identity: 'unknown', api: 'StartWorkflowExecution',
      decision: 'deny', reason: 'cancelled by the caller' });
    keyRequests.splice(0).forEach((res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [idp.jwk] })));
    await sleep(200);
    expect(holding.held.length).toBe(before);
  });

  it('does cancel upstream a call cancelled at the frontend, and keep the decision in its audit line', async () => {
    const { call, upstream } = await heldCall();
    call.close(constants.NGHTTP2_CANCEL);
    expect(await lastAudit((a) => a.status === 'CANCELLED')).toMatchObject({ identity: WORKER_ID, decision: 'allow',
      reason: 'role on orders permits StartWorkflowExecution' });
    expect([upstream.closed, upstream.rstCode]).toEqual([true, constants.NGHTTP2_CANCEL]);
  });
});

describe('a caller that resets its call with an error', () => {
  it('does cancel it upstream, and go on serving', async () => {
    const { call, upstream } = await heldCall();
    call.close(constants.NGHTTP2_INTERNAL_ERROR);
    await until(() => upstream.closed);
    expect(upstream.rstCode).toBe(constants.NGHTTP2_CANCEL);
    const next = open(toAnswering);
    const result = outcome(next);
    next.end(start());
    expect((await result).status).toBe('0');
  });
});

describe('a frontend that goes away', () => {
  it('does answer UNAVAILABLE, naming the failure, when the frontend\'s connection breaks during a call', async () => {
    const call = open(toHolding);
    const before = holding.held.length;
    const result = outcome(call);
    call.end(start());
    await until(() => holding.held.length > before);
    holding.held[before].session?.destroy();
    expect(await result).toMatchObject({ status: String(status.UNAVAILABLE), message: 'the connection to the frontend was lost during the call' });
  });
});

describe('a frontend that cannot be reached', () => {
  it('does answer UNAVAILABLE, naming why, and go on serving', async () => {
    // A port that was just free: nothing listens on it.
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const { proxy: nowhere } = await proxy(pki, port, POLICY);
    try {
      for (let i = 0; i < 2; i += 1) {
        const call = open(nowhere);
        const result = outcome(call);
        call.end(start());
        expect(await result).toMatchObject({ status: String(status.UNAVAILABLE), message: 'the frontend could not be reached: ECONNREFUSED' });
      }
    } finally {
      await nowhere.close();
    }
  });

  it('does answer UNAVAILABLE, naming why, when no stream can be opened to the frontend, and go on serving', async () => {
    // Node refuses a stream on a session it has destroyed (a guard: the proxy opens a new session for a closed one).
    const refused = Object.assign(new Error('The session has been destroyed'), { code: 'ERR_HTTP2_INVALID_SESSION' });
    const spy = jest.spyOn(Upstream.prototype, 'session').mockImplementationOnce(() => {
      throw refused;
    });
    try {
      const call = open(toAnswering);
      const result = outcome(call);
      call.end(start());
      expect(await result).toMatchObject({ status: String(status.UNAVAILABLE),
        message: 'the frontend could not be reached: The session has been destroyed' });
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    const next = open(toAnswering);
    const result = outcome(next);
    next.end(start());
    expect((await result).status).toBe('0');
  });
});

describe('a frontend that never completes the TLS handshake', () => {
  // Takes the connection and never answers (a frontend whose process hangs: the kernel still accepts).
  const accepted: Socket[] = [];
  let silent: ReturnType<typeof createTcpServer>;
  beforeAll(async () => {
    silent = createTcpServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    accepted.forEach((s) => s.destroy());
    silent.close();
  });
  const toSilent = (certFile: string, more: { drainMs?: number; connectTimeoutMs?: number }) => proxy(pki, 0, POLICY, undefined, undefined,
    { upstream: { address: `127.0.0.1:${(silent.address() as AddressInfo).port}`, serverName: 'temporal-frontend.temporal.svc.cluster.local',
      caFiles: [pki.file('frontend-ca.crt', pki.frontendCa.cert)], certFile, keyFile: pki.file('client.key', pki.proxyClient.key), ...more } });

  it('does answer the calls waiting on it UNAVAILABLE after the connect timeout, and try a new connection for the next call', async () => {
    const { proxy: waiting } = await toSilent(pki.file('client.crt', pki.proxyClient.cert + pki.platformCa.cert), { connectTimeoutMs: 300 });
    try {
      for (let i = 0; i < 2; i += 1) {
        const before = accepted.length;
        const call = open(waiting);
        const result = outcome(call);
        call.end(start());
        expect(await result).toMatchObject({ status: String(status.UNAVAILABLE), message: 'the frontend could not be reached: ETIMEDOUT' });
        expect(accepted.length).toBe(before + 1);
      }
    } finally {
      await waiting.close();
    }
  });

  it('does answer the calls waiting on that connection UNAVAILABLE once a renewed client certificate retires it', async () => {
    const certFile = pki.file('client-renewed.crt', pki.proxyClient.cert + pki.platformCa.cert);
    const { proxy: waiting } = await toSilent(certFile, { drainMs: 200 });
    try {
      const before = accepted.length;
      const call = open(waiting);
      const result = outcome(call);
      call.end(start());
      await until(() => accepted.length > before);
      await sleep(200);
      writeFileSync(certFile, `${pki.proxyClient.cert}${pki.platformCa.cert}\n`);
      await waiting.reload();
      expect(await result).toMatchObject({ status: String(status.UNAVAILABLE),
        message: 'the frontend could not be reached: ERR_HTTP2_STREAM_CANCEL' });
    } finally {
      await waiting.close();
    }
  });
});

describe('an answer the proxy narrows', () => {
  /** A ListNamespacesResponse of exactly `bytes` bytes as a frame (no namespaces, a page token filling it). */
  const listOf = (bytes: number) => {
    const token = Buffer.alloc(bytes - 5 - 5, 1);
    const message = Buffer.from(temporal.api.workflowservice.v1.ListNamespacesResponse.encode({ nextPageToken: token }).finish());
    expect(message.length + 5).toBe(bytes);
    return framed(message);
  };
  const answer = (body: Buffer) => (stream: Parameters<typeof answering.answer.next>[0]) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(body);
  };

  it('does narrow an answer of 16 MiB, and refuse one byte more, INTERNAL, the frontend\'s call cancelled', async () => {
    const exact = listOf(16 * MiB);
    answering.answer.next = answer(exact);
    const call = open(toAnswering, WORKFLOW('ListNamespaces'), 32 * MiB);
    const ok = outcome(call);
    call.end(framed(Buffer.alloc(0)));
    const whole = await ok;
    expect([whole.status, whole.body.length]).toEqual(['0', exact.length]);
    expect(whole.body.equals(exact)).toBe(true);

    answering.answer.next = answer(listOf(16 * MiB + 1));
    const over = open(toAnswering, WORKFLOW('ListNamespaces'), 32 * MiB);
    const refused = outcome(over);
    over.end(framed(Buffer.alloc(0)));
    expect(await refused).toMatchObject({ status: String(status.INTERNAL), message: 'the frontend\'s answer is larger than the proxy narrows' });
  });
});

describe('requests the proxy cannot serve', () => {
  it('does answer a malformed request INVALID_ARGUMENT and audit it as a malformed request', async () => {
    const call = open(toAnswering);
    const result = outcome(call);
    // Field 1 (the namespace) declares five bytes and carries one.
    call.end(framed(Buffer.from([0x0a, 0x05, 0x01])));
    expect(await result).toMatchObject({ status: String(status.INVALID_ARGUMENT), message: 'the request message is malformed' });
    expect(await lastAudit((a) => a.status === 'INVALID_ARGUMENT')).toMatchObject({ identity: WORKER_ID, decision: 'deny',
      reason: 'malformed request' });
  });

  it('does answer a fault of its own INTERNAL with no detail, and log the detail', async () => {
    const call = open(toAnswering);
    const result = outcome(call);
    fault = true;
    call.end(start());
    expect(await result).toMatchObject({ status: String(status.INTERNAL), message: 'the proxy could not serve the call' });
    fault = false;
    expect(await lastAudit((a) => a.status === 'INTERNAL')).toMatchObject({ identity: 'unknown', decision: 'deny', reason: 'internal error' });
    expect(log.lines.filter((l) => l.msg === 'internal error').at(-1)).toMatchObject({ level: 'error',
      err: 'a fault inside the proxy, with a detail that must stay in its log', api: 'StartWorkflowExecution' });
  });
});

describe('a client that breaks HTTP/2\'s rules', () => {
  it('does lose that connection only, and go on serving', async () => {
    // The proxy's answer: frames until a GOAWAY (type 7) and its error code.
    const goaway = await new Promise<number>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: toAnswering.grpcPort, ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert,
        key: pki.worker.key, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', ALPNProtocols: ['h2'] }, () => {
        // The preface, then a DATA frame on stream 0: a connection error.
        socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
        socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
        socket.write(Buffer.from([0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
      });
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        for (let at = 0; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) {
          if (received[at + 3] === 7 && at + 17 <= received.length) {
            resolve(received.readUInt32BE(at + 13));
            socket.destroy();
          }
        }
      });
      socket.on('error', () => undefined);
    });
    expect(goaway).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    const call = open(toAnswering);
    const result = outcome(call);
    call.end(start());
    expect((await result).status).toBe('0');
  });
});

describe('starting the proxy', () => {
  it('does log at info when no level is set, naming its ports and the frontend', () => {
    expect(log.lines.find((l) => l.msg === 'authorizer proxy listening' && l.grpcPort === toHolding.grpcPort)).toMatchObject({
      component: 'authorizer-proxy', level: 'info', httpPort: toHolding.httpPort, jwksPort: toHolding.jwksPort,
      upstream: `127.0.0.1:${holding.port}`, requireCertificate: false });
  });

  it('does serve with client CAs alone (no platform or chain CAs given), and refuse a platform component\'s certificate', async () => {
    // The workload CA is self-signed: TLS needs no chain above it.
    const { proxy: workloadsOnly } = await proxy(pki, answering.port, POLICY, undefined, undefined, { listen: { host: '127.0.0.1', port: 0,
      certFile: pki.file('proxy.crt', pki.proxyServer.cert + pki.frontendCa.cert), keyFile: pki.file('proxy.key', pki.proxyServer.key),
      clientCaFiles: [pki.file('workload-ca.crt', pki.workloadCa.cert)] } });
    try {
      const body = request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'w-1' });
      expect(await call(clientOf(pki, workloadsOnly.grpcPort, pki.worker), WORKFLOW('StartWorkflowExecution'), body))
        .toMatchObject({ code: status.OK });
      // No CA of the proxy issued it: TLS refuses the connection, so the call never starts.
      expect(await call(clientOf(pki, workloadsOnly.grpcPort, pki.web, pki.platformCa.cert), WORKFLOW('StartWorkflowExecution'), body))
        .toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      await workloadsOnly.close();
    }
  });

  it('does fail to start, naming why, on a port that is taken', async () => {
    await expect(proxy(pki, answering.port, POLICY, undefined, undefined, { listen: { host: '127.0.0.1', port: toAnswering.grpcPort,
      certFile: pki.file('proxy.crt', pki.proxyServer.cert + pki.frontendCa.cert), keyFile: pki.file('proxy.key', pki.proxyServer.key),
      clientCaFiles: [pki.file('workload-ca.crt', pki.workloadCa.cert)] } })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('closing the proxy', () => {
  it('does end the calls still open within 5 s, and leave none of its ports listening', async () => {
    const { proxy: closing } = await proxy(pki, holding.port, POLICY);
    const call = open(closing);
    const before = holding.held.length;
    const result = outcome(call);
    call.end(start());
    await until(() => holding.held.length > before);
    await closing.close();
    // The call held by the frontend was cut (no status), the frontend's stream with it.
    expect((await result).status).toBe('undefined');
    const refused = (port: number) => fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', (e: Error & { cause?: { code?: string } }) =>
      e.cause?.code ?? e.message);
    expect(await Promise.all([closing.httpPort, closing.jwksPort, closing.grpcPort].map(refused)))
      .toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });
});
