/**
 * The proxy's security findings, each pinned on the in-process stage (a grpc-js stand-in frontend and grpc-js
 * clients): the token's permissions claim off by default, namespace ids refused, GetClusterInfo narrowed, API keys,
 * bounds before authentication, and the identity provider's keys through an outage.
 */
import { connect as h2connect, constants } from 'node:http2';
import { createServer, Server as HttpServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Metadata, status } from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { writeFileSync } from 'node:fs';
import { createApiKey } from '../../../lib/authorizer/api-keys';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import {
  call, clientOf, FULL_CLUSTER_INFO, identityProvider, IDP_AUDIENCE, IDP_ISSUER, OPERATOR, proxy, request, standInFrontend, WORKFLOW,
} from './harness';
import { TestPki, testPki } from './test-pki';

const { GetClusterInfoResponse } = temporal.api.workflowservice.v1;

const POLICY: AuthorizerPolicy = {
  rules: [
    { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'admin' } },
    { name: 'platform', certificate: { uri: 'spiffe://cluster.local/ns/temporal/temporal-platform/web' }, grants: { 'temporal-system': 'read' } },
    { name: 'ci', apiKey: { owner: 'ci-deploy' }, grants: { orders: 'write' } },
  ],
};

const bearer = (token: string): Metadata => {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};
const start = (namespace: string) => request('StartWorkflowExecutionRequest', { namespace, workflowId: 'w-1' });

