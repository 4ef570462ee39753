/**
 * The proxy's data path against a raw HTTP/2 frontend that records every header and frame it gets and answers as told:
 * what is forwarded and what is not (deadline, trace context, credentials, content type, compression), how upstream
 * failures map to statuses, and the bounds on a call before and while it is read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { constants, connect as h2connect, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createSecureContext } from 'node:tls';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { createApiKey } from '../../../lib/authorizer/api-keys';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { Answer, call, clientOf, framed, identityProvider, ok, proxy, rawFrontend, request, WORKFLOW } from './harness';
import { TestPki, testPki } from './test-pki';

const POLICY: AuthorizerPolicy = {
  rules: [
    { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
    { name: 'nobody', apiKey: { owner: 'nobody-else' }, grants: { orders: 'read' } },
  ],
};

describe('the proxy\'s data path', () => {
  let pki: TestPki;
  let frontend: Awaited<ReturnType<typeof rawFrontend>>;
  let idp: Awaited<ReturnType<typeof identityProvider>>;
  let running: RunningProxy;
  const audit: Record<string, unknown>[] = [];
  const key = createApiKey('nobody-1', 'nobody', new Date(Date.now() + 86_400_000));

  beforeAll(async () => {
    pki = await testPki();
    frontend = await rawFrontend(pki);
    idp = await identityProvider();
    const log = new PassThrough();
    log.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l.includes('"audit"'))
      .forEach((l) => audit.push((JSON.parse(l) as { audit: Record<string, unknown> }).audit)));
    ({ proxy: running } = await proxy(pki, frontend.port, POLICY, idp.jwksUri, log, {
      apiKeysFile: pki.file('dp-api-keys.json', JSON.stringify({ keys: [key.record] })),
      limits: { maxMessageBytes: 1024 * 1024, maxBufferedBytes: 1024 * 1024, unauthenticatedMessageBytes: 4096,
        firstMessageSeconds: 1, unauthenticatedConnectionSeconds: 1 },
    }));
  });

  afterAll(async () => {
    await running?.close();
    await new Promise<void>((resolve) => frontend.server.close(() => resolve()));
    await idp?.stop();
  });

  afterEach(() => {
    frontend.answer.next = ok;
  });

  const worker = () => clientOf(pki, running.grpcPort, pki.worker);
  const start = (namespace: string) => request('StartWorkflowExecutionRequest', { namespace, workflowId: 'w-1' });
  const last = () => frontend.seen[frontend.seen.length - 1];

  /** A raw HTTP/2 call to the proxy: the answer's headers (or trailers-only status) and trailers. */
  function raw(headers: Record<string, string>, body: Buffer, cert = pki.worker): Promise<{ headers: IncomingHttpHeaders;
    trailers?: IncomingHttpHeaders }> {
    const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
      servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', ...(cert ? { cert: cert.cert, key: cert.key } : {}) });
    session.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers });
      let answer: IncomingHttpHeaders | undefined;
      stream.on('response', (h) => {
        answer = h;
      });
      stream.on('trailers', (t) => {
        resolve({ headers: answer as IncomingHttpHeaders, trailers: t });
        session.close();
      });
      stream.on('end', () => {
        if (answer?.['grpc-status'] !== undefined) {
          resolve({ headers: answer });
          session.close();
        }
      });
      stream.on('error', reject);
      stream.resume();
      stream.end(body);
    });
  }


  describe('what goes to the frontend', () => {
    it('does forward the caller\'s deadline with the time spent taken off, in a unit that keeps 8 digits', async () => {
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'), new Metadata(), 5_000)).code).toBe(0);
      const timeout = String(last().headers['grpc-timeout']);
      expect(timeout).toMatch(/^\d+m$/);
      expect(Number(timeout.slice(0, -1))).toBeLessThanOrEqual(5_000);
      expect(Number(timeout.slice(0, -1))).toBeGreaterThan(3_000);
      // 720 hours are more milliseconds than 8 digits hold: forwarded in seconds, and no local timer misfires.
      const month = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-timeout': '720H' }, framed(start('orders')));
      expect(month.trailers?.['grpc-status']).toBe('0');
      expect(last().headers['grpc-timeout']).toMatch(/^(2592000|25919\d\d)S$/);
    });

    it('does answer a malformed grpc-timeout INTERNAL, as the server would, and forward nothing', async () => {
      const before = frontend.seen.length;
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-timeout': 'soon' }, framed(start('orders')));
      expect(answer.headers['grpc-status']).toBe(String(status.INTERNAL));
      expect(decodeURIComponent(String(answer.headers['grpc-message']))).toBe('malformed grpc-timeout header: soon');
      expect(frontend.seen.length).toBe(before);
    });

    it('does drop the caller\'s credentials and reserved headers, keep its metadata and trace context, and pin the content type', async () => {
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc+proto',
        'authorization-extras': 'id-token', 'grpc-trace-bin': 'AAECAw', 'x-custom': 'kept', 'caller-type': 'operator' },
      framed(start('orders')));
      expect(answer.trailers?.['grpc-status']).toBe('0');
      const headers = last().headers;
      expect([headers['authorization-extras'], headers['caller-type'], headers['x-custom'], headers['grpc-trace-bin'],
        headers['content-type'], headers[':authority']])
        .toEqual([undefined, undefined, 'kept', 'AAECAw', 'application/grpc', 'temporal-frontend.temporal.svc.cluster.local']);
      expect(String(headers.authorization)).toMatch(/^Bearer ey/);
    });

    it('does pass the caller\'s grpc-accept-encoding on, except for an answer the proxy must read to narrow', async () => {
      await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-accept-encoding': 'gzip' }, framed(start('orders')));
      expect(last().headers['grpc-accept-encoding']).toBe('gzip');
      await raw({ ':path': WORKFLOW('ListNamespaces'), 'grpc-accept-encoding': 'gzip' }, framed(Buffer.alloc(0)));
      expect([last().headers[':path'], last().headers['grpc-accept-encoding']]).toEqual([WORKFLOW('ListNamespaces'), undefined]);
    });

    it('does decide on a namespace field present and empty as on any other name, not refuse it as malformed', async () => {
      // StartWorkflowExecutionRequest with field 1 (namespace) present and empty.
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution') }, framed(Buffer.from([0x0a, 0x00])));
      expect(answer.headers['grpc-status']).toBe(String(status.PERMISSION_DENIED));
    });

    it('does refuse a health check\'s message past the small limit, RESOURCE_EXHAUSTED, naming both sizes', async () => {
      const answer = await raw({ ':path': WORKFLOW('GetSystemInfo') }, framed(Buffer.alloc(5000)));
      expect([answer.headers['grpc-status'], decodeURIComponent(String(answer.headers['grpc-message']))])
        .toEqual([String(status.RESOURCE_EXHAUSTED), 'Received message larger than max (5000 vs. 4096)']);
    });

    it('does audit a call refused for its message with the refusal as the reason', async () => {
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution') }, framed(Buffer.alloc(2 * 1024 * 1024)));
      expect(answer.headers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
      await new Promise((r) => setTimeout(r, 100));
      expect(audit.filter((a) => a.status === 'RESOURCE_EXHAUSTED').at(-1)).toMatchObject({ identity: 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker', auth: 'mtls',
        api: 'StartWorkflowExecution', decision: 'deny', reason: `Received message larger than max (${2 * 1024 * 1024} vs. ${1024 * 1024})` });
    });

    it('does set no deadline upstream for a call that has none', async () => {
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution') }, framed(start('orders')));
      expect(answer.trailers?.['grpc-status']).toBe('0');
      expect(last().headers['grpc-timeout']).toBeUndefined();
    });

    it('does refuse a codec other than protobuf (the proxy reads the message as protobuf)', async () => {
      const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
      const httpStatus = await new Promise<number>((resolve) => {
        const stream = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc+json' });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.end();
      });
      session.destroy();
      expect(httpStatus).toBe(415);
    });

    it('does forward a health check without any credential, a bearer token included', async () => {
      const token = await idp.sign({ sub: 'alice' });
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      expect((await call(clientOf(pki, running.grpcPort), WORKFLOW('GetSystemInfo'), Buffer.alloc(0), md)).code).toBe(0);
      expect(last().headers.authorization).toBeUndefined();
    });

    it('does read the namespace of a compressed message in the clear, and forward it in the clear', async () => {
      // A grpc-js client that gzips every message it sends.
      const gzipClient = () => new Client(`127.0.0.1:${running.grpcPort}`, credentials.createFromSecureContext(createSecureContext({
        ca: pki.frontendCa.cert + pki.root.cert, cert: pki.worker.cert, key: pki.worker.key, allowPartialTrustChain: true })),
      { 'grpc.ssl_target_name_override': 'temporal-authorizer-proxy.temporal.svc.cluster.local',
        'grpc.default_authority': 'temporal-authorizer-proxy.temporal.svc.cluster.local', 'grpc.default_compression_algorithm': 2 });
      const body = start('orders');
      expect((await call(gzipClient(), WORKFLOW('StartWorkflowExecution'), body)).code).toBe(0);
      expect(last().body).toEqual(framed(body));
      expect(last().headers['grpc-encoding']).toBeUndefined();
      expect(await call(gzipClient(), WORKFLOW('StartWorkflowExecution'), start('billing')))
        .toMatchObject({ code: status.PERMISSION_DENIED, details: 'no role on billing permits StartWorkflowExecution' });
    });
  });

  describe('what the proxy decides on, and what its audit line says', () => {
    const settle = () => new Promise((r) => setTimeout(r, 100));

    it('does let an allowed call through, with the caller, the rules and the namespace in the audit line', async () => {
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'))).code).toBe(0);
      await settle();
      expect(audit[audit.length - 1]).toMatchObject({ identity: 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker', auth: 'mtls',
        api: 'StartWorkflowExecution', namespace: 'orders', decision: 'allow', rules: ['orders-workers'] });
    });

    it('does refuse a temporal-namespace header that names another namespace than the message, and ignore an empty one', async () => {
      const other = new Metadata();
      other.set('temporal-namespace', 'billing');
      expect(await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'), other)).toMatchObject({ code: status.PERMISSION_DENIED,
        details: 'the temporal-namespace header and the request name different namespaces' });
      await settle();
      expect(audit[audit.length - 1]).toMatchObject({ decision: 'deny', reason: 'namespace header and message disagree', namespace: 'orders' });
      const empty = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'temporal-namespace': '' }, framed(start('orders')));
      expect(empty.trailers?.['grpc-status']).toBe('0');
      const same = new Metadata();
      same.set('temporal-namespace', 'orders');
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'), same)).code).toBe(0);
    });

    it('does refuse a namespace named by id, and let an empty id through', async () => {
      const byId = await call(worker(), WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest', { namespace: 'orders', id: 'abc' }));
      expect(byId).toMatchObject({ code: status.INVALID_ARGUMENT,
        details: 'DescribeNamespace through the proxy names its namespace by name only: leave the namespace id empty' });
      await settle();
      expect(audit[audit.length - 1]).toMatchObject({ decision: 'deny', reason: 'namespace named by id' });
      expect((await call(worker(), WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest', { namespace: 'orders' }))).code).toBe(0);
    });

    it('does refuse a call that names no namespace as no role permits it, not as a bad name', async () => {
      const none = await call(worker(), WORKFLOW('StartWorkflowExecution'), start(''));
      expect(none.code).toBe(status.PERMISSION_DENIED);
    });

    it('does forward a health check\'s compressed message as it came, with its encoding', async () => {
      const body = framed(gzipSync(Buffer.alloc(0)), true);
      const answer = await raw({ ':path': WORKFLOW('GetSystemInfo'), 'grpc-encoding': 'gzip' }, body, undefined);
      expect(answer.trailers?.['grpc-status'] ?? answer.headers['grpc-status']).toBe('0');
      expect(last().headers['grpc-encoding']).toBe('gzip');
      expect(last().body.equals(body)).toBe(true);
    });

    it('does count a compressed message in the clear against the shared budget', async () => {
      // Under the message limit in the clear, but together with its compressed bytes past the 1 MiB budget.
      const message = request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'z'.repeat(1_047_900) });
      expect(message.length).toBeLessThanOrEqual(1024 * 1024);
      const compressed = gzipSync(message);
      expect(message.length + compressed.length + 5).toBeGreaterThan(1024 * 1024);
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-encoding': 'gzip' }, framed(compressed, true));
      expect(answer.headers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
      expect(decodeURIComponent(String(answer.headers['grpc-message'])))
        .toBe('the proxy is holding as many request bytes as it may: retry shortly');
    });

    it('does count calls by API, decision and status, and time them in seconds', async () => {
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'))).code).toBe(0);
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'))).code).toBe(status.PERMISSION_DENIED);
      await settle();
      const registry = running.metrics.registry;
      const text = await registry.metrics();
      expect(text).toMatch(/authorizer_proxy_calls_total\{api="StartWorkflowExecution",decision="allow",status="OK"\} [1-9]/);
      expect(text).toMatch(/authorizer_proxy_calls_total\{api="StartWorkflowExecution",decision="deny",status="PERMISSION_DENIED"\} [1-9]/);
      const sum = Number(/authorizer_proxy_call_duration_seconds_sum\{api="StartWorkflowExecution",decision="allow"\} ([0-9.e-]+)/
        .exec(text)?.[1]);
      const count = Number(/authorizer_proxy_call_duration_seconds_count\{api="StartWorkflowExecution",decision="allow"\} (\d+)/
        .exec(text)?.[1]);
      expect(count).toBeGreaterThan(0);
      expect(sum / count).toBeGreaterThan(0);
      expect(sum / count).toBeLessThan(10);
      expect(text).toMatch(/authorizer_proxy_buffered_request_bytes 0/);
      expect(text).toMatch(/authorizer_proxy_process_cpu_seconds_total/);
    });

    it('does write who was refused for want of credentials, and a health check as anonymous', async () => {
      const refused = await call(clientOf(pki, running.grpcPort), WORKFLOW('StartWorkflowExecution'), start('orders'));
      expect(refused).toMatchObject({ code: status.UNAUTHENTICATED, details: 'the call carries neither a valid client certificate nor a bearer token' });
      await settle();
      expect(audit[audit.length - 1]).toMatchObject({ identity: 'unknown', auth: 'none', api: 'StartWorkflowExecution', decision: 'deny',
        reason: 'the call carries neither a valid client certificate nor a bearer token' });
      expect((await call(clientOf(pki, running.grpcPort), WORKFLOW('GetSystemInfo'), Buffer.alloc(0))).code).toBe(0);
      await settle();
      expect(audit[audit.length - 1]).toMatchObject({ identity: 'anonymous', auth: 'none', api: 'GetSystemInfo', decision: 'allow',
        reason: 'health check' });
    });

    it('does narrow ListNamespaces to the namespaces the caller holds a role on, and only that answer', async () => {
      const { ListNamespacesResponse } = temporal.api.workflowservice.v1;
      // The raw frontend answers with the bytes it was sent: a list of three namespaces.
      const all = Buffer.from(ListNamespacesResponse.encode({ namespaces: ['orders', 'billing', 'audit'].map((name) => ({
        namespaceInfo: { name } })) as never, nextPageToken: Buffer.from('next') }).finish());
      const listed = await call(worker(), WORKFLOW('ListNamespaces'), all);
      expect(listed.code).toBe(0);
      const narrowed = ListNamespacesResponse.decode(listed.response as Buffer);
      expect(narrowed.namespaces.map((n) => n.namespaceInfo?.name)).toEqual(['orders']);
      expect(Buffer.from(narrowed.nextPageToken).toString()).toBe('next');
      // Any other answer goes back as it came.
      const body = start('orders');
      expect(((await call(worker(), WORKFLOW('StartWorkflowExecution'), body)).response as Buffer).equals(body)).toBe(true);
    });

    it('does forward what the caller sends after the first message, as it comes', async () => {
      const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
      const first = framed(start('orders'));
      const second = framed(Buffer.from('later'));
      const grpcStatus = await new Promise<string | undefined>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
          te: 'trailers' });
        stream.on('trailers', (t) => resolve(t['grpc-status'] as string));
        stream.on('error', reject);
        stream.resume();
        stream.write(first);
        setTimeout(() => stream.end(second), 200);
      });
      session.close();
      expect(grpcStatus).toBe('0');
      expect(last().body.equals(Buffer.concat([first, second]))).toBe(true);
    });

    it('does forward what follows the first message as it came', async () => {
      const body = Buffer.concat([framed(start('orders')), framed(Buffer.from('second'))]);
      await raw({ ':path': WORKFLOW('StartWorkflowExecution') }, body);
      expect(last().body.equals(body)).toBe(true);
    });
  });

  describe('upstream failures', () => {
    it.each([
      ['a reset with REFUSED_STREAM', (s: ServerHttp2Stream) => s.close(constants.NGHTTP2_REFUSED_STREAM), status.UNAVAILABLE,
        'the frontend refused the call (REFUSED_STREAM)'],
      ['a reset with CANCEL', (s: ServerHttp2Stream) => s.close(constants.NGHTTP2_CANCEL), status.CANCELLED, 'the frontend cancelled the call'],
      ['a reset with ENHANCE_YOUR_CALM', (s: ServerHttp2Stream) => s.close(constants.NGHTTP2_ENHANCE_YOUR_CALM), status.RESOURCE_EXHAUSTED,
        'the frontend asked to slow down (ENHANCE_YOUR_CALM)'],
      ['a reset with INTERNAL_ERROR', (s: ServerHttp2Stream) => s.close(constants.NGHTTP2_INTERNAL_ERROR), status.INTERNAL,
        'Received RST_STREAM with code 2'],
      ['HTTP 503', (s: ServerHttp2Stream) => s.respond({ ':status': 503 }, { endStream: true }), status.UNAVAILABLE, 'the frontend answered HTTP 503'],
      ['HTTP 404', (s: ServerHttp2Stream) => s.respond({ ':status': 404 }, { endStream: true }), status.UNIMPLEMENTED,
        'the frontend answered HTTP 404'],
      ['an answer without a status', (s: ServerHttp2Stream) => {
        s.respond({ ':status': 200, 'content-type': 'application/grpc' });
        s.end();
      }, status.INTERNAL, 'the frontend ended the call without a status'],
    ] as [string, Answer, number, string][])('does map %s to the status gRPC gives it', async (_what, answer, code, details) => {
      frontend.answer.next = answer;
      expect(await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'))).toMatchObject({ code, details });
    });
  });

  describe('answers the proxy must read to narrow', () => {
    const answering = (body: Buffer): Answer => (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body);
    };

    it('does refuse a narrowed answer the frontend compressed, or that is not a message', async () => {
      frontend.answer.next = answering(framed(gzipSync(Buffer.from([0x0a, 0])), true));
      expect(await call(worker(), WORKFLOW('ListNamespaces'), Buffer.alloc(0)))
        .toMatchObject({ code: status.INTERNAL, details: 'the frontend compressed an answer the proxy must read' });
      frontend.answer.next = answering(framed(Buffer.from([0x0a, 0x05, 0x01])));
      expect(await call(worker(), WORKFLOW('ListNamespaces'), Buffer.alloc(0)))
        .toMatchObject({ code: status.INTERNAL, details: 'the proxy could not read the answer' });
      frontend.answer.next = answering(framed(Buffer.from([0x0a, 0x05, 0x01])).subarray(0, 4));
      expect(await call(worker(), WORKFLOW('ListNamespaces'), Buffer.alloc(0)))
        .toMatchObject({ code: status.INTERNAL, details: 'the frontend\'s answer ends inside a message prefix' });
    });
  });

  describe('bounds', () => {
    it('does hold nothing for a call that declares a message and sends none, and end it after the first-message time', async () => {
      const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(1024 * 1024, 1);
      const outcome = new Promise<string>((resolve) => {
        const stream = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
          te: 'trailers' });
        stream.on('response', (h) => resolve(`${h['grpc-status']} ${decodeURIComponent(String(h['grpc-message']))}`));
        stream.write(prefix);
      });
      await new Promise((r) => setTimeout(r, 200));
      const held = await running.metrics.registry.getSingleMetricAsString('authorizer_proxy_buffered_request_bytes');
      expect(held).toMatch(/authorizer_proxy_buffered_request_bytes 5$/m);
      // Another caller's call of the whole budget still fits: what was declared is not reserved.
      expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), request('StartWorkflowExecutionRequest', { namespace: 'orders',
        workflowId: 'x'.repeat(1024 * 1024 - 64) }))).code).toBe(0);
      expect(await outcome).toBe(`${status.DEADLINE_EXCEEDED} the request message did not arrive within 1 s`);
      session.destroy();
    });

    it('does count a compressed message at its size in the clear against the budget', async () => {
      const big = request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'z'.repeat(700 * 1024) });
      const answer = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-encoding': 'gzip' }, framed(gzipSync(big), true));
      // ~700 KiB in the clear fit the 1 MiB budget; two such at once would not (each also counts its compressed bytes).
      expect(answer.trailers?.['grpc-status']).toBe('0');
      expect(last().body.equals(framed(big))).toBe(true);
      expect(last().headers['grpc-encoding']).toBeUndefined();
      const bigger = request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'z'.repeat(1100 * 1024) });
      const refused = await raw({ ':path': WORKFLOW('StartWorkflowExecution'), 'grpc-encoding': 'gzip' }, framed(gzipSync(bigger), true));
      expect(refused.headers['grpc-status']).toBe(String(status.RESOURCE_EXHAUSTED));
    });

    it('does refuse a namespace that is no Temporal namespace name before deciding, naming none of it', async () => {
      const huge = 'n'.repeat(300_000);
      const result = await call(worker(), WORKFLOW('StartWorkflowExecution'), start(huge));
      expect(result).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'the request names no valid Temporal namespace' });
      await new Promise((r) => setTimeout(r, 100));
      const line = audit.filter((a) => a.reason === 'invalid namespace name').pop();
      expect(String(line?.namespace)).toHaveLength(255);
    });

    it('does read no more than a small message of a caller who holds no role at all', async () => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${key.key}`);
      const small = await call(clientOf(pki, running.grpcPort), WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest',
        { namespace: 'orders' }), md);
      expect(small).toMatchObject({ code: status.PERMISSION_DENIED, details: 'no role on orders permits DescribeNamespace' });
      const large = await call(clientOf(pki, running.grpcPort), WORKFLOW('StartWorkflowExecution'), request('StartWorkflowExecutionRequest',
        { namespace: 'orders', workflowId: 'y'.repeat(8192) }), md);
      expect(large).toMatchObject({ code: status.PERMISSION_DENIED, details: 'StartWorkflowExecution: this identity holds no role' });
    });

    it('does close a connection that carries no authenticated call, and keep one with a verified certificate or an authenticated call', async () => {
      const open = (cert?: typeof pki.worker) => {
        const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
          servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', ...(cert ? { cert: cert.cert, key: cert.key } : {}) });
        session.on('error', () => undefined);
        return { session, closed: new Promise<boolean>((resolve) => {
          session.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 2_500).unref();
        }) };
      };
      const anonymous = open();
      const withCertificate = open(pki.worker);
      // No certificate, and a call whose API key is verified (its owner holds no role: refused, yet authenticated).
      const withKey = open();
      const keyed = await new Promise<string>((resolve) => {
        const stream = withKey.session.request({ ':method': 'POST', ':path': WORKFLOW('DescribeNamespace'), 'content-type': 'application/grpc',
          te: 'trailers', authorization: `Bearer ${key.key}` });
        stream.on('response', (h) => resolve(String(h['grpc-status'])));
        stream.end(framed(request('DescribeNamespaceRequest', { namespace: 'orders' })));
      });
      expect(keyed).toBe(String(status.PERMISSION_DENIED));
      expect(await anonymous.closed).toBe(true);
      expect(await withCertificate.closed).toBe(false);
      expect(await withKey.closed).toBe(false);
      withCertificate.session.destroy();
      withKey.session.destroy();
    });
  });

  describe('API keys on /metrics and at reload', () => {
    it('does report each key\'s days to expiry, and a key file it cannot read under its name', async () => {
      const metrics = async () => (await fetch(`http://127.0.0.1:${running.httpPort}/metrics`)).text();
      const days = /^authorizer_proxy_api_key_expiry_days\{key_id="nobody-1",owner="nobody"\} ([\d.]+)$/m.exec(await metrics());
      expect(Number(days?.[1])).toBeGreaterThan(0.9);
      expect(Number(days?.[1])).toBeLessThanOrEqual(1);
      const file = `${pki.dir}/dp-api-keys.json`;
      const good = readFileSync(file);
      writeFileSync(file, '{"keys": [');
      try {
        await running.reload();
        expect(await metrics()).toMatch(/^authorizer_proxy_reload_failures_total\{what="API keys"\} 1$/m);
      } finally {
        writeFileSync(file, good);
        await running.reload();
      }
    });
  });
});

