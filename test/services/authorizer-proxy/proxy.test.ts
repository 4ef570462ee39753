import { generateKeyPairSync } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { Metadata, status } from '@grpc/grpc-js';
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { get as httpGet } from 'node:http';
import { AuthorizerPolicy } from '../../../lib/authorizer/policy';
import { RunningProxy } from '../../../services/authorizer-proxy/proxy';
import { signingKeyPem } from './signing-key';
import {
  call, clientOf, identityProvider, IDP_AUDIENCE, IDP_ISSUER, OPERATOR, proxy, request, standInFrontend, WORKFLOW,
} from './harness';
import { issue, TestPki, testPki } from './test-pki';

const POLICY: AuthorizerPolicy = {
  rules: [
    { name: 'orders-workers', certificate: { uri: 'spiffe://cluster.local/ns/orders/temporal-client/*' }, grants: { orders: 'write' } },
    { name: 'web', certificate: { uri: 'spiffe://cluster.local/ns/temporal/temporal-platform/web' }, grants: { 'temporal-system': 'read' } },
    { name: 'auditors', jwt: { group: 'auditors' }, grants: { 'temporal-system': 'read' } },
  ],
  jwtPermissionsClaim: 'permissions',
};

function getText(url: string, https = false, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const done = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    if (https) {
      httpsRequest(url, { ca, servername: 'temporal-authorizer-proxy.temporal.svc.cluster.local' }, done).on('error', reject).end();
    } else {
      httpGet(url, done).on('error', reject);
    }
  });
}