describe('the authorizer proxy, hardened', () => {
  let pki: TestPki;
  let frontend: Awaited<ReturnType<typeof standInFrontend>>;
  let idp: Awaited<ReturnType<typeof identityProvider>>;
  let running: RunningProxy;
  let apiKeysFile: string;
  const key = createApiKey('ci-1', 'ci-deploy', new Date(Date.now() + 86_400_000));
  const expired = createApiKey('ci-old', 'ci-deploy', new Date(Date.now() - 1_000));
  const revoked = createApiKey('ci-off', 'ci-deploy', new Date(Date.now() + 86_400_000));

  beforeAll(async () => {
    pki = await testPki();
    frontend = await standInFrontend(pki);
    idp = await identityProvider();
    apiKeysFile = pki.file('api-keys.json', JSON.stringify({ keys: [key.record, expired.record, { ...revoked.record, disabled: true }] }));
    ({ proxy: running } = await proxy(pki, frontend.port, POLICY, idp.jwksUri, undefined, { apiKeysFile }));
  });

  afterAll(async () => {
    await running?.close();
    await frontend?.stop();
    await idp?.stop();
  });

  const worker = () => clientOf(pki, running.grpcPort, pki.worker);
  const anonymous = () => clientOf(pki, running.grpcPort);

  it('does ignore a token\'s permissions claim unless the policy names it: temporal-system:admin in a token grants nothing', async () => {
    const token = await idp.sign({ sub: 'mallory', permissions: ['temporal-system:admin', 'orders:admin'] });
    expect(await call(anonymous(), OPERATOR('ListClusters'), Buffer.alloc(0), bearer(token)))
      .toMatchObject({ code: status.PERMISSION_DENIED, details: 'ListClusters needs a temporal-system role of admin access' });
    expect(await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(token)))
      .toMatchObject({ code: status.PERMISSION_DENIED, details: 'no role on orders permits StartWorkflowExecution' });
  });

  describe('namespaces named by id', () => {
    it.each([
      ['DescribeNamespace by id alone', WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest', { id: 'b8c1a0e2-0000-4000-8000-00000000000b' })],
      ['DescribeNamespace by a name it may read and the id of another', WORKFLOW('DescribeNamespace'),
        request('DescribeNamespaceRequest', { namespace: 'orders', id: 'b8c1a0e2-0000-4000-8000-00000000000b' })],
      ['DeleteNamespace by a name it administers and another namespace\'s id', OPERATOR('DeleteNamespace'),
        request('DeleteNamespaceRequest', { namespace: 'orders', namespaceId: 'b8c1a0e2-0000-4000-8000-00000000000b' }, 'operatorservice')],
    ])('does refuse %s, forwarding nothing', async (_what, path, body) => {
      const before = frontend.received.length;
      const result = await call(worker(), path, body);
      expect(result.code).toBe(status.INVALID_ARGUMENT);
      expect(result.details).toMatch(/through the proxy names its namespace by name only: leave the namespace id empty$/);
      expect(frontend.received.length).toBe(before);
    });

    it('does forward the same calls by name', async () => {
      expect((await call(worker(), WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest', { namespace: 'orders' }))).code).toBe(0);
      expect((await call(worker(), OPERATOR('DeleteNamespace'), request('DeleteNamespaceRequest', { namespace: 'orders' },
        'operatorservice'))).code).toBe(0);
    });
  });

  describe('GetClusterInfo', () => {
    const info = async (client: ReturnType<typeof worker>) => {
      const result = await call(client, WORKFLOW('GetClusterInfo'), request('GetClusterInfoRequest', {}));
      expect(result.code).toBe(0);
      return GetClusterInfoResponse.toObject(GetClusterInfoResponse.decode(result.response as Buffer), { longs: Number, defaults: false });
    };

    it('does show a caller without a temporal-system role only the versions and the cluster\'s name', async () => {
      expect(await info(worker())).toEqual({ supportedClients: { 'temporal-go': '>=1.0.0' }, serverVersion: '1.31.2',
        versionInfo: { current: { version: '1.31.2' } }, clusterName: 'active' });
    });

    it('does show a temporal-system role the whole answer', async () => {
      const whole = await info(clientOf(pki, running.grpcPort, pki.web, pki.platformCa.cert));
      expect(whole).toMatchObject({ clusterId: FULL_CLUSTER_INFO.clusterId, historyShardCount: 512, persistenceStore: 'postgres12',
        visibilityStore: 'postgres12', initialFailoverVersion: 1, failoverVersionIncrement: 10 });
    });
  });

  describe('API keys', () => {
    it('does grant a key exactly its rules, with a token minted for apikey:<id>', async () => {
      expect((await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(key.key))).code).toBe(0);
      const seen = frontend.received[frontend.received.length - 1];
      const minted = String(seen.metadata.get('authorization')[0]).replace(/^Bearer /, '');
      expect(JSON.parse(Buffer.from(minted.split('.')[1], 'base64url').toString())).toMatchObject({ sub: 'apikey:ci-1',
        permissions: ['orders:write'] });
      expect(await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('billing'), bearer(key.key)))
        .toMatchObject({ code: status.PERMISSION_DENIED, details: 'no role on billing permits StartWorkflowExecution' });
    });

    it.each([
      ['an expired key', () => expired.key, /^the API key ci-old expired at \d{4}-/],
      ['a disabled key', () => revoked.key, /^the API key ci-off is disabled$/],
      ['an unknown key', () => createApiKey('ci-9', 'x', new Date(Date.now() + 60_000)).key, /^the API key is not valid$/],
    ])('does refuse %s as UNAUTHENTICATED, with its reason', async (_what, presented, reason) => {
      const result = await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(presented()));
      expect(result.code).toBe(status.UNAUTHENTICATED);
      expect(result.details).toMatch(reason);
    });

    it('does take a rotated key and drop the old one on reload, without a restart', async () => {
      const next = createApiKey('ci-2', 'ci-deploy', new Date(Date.now() + 86_400_000));
      writeFileSync(apiKeysFile, JSON.stringify({ keys: [next.record] }));
      await running.reload();
      expect((await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(next.key))).code).toBe(0);
      expect(await call(anonymous(), WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(key.key)))
        .toMatchObject({ code: status.UNAUTHENTICATED, details: 'the API key is not valid' });
      writeFileSync(apiKeysFile, JSON.stringify({ keys: [key.record, next.record] }));
      await running.reload();
    });
  });

  describe('bounded before trust', () => {
    it('does refuse a caller without credentials before reading its message: nothing of it is buffered', async () => {
      const session = h2connect(`https://127.0.0.1:${running.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
        servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' });
      session.on('error', () => undefined);
      const big = Buffer.alloc(8 * 1024 * 1024);
      big.writeUInt32BE(big.length - 5, 1);
      const outcome = await new Promise<{ status?: string; message?: string }>((resolve) => {
        const stream = session.request({ ':method': 'POST', ':path': WORKFLOW('StartWorkflowExecution'), 'content-type': 'application/grpc',
          te: 'trailers' });
        stream.on('response', (headers) => resolve({ status: String(headers['grpc-status']), message: String(headers['grpc-message']) }));
        stream.on('error', () => undefined);
        stream.write(big);
      });
      expect(outcome).toEqual({ status: String(status.UNAUTHENTICATED),
        message: 'the call carries neither a valid client certificate nor a bearer token' });
      const metrics = await running.metrics.registry.getSingleMetricAsString('authorizer_proxy_buffered_request_bytes');
      expect(metrics).toMatch(/authorizer_proxy_buffered_request_bytes 0$/m);
      session.destroy();
    });

    it('does refuse an authenticated message over the limit from its length prefix alone', async () => {
      const { proxy: small } = await proxy(pki, frontend.port, POLICY, undefined, undefined, { limits: { maxMessageBytes: 4096,
        maxBufferedBytes: 1024 * 1024 } });
      try {
        const result = await call(clientOf(pki, small.grpcPort, pki.worker), WORKFLOW('StartWorkflowExecution'),
          request('StartWorkflowExecutionRequest', { namespace: 'orders', workflowId: 'x'.repeat(5000) }));
        expect(result).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (5011 vs. 4096)' });
      } finally {
        await small.close();
      }
    });

    it('does require a client certificate at TLS when neither an identity provider nor API keys are configured', async () => {
      const { proxy: certOnly } = await proxy(pki, frontend.port, POLICY);
      try {
        const refused = await new Promise<string>((resolve) => {
          const socket = tlsConnect({ host: '127.0.0.1', port: certOnly.grpcPort, ca: pki.frontendCa.cert + pki.root.cert,
            servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', ALPNProtocols: ['h2'] });
          socket.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
          socket.on('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
          socket.on('close', () => resolve('closed'));
        });
        expect(refused).toMatch(/CERTIFICATE_REQUIRED|closed|ECONNRESET/);
        expect((await call(clientOf(pki, certOnly.grpcPort, pki.worker), WORKFLOW('StartWorkflowExecution'), start('orders'))).code).toBe(0);
        const withoutCert = await call(clientOf(pki, certOnly.grpcPort),
          WORKFLOW('GetSystemInfo'), Buffer.alloc(0), new Metadata(), 3_000);
        expect(withoutCert.code).not.toBe(0);
      } finally {
        await certOnly.close();
      }
    });

    it('does advertise its limit on calls per connection, and close a connection that stays idle', async () => {
      const { proxy: strict } = await proxy(pki, frontend.port, POLICY, undefined, undefined, { limits: { maxConcurrentStreams: 7,
        connectionIdleSeconds: 1 } });
      try {
        const session = h2connect(`https://127.0.0.1:${strict.grpcPort}`, { ca: pki.frontendCa.cert + pki.root.cert,
          servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local', cert: pki.worker.cert, key: pki.worker.key });
        const settings = await new Promise<number | undefined>((resolve) => session.once('remoteSettings', (s) => resolve(s.maxConcurrentStreams)));
        expect(settings).toBe(7);
        const goaway = await new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
        expect(goaway).toBe(constants.NGHTTP2_NO_ERROR);
        session.destroy();
      } finally {
        await strict.close();
      }
    });

    it('does refuse calls past the number being authenticated at once, while the identity provider is slow', async () => {
      const sockets = new Set<import('node:net').Socket>();
      const slow: HttpServer = createServer(() => undefined);
      slow.on('connection', (s) => sockets.add(s));
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const { proxy: guarded } = await proxy(pki, frontend.port, POLICY, `http://127.0.0.1:${(slow.address() as AddressInfo).port}/jwks`,
        undefined, { limits: { maxPendingAuthentications: 2 } });
      try {
        const token = await idp.sign({ sub: 'alice' });
        const client = clientOf(pki, guarded.grpcPort);
        const calls = [1, 2, 3].map(() => call(client, WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(token), 8_000));
        const third = await Promise.race(calls.map((c, i) => c.then((r) => ({ i, r }))));
        expect(third.r).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'the proxy is verifying as many calls as it may: retry shortly' });
      } finally {
        sockets.forEach((s) => s.destroy());
        await guarded.close();
        await new Promise<void>((resolve) => slow.close(() => resolve()));
      }
    });
  });

  it('does cancel the call upstream when the caller cancels it (no deadline involved)', async () => {
    const slow = await standInFrontend(pki, { pollMs: 5_000 });
    const { proxy: p } = await proxy(pki, slow.port, POLICY);
    try {
      const client = clientOf(pki, p.grpcPort, pki.worker);
      const outcome = await new Promise<number>((resolve) => {
        const identity = (b: Buffer) => b;
        const call_ = client.makeUnaryRequest(WORKFLOW('PollWorkflowTaskQueue'), identity, identity,
          request('PollWorkflowTaskQueueRequest', { namespace: 'orders' }), new Metadata(), {}, (err) => resolve(err?.code ?? 0));
        setTimeout(() => call_.cancel(), 300);
      });
      expect(outcome).toBe(status.CANCELLED);
      await new Promise((r) => setTimeout(r, 300));
      const seen = slow.received[slow.received.length - 1];
      expect(seen.path).toBe(WORKFLOW('PollWorkflowTaskQueue'));
      expect(seen.cancelled).toBe(true);
    } finally {
      await p.close();
      await slow.stop();
    }
  });

  describe('the identity provider\'s keys through an outage', () => {
    it('does keep verifying with the last keys fetched up to the staleness bound, and refuse after it', async () => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
      let up = true;
      let fetches = 0;
      const server = createServer((_req, res) => {
        fetches += 1;
        if (up) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
        } else {
          res.writeHead(503).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      let now = Date.parse('2027-01-01T00:00:00Z');
      const clock = () => now;
      const { proxy: timed } = await proxy(pki, frontend.port, { ...POLICY, rules: [...POLICY.rules,
        { name: 'alice', jwt: { subject: 'alice' }, grants: { orders: 'read' } }] },
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, undefined, {
        clock, oidc: { issuer: IDP_ISSUER, audience: IDP_AUDIENCE, jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
          maxStaleSeconds: 600 } });
      const token = () => new SignJWT({ sub: 'alice', iss: IDP_ISSUER, aud: IDP_AUDIENCE })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt(Math.floor(now / 1000)).setExpirationTime(Math.floor(now / 1000) + 3600)
        .sign(privateKey);
      const describeOrders = async () => call(clientOf(pki, timed.grpcPort), WORKFLOW('DescribeNamespace'),
        request('DescribeNamespaceRequest', { namespace: 'orders' }), bearer(await token()));
      try {
        expect((await describeOrders()).code).toBe(0);
        up = false;
        // Ten minutes on, keys are refetched (and the fetch fails): the keys of the last fetch still verify.
        now += 9 * 60_000;
        expect((await describeOrders()).code).toBe(0);
        await new Promise((r) => setTimeout(r, 100));
        expect(fetches).toBeGreaterThan(1);
        now += 2 * 60_000;
        expect(await describeOrders()).toMatchObject({ code: status.UNAUTHENTICATED,
          details: 'the identity provider\'s keys could not be refreshed for too long' });
        up = true;
        now += 60_000;
        await describeOrders();
        await new Promise((r) => setTimeout(r, 100));
        expect((await describeOrders()).code).toBe(0);
      } finally {
        await timed.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