describe('the authorizer proxy', () => {
  let pki: TestPki;
  let frontend: Awaited<ReturnType<typeof standInFrontend>>;
  let idp: Awaited<ReturnType<typeof identityProvider>>;
  let running: RunningProxy;
  let policyFile: string;
  let keyFile: string;
  const log = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  log.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter((l) => l.trim() !== '').forEach((l) => lines.push(JSON.parse(l))));

  beforeAll(async () => {
    pki = await testPki();
    frontend = await standInFrontend(pki);
    idp = await identityProvider();
    ({ proxy: running, policyFile, keyFile } = await proxy(pki, frontend.port, POLICY, idp.jwksUri, log));
  });

  afterAll(async () => {
    await running?.close();
    await frontend?.stop();
    await idp?.stop();
  });

  const worker = () => clientOf(pki, running.grpcPort, pki.worker);
  const start = (namespace: string) => request('StartWorkflowExecutionRequest', { namespace, workflowId: 'w-1' });
  const bearer = (token: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };

  it('does forward an allowed call\'s bytes unchanged, with a token it minted for the caller and nothing of the caller\'s own', async () => {
    const body = start('orders');
    const md = new Metadata();
    md.set('temporal-namespace', 'orders');
    md.set('client-name', 'temporal-typescript');
    const result = await call(worker(), WORKFLOW('StartWorkflowExecution'), body, md);
    expect(result.code).toBe(0);
    expect(result.response).toEqual(body);
    const seen = frontend.received[frontend.received.length - 1];
    expect(seen.path).toBe(WORKFLOW('StartWorkflowExecution'));
    expect(seen.bytes).toEqual(body);
    expect(seen.metadata.get('client-name')).toEqual(['temporal-typescript']);
    const token = String(seen.metadata.get('authorization')[0]).replace(/^Bearer /, '');
    const jwks = JSON.parse((await getText(`https://127.0.0.1:${running.jwksPort}/.well-known/jwks.json`, true, pki.frontendCa.cert
      + pki.root.cert)).body);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'temporal-authorizer-proxy', audience: 'temporal-frontend', algorithms: ['ES256'] });
    expect(protectedHeader.kid).toBe(running.signer.kid);
    expect(payload.sub).toBe('spiffe://cluster.local/ns/orders/temporal-client/orders-worker');
    expect(payload.permissions).toEqual(['orders:write']);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it('does refuse a namespace the caller has no role on, naming only that namespace, and forwards nothing', async () => {
    const before = frontend.received.length;
    const result = await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'));
    expect(result).toMatchObject({ code: status.PERMISSION_DENIED, details: 'no role on billing permits StartWorkflowExecution' });
    expect(frontend.received.length).toBe(before);
  });

  it('does take the namespace from the message, and refuse a header that names another one', async () => {
    const md = new Metadata();
    md.set('temporal-namespace', 'orders');
    const result = await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'), md);
    expect(result).toMatchObject({ code: status.PERMISSION_DENIED,
      details: 'the temporal-namespace header and the request name different namespaces' });
    // A field other than 1: RespondWorkflowTaskCompleted keeps its namespace in field 9.
    const respond = request('RespondWorkflowTaskCompletedRequest', { taskToken: Buffer.from('t'), namespace: 'orders' });
    expect((await call(worker(), WORKFLOW('RespondWorkflowTaskCompleted'), respond)).code).toBe(0);
    const elsewhere = request('RespondWorkflowTaskCompletedRequest', { taskToken: Buffer.from('t'), namespace: 'billing' });
    expect((await call(worker(), WORKFLOW('RespondWorkflowTaskCompleted'), elsewhere)).code).toBe(status.PERMISSION_DENIED);
  });

  it('does refuse a call with neither a certificate nor a token as UNAUTHENTICATED', async () => {
    const result = await call(clientOf(pki, running.grpcPort), WORKFLOW('StartWorkflowExecution'), start('orders'));
    expect(result).toMatchObject({ code: status.UNAUTHENTICATED,
      details: 'the call carries neither a valid client certificate nor a bearer token' });
  });

  // TLS refuses to verify some (gRPC then shows the proxy no certificate); the proxy refuses the others itself.
  const rejectedByTls = 'the call carries neither a valid client certificate nor a bearer token';
  it.each([
    ['a CA certificate', 'ca', 'a CA certificate cannot authenticate a caller'],
    ['a leaf of a sub-CA of the workload CA', 'subCaLeaf', 'the client certificate is not issued directly by a trusted CA'],
    ['a leaf of the root (which TLS trusts for chains only)', 'rootLeaf', 'the client certificate is not issued directly by a trusted CA'],
    ['a certificate without client auth', 'noClientAuth', rejectedByTls],
    ['a certificate without an identity URI', 'noUri', 'the client certificate carries no workload identity URI of this trust domain'],
    ['an identity URI of another trust domain', 'otherDomain', 'the client certificate carries no workload identity URI of this trust domain'],
    ['a platform identity from the workload CA', 'workloadAsPlatform',
      'the client certificate carries no workload identity URI of this trust domain'],
    ['a workload identity from the platform-clients CA', 'platformAsWorkload',
      'the client certificate carries no platform identity URI of this trust domain'],
    ['a workload identity with a platform identity as a second URI', 'twoUris', 'the client certificate carries more than one URI'],
    ['an expired certificate', 'expired', rejectedByTls],
    ['a certificate of another CA with the same name', 'foreign', rejectedByTls],
  ] as const)('does refuse %s as UNAUTHENTICATED', async (_what, which, details) => {
    const chain = which === 'subCaLeaf' ? pki.bad.ca.cert : which === 'platformAsWorkload' ? pki.platformCa.cert : '';
    const result = await call(clientOf(pki, running.grpcPort, pki.bad[which], chain), WORKFLOW('StartWorkflowExecution'), start('orders'));
    expect(result).toMatchObject({ code: status.UNAUTHENTICATED, details });
  });

  it('does authenticate a bearer token of the identity provider and grant by its groups and permissions', async () => {
    const token = await idp.sign({ sub: 'alice', groups: ['auditors'], permissions: ['orders:read'] });
    const plain = clientOf(pki, running.grpcPort);
    expect((await call(plain, WORKFLOW('ListNamespaces'), request('ListNamespacesRequest', {}), bearer(token))).code).toBe(0);
    expect((await call(plain, WORKFLOW('DescribeNamespace'), request('DescribeNamespaceRequest', { namespace: 'orders' }),
      bearer(token))).code).toBe(0);
    expect((await call(plain, WORKFLOW('StartWorkflowExecution'), start('orders'), bearer(token))).code).toBe(status.PERMISSION_DENIED);
    const minted = String(frontend.received[frontend.received.length - 1].metadata.get('authorization')[0]).replace(/^Bearer /, '');
    expect(decodeProtectedHeader(minted).alg).toBe('ES256');
    // Groups alone (the policy names no groups claim: `groups` is read): a role, so the cluster's information.
    const grouped = await idp.sign({ sub: 'carol', groups: ['auditors'] });
    expect((await call(plain, WORKFLOW('GetClusterInfo'), Buffer.alloc(0), bearer(grouped))).code).toBe(0);
    const ungrouped = await idp.sign({ sub: 'dave', roles: ['auditors'] });
    expect((await call(plain, WORKFLOW('GetClusterInfo'), Buffer.alloc(0), bearer(ungrouped))).code)
      .toBe(status.PERMISSION_DENIED);
  });

  it('does accept a platform component\'s certificate whose CA is under the root', async () => {
    expect((await call(clientOf(pki, running.grpcPort, pki.web, pki.platformCa.cert), WORKFLOW('ListNamespaces'),
      request('ListNamespacesRequest', {}))).code).toBe(0);
  });

  it('does take a token over a platform certificate: the Web UI forwarding its user\'s token acts as that user', async () => {
    const token = await idp.sign({ sub: 'bob', permissions: ['orders:read'] });
    const web = clientOf(pki, running.grpcPort, pki.web, pki.platformCa.cert);
    const billing = request('DescribeNamespaceRequest', { namespace: 'billing' });
    expect((await call(web, WORKFLOW('DescribeNamespace'), billing)).code).toBe(0);
    expect((await call(web, WORKFLOW('DescribeNamespace'), billing, bearer(token))).code).toBe(status.PERMISSION_DENIED);
  });

  it('does refuse every forged, stale or foreign token as UNAUTHENTICATED', async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = await generateKeyPair('RS256');
    const hmacKey = new TextEncoder().encode(JSON.stringify(idp.jwk));
    const cases: [string, Promise<string> | string, string][] = [
      ['expired', idp.sign({ sub: 'a', exp: now - 60, iat: now - 600 }), 'the token is expired'],
      ['not yet valid', idp.sign({ sub: 'a', nbf: now + 600 }), 'the token\'s nbf claim is not acceptable'],
      ['signed by another key under the same kid', idp.sign({ sub: 'a' }, {}, other.privateKey),
        'the token\'s signature does not verify'],
      ['alg none', new UnsecuredJWT({ sub: 'a', iss: IDP_ISSUER, aud: IDP_AUDIENCE, exp: now + 60 }).encode(),
        'the token\'s algorithm is not accepted'],
      ['HS256 signed with the public key', new SignJWT({ sub: 'a', iss: IDP_ISSUER, aud: IDP_AUDIENCE, exp: now + 60 })
        .setProtectedHeader({ alg: 'HS256', kid: idp.kid }).sign(hmacKey), 'the token\'s algorithm is not accepted'],
      ['for another audience', idp.sign({ sub: 'a', aud: 'someone-else' }), 'the token\'s aud claim is not acceptable'],
      ['from another issuer', idp.sign({ sub: 'a', iss: 'https://evil.example.com' }), 'the token\'s iss claim is not acceptable'],
      ['with an unknown kid', idp.sign({ sub: 'a' }, { kid: 'unknown' }), 'no key of the identity provider matches the token'],
      ['not a bearer token', 'Basic abc', 'the authorization header is not a bearer token'],
    ];
    for (const [what, tokenPromise, details] of cases) {
      const token = await tokenPromise;
      const md = new Metadata();
      md.set('authorization', what === 'not a bearer token' ? token : `Bearer ${token}`);
      const result = await call(clientOf(pki, running.grpcPort), WORKFLOW('ListNamespaces'), request('ListNamespacesRequest', {}), md);
      expect([what, result.code, result.details]).toEqual([what, status.UNAUTHENTICATED, details]);
    }
  });

  it('does need temporal-system for cluster APIs, and always let health checks through', async () => {
    expect((await call(worker(), WORKFLOW('GetSearchAttributes'), request('GetSearchAttributesRequest', {}))).code)
      .toBe(status.PERMISSION_DENIED);
    expect((await call(worker(), OPERATOR('ListClusters'), Buffer.alloc(0))).code).toBe(status.PERMISSION_DENIED);
    expect((await call(worker(), WORKFLOW('GetSystemInfo'), Buffer.alloc(0))).code).toBe(0);
    // Without any credential too, as on the server: forwarded without a token.
    expect((await call(clientOf(pki, running.grpcPort), WORKFLOW('GetSystemInfo'), Buffer.alloc(0))).code).toBe(0);
    expect(frontend.received[frontend.received.length - 1].metadata.get('authorization')).toEqual([]);
  });

  it('does pass the frontend\'s error status and trailers back unchanged', async () => {
    const result = await call(worker(), WORKFLOW('SignalWorkflowExecution'), request('SignalWorkflowExecutionRequest', { namespace: 'orders' }));
    expect(result).toMatchObject({ code: 9, details: 'workflow not running' });
    expect(result.trailer?.get('x-stand-in')).toEqual(['refused']);
  });

  it('does propagate the caller\'s deadline and cancellation to the frontend', async () => {
    const poll = request('PollWorkflowTaskQueueRequest', { namespace: 'orders' });
    const slow = await standInFrontend(pki, { pollMs: 3_000 });
    const { proxy: p } = await proxy(pki, slow.port, POLICY);
    try {
      const started = Date.now();
      const result = await call(clientOf(pki, p.grpcPort, pki.worker), WORKFLOW('PollWorkflowTaskQueue'), poll, new Metadata(), 500);
      expect(result.code).toBe(status.DEADLINE_EXCEEDED);
      expect(Date.now() - started).toBeLessThan(2_900);
      const seen = slow.received[slow.received.length - 1];
      expect(seen.metadata.get('grpc-timeout')).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen.cancelled).toBe(true);
    } finally {
      await p.close();
      await slow.stop();
    }
  });

  it('does stream a server-streaming call (health watch, a cluster read) through', async () => {
    const client = clientOf(pki, running.grpcPort, pki.web);
    const chunks = await new Promise<Buffer[]>((resolve, reject) => {
      const out: Buffer[] = [];
      const stream = client.makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0),
        new Metadata(), {});
      stream.on('data', (d: Buffer) => out.push(d));
      stream.on('end', () => resolve(out));
      stream.on('error', reject);
    });
    expect(chunks).toEqual([Buffer.from([8, 1]), Buffer.from([8, 1])]);
    const denied = await new Promise<number>((resolve) => {
      const stream = worker().makeServerStreamRequest('/grpc.health.v1.Health/Watch', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0),
        new Metadata(), {});
      stream.on('data', () => undefined);
      stream.on('error', (e: { code: number }) => resolve(e.code));
      stream.on('end', () => resolve(0));
    });
    expect(denied).toBe(status.PERMISSION_DENIED);
  });

  it('does reload each file on its own: an unusable signing key does not stop a renewed serving certificate', async () => {
    const fe = await standInFrontend(pki);
    const out = new PassThrough();
    const seen: string[] = [];
    out.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    const { proxy: p, keyFile: key } = await proxy(pki, fe.port, POLICY, undefined, out);
    try {
      const certFile = `${pki.dir}/proxy.crt`;
      const renewed = await issue({ commonName: 'temporal-authorizer-proxy.temporal.svc.cluster.local',
        dnsNames: ['temporal-authorizer-proxy.temporal.svc.cluster.local'], ipAddresses: ['127.0.0.1'],
        usages: ['digital signature', 'server auth'] }, pki.frontendCa);
      writeFileSync(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(certFile, renewed.cert + pki.frontendCa.cert);
      writeFileSync(`${pki.dir}/proxy.key`, renewed.key);
      await p.reload();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = seen.join('');
      expect(text).toMatch(/"what":"signing key".*"msg":"signing key not reloaded"/);
      expect(text).toMatch(/"msg":"serving certificate reloaded"/);
      expect(await p.metrics.registry.getSingleMetricAsString('authorizer_proxy_reload_failures_total'))
        .toMatch(/authorizer_proxy_reload_failures_total\{what="signing key"\} 1/);
    } finally {
      await p.close();
      await fe.stop();
    }
  });

  it('does not forward the headers that would give a caller the server\'s priority (caller-type and friends)', async () => {
    const metadata = new Metadata();
    metadata.set('caller-type', 'operator');
    metadata.set('caller-name', 'temporal-system');
    metadata.set('call-initiation', 'operator');
    metadata.set('x-custom', 'kept');
    expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('orders'), metadata)).code).toBe(0);
    const seen = frontend.received[frontend.received.length - 1].metadata;
    expect([seen.get('caller-type'), seen.get('caller-name'), seen.get('call-initiation'), seen.get('x-custom')])
      .toEqual([[], [], [], ['kept']]);
  });

  it('does answer a malformed message with INVALID_ARGUMENT', async () => {
    expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), Buffer.from([0x0a, 0x50, 0x01]))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('does write one audit line per call, with the decision and no credential', async () => {
    lines.length = 0;
    await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const audits = lines.filter((l) => l.msg === 'call').map((l) => l.audit as Record<string, unknown>);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ identity: 'spiffe://cluster.local/ns/orders/temporal-client/orders-worker', auth: 'mtls',
      namespace: 'billing', api: 'StartWorkflowExecution', decision: 'deny', reason: 'no role on billing permits StartWorkflowExecution',
      status: 'PERMISSION_DENIED', rules: ['orders-workers'] });
    expect(typeof audits[0].latencyMs).toBe('number');
    expect(lines[0]).toHaveProperty('time');
    expect(JSON.stringify(lines)).not.toMatch(/eyJ|BEGIN|PRIVATE/);
  });

  it('does count calls by API and decision, and report health', async () => {
    const metrics = await getText(`http://127.0.0.1:${running.httpPort}/metrics`);
    expect(metrics.body).toMatch(/authorizer_proxy_calls_total\{api="StartWorkflowExecution",decision="allow",status="OK"\} \d+/);
    expect(metrics.body)
      .toMatch(/authorizer_proxy_calls_total\{api="StartWorkflowExecution",decision="deny",status="PERMISSION_DENIED"\} \d+/);
    expect(metrics.body).toContain('authorizer_proxy_call_duration_seconds_bucket');
    expect(metrics.body).toContain('authorizer_proxy_process_open_fds');
    const health = await getText(`http://127.0.0.1:${running.httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', kid: running.signer.kid, ready: true });
    expect((await getText(`http://127.0.0.1:${running.httpPort}/readyz`)).status).toBe(200);
  });

  it('does reload a changed policy, and keep the previous one when the new one is invalid', async () => {
    writeFileSync(policyFile, JSON.stringify({ rules: [...POLICY.rules, { name: 'billing', certificate: { commonName: 'orders-worker' },
      grants: { billing: 'write' } }] }));
    await running.reload();
    expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'))).code).toBe(0);
    writeFileSync(policyFile, JSON.stringify({ rules: [{ name: 'everyone', certificate: {}, grants: { billing: 'admin' } }] }));
    await running.reload();
    expect(running.policy().rules.map((r) => r.name)).toContain('billing');
    writeFileSync(policyFile, JSON.stringify(POLICY));
    await running.reload();
    expect((await call(worker(), WORKFLOW('StartWorkflowExecution'), start('billing'))).code).toBe(status.PERMISSION_DENIED);
  });

  it('does publish a rotated signing key at once and sign with it only after the publish delay', async () => {
    const oldKid = running.signer.kid;
    writeFileSync(keyFile, signingKeyPem());
    await running.reload();
    const published = running.signer.jwks().keys.map((k) => k.kid);
    expect(published).toHaveLength(2);
    expect(published[0]).toBe(oldKid);
    expect(running.signer.kid).toBe(oldKid);
  });
});
